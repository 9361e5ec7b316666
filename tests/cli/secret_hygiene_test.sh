#!/usr/bin/env bash
# Secret hygiene (issue 7, docs/hardening.md):
#  - key files are created 0600 and refused when group or world readable;
#  - no secret key bytes and no content key K appear in anything the tools print or write
#    besides the key files: stdout, stderr, --json output, licences, capsules, inspect/verify
#    reports, the state store, error messages of failing commands.
# The secret bytes come from the .key files (field "secret": base64 of ed25519 seed ‖ x25519
# secret ‖ secp256k1 secret). K of a paid capsule is recovered here, independently of the
# tools, by opening the creator's sealed box (crypto_box_seal: X25519 + XSalsa20-Poly1305, in
# pure Python below); the opener is first checked against a free capsule, whose K is published.
# Searched forms: every 16-byte window of each secret as lowercase/uppercase hex, as standard and
# URL-safe base64 (all three byte alignments), and — in binary outputs — as raw bytes.
. "$(dirname "$0")/lib.sh" secrets
C="${CAPSULEC:?}"
R="${CAPSULE_RUN:?}"
mkdir -p logs
n=0
# run NAME CMD...: runs CMD, keeping its stdout and stderr under logs/ for the scan.
run() {
  local name="$1"; shift
  n=$((n + 1))
  "$@" >"logs/$n-$name.out" 2>"logs/$n-$name.err" </dev/null
}
mode() { stat -c %a "$1"; }

# ---- key files: 0600, refused when group/world readable ----
run keygen-default "$C" keygen
run keygen-alice "$C" keygen -o alice
run keygen-bob-json "$C" keygen -o bob --json
run keygen-eve "$C" keygen -o eve
CAPSULE_PASSPHRASE=correct-horse run keygen-prot "$C" keygen -o prot --passphrase --json
for k in alice bob eve prot "$CAPSULE_HOME/default"; do
  if [ "$(mode "$k.key")" = 600 ]; then ok; else bad "$k.key has mode $(mode "$k.key"), wanted 600"; fi
done

{
  manifest_head "Secret hygiene test"
  cat <<'YAML'
  - type: buy
    price: "1"
    currency: USDC
    decimals: 6
YAML
} >paid.yaml
sed -e 's/- type: buy/- type: free/' -e '/price\|currency\|decimals/d' paid.yaml >free.yaml
printf 'A short text that is the content.\nSecond line.\n' >song.txt
cp song.txt free.txt

for perm in 640 604 644 660; do
  chmod "$perm" alice.key
  run "pack-perm-$perm" "$C" pack song.txt --royalty paid.yaml --key alice.key -o "perm$perm.capsule.wasm"
  st=$?
  if [ "$st" -ne 0 ] && [ ! -e "perm$perm.capsule.wasm" ]; then ok; else bad "pack accepted alice.key with mode $perm (exit $st)"; fi
  if grep -qi 'readable\|permission\|mode\|0600\|chmod' "logs/$n-pack-perm-$perm.err"; then ok
  else bad "mode $perm: the refusal does not say why: $(head -1 "logs/$n-pack-perm-$perm.err")"; fi
done
chmod 600 alice.key

# ---- produce outputs: success and failure paths, text and --json ----
run pack-paid "$C" pack song.txt --royalty paid.yaml --key alice.key --issuer bob.pub -o paid.capsule.wasm
run pack-paid-json "$C" pack song.txt --royalty paid.yaml --key alice.key --issuer bob.pub -o paid2.capsule.wasm --json
run pack-free-json "$C" pack free.txt --royalty free.yaml --key alice.key -o free.capsule.wasm --json
run pack-cosign-json "$C" pack song.txt --royalty paid.yaml --key alice.key --cosign eve.key -o cosigned.capsule.wasm --json
CAPSULE_PASSPHRASE=correct-horse run pack-prot-json "$C" pack song.txt --royalty paid.yaml --key prot.key -o prot.capsule.wasm --json
CAPSULE_PASSPHRASE=wrong-passphrase run pack-badpass "$C" pack song.txt --royalty paid.yaml --key prot.key -o bad.capsule.wasm
[ -e paid.capsule.wasm ] && [ -e free.capsule.wasm ] && ok || bad "pack failed: $(cat logs/*pack-paid.err)"
run inspect "$C" inspect paid.capsule.wasm
run inspect-json "$C" inspect paid.capsule.wasm --json
run verify "$C" verify paid.capsule.wasm --trust alice.pub
run verify-json "$C" verify paid.capsule.wasm --trust alice.pub --json
run lic-issue "$C" license issue paid.capsule.wasm -k alice.key --holder bob.pub --model buy -o bob.lic
run lic-issue-json "$C" license issue paid.capsule.wasm -k bob.key --holder eve.pub --model buy -o eve.lic --json
run lic-issue-stranger "$C" license issue paid.capsule.wasm -k eve.key --holder eve.pub --model buy -o x.lic
run lic-issue-stranger-json "$C" license issue paid.capsule.wasm -k eve.key --holder eve.pub --model buy -o x.lic --json
run lic-inspect "$C" license inspect bob.lic --capsule paid.capsule.wasm --holder bob.pub
run lic-inspect-json "$C" license inspect bob.lic --capsule paid.capsule.wasm --holder bob.pub --json
run unpack "$C" unpack paid.capsule.wasm --key bob.key -o unpacked.txt
run unpack-stranger "$C" unpack paid.capsule.wasm --key eve.key -o unpacked2.txt
run ledger-bob "$R" ledger grant --ledger file:ledger.json --capsule paid.capsule.wasm --holder bob.pub
run ledger-eve-json "$R" ledger grant --ledger file:ledger.json --capsule paid.capsule.wasm --holder eve.pub --json
run open "$R" open paid.capsule.wasm -l bob.lic -i bob.key --trust alice.pub --ledger file:ledger.json -o opened.txt
run open-json "$R" open paid.capsule.wasm -l eve.lic -i eve.key --trust alice.pub --ledger file:ledger.json -o opened2.txt --json
run open-stdout-json "$R" open paid.capsule.wasm -l bob.lic -i bob.key --trust alice.pub --ledger file:ledger.json -o - --json
run open-wrong-holder "$R" open paid.capsule.wasm -l bob.lic -i eve.key --trust alice.pub --ledger file:ledger.json -o no.txt
run open-wrong-holder-json "$R" open paid.capsule.wasm -l bob.lic -i eve.key --trust alice.pub --ledger file:ledger.json -o no.txt --json
run open-free-json "$R" open free.capsule.wasm --trust alice.pub --ledger file:ledger.json -o free-out.txt --json
if cmp -s opened.txt song.txt; then ok; else bad "open of the paid capsule did not give the content: $(head -2 "logs/"*-open.err)"; fi
for f in eve.lic bob.lic; do [ -e "$f" ] && ok || bad "$f was not issued"; done

# ---- recover K and scan ----
/usr/bin/python3 - "$T" <<'PY'
import base64, glob, hashlib, json, os, struct, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives import serialization

T = sys.argv[1]
M = 0xffffffff
def rotl(v, c): return ((v << c) & M) | (v >> (32 - c))
def rounds(x):
    x = list(x)
    def qr(a, b, c, d):
        x[b] ^= rotl((x[a] + x[d]) & M, 7); x[c] ^= rotl((x[b] + x[a]) & M, 9)
        x[d] ^= rotl((x[c] + x[b]) & M, 13); x[a] ^= rotl((x[d] + x[c]) & M, 18)
    for _ in range(10):
        qr(0, 4, 8, 12); qr(5, 9, 13, 1); qr(10, 14, 2, 6); qr(15, 3, 7, 11)
        qr(0, 1, 2, 3); qr(5, 6, 7, 4); qr(10, 11, 8, 9); qr(15, 12, 13, 14)
    return x
SIGMA = struct.unpack("<4I", b"expand 32-byte k")
def state(k, n16):
    k = struct.unpack("<8I", k); n = struct.unpack("<4I", n16)
    return [SIGMA[0], *k[:4], SIGMA[1], *n, SIGMA[2], *k[4:], SIGMA[3]]
def hsalsa20(k, n16):
    x = rounds(state(k, n16))
    return struct.pack("<8I", *(x[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)))
def salsa20_stream(k, n8, length):
    out = b""; ctr = 0
    while len(out) < length:
        s = state(k, n8 + struct.pack("<Q", ctr))
        x = rounds(s)
        out += struct.pack("<16I", *(((a + b) & M) for a, b in zip(x, s))); ctr += 1
    return out[:length]
def seal_open(sealed, pk, sk):
    epk, box = sealed[:32], sealed[32:]
    shared = X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(epk))
    k = hsalsa20(shared, bytes(16))
    nonce = hashlib.blake2b(epk + pk, digest_size=24).digest()
    stream = salsa20_stream(hsalsa20(k, nonce[:16]), nonce[16:], 32 + len(box) - 16)
    return bytes(a ^ b for a, b in zip(box[16:], stream[32:]))   # MAC not checked: K is compared below

def key(name):
    j = json.load(open(os.path.join(T, name)))
    return base64.b64decode(j["secret"]), bytes.fromhex(j["public"]["x25519"])
def sections(path):
    b = open(path, "rb").read(); i = 8; out = {}
    def leb(i):
        r = s = 0
        while True:
            x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
            if x < 0x80: return r, i
    while i < len(b):
        sid = b[i]; i += 1; n, i = leb(i); end = i + n
        if sid == 0:
            l, j = leb(i); out[b[j:j + l].decode()] = b[j + l:end]
        i = end
    return out
def content_key(capsule, keyname):
    m = json.loads(sections(os.path.join(T, capsule))["capsule.manifest"])["capsule"]
    secret, x_pk = key(keyname)
    for iss in m["issuers"]:
        if bytes.fromhex(iss["x25519"]) == x_pk:
            return seal_open(base64.b64decode(iss["sealed_key"]), x_pk, secret[32:64]), m
    raise SystemExit(f"{capsule}: no sealed key for {keyname}")

fails = []
k_free, m_free = content_key("free.capsule.wasm", "alice.key")
if k_free.hex() != m_free.get("content_key"):
    print("FAIL: the test's sealed-box opener does not recover the free capsule's published K"); sys.exit(1)
secrets = {}
for name in ("alice", "bob", "eve", "home/default"):
    s, _ = key(name + ".key")
    secrets[name + " ed25519 seed"] = s[:32]; secrets[name + " x25519"] = s[32:64]
    secrets[name + " secp256k1"] = s[64:96]; secrets[name + " secret"] = s
for cap in ("paid.capsule.wasm", "paid2.capsule.wasm", "cosigned.capsule.wasm"):
    if os.path.exists(os.path.join(T, cap)):
        secrets["K of " + cap] = content_key(cap, "alice.key")[0]
secrets["K of paid.capsule.wasm (via bob)"] = content_key("paid.capsule.wasm", "bob.key")[0]
if secrets["K of paid.capsule.wasm (via bob)"] != secrets["K of paid.capsule.wasm"]:
    fails.append("K sealed to alice and to bob differ")

def text_patterns(s):
    pats = set()
    for i in range(len(s) - 15):
        w = s[i:i + 16].hex(); pats.add(w); pats.add(w.upper())
    for a in range(3):
        e = base64.b64encode(s[a:]).decode().rstrip("=")
        for j in range(0, len(e) - 21 + 1, 4):
            w = e[j:j + 21]
            if len(w) == 21:
                pats.add(w); pats.add(w.replace("+", "-").replace("/", "_"))
    return pats
pats = {name: text_patterns(s) for name, s in secrets.items()}
raw = {name: [s[i:i + 16] for i in range(len(s) - 15)] for name, s in secrets.items()}

# Self-check of the scanner: a secret planted as hex, base64 (odd offset) and raw is found.
probe = secrets["alice x25519"]
for planted in (("x" + probe[3:20].hex().upper()).encode(), base64.b64encode(probe[1:30]),
                base64.urlsafe_b64encode(probe[2:31]), b"\0" + probe[5:25]):
    t = planted.decode("latin-1")
    if not (any(w in planted for w in raw["alice x25519"]) or any(w in t for w in pats["alice x25519"])):
        print("FAIL: the scanner misses a planted secret:", planted); sys.exit(1)

scanned = 0
for root, _, files in os.walk(T):
    for f in files:
        p = os.path.join(root, f)
        rel = os.path.relpath(p, T)
        # Key files hold the secrets; content files (inputs, unpacked/opened outputs) hold
        # only the content, which is not secret-derived.
        if rel.endswith(".key") or rel in ("song.txt", "free.txt", "unpacked.txt", "opened.txt",
                                           "opened2.txt", "free-out.txt"):
            continue
        data = open(p, "rb").read(); scanned += 1
        text = data.decode("latin-1")
        for name in secrets:
            if any(w in data for w in raw[name]):
                fails.append(f"{rel}: raw bytes of {name}")
            elif any(w in text for w in pats[name]):
                fails.append(f"{rel}: {name} (hex or base64)")
for f in fails: print("FAIL:", f)
print(f"scanned {scanned} files for {len(secrets)} secrets: {len(fails)} findings")
sys.exit(1 if fails else 0)
PY
if [ $? -eq 0 ]; then ok; else bad "secret bytes found in outputs (see above)"; fi

finish
