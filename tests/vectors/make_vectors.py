#!/usr/bin/env python3
# Second stage of generate.sh: byte-level mutations, re-signed hand-made capsules, licences and
# licence requests with fixed fields, and vectors.json with the expectation of every vector,
# written here by hand (README.md, "Coverage" has the table by reason code).
#   make_vectors.py OUT_DIR WORK_DIR     (WORK_DIR: generate.sh's temporary directory)
import base64, glob, hashlib, json, os, sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vectorlib as vl  # noqa: E402

OUT, W = sys.argv[1], sys.argv[2]
os.chdir(OUT)


def rd(p): return open(p, "rb").read()
def wr(p, b): open(p, "wb").write(b if isinstance(b, bytes) else b.encode())
def seeded(label, n=32): return hashlib.sha256(b"capsule test vectors: " + label.encode()).digest()[:n]


UNREACHABLE_RPC = "evm:http://127.0.0.1:9/"   # nothing listens: any chain contact fails
T_2024, T_2100, T_2020 = 1704067200, 4102444800, 1577836800

keys = {}
for k in ("creator", "issuer", "holder", "stranger"):
    seed, x_sk, secp, _ = vl.load_key(f"keys/{k}.key")
    keys[k] = {"seed": seed, "x_sk": x_sk, "secp": secp, "pub": json.load(open(f"keys/{k}.pub"))}


def key_by(field, value):
    return next(n for n, k in keys.items() if k["pub"][field].lower() == value.lower())


# ---- licences: check our writer against capsulec's, then fix the random fields ----
def normalise_license(path):
    """Fixed id, issued_at = not_before, a seeded sealed key; re-signed by the same issuer."""
    text = open(path).read()
    doc = json.loads(text)
    body, signer = doc["license"], key_by("ed25519", doc["signature"]["key"])
    # Ed25519 is deterministic: our writer must reproduce capsulec's file byte for byte.
    assert vl.license_text(body, f"keys/{signer}.key") == text, f"{path}: licence writer differs"
    holder = key_by("ed25519", body["holder"]["ed25519"])
    x_pk = bytes.fromhex(keys[holder]["pub"]["x25519"])
    k = vl.seal_open(x_pk, keys[holder]["x_sk"], base64.b64decode(body["sealed_key"]))
    assert k is not None, path
    name = os.path.basename(path)
    body["id"] = seeded("licence id " + name, 16).hex()
    body["issued_at"] = body["not_before"]
    body["sealed_key"] = base64.b64encode(vl.seal(x_pk, k, seeded("sealed key " + name))).decode()
    wr(path, vl.license_text(body, f"keys/{signer}.key"))
    return body, k


lic_bodies, lic_keys = {}, {}
for p in sorted(glob.glob("licenses/*.lic")):
    n = os.path.basename(p)[:-4]
    lic_bodies[n], lic_keys[n] = normalise_license(p)


def write_license(name, body, signer):
    body = json.loads(json.dumps(body))
    body["id"] = seeded("licence id " + name + ".lic", 16).hex()
    wr(f"licenses/{name}.lic", vl.license_text(body, f"keys/{signer}.key"))


# ---- ledgers: granted_at fixed (capsule-run writes sorted keys, 2 spaces, a final newline) ----
for p in ("ledger.json", "ledger-expired.json"):
    text = open(p).read()
    led = json.loads(text)
    assert json.dumps(led, indent=2, sort_keys=True) + "\n" == text, f"{p}: ledger writer differs"
    for g in led["grants"]: g["granted_at"] = T_2024
    wr(p, json.dumps(led, indent=2, sort_keys=True) + "\n")
bad_ledger = json.loads(rd("ledger.json"))
bad_ledger["version"] = 2
wr("ledger-malformed.json", json.dumps(bad_ledger, indent=2, sort_keys=True) + "\n")

# ---- state stores: check our writer against capsule-run's, then write the vectors' ----
st = f"{W}/state-tool"
man_name = next(n for n in os.listdir(st) if n.startswith("manifest."))
tool_man = json.loads(rd(f"{st}/{man_name}"))
(rkey, entry), = tool_man["records"].items()
tool_rec = json.loads(rd(f"{st}/records/{rkey}.{entry['seq']}.json"))
mine = vl.state_store(None, rd(f"{st}/store.key"), tool_man["seq"], tool_man["last_seen"],
                      [(tool_rec["capsule"], tool_rec["holder"], tool_rec["license"],
                        tool_rec["plays_used"], tool_rec["first_play"])])
for n, b in mine.items():
    assert rd(f"{st}/{n}") == b, f"state store writer differs from capsule-run's ({n})"
paid_id = vl.manifest(vl.parse(rd("capsules/paid.capsule.wasm")))["capsule"]["id"]
holder_addr = keys["holder"]["pub"]["address"].lower()
ppv_id = lic_bodies["ppv"]["id"]  # plays are counted per licence (ledger.md §3.1)
vl.state_store("states/two-plays", seeded("state store key two-plays"), 2, T_2024,
               [(paid_id, holder_addr, ppv_id, 2, T_2024)])
files = vl.state_store("states/tampered", seeded("state store key tampered"), 2, T_2024,
                       [(paid_id, holder_addr, ppv_id, 2, T_2024)])
rec_name = next(n for n in files if n.startswith("records/"))
wr(f"states/tampered/{rec_name}", files[rec_name].replace(b'"plays_used":2', b'"plays_used":0'))

# ---- licence requests: check our writer against capsulec's, then write fixed ones ----
tool_req = open(f"{W}/tool.req.json").read()
t = json.loads(tool_req)["typed_data"]
assert vl.request_text(t["domain"], t["message"], keys["holder"]["secp"]) == tool_req, \
    "licence request writer differs from capsulec's"


def request_for(capsule, expiry=T_2100, nonce="1"):
    secs = vl.parse(rd(capsule))
    m, mbytes = vl.manifest(secs), vl.find(secs, "capsule.manifest").content
    hp = keys["holder"]["pub"]
    domain = {"name": "Capsule SDK", "version": "1", "chainId": m["chain"]["chain_id"],
              "verifyingContract": m["chain"]["contract"].lower()}
    msg = {"holder": hp["address"].lower(), "holderEd25519": "0x" + hp["ed25519"],
           "holderX25519": "0x" + hp["x25519"],
           "manifestHash": "0x" + hashlib.sha256(mbytes).hexdigest(),
           "tokenId": str(int(m["capsule"]["id"], 16)), "model": "buy", "nonce": nonce,
           "expiry": expiry}
    return domain, msg


# The fields we derive for a capsule (token id, manifest hash, …) are the ones capsulec derives.
assert request_for("capsules/chain.capsule.wasm", t["message"]["expiry"]) == (t["domain"], t["message"]), \
    "licence request fields differ from capsulec's"


# ---- vectors ----
V = []


def vec(name, tool, file, expect, args=(), why="", **extra):
    v = {"name": name, "tool": tool, "file": file, "args": list(args), "expect": expect,
         "description": why}
    v.update(extra)
    V.append(v)


TRUST = ["--trust", "keys/creator.pub"]


def verify(name, file, expect, why, trust=TRUST, **extra):
    vec(name, "verify", file, expect, trust, why, **extra)


def mutant(name, data, expect, why, trust=TRUST, **extra):
    wr(f"capsules/{name}.capsule.wasm", data)
    verify(name, f"capsules/{name}.capsule.wasm", expect, why, trust, **extra)


def opn(name, capsule, lic, expect, why, identity="holder", trust="creator", ledger="file:ledger.json",
        extra=(), **kw):
    args = ["-i", f"keys/{identity}.key"]
    if trust: args += ["--trust", f"keys/{trust}.pub"]
    if ledger: args += ["--ledger", ledger]
    if lic: args += ["-l", f"licenses/{lic}.lic"]
    vec(name, "open", f"capsules/{capsule}.capsule.wasm", expect, args + list(extra), why, **kw)


def issue(name, capsule, request, expect, why, **kw):
    vec(name, "license-issue", f"capsules/{capsule}.capsule.wasm", expect,
        ["-k", "keys/creator.key", "--request", f"requests/{request}.req.json",
         "--ledger", UNREACHABLE_RPC, "--rpc-timeout-ms", "2000"], why, **kw)


def capsule(name): return rd(f"capsules/{name}.capsule.wasm")


paid = capsule("paid")
# Our re-signing reproduces capsulec's signature section (Ed25519 is deterministic), and our
# chunk crypto opens its chunks: the hand-made capsules below are made the way the tools make them.
assert vl.resign(vl.parse(paid), "keys/creator.key") == paid, "re-signing differs from capsulec"
s = vl.parse(capsule("free")); c = vl.manifest(s)["capsule"]
e = vl.parse_index(vl.find(s, "capsule.index").content)[0]
plain = vl.open_chunk(bytes.fromhex(c["content_key"]), bytes.fromhex(c["id"]), 0, e[1],
                     c["chunk_size"], c["plaintext_size"], vl.find(s, "capsule.payload").content)
assert e[1] & vl.COMPRESSED or plain == rd("capsules/free.txt"), "chunk crypto differs from capsulec"

# verify: valid capsules, trust.
verify("paid", "capsules/paid.capsule.wasm", "ok", "a valid paid capsule")
verify("free", "capsules/free.capsule.wasm", "ok", "a valid free capsule")
verify("chain", "capsules/chain.capsule.wasm", "ok",
       "a valid capsule with a chain block and the creator's EIP-712 binding")
verify("chain-unbound", "capsules/chain-unbound.capsule.wasm", "ok",
       "a valid capsule with a chain block and no creator binding (only the evm ledger needs one)")
verify("untrusted", "capsules/paid.capsule.wasm", "reject untrusted-signer",
       "valid, but its creator is not in the trust list", trust=["--trust", "keys/stranger.pub"])
pub = json.load(open("keys/creator.pub"))
pub["ed25519"] = pub["ed25519"][:-2]
wr("keys/malformed.pub", json.dumps(pub, indent=2) + "\n")
verify("bad-trust-key", "capsules/paid.capsule.wasm", "reject bad-key-file",
       "the key given with --trust is malformed (its ed25519 key is 31 bytes)",
       trust=["--trust", "keys/malformed.pub"])

# verify: structure (no re-signing needed: these fail before any signature is checked).
mutant("bad-magic", b"\0asn\x02" + paid[5:], "reject not-wasm", "the WebAssembly magic is wrong")
mutant("truncated", paid[:len(paid) - 7], "reject truncated", "the last section is cut short")
mutant("trailing-data", paid + vl.Section(0, "extra", b"after the end").encode(),
       "reject trailing-data", "a well-formed custom section after the last signature delimiter")
secs = vl.parse(paid)
mutant("no-signature-section", vl.assemble(secs[1:]), "reject no-signature-section",
       "the signature section was removed")
# spec_version: the first byte of the signature section's content.
sig_off = 8 + len(secs[0].encode()) - len(secs[0].content)
b = bytearray(paid); b[sig_off] = 0x7f
mutant("bad-signature-section", bytes(b), "reject bad-signature-section",
       "the signature section's spec version is not 1")
mutant("no-index", vl.assemble([s for s in secs if s.name != "capsule.index"]), "reject bad-layout",
       "the capsule.index section was removed")
idx_start, idx_content = vl.custom_offset(paid, "capsule.index")
# The index section's size as an over-long LEB128 (6 bytes: more than 5 are not allowed).
_, after_size = vl.leb(paid, idx_start + 1)
mutant("bad-leb128", paid[:idx_start + 1] + b"\xff\xff\xff\xff\xff\x0f" + paid[after_size:],
       "reject bad-leb128", "a section size encoded as a 6-byte LEB128")
b = bytearray(paid); b[after_size + 1] = 0xff   # first byte of the name "capsule.index"
mutant("bad-section-name", bytes(b), "reject bad-section-name",
       "a custom section name that is not UTF-8 (0xff)")

# verify: integrity (bytes changed after signing; no re-signing).
_, man_content = vl.custom_offset(paid, "capsule.manifest")
man_len = len(vl.find(secs, "capsule.manifest").content)
b = bytearray(paid); b[man_content + man_len // 2] ^= 0x01
mutant("manifest-byte-flipped", bytes(b), "reject part-hash-mismatch",
       "one bit of the embedded manifest changed (part 2 no longer matches its signed hash)")
_, pay_content = vl.custom_offset(paid, "capsule.payload")
b = bytearray(paid); b[pay_content + 10] ^= 0x80
mutant("payload-byte-flipped", bytes(b), "reject chunk-hash-mismatch",
       "one bit of the payload changed (the chunk no longer matches its signed index entry)")
code_end = 8 + sum(len(s.encode()) for s in secs[:next(i for i, s in enumerate(secs)
                                                         if s.name == "signature_delimiter")])
b = bytearray(paid); b[code_end - 1] ^= 0x01
mutant("code-byte-flipped", bytes(b), "reject part-hash-mismatch",
       "one bit of the capsule code changed (part 1 no longer matches its signed hash)")
b = bytearray(paid); b[sig_off + len(secs[0].content) - 1] ^= 0x01
mutant("signature-byte-flipped", bytes(b), "reject no-valid-signature",
       "one bit of the creator's Ed25519 signature changed (the hashes still match)")

# verify: hand-made capsules, validly re-signed (vectorlib.resign).
mutant("signed-by-stranger", vl.resign(vl.parse(paid), "keys/stranger.key"),
       "reject creator-not-signer",
       "re-signed by the stranger, whose key is trusted; the manifest names the creator",
       trust=["--trust", "keys/stranger.pub"])
verify("signed-by-stranger-creator-trusted", "capsules/signed-by-stranger.capsule.wasm",
       "reject no-valid-signature",
       "re-signed by the stranger; only the creator is trusted and did not sign")
mutant("two-parts-signed", vl.resign(vl.parse(paid), "keys/creator.key", parts=2),
       "reject part-count-mismatch",
       "the creator's signature covers only parts 1 and 2 (two hashes for three parts)")
s = vl.parse(paid); m = vl.manifest(s)
vl.set_manifest(s, m, raw=json.dumps(m, sort_keys=True, indent=1).encode())
mutant("manifest-not-canonical", vl.resign(s, "keys/creator.key"), "reject manifest-not-canonical",
       "the embedded manifest is valid JSON but indented (not RFC 8785); signed by the creator")
s = vl.parse(paid); m = vl.manifest(s); m["capsule"]["chunk_count"] += 1
vl.set_manifest(s, m)
mutant("manifest-invalid", vl.resign(s, "keys/creator.key"), "reject manifest-invalid",
       "capsule.chunk_count does not match plaintext_size and chunk_size; signed by the creator")
s = vl.parse(paid); m = vl.manifest(s); m["capsule"]["suite"] = "chacha20-poly1305/sha-256/zstd"
vl.set_manifest(s, m)
mutant("unsupported-suite", vl.resign(s, "keys/creator.key"), "reject unsupported-suite",
       "capsule.suite names another cipher suite; signed by the creator")
s = vl.parse(paid); ix = vl.find(s, "capsule.index"); ix.content = b"\x02" + ix.content[1:]
mutant("bad-index", vl.resign(s, "keys/creator.key"), "reject bad-index",
       "the chunk index has version 2; signed by the creator")
s = vl.parse(capsule("free")); m = vl.manifest(s)
ck = bytearray.fromhex(m["capsule"]["content_key"]); ck[0] ^= 1
m["capsule"]["content_key"] = ck.hex()
vl.set_manifest(s, m)
mutant("content-key-mismatch", vl.resign(s, "keys/creator.key"), "reject key-commitment-mismatch",
       "a free capsule whose published content key does not match its key commitment; signed "
       "by the creator")

# A paid capsule whose chunk fails its AES-GCM tag: one ciphertext bit changed, the index entry's
# hash updated and the capsule re-signed. verify has no content key, so only open can tell.
s = vl.parse(paid)
pl, ix = vl.find(s, "capsule.payload"), vl.find(s, "capsule.index")
ct = bytearray(pl.content); ct[5] ^= 0x01; pl.content = bytes(ct)
e = vl.parse_index(ix.content); e[0][2] = hashlib.sha256(pl.content).digest()
ix.content = vl.serialize_index(e)
mutant("chunk-tag-broken", vl.resign(s, "keys/creator.key"), "ok",
       "a paid chunk changed and its index entry and signature remade: intact as signed (verify "
       "has no content key; open rejects it with chunk-auth-failed)")

# A free capsule whose only chunk authenticates but is flagged compressed and is not a zstd frame.
s = vl.parse(capsule("free")); m = vl.manifest(s); c = m["capsule"]
k, cid = bytes.fromhex(c["content_key"]), bytes.fromhex(c["id"])
body = b"this is not a zstd frame"
ct = vl.seal_chunk(k, cid, 0, 1, 1, c["chunk_size"], c["plaintext_size"], body)
vl.find(s, "capsule.payload").content = ct
vl.find(s, "capsule.index").content = vl.serialize_index(
    [[len(ct), vl.COMPRESSED | vl.FINAL, hashlib.sha256(ct).digest()]])
wr("capsules/chunk-not-zstd.capsule.wasm", vl.resign(s, "keys/creator.key"))
verify("chunk-not-zstd", "capsules/chunk-not-zstd.capsule.wasm", "ok",
       "a free chunk, validly encrypted and signed, flagged compressed but not a zstd frame "
       "(verify does not decrypt; open rejects it with chunk-decompress)")

# Creator binding: the chain capsule with one digit of the binding's r changed, re-signed.
s = vl.parse(capsule("chain")); m = vl.manifest(s)
bnd = m["creator"]["binding"]
m["creator"]["binding"] = bnd[:10] + ("0" if bnd[10] != "0" else "1") + bnd[11:]
vl.set_manifest(s, m)
wr("capsules/binding-invalid.capsule.wasm", vl.resign(s, "keys/creator.key"))
verify("binding-invalid", "capsules/binding-invalid.capsule.wasm", "reject creator-binding-invalid",
       "the manifest's EIP-712 creator binding does not recover creator.address (chain.md §3: "
       "a reader MUST check a present binding); signed by the creator")

# ---- licences made here (signed by the keys named) ----
b = json.loads(json.dumps(lic_bodies["buy"]))
b["sealed_key"] = base64.b64encode(vl.seal(bytes.fromhex(keys["holder"]["pub"]["x25519"]),
                                           lic_keys["other-capsule"], seeded("sealed key other-key"))).decode()
write_license("other-key", b, "issuer")
b = json.loads(json.dumps(lic_bodies["ppv"])); b["model"]["plays"] = 5
write_license("ppv-5-plays", b, "creator")
t = json.loads(rd("licenses/buy.lic")); sg = base64.b64decode(t["signature"]["sig"])
t["signature"]["sig"] = base64.b64encode(bytes([sg[0] ^ 1]) + sg[1:]).decode()
wr("licenses/bad-signature.lic", json.dumps(t, indent=2, sort_keys=True) + "\n")
wr("licenses/malformed.lic", rd("licenses/buy.lic")[:-40])
b = json.loads(json.dumps(lic_bodies["buy"])); b["issuer"] = keys["stranger"]["pub"]["ed25519"]
write_license("stranger-issuer", b, "stranger")

# ---- open ----
opn("open-buy", "paid", "buy", "ok", "the holder's licence for the buy model",
    output="capsules/paid.txt")
opn("open-ppv", "paid", "ppv", "ok", "pay_per_view licence (first of two plays)",
    output="capsules/paid.txt")
opn("open-free", "free", None, "ok", "free content needs no licence", output="capsules/free.txt")
opn("open-preview", "previewed", None, "ok",
    "no licence: the clear preview (preview: {lines: 1}) is served",
    output="capsules/previewed.preview.txt")
wr("capsules/previewed.preview.txt", b"The content of the previewed test vector.\n")
opn("open-free-with-ads", "free-ads", None, "ok",
    "free_with_ads: the ad capsule (found by id in --ad-dir) plays first, then the content",
    extra=["--ad-dir", "ads"], output="capsules/free-ads.out.txt")
wr("capsules/free-ads.out.txt", rd("capsules/ad.txt") + rd("capsules/free-ads.txt"))
os.remove("capsules/ad.txt")
opn("open-logic-copy", "logic-copy", None, "ok",
    "custom logic (logic/copy.wat) that copies every chunk to the output",
    output="capsules/logic.txt")
paid_code = vl.code_hash(vl.parse(paid))
opn("open-trust-logic", "paid", "buy", "ok",
    "--trust-logic names the capsule code's SHA-256 (the bundled template)",
    extra=["--trust-logic", paid_code], output="capsules/paid.txt")
opn("open-no-license", "paid", None, "reject no-license",
    "a paid capsule without preview, no licence")
opn("open-wrong-holder", "paid", "stranger-holder", "reject license-wrong-holder",
    "the licence names another holder")
opn("open-wrong-capsule", "paid", "other-capsule", "reject license-wrong-capsule",
    "the licence is for another capsule")
opn("open-not-yet-valid", "paid", "not-yet-valid", "reject license-not-yet-valid",
    "not_before is in 2099")
opn("open-expired", "paid", "expired", "reject license-expired", "not_after is in 2020")
opn("open-grant-expired", "paid", "buy", "reject license-expired",
    "the licence is valid, but the ledger's grant to the holder ended on 2020-02-01",
    ledger="file:ledger-expired.json")
opn("open-ledger-malformed", "paid", "buy", "reject ledger-malformed",
    "the ledger file has version 2", ledger="file:ledger-malformed.json")
opn("open-not-holder", "paid", "stranger-holder", "reject not-holder",
    "the stranger's own licence, but the ledger shows no token for the stranger",
    identity="stranger")
opn("open-model-not-offered", "paid", "ppv-5-plays", "reject model-not-offered",
    "a pay_per_view licence for 5 plays, signed by the creator; the capsule offers 2")
opn("open-plays-exhausted", "paid", "ppv", "reject plays-exhausted",
    "pay_per_view for 2 plays opened 3 times with one state store: the third is refused",
    runs=3, output="capsules/paid.txt")
opn("open-plays-used-up", "paid", "ppv", "reject plays-exhausted",
    "pay_per_view for 2 plays, with a state store (states/two-plays) that counted 2 already",
    state="states/two-plays")
opn("open-state-tampered", "paid", "ppv", "reject state-corrupt",
    "the state store's record was edited from 2 plays used to 0 (its MAC no longer matches)",
    state="states/tampered")
opn("open-key-commitment-mismatch", "paid", "other-key", "reject key-commitment-mismatch",
    "a licence signed by an issuer whose sealed key is another capsule's content key")
opn("open-tampered-capsule", "payload-byte-flipped", "buy", "reject chunk-hash-mismatch",
    "the payload was changed after signing")
opn("open-chunk-auth-failed", "chunk-tag-broken", "buy", "reject chunk-auth-failed",
    "the chunk matches its (re-signed) index entry but fails its AES-GCM tag")
opn("open-chunk-decompress", "chunk-not-zstd", None, "reject chunk-decompress",
    "free content whose authenticated chunk is flagged compressed but is not a zstd frame")
opn("open-untrusted", "paid", "buy", "reject untrusted-signer", "the creator is not trusted",
    trust="stranger")
opn("open-creator-not-signer", "signed-by-stranger", "buy", "reject creator-not-signer",
    "signed by the stranger (trusted), not by the creator the manifest names", trust="stranger")
opn("open-license-bad-signature", "paid", "bad-signature", "reject license-bad-signature",
    "one bit of the licence signature changed")
opn("open-license-malformed", "paid", "malformed", "reject license-malformed",
    "the licence file is cut short (not JSON)")
opn("open-issuer-not-listed", "paid", "stranger-issuer", "reject license-issuer-not-listed",
    "a valid signature by a key that is not one of the capsule's issuers")
opn("open-untrusted-logic", "paid", "buy", "reject untrusted-logic",
    "--trust-logic names another code hash than the capsule's", extra=["--trust-logic", "0" * 64])
opn("open-binding-invalid", "binding-invalid", None, "reject creator-binding-invalid",
    "the manifest's creator binding does not recover creator.address (file ledger, --trust)")
opn("open-binding-invalid-evm", "binding-invalid", None, "reject creator-binding-invalid",
    "the same with the evm ledger: refused before the chain is asked", trust=None,
    ledger=UNREACHABLE_RPC)
opn("open-no-creator-binding", "chain-unbound", None, "reject no-creator-binding",
    "the evm ledger needs a creator binding; the manifest has none: refused before the chain is "
    "asked", trust=None, ledger=UNREACHABLE_RPC)
opn("open-insecure-rpc", "chain", None, "reject chain-insecure-rpc",
    "an evm ledger over plain http off loopback is refused", trust=None,
    ledger="evm:http://rpc.example.org/")

# Capsule logic the runtime refuses before running it: hand-made (pack --logic refuses these),
# the free capsule's code replaced and the capsule re-signed by the creator.
free_secs = vl.parse(capsule("free"))
module_vectors = [
    ("module-invalid", None, "the code part is a type section declaring 5 types and holding none"),
    ("module-forbidden-import", "forbidden-import", "logic/forbidden-import.wat: imports wasi's fd_write"),
    ("module-memory-unbounded", "memory-no-max", "logic/memory-no-max.wat: a memory without a maximum"),
    ("module-table-too-large", "table-no-max", "logic/table-no-max.wat: a table without a maximum"),
    ("module-feature-refused", "threads", "logic/threads.wat: a shared memory (threads)"),
    ("module-bad-exports", "no-run-export", "logic/no-run-export.wat: no capsule_run export"),
]
for code, wat, why in module_vectors:
    sections = ([vl.Section(1, "", b"\x05")] if wat is None else
                vl.code_sections(rd(f"{W}/logic/{wat}.wasm")))
    wr(f"capsules/{code}.capsule.wasm", vl.resign(vl.replace_code(free_secs, sections), "keys/creator.key"))
    opn("open-" + code, code, None, "reject " + code, why + "; free content, re-signed by the creator")
verify("module-invalid", "capsules/module-invalid.capsule.wasm", "ok",
       "verify does not compile the code part (open rejects it with module-invalid)")

# Capsule logic that runs and is stopped or refuses (packed with pack --logic).
opn("open-sandbox-trap", "logic-trap", None, "reject sandbox-trap", "logic/trap.wat: unreachable")
opn("open-sandbox-instruction-limit", "logic-loop", None, "reject sandbox-instruction-limit",
    "logic/loop.wat loops forever; --max-instructions 10000", extra=["--max-instructions", "10000"])
opn("open-sandbox-time-limit", "logic-loop", None, "reject sandbox-time-limit",
    "logic/loop.wat loops forever; a huge instruction budget and --max-time-ms 200",
    extra=["--max-instructions", "1000000000000000", "--max-time-ms", "200"])
opn("open-sandbox-memory-limit", "logic-stack", None, "reject sandbox-memory-limit",
    "4000 locals a frame, recursing: the interpreter's value stack passes its cap")
opn("open-sandbox-output-limit", "logic-flood", None, "reject sandbox-output-limit",
    "logic/flood.wat writes 64 KiB blocks forever (cap: content + preview + 64 KiB)")
opn("open-refused-by-logic", "logic-refuse", None, "reject refused-by-logic",
    "logic/refuse.wat: capsule_run returns 3")

# free_with_ads: the ad is missing, or does not verify.
opn("open-ad-missing", "free-ads", None, "reject ad-missing",
    "the ad directory holds another capsule, not the ad", extra=["--ad-dir", "ads-other"])
ad = rd("ads/ad.capsule.wasm")
_, a_content = vl.custom_offset(ad, "capsule.payload")
b = bytearray(ad); b[a_content + 3] ^= 0x01
wr("ads-tampered/ad.capsule.wasm", bytes(b))
opn("open-ad-tampered", "free-ads", None, "reject ad-missing",
    "the ad capsule in the ad directory has a changed payload byte (it does not verify)",
    extra=["--ad-dir", "ads-tampered"])

# ---- licence requests (capsulec license issue --request; the evm URL is unreachable) ----
def write_request(name, capsule_name, expiry=T_2100, edit=None):
    domain, msg = request_for(f"capsules/{capsule_name}.capsule.wasm", expiry)
    text = vl.request_text(domain, msg, keys["holder"]["secp"])
    if edit:
        j = json.loads(text); edit(j); text = json.dumps(j, indent=2, sort_keys=True) + "\n"
    wr(f"requests/{name}.req.json", text)


write_request("chain-unbound", "chain-unbound")
write_request("binding-invalid", "binding-invalid")
write_request("expired", "chain", expiry=T_2020)
write_request("rekeyed", "chain",
              edit=lambda j: j["typed_data"]["message"].update(holderX25519="0x" + "11" * 32))
write_request("malformed", "chain", edit=lambda j: j.update(version=2))
issue("request-malformed", "chain", "malformed", "reject license-request-malformed",
      "the request file has version 2")
issue("request-bad-signature", "chain", "rekeyed", "reject license-request-bad-signature",
      "holderX25519 changed after the holder signed: the signature recovers another address")
issue("request-no-creator-binding", "chain-unbound", "chain-unbound", "reject no-creator-binding",
      "a valid request for a capsule without a creator binding: refused before the chain is asked")
issue("request-binding-invalid", "binding-invalid", "binding-invalid", "reject creator-binding-invalid",
      "a valid request for a capsule whose creator binding is invalid: refused before the chain "
      "is asked")
issue("request-mismatch", "chain", "chain-unbound", "reject license-request-mismatch",
      "a valid request for another capsule (token id and manifest hash differ): chain.md §6 "
      "step 3, before the chain is checked (step 4)")
issue("request-expired", "chain", "expired", "reject license-request-expired",
      "a valid request that expired on 2020-01-01: chain.md §6 step 3, before the chain is "
      "checked (step 4)")

for v in V:
    assert os.path.exists(v["file"]), v["file"]
json.dump({"format": "capsule-test-vectors", "version": 1, "vectors": V},
          open("vectors.json", "w"), indent=2)
open("vectors.json", "a").write("\n")
tools = {}
for v in V: tools[v["tool"]] = tools.get(v["tool"], 0) + 1
print(f"{len(V)} vectors in {OUT}: " + ", ".join(f"{n} {t}" for t, n in tools.items()))
