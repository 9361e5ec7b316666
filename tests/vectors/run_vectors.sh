#!/usr/bin/env bash
# Reads every vector of vectors.json through `capsulec verify --json` or `capsule-run open
# --json` and checks the outcome: "ok" → exit 0; "reject CODE" → the exit code of CODE's group
# (docs/exit-codes.md) and error.code == CODE in the JSON. Works on a copy of the vector
# directory (open writes state and ledger locks).
#   tests/vectors/run_vectors.sh [VECTOR_DIR]   (default: tests/vectors/v1)
# Env: CAPSULEC, CAPSULE_RUN (set by ctest), CAPSULE_SOURCE_DIR (for include/capsule/errors.def).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root="${CAPSULE_SOURCE_DIR:-$(cd "$here/../.." && pwd)}"
C="${CAPSULEC:-$root/build/capsulec/capsulec}"
R="${CAPSULE_RUN:-$root/build/runtime-min/capsule-run}"
SRC="${1:-$here/v1}"
[ -f "$SRC/vectors.json" ] || { echo "no $SRC/vectors.json"; exit 1; }
T="$(mktemp -d "${TMPDIR:-/tmp}/capsule-vectors-run.XXXXXX")"
trap 'rm -rf "$T"' EXIT
cp -r "$SRC" "$T/v" && chmod 600 "$T"/v/keys/*.key
export CAPSULE_HOME="$T/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE
cd "$T/v" || exit 1

python3 - "$C" "$R" "$root/include/capsule/errors.def" <<'PY'
import json, re, subprocess, sys
C, R, errors_def = sys.argv[1:4]
exit_of = {m.group(1): int(m.group(2)) for m in
           re.finditer(r'CAPSULE_ERROR\(\w+,\s*"([^"]+)",\s*(\d+)', open(errors_def).read())}
vectors = json.load(open("vectors.json"))["vectors"]
passed = failed = 0
for i, v in enumerate(vectors):
    if v["tool"] == "verify":
        cmd = [C, "verify", v["file"], "--json"] + v["args"]
    elif v["tool"] == "open":
        cmd = [R, "open", v["file"], "--json", "--state-dir", f"../state-{i}", "-o", f"../out-{i}"] + v["args"]
    else:
        print(f"FAIL: {v['name']}: unknown tool {v['tool']}"); failed += 1; continue
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    js = p.stdout.strip() or p.stderr.strip()
    code = None
    for line in (p.stdout + "\n" + p.stderr).splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if isinstance(j.get("error"), dict):
                code = j["error"].get("code")
    exp = v["expect"]
    if exp == "ok":
        good = p.returncode == 0
        got = f"exit {p.returncode}" + (f" ({code})" if code else "")
    else:
        want = exp.split()[1]
        good = p.returncode == exit_of.get(want, -1) and code == want
        got = f"exit {p.returncode}, code {code}"
    if good:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {v['name']} ({v['tool']} {v['file']}): expected {exp}, got {got}")
        for line in p.stderr.strip().splitlines()[:2]:
            print("    " + line)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
