#!/usr/bin/env python3
# Re-signs a capsule after changing its embedded manifest: a hostile but validly self-signed
# capsule, as any key holder can make one (docs/hardening.md, findings 2–3). Recomputes h1, h2,
# h3 (docs/spec/capsule-format.md §4) and writes a signature section with one set and one
# Ed25519 signature by KEY's seed.
#   resign.py IN.capsule.wasm KEY.key OUT.capsule.wasm 'PYTHON ON m'   e.g. 'm["capsule"]["file_name"] = 5'
# Needs python3 with `cryptography`.
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
src, keyfile, out, mutate = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
b = open(src, "rb").read()
def leb(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80: return r, i
def enc(n):
    o = bytearray()
    while True:
        x = n & 0x7f; n >>= 7; o.append(x | (0x80 if n else 0))
        if not n: return bytes(o)
secs = []; i = 8
while i < len(b):
    st = i; sid = b[i]; i += 1; n, i = leb(b, i); end = i + n; name = ""
    if sid == 0:
        l, j = leb(b, i); name = b[j:j+l].decode(); cs = j + l
    else: cs = i
    secs.append([sid, name, b[cs:end], b[st:end]]); i = end
def E(s):
    if s[0] == 0:
        body = enc(len(s[1])) + s[1].encode() + s[2]
        return b"\0" + enc(len(body)) + body
    return s[3]
for s in secs:
    if s[1] == "capsule.manifest":
        m = json.loads(s[2]); exec(mutate)
        s[2] = json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
h = hashlib.sha256(); hs = []; delims = 0
for s in secs[1:]:
    h.update(E(s))
    if s[1] == "signature_delimiter": hs.append(h.copy().digest())
seed = base64.b64decode(json.load(open(keyfile))["secret"])[:32]
sig = Ed25519PrivateKey.from_private_bytes(seed).sign(b"wasmsig\x01\x01\x01" + b"".join(hs))
entry = enc(0) + b"\x01" + enc(64) + sig
st = enc(len(hs)) + b"".join(hs) + enc(1) + enc(len(entry)) + entry
sigdata = enc(1) + enc(1) + enc(1) + enc(1) + enc(len(st)) + st
secs[0][2] = sigdata
open(out, "wb").write(b[:8] + b"".join(E(s) for s in secs))
