#!/usr/bin/env bash
# Reads every vector of vectors.json through `capsulec verify --json`, `capsule-run open --json`
# or `capsulec license issue --json` and checks the outcome (README.md): "ok" → exit 0 (and, for
# open, the output equals the vector's `output` file); "reject CODE" → the exit code of CODE's
# group (docs/exit-codes.md) and error.code == CODE in the JSON. `runs` repeats an open against
# one state store; `state` is the store it starts from. A vector with `pending` (a known
# deviation of the reference tools, named there) is reported but does not fail the run, unless
# it passes: then its note is stale and the run fails. Also checks that every reason code of
# errors.def has a row in README.md's coverage table. Works on a copy of the vector directory
# (open writes state and ledger locks).
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
# Key files must be 0600 (git does not keep the mode).
cp -r "$SRC" "$T/v" && chmod 600 "$T"/v/keys/*.key
export CAPSULE_HOME="$T/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE
cd "$T/v" || exit 1

python3 - "$C" "$R" "$root/include/capsule/errors.def" "$here/README.md" <<'PY'
import json, re, shutil, subprocess, sys
C, R, errors_def, readme = sys.argv[1:5]
exit_of = {m.group(1): int(m.group(2)) for m in
           re.finditer(r'CAPSULE_ERROR\(\w+,\s*"([^"]+)",\s*(\d+)', open(errors_def).read())}
vectors = json.load(open("vectors.json"))["vectors"]
passed = failed = pending = 0

# Every reason code has a row in the README's coverage table (a vector, or why there is none).
rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (\d) \|", open(readme).read(), re.M))
for code in exit_of:
    if rows.get(code) != str(exit_of[code]):
        failed += 1
        print(f"FAIL: reason code {code} (exit {exit_of[code]}) has no row in "
              "tests/vectors/README.md (Coverage): add a vector, or say why verify/open cannot "
              "produce it")


def error_code(p):
    code = None
    for line in (p.stdout + "\n" + p.stderr).splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if isinstance(j, dict) and isinstance(j.get("error"), dict):
                code = j["error"].get("code")
    return code


def run_one(i, v, k):
    """Runs vector i (run k of its `runs`); returns (good, what happened)."""
    out = f"../out-{i}-{k}"
    if v["tool"] == "verify":
        cmd = [C, "verify", v["file"], "--json"] + v["args"]
    elif v["tool"] == "open":
        cmd = [R, "open", v["file"], "--json", "--state-dir", f"../state-{i}", "-o", out] + v["args"]
    elif v["tool"] == "license-issue":
        cmd = [C, "license", "issue", v["file"], "--json", "--nonce-db", f"../nonces-{i}",
               "-o", out] + v["args"]
    else:
        return False, f"unknown tool {v['tool']}", None
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    code = error_code(p)
    exp = v["expect"] if k + 1 == v.get("runs", 1) else "ok"   # earlier runs must succeed
    if exp == "ok":
        got = f"exit {p.returncode}" + (f" ({code})" if code else "")
        if p.returncode != 0:
            return False, got, p
        if v["tool"] == "open" and "output" in v:
            if open(out, "rb").read() != open(v["output"], "rb").read():
                return False, f"exit 0 but the output differs from {v['output']}", p
        return True, got, p
    want = exp.split()[1]
    got = f"exit {p.returncode}, code {code}"
    return p.returncode == exit_of.get(want, -1) and code == want, got, p


for i, v in enumerate(vectors):
    good, got, p = True, "", None
    if v.get("state"):  # the state store the vector starts from (a copy: open changes it)
        shutil.copytree(v["state"], f"../state-{i}")
    for k in range(v.get("runs", 1)):
        good, got, p = run_one(i, v, k)
        if not good:
            if k + 1 < v.get("runs", 1): got = f"run {k + 1} of {v['runs']}: {got}"
            break
    label = f"{v['name']} ({v['tool']} {v['file']})"
    if v.get("pending"):
        if good:
            failed += 1
            print(f"FAIL: {label}: passes, but is marked pending ({v['pending']}): remove the note "
                  "in tests/vectors/make_vectors.py and regenerate")
        else:
            pending += 1
            print(f"PENDING: {label}: expected {v['expect']}, got {got} — {v['pending']}")
        continue
    if good:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {label}: expected {v['expect']}, got {got}")
        if p is not None:
            for line in p.stderr.strip().splitlines()[:2]:
                print("    " + line)
print(f"{passed} passed, {failed} failed, {pending} pending (known tool deviations)")
sys.exit(1 if failed else 0)
PY
