#!/usr/bin/env bash
# CLI tests of `capsulec license issue|inspect` (docs/spec/license.md): issuing within the offer,
# refusals with their exit and reason codes, inspect's binding checks, tampering, --json, the
# JSON Schema (schemas/license.schema.json), and --help.
. "$(dirname "$0")/lib.sh" license
C="${CAPSULEC:?set CAPSULEC to the capsulec binary}"
SRC="${CAPSULE_SOURCE_DIR:?}"
# Rewrites a JSON file with a JS statement over `j`.
jedit() { node -e "const fs=require('fs'); const j=JSON.parse(fs.readFileSync('$1','utf8')); $2; fs.writeFileSync('$3', JSON.stringify(j,null,2)+'\n')"; }

{
  manifest_head "Licence CLI test"
  cat <<'YAML'
  - type: buy
    price: "3.00"
    currency: ELA
  - type: rental
    price: "1"
    currency: ELA
    duration: 48h
  - type: pay_per_view
    price: "0.5"
    currency: ELA
    plays: 3
YAML
} >m.yaml
sox -n -r 8000 -c 1 -b 16 tone.wav synth 1 sine 440 vol 0.5
for who in creator shop bob eve; do "$C" keygen -o "$who" >/dev/null || bad "keygen $who"; done
"$C" pack tone.wav --royalty m.yaml --key creator.key --issuer shop.pub >/dev/null || bad "pack"
"$C" pack tone.wav --royalty m.yaml --key creator.key -o other.capsule.wasm >/dev/null || bad "pack other"

# --- help ---
for sub in "" issue inspect; do
  expect 0 "license $sub --help" -- "$C" license $sub --help
  contains out.txt "Example" "license $sub --help has an example"
done
contains out.txt "--json" "inspect --help offers --json"
expect 0 "issue --help" -- "$C" license issue --help
contains out.txt "--expires" "issue --help lists --expires"
expect 2 "license without a subcommand" -- "$C" license
expect 2 "issue without --model" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub
expect 2 "issue with an unknown model name" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model bogus
contains err.txt "bogus not in" "an unknown model name: message"

# --- issue ---
expect 2 "no identity and no --issuer-key" -- "$C" license issue tone.capsule.wasm --holder bob.pub --model buy
contains err.txt "no-identity" "no-identity reason"
# Chain options apply to --request only: with --holder no chain is asked, so they are refused.
expect 2 "--holder with --ledger" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model buy \
  --ledger evm:http://rpc.example.invalid -o chainless.lic
contains err.txt "apply to --request" "--holder with --ledger: explained"
expect 2 "--confirmations -1" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model buy \
  --confirmations -1 -o neg.lic
[ ! -e chainless.lic ] && [ ! -e neg.lic ] && ok || bad "a refused issue left a licence"
expect 0 "issue a rental (default output)" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model rental
[ -f tone.lic ] && ok || bad "default output tone.lic missing"
[ "$(stat -c %a tone.lic)" = 644 ] && ok || bad "licence mode is $(stat -c %a tone.lic), wanted 644"
contains out.txt "rental: 2d" "issue text names the model and its duration"
jcheck tone.lic 'j.license.version===1 && j.license.model.type==="rental" && j.license.model.duration_s===172800 && j.license.not_after-j.license.not_before===172800 && j.signature.alg==="ed25519" && j.signature.key===j.license.issuer' "rental licence content"
expect 2 "no overwrite without --force" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model buy
contains err.txt "output-exists" "output-exists reason"
expect 0 "--force replaces" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model buy --force
jcheck tone.lic 'j.license.model.type==="buy" && j.license.not_after===null' "buy licence has no end"
expect 0 "issue by an added issuer, --json" -- "$C" license issue tone.capsule.wasm --issuer-key shop.key --holder bob.pub --model pay_per_view --plays 2 -o ppv.lic --json
jcheck out.txt 'j.ok===true && j.output==="ppv.lic" && j.model.plays===2 && /^[0-9a-f]{32}$/.test(j.id) && j.not_after===null' "issue --json"
expect 0 "shorter rental" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model rental --expires 1h30m -o short.lic --not-before 2030-01-01T00:00:00Z
jcheck short.lic 'j.license.not_before===1893456000 && j.license.not_after===1893456000+5400 && j.license.model.duration_s===5400' "--expires and --not-before"
expect 0 "buy with a window" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model buy --not-before 2024-02-29 --not-after 2024-03-01T12:00:00+02:00 -o window.lic
jcheck window.lic 'j.license.not_before===1709164800 && j.license.not_after===1709287200' "ISO 8601 dates and offsets"
contains err.txt "already expired" "warning for a licence issued already expired"

expect 7 "plays above the offer" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model pay_per_view --plays 4 -o x.lic
contains err.txt "model-not-offered" "plays above the offer reason"
expect 7 "duration above the offer" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model rental --expires 72h -o x.lic --json
jcheck out.txt 'j.ok===false && j.error.code==="model-not-offered" && j.error.exit_code===7' "refusal --json"
expect 7 "model not offered" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model subscription -o x.lic
contains err.txt "it offers: buy, rental, pay_per_view" "the refusal lists the offered models"
expect 7 "not an issuer" -- "$C" license issue tone.capsule.wasm --issuer-key eve.key --holder bob.pub --model buy -o x.lic
contains err.txt "not-an-issuer" "not-an-issuer reason"
expect 7 "added issuer of another capsule" -- "$C" license issue other.capsule.wasm --issuer-key shop.key --holder bob.pub --model buy -o x.lic
expect 2 "plays on a rental" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model rental --plays 1 -o x.lic
expect 2 "not-after on a rental" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model rental --not-after 2030-01-01 -o x.lic
expect 2 "bad --not-before" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model buy --not-before tomorrow -o x.lic
expect 2 "time without a zone" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model buy --not-before 2030-01-01T10:00 -o x.lic
expect 4 "bad --expires" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model rental --expires 1y -o x.lic
contains err.txt "bad-duration" "bad duration reason"
expect 2 "output over the capsule" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder bob.pub --model buy -o tone.capsule.wasm --force
contains err.txt "same-input-output" "same-input-output reason"
expect 4 "holder is not a key file" -- "$C" license issue tone.capsule.wasm --issuer-key creator.key --holder m.yaml --model buy -o x.lic
[ ! -e x.lic ] && ok || bad "a refused issue left x.lic"

# --- inspect ---
expect 0 "inspect a licence alone" -- "$C" license inspect ppv.lic
contains out.txt "signature   valid" "inspect shows the signature"
contains out.txt "pay_per_view: 2 play(s)" "inspect shows the terms"
contains out.txt "window      ok" "inspect checks the window"
expect 0 "inspect with capsule and holder" -- "$C" license inspect ppv.lic --capsule tone.capsule.wasm --holder bob.pub --json
jcheck out.txt 'j.ok && j.signature.valid && j.checks.length===5 && j.checks.every(c=>c.ok) && j.license.model.plays===2' "inspect --json"
expect 7 "another holder" -- "$C" license inspect ppv.lic --holder eve.pub
contains err.txt "license-wrong-holder" "wrong holder reason"
expect 7 "another capsule" -- "$C" license inspect tone.lic --capsule other.capsule.wasm --json
jcheck out.txt '!j.ok && j.error.code==="license-wrong-capsule" && j.checks.find(c=>c.check==="capsule").code==="license-wrong-capsule"' "wrong capsule --json"
expect 7 "an issuer the other capsule does not list" -- "$C" license inspect ppv.lic --capsule other.capsule.wasm
contains err.txt "license-issuer-not-listed" "issuer-not-listed reason"
expect 7 "expired at --at" -- "$C" license inspect short.lic --at 2030-01-01T02:00:00Z
contains err.txt "license-expired" "expired reason"
expect 0 "just before its end" -- "$C" license inspect short.lic --at 2030-01-01T01:29:59Z
expect 7 "at its end (no skew there)" -- "$C" license inspect short.lic --at 2030-01-01T01:30:00Z
expect 0 "within the skew before its start" -- "$C" license inspect short.lic --at 2029-12-31T23:55:00Z
expect 7 "not yet valid" -- "$C" license inspect short.lic --at 2029-12-31T23:54:59Z
contains err.txt "license-not-yet-valid" "not-yet-valid reason"
expect 2 "bad --at" -- "$C" license inspect short.lic --at yesterday

# Tampering: one term changed, signature kept.
jedit ppv.lic 'j.license.model.plays=3' tampered.lic
expect 5 "tampered licence" -- "$C" license inspect tampered.lic
contains out.txt "INVALID" "inspect still shows a tampered licence, marked invalid"
contains err.txt "license-bad-signature" "bad signature reason"
expect 5 "tampered --json" -- "$C" license inspect tampered.lic --json
jcheck out.txt '!j.ok && j.signature.valid===false && j.error.code==="license-bad-signature" && j.error.exit_code===5' "tampered --json"
# Layout is not signed: the same licence minified still verifies.
node -e "const fs=require('fs'); fs.writeFileSync('min.lic', JSON.stringify(JSON.parse(fs.readFileSync('ppv.lic','utf8'))))"
expect 0 "minified licence" -- "$C" license inspect min.lic --capsule tone.capsule.wasm --holder bob.pub
# Malformed: unknown field, not JSON, too large.
jedit ppv.lic 'j.license.note="hi"' unknown.lic
expect 4 "unknown field" -- "$C" license inspect unknown.lic
contains err.txt "license-malformed" "malformed reason"
contains err.txt "unknown field" "malformed message names the fault"
echo '{"license":' >broken.lic
expect 4 "not JSON" -- "$C" license inspect broken.lic --json
jcheck out.txt '!j.ok && j.error.code==="license-malformed"' "malformed --json"
head -c 70000 /dev/zero | tr '\0' ' ' >big.lic
expect 4 "too large" -- "$C" license inspect big.lic
expect 2 "missing file" -- "$C" license inspect nothing.lic

# --- an independent verifier (Node crypto, written from docs/spec/license.md §4) ---
node_verify() {
  node -e '
const fs = require("fs"), crypto = require("crypto");
const f = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
// RFC 8785 for this subset: sorted keys, JSON.stringify for strings, integers and null.
const jcs = v => v === null || typeof v !== "object" ? JSON.stringify(v)
  : Array.isArray(v) ? "[" + v.map(jcs).join(",") + "]"
  : "{" + Object.keys(v).sort().map(k => JSON.stringify(k) + ":" + jcs(v[k])).join(",") + "}";
const msg = Buffer.concat([Buffer.from("capsule/v1 license"), Buffer.from([0]), Buffer.from(jcs(f.license))]);
const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(f.license.issuer, "hex")]);
const key = crypto.createPublicKey({key: spki, format: "der", type: "spki"});
process.exit(crypto.verify(null, msg, key, Buffer.from(f.signature.sig, "base64")) ? 0 : 1);
' "$1"
}
for f in tone.lic ppv.lic short.lic window.lic min.lic; do
  if node_verify "$f"; then ok; else bad "node does not verify $f"; fi
done
if node_verify tampered.lic; then bad "node verifies the tampered licence"; else ok; fi

# --- the schema accepts what we issue and refuses what the parser refuses ---
# Debian's python3-jsonschema (installed by scripts/install-deps.sh) as an independent checker.
PY3=/usr/bin/python3
if "$PY3" -c 'import jsonschema' 2>/dev/null; then ok; else bad "python3-jsonschema missing (scripts/install-deps.sh installs it)"; fi
if true; then
  schema_ok() {
    "$PY3" - "$SRC/schemas/license.schema.json" "$1" <<'PY'
import json, sys, jsonschema
s = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(s)
jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[2])))
PY
  }
  for f in tone.lic ppv.lic short.lic window.lic tampered.lic min.lic; do
    if schema_ok "$f" 2>/dev/null; then ok; else bad "schema refuses $f"; fi
  done
  jedit ppv.lic 'j.license.model.plays=0' zero.lic
  jedit ppv.lic 'j.license.holder.address=j.license.holder.address.toUpperCase().replace("0X","0x")' upper.lic
  jedit ppv.lic 'j.signature.alg="rsa"' alg.lic
  for f in unknown.lic zero.lic upper.lic alg.lic; do
    if schema_ok "$f" 2>/dev/null; then bad "schema accepts $f"; else ok; fi
    expect 4 "parser refuses $f" -- "$C" license inspect "$f"
  done
fi

# --- no temporary files left ---
[ -z "$(find . -name '.*.tmp-*')" ] && ok || bad "temporary files left behind"

finish
