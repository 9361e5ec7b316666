#!/usr/bin/env python3
# Re-signs a capsule after changing its embedded manifest: a hostile but validly self-signed
# capsule, as any key holder can make one (docs/hardening.md, findings 2–3). Recomputes h1, h2,
# h3 (docs/spec/capsule-format.md §4) and writes a signature section with one set and one
# Ed25519 signature by KEY's seed. The manifest is re-encoded canonically (RFC 8785).
#   resign.py IN.capsule.wasm KEY.key OUT.capsule.wasm 'PYTHON ON m'   e.g. 'm["capsule"]["file_name"] = 5'
# Needs python3 with `cryptography`. The helpers are in vectorlib.py (also used by generate.sh).
import os, sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vectorlib as vl  # noqa: E402

src, keyfile, out, mutate = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
secs = vl.parse(open(src, "rb").read())
m = vl.manifest(secs)
exec(mutate)
vl.set_manifest(secs, m)
open(out, "wb").write(vl.resign(secs, keyfile))
