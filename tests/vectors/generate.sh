#!/usr/bin/env bash
# Generates the test vectors (tests/vectors/README.md): capsules and licences, each tagged in
# vectors.json with `"expect": "ok"` or `"expect": "reject <reason-code>"` for `capsulec verify`
# or `capsule-run open`. The tags are what the specification requires, written here by hand —
# not recorded from the tools — so that run_vectors.sh checks the tools against them.
#
#   tests/vectors/generate.sh [OUT_DIR]     (default: tests/vectors/v1; replaced)
# Env: CAPSULEC, CAPSULE_RUN (default: build/capsulec/capsulec, build/runtime-min/capsule-run).
# Needs python3 with `cryptography` (to re-sign a licence with a stranger's key).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
C="${CAPSULEC:-$root/build/capsulec/capsulec}"
R="${CAPSULE_RUN:-$root/build/runtime-min/capsule-run}"
OUT="${1:-$here/v1}"
rm -rf "$OUT" && mkdir -p "$OUT"/{keys,capsules,licenses}
OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/capsule-vectors.XXXXXX")
trap 'rm -rf "$W"' EXIT
export CAPSULE_HOME="$W/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE
cd "$OUT"

# Identities (test keys, committed with the vectors: never use them for anything else).
for k in creator issuer holder stranger; do "$C" keygen -o "keys/$k" >/dev/null; done
head -c 32 /dev/zero | tr '\0' '\7' >"$W/seed.bin"

cat >"$W/paid.yaml" <<'YAML'
title: Test vector (paid)
creator:
  name: Vector Creator
  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
royalties:
  splits:
    - role: creator
      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
      share: 100%
models:
  - type: buy
    price: "1"
    currency: USDC
    decimals: 6
  - type: pay_per_view
    price: "0.1"
    currency: USDC
    decimals: 6
    plays: 2
YAML
sed -e '/^models:/,$d' "$W/paid.yaml" | sed 's/(paid)/(free)/' >"$W/free.yaml"
printf 'models:\n  - type: free\n' >>"$W/free.yaml"
printf 'The content of the paid test vector.\nLine two.\n' >"$W/paid.txt"
printf 'The content of the free test vector.\n' >"$W/free.txt"
printf 'Another capsule, same creator.\n' >"$W/other.txt"
P=(--key keys/creator.key --issuer keys/issuer.pub --chunk-size 4096 --reproducible "$W/seed.bin")
"$C" pack "$W/paid.txt" --royalty "$W/paid.yaml" "${P[@]}" -o capsules/paid.capsule.wasm >/dev/null
"$C" pack "$W/free.txt" --royalty "$W/free.yaml" "${P[@]}" -o capsules/free.capsule.wasm >/dev/null
"$C" pack "$W/other.txt" --royalty "$W/paid.yaml" "${P[@]}" -o capsules/other.capsule.wasm >/dev/null
cp "$W/paid.txt" capsules/paid.txt
cp "$W/free.txt" capsules/free.txt

# Licences (fixed windows, so that they stay valid, or invalid, whenever the vectors run).
L=(--holder keys/holder.pub --not-before 2024-01-01)
"$C" license issue capsules/paid.capsule.wasm -k keys/issuer.key "${L[@]}" --model buy -o licenses/buy.lic >/dev/null
"$C" license issue capsules/paid.capsule.wasm -k keys/creator.key "${L[@]}" --model pay_per_view -o licenses/ppv.lic >/dev/null
"$C" license issue capsules/paid.capsule.wasm -k keys/issuer.key --holder keys/stranger.pub --not-before 2024-01-01 --model buy -o licenses/stranger-holder.lic >/dev/null
"$C" license issue capsules/other.capsule.wasm -k keys/issuer.key "${L[@]}" --model buy -o licenses/other-capsule.lic >/dev/null
"$C" license issue capsules/paid.capsule.wasm -k keys/issuer.key --holder keys/holder.pub --not-before 2099-01-01 --model buy -o licenses/not-yet-valid.lic >/dev/null
"$C" license issue capsules/paid.capsule.wasm -k keys/issuer.key --holder keys/holder.pub --not-before 2020-01-01 --not-after 2020-02-01 --model buy -o licenses/expired.lic >/dev/null

# The development ledger: the holder holds paid and other; nobody holds anything else.
for cap in paid other; do
  "$R" ledger grant --ledger file:ledger.json --capsule "capsules/$cap.capsule.wasm" --holder keys/holder.pub >/dev/null
done
rm -f ledger.json.lock

# Byte-level mutations, a licence signed by a stranger, and vectors.json.
python3 - "$OUT" <<'PY'
import base64, json, os, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
OUT = sys.argv[1]
os.chdir(OUT)
def rd(p): return open(p, "rb").read()
def wr(p, b): open(p, "wb").write(b)

def leb(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80: return r, i
def enc_leb(n):
    out = bytearray()
    while True:
        x = n & 0x7f; n >>= 7
        out.append(x | (0x80 if n else 0))
        if not n: return bytes(out)
def sections(b):
    """[(id, name, start, content_start, end)] for each section."""
    i, out = 8, []
    while i < len(b):
        start = i; sid = b[i]; i += 1; n, i = leb(b, i); end = i + n; name = ""; cs = i
        if sid == 0:
            l, j = leb(b, i); name = b[j:j + l].decode(); cs = j + l
        out.append((sid, name, start, cs, end)); i = end
    return out
def find(b, name):
    return next(s for s in sections(b) if s[1] == name)
def custom(name, content):
    body = enc_leb(len(name)) + name.encode() + content
    return b"\0" + enc_leb(len(body)) + body

paid = rd("capsules/paid.capsule.wasm")
V = []
def vec(name, tool, file, expect, args=(), why=""):
    V.append({"name": name, "tool": tool, "file": file, "args": list(args), "expect": expect,
              "description": why})
def mutant(name, data, expect, why):
    wr(f"capsules/{name}.capsule.wasm", data)
    vec(name, "verify", f"capsules/{name}.capsule.wasm", expect, ["--trust", "keys/creator.pub"], why)

vec("paid", "verify", "capsules/paid.capsule.wasm", "ok", ["--trust", "keys/creator.pub"], "a valid paid capsule")
vec("free", "verify", "capsules/free.capsule.wasm", "ok", ["--trust", "keys/creator.pub"], "a valid free capsule")
vec("untrusted", "verify", "capsules/paid.capsule.wasm", "reject untrusted-signer",
    ["--trust", "keys/stranger.pub"], "valid, but its creator is not in the trust list")

mutant("bad-magic", b"\0asn\x02" + paid[5:], "reject not-wasm", "the WebAssembly magic is wrong")
mutant("truncated", paid[:len(paid) - 7], "reject truncated", "the last section is cut short")
mutant("trailing-data", paid + custom("extra", b"after the end"), "reject trailing-data",
       "a well-formed custom section after the last signature delimiter")
sig = find(paid, "signature")
mutant("no-signature-section", paid[:8] + paid[sig[4]:], "reject no-signature-section",
       "the signature section was removed")
b = bytearray(paid); b[sig[3]] = 0x7f   # spec_version
mutant("bad-signature-section", bytes(b), "reject bad-signature-section",
       "the signature section's spec version is not 1")
idx = find(paid, "capsule.index")
mutant("no-index", paid[:idx[2]] + paid[idx[4]:], "reject bad-layout",
       "the capsule.index section was removed")
# The index section's size as an over-long LEB128 (6 bytes: more than 5 are not allowed).
size_len = idx[3] - idx[2] - 1 - len(enc_leb(len("capsule.index"))) - len("capsule.index")
mutant("bad-leb128", paid[:idx[2] + 1] + b"\xff\xff\xff\xff\xff\x0f" + paid[idx[2] + 1 + size_len:],
       "reject bad-leb128", "a section size encoded as a 6-byte LEB128")
man = find(paid, "capsule.manifest")
b = bytearray(paid); j = man[3] + (man[4] - man[3]) // 2
b[j] ^= 0x01
mutant("manifest-byte-flipped", bytes(b), "reject part-hash-mismatch",
       "one bit of the embedded manifest changed (part 2 no longer matches its signed hash)")
pay = find(paid, "capsule.payload")
b = bytearray(paid); b[pay[3] + 10] ^= 0x80
mutant("payload-byte-flipped", bytes(b), "reject chunk-hash-mismatch",
       "one bit of the payload changed (the chunk no longer matches its signed index entry)")
code_ends = [s for s in sections(paid) if s[0] == 10][0]
b = bytearray(paid); b[code_ends[4] - 1] ^= 0x01
mutant("code-byte-flipped", bytes(b), "reject part-hash-mismatch",
       "one bit of the capsule code changed (part 1 no longer matches its signed hash)")

# open vectors: run as the holder, with the committed ledger, trusting the creator.
def opn(name, lic, expect, why, identity="keys/holder.key", capsule="capsules/paid.capsule.wasm", extra=()):
    args = ["-i", identity, "--trust", "keys/creator.pub", "--ledger", "file:ledger.json"]
    if lic: args += ["-l", lic]
    vec(name, "open", capsule, expect, args + list(extra), why)
opn("open-buy", "licenses/buy.lic", "ok", "the holder's licence for the buy model")
opn("open-ppv", "licenses/ppv.lic", "ok", "pay_per_view licence (first of two plays)")
opn("open-free", None, "ok", "free content needs no licence", capsule="capsules/free.capsule.wasm")
opn("open-no-license", None, "reject no-license", "a paid capsule without preview, no licence")
opn("open-wrong-holder", "licenses/stranger-holder.lic", "reject license-wrong-holder",
    "the licence names another holder")
opn("open-wrong-capsule", "licenses/other-capsule.lic", "reject license-wrong-capsule",
    "the licence is for another capsule")
opn("open-not-yet-valid", "licenses/not-yet-valid.lic", "reject license-not-yet-valid",
    "not_before is in 2099")
opn("open-expired", "licenses/expired.lic", "reject license-expired", "not_after is in 2020")
opn("open-not-holder", "licenses/stranger-holder.lic", "reject not-holder",
    "the stranger's own licence, but the ledger shows no token for the stranger",
    identity="keys/stranger.key")
opn("open-tampered-capsule", "licenses/buy.lic", "reject chunk-hash-mismatch",
    "the payload was changed after signing", capsule="capsules/payload-byte-flipped.capsule.wasm")
opn("open-untrusted", "licenses/buy.lic", "reject untrusted-signer", "the creator is not trusted",
    extra=())  # trust list replaced below
V[-1]["args"][V[-1]["args"].index("keys/creator.pub")] = "keys/stranger.pub"

lic = json.loads(rd("licenses/buy.lic"))
t = json.loads(json.dumps(lic)); s = base64.b64decode(t["signature"]["sig"])
t["signature"]["sig"] = base64.b64encode(bytes([s[0] ^ 1]) + s[1:]).decode()
wr("licenses/bad-signature.lic", json.dumps(t, indent=2).encode())
opn("open-license-bad-signature", "licenses/bad-signature.lic", "reject license-bad-signature",
    "one bit of the licence signature changed")
wr("licenses/malformed.lic", rd("licenses/buy.lic")[:-40])
opn("open-license-malformed", "licenses/malformed.lic", "reject license-malformed",
    "the licence file is cut short (not JSON)")
# A well-formed licence signed by a key that is not one of the capsule's issuers.
sk = json.loads(rd("keys/stranger.key")); spub = json.loads(rd("keys/stranger.pub"))
body = json.loads(json.dumps(lic["license"])); body["issuer"] = spub["ed25519"]
canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
seed = base64.b64decode(sk["secret"])[:32]
sg = Ed25519PrivateKey.from_private_bytes(seed).sign(b"capsule/v1 license\0" + canon)
wr("licenses/stranger-issuer.lic", json.dumps({"license": body, "signature": {
    "alg": "ed25519", "key": spub["ed25519"], "sig": base64.b64encode(sg).decode()}}, indent=2).encode())
opn("open-issuer-not-listed", "licenses/stranger-issuer.lic", "reject license-issuer-not-listed",
    "a valid signature by a key that is not one of the capsule's issuers")

json.dump({"format": "capsule-test-vectors", "version": 1, "vectors": V},
          open("vectors.json", "w"), indent=2)
open("vectors.json", "a").write("\n")
print(f"{len(V)} vectors in {OUT}")
PY
