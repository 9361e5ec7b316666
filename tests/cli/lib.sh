# The shared harness of the CLI test scripts, sourced first thing: `. "$(dirname "$0")/lib.sh" NAME`.
# It makes a private temporary directory the working directory and $CAPSULE_HOME (removed on
# exit, background jobs killed), drops any passphrase the caller's environment holds, and
# defines the checks. End a script with `finish` (prints the tally; fails if any check failed).
set -uo pipefail
T="$(mktemp -d "${TMPDIR:-/tmp}/capsule-${1:-test}.XXXXXX")"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$T"' EXIT
export CAPSULE_HOME="$T/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE
cd "$T" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect CODE DESCRIPTION -- command...   (stdout → out.txt, stderr → err.txt, no stdin)
expect() {
  local want="$1" what="$2"; shift 3
  "$@" >out.txt 2>err.txt </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, wanted $want"; sed 's/^/    /' err.txt | head -5; fi
}
# contains FILE PATTERN DESCRIPTION
contains() { if grep -q -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1"; sed 's/^/    /' "$1" | head -5; fi; }
# Evaluates a JS predicate over the JSON on stdin (a whole document, else its last line).
json() { node -e "const t=require('fs').readFileSync(0,'utf8').trim(); let j; try { j=JSON.parse(t) } catch { j=JSON.parse(t.split('\n').pop()) } const v=($1); if(!v){console.error(JSON.stringify(j).slice(0,400));process.exit(1)}"; }
jcheck() { if json "$2" <"$1"; then ok; else bad "$3"; fi; }
# jget FILE a.b.c — one value of a JSON document.
jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): j=j[k]
print(j)' "$@"; }
# manifest_head TITLE — the part of a manifest.yaml up to `models:` that the scripts share (the
# test creator, who takes all royalties); a script appends its models:
#   { manifest_head "My test"; cat <<'YAML' … YAML } >m.yaml
manifest_head() {
  cat <<YAML
title: $1
creator:
  name: Tester
  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
royalties:
  splits:
    - role: creator
      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
      share: 100%
models:
YAML
}
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
