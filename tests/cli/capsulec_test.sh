#!/usr/bin/env bash
# CLI tests of capsulec: exit codes, --json, default identity and output naming, --jobs,
# previews decoded by ffprobe/sox, co-signing, key-file hygiene, and --help golden files.
# Update the golden files after a reviewed change with CAPSULE_UPDATE_GOLDEN=1.
. "$(dirname "$0")/lib.sh" capsulec
C="${CAPSULEC:?set CAPSULEC to the capsulec binary}"
SRC="${CAPSULE_SOURCE_DIR:?}"

cat >m.yaml <<'YAML'
title: CLI test
creator:
  name: Tester
  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
royalties:
  splits:
    - role: creator
      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
      share: 87.5%
    - role: investor
      address: 0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359
      share: 1250 bps
models:
  - type: buy
    price: "3.00"
    currency: ELA
preview: 2s
YAML
sed 's/^preview: 2s$/preview:\n  lines: 2/' m.yaml | sed '/^preview:/,$d' >mt.yaml
printf 'preview:\n  lines: 2\n' >>mt.yaml
cp "/usr/share/scratch/Media/Sounds/Music Loops/Garden.mp3" song.mp3
sox -n -r 44100 -c 2 -b 16 tone.wav synth 5 sine 440 vol 0.5
printf 'line one\r\nline two\r\nline three\r\n' >poem.txt

# --- help and usage ---
expect 0 "top-level help" -- "$C" --help
contains out.txt "Exit codes" "top-level help"
for sub in keygen pack sign inspect verify unpack; do
  expect 0 "$sub --help" -- "$C" "$sub" --help
  contains out.txt "Example" "$sub --help has an example"
  contains out.txt "--json" "$sub --help offers --json"
  golden="$SRC/tests/cli/golden/help-$sub.txt"
  if [ -n "${CAPSULE_UPDATE_GOLDEN:-}" ]; then cp out.txt "$golden"; fi
  if diff -u "$golden" out.txt >diff.txt; then ok; else bad "$sub --help differs from $golden"; head -20 diff.txt; fi
done
expect 2 "no subcommand" -- "$C"
expect 2 "unknown subcommand" -- "$C" bogus
contains err.txt "unknown subcommand 'bogus' (one of: keygen, pack" "an unknown subcommand is named"
expect 2 "unknown nested subcommand" -- "$C" logic check x
contains err.txt "capsulec logic: unknown subcommand 'check' (one of: new, build" "an unknown nested subcommand is named"
expect 2 "unknown flag" -- "$C" pack --bogus song.mp3

# --- no identity yet ---
expect 2 "pack without identity" -- "$C" pack song.mp3 --royalty m.yaml
contains err.txt "capsulec keygen" "no-identity message says how to make one"
contains err.txt "no-identity" "reason code in message"

# --- keygen ---
expect 0 "keygen default identity" -- "$C" keygen --json
jcheck out.txt 'j.ok === true && j.did_key.startsWith("did:key:z6Mk") && /^0x[0-9a-fA-F]{40}$/.test(j.address)' "keygen --json fields"
[ "$(stat -c %a "$CAPSULE_HOME/default.key")" = 600 ] && ok || bad "default.key not 0600"
expect 2 "keygen again refuses to overwrite" -- "$C" keygen
contains err.txt "output-exists" "keygen overwrite reason"
expect 0 "keygen -o other" -- "$C" keygen -o other
expect 0 "keygen -o ci" -- "$C" keygen -o ci

# --- pack as a creator types it ---
expect 0 "creator's command" -- "$C" pack song.mp3 --royalty m.yaml
[ -f song.capsule.wasm ] && ok || bad "song.capsule.wasm not written beside the input"
expect 2 "no overwrite without --force" -- "$C" pack song.mp3 --royalty m.yaml --json
jcheck out.txt 'j.ok===false && j.error.code==="output-exists" && j.error.exit_code===2' "--json error object"
expect 0 "--force replaces" -- "$C" pack song.mp3 --royalty m.yaml --force
expect 0 "pack wav" -- "$C" pack tone.wav --royalty m.yaml
expect 0 "pack text" -- "$C" pack poem.txt --royalty mt.yaml --json
jcheck out.txt 'j.ok === true && j.media_type.startsWith("text/plain") && j.preview_size>0' "pack --json"

# --- bad manifests name file:line:column ---
sed 's/share: 87.5%/share: 80%/' m.yaml >sum.yaml
expect 4 "split sum" -- "$C" pack song.mp3 --royalty sum.yaml -o x.capsule.wasm
contains err.txt "sum.yaml:[0-9]*:[0-9]*" "sum error has line:column"
contains err.txt "bad-split-sum" "sum reason"
printf 'title: a\ntitle: b\n' >dup.yaml
expect 4 "duplicate key" -- "$C" pack song.mp3 --royalty dup.yaml -o x.capsule.wasm
contains err.txt "dup.yaml:2:1" "duplicate key position"
[ ! -e x.capsule.wasm ] && ok || bad "partial output after a manifest error"

# --- bad media ---
cp song.mp3 fake.wav
expect 4 "mp3 named .wav" -- "$C" pack fake.wav --royalty m.yaml
contains err.txt "fake.wav" "media error names the file"
head -c 100 tone.wav >short.wav
expect 4 "truncated wav" -- "$C" pack short.wav --royalty m.yaml
printf 'ok\xff\xfe bad\n' >bad.txt
expect 4 "invalid utf-8" -- "$C" pack bad.txt --royalty mt.yaml

# --- --jobs: distinct keys and ids; --out-dir ---
mkdir dist a b
cp tone.wav a/t.wav; cp tone.wav b/u.wav
expect 0 "pack --jobs 2" -- "$C" pack a/t.wav b/u.wav --royalty m.yaml --out-dir dist --jobs 2 --json
[ "$(wc -l <out.txt)" = 2 ] && ok || bad "--jobs --json prints one line per capsule"
ids=$(node -e 'const l=require("fs").readFileSync("out.txt","utf8").trim().split("\n").map(JSON.parse);console.log(new Set(l.map(x=>x.capsule_id)).size)')
[ "$ids" = 2 ] && ok || bad "two capsules share a capsule id"
"$C" inspect dist/t.capsule.wasm --json >i1.json && "$C" inspect dist/u.capsule.wasm --json >i2.json
node -e 'const a=require("./i1.json"),b=require("./i2.json");process.exit(a.manifest.capsule.key_commitment!==b.manifest.capsule.key_commitment&&a.manifest.capsule.issuers[0].sealed_key!==b.manifest.capsule.issuers[0].sealed_key?0:1)' && ok || bad "two capsules of one --jobs run share a content key"
# A failed input's --json line names it (and its output), as a packed one does.
mkdir dist2 && printf x >a/bad.wav
expect 4 "pack --jobs with a bad input" -- "$C" pack a/t.wav a/bad.wav --royalty m.yaml --out-dir dist2 --jobs 2 --json
jcheck out.txt "true" "--jobs --json with a failure: valid lines"
node -e 'const l=require("fs").readFileSync("out.txt","utf8").trim().split("\n").map(JSON.parse);const f=l.find(x=>x.ok===false),g=l.find(x=>x.ok!==false);process.exit(l.length===2&&f&&f.input==="a/bad.wav"&&f.output==="dist2/bad.capsule.wasm"&&f.error.exit_code===4&&g.input==="a/t.wav"?0:1)' &&
  ok || bad "a failed input's --json line does not name it: $(cat out.txt)"
[ -e dist2/t.capsule.wasm ] && [ ! -e dist2/bad.capsule.wasm ] && ok || bad "--jobs with a bad input: outputs"
# Two failures: the exit code is the first failing input's in command-line order, not the first
# to finish (bad.wav: media, 4; t.wav: its capsule exists now, 2), run after run.
codes=""
for i in 1 2 3 4 5 6; do
  "$C" pack a/bad.wav a/t.wav --royalty m.yaml --out-dir dist2 --jobs 2 --json >/dev/null 2>&1; codes="$codes$?"
  "$C" pack a/t.wav a/bad.wav --royalty m.yaml --out-dir dist2 --jobs 2 --json >/dev/null 2>&1; codes="$codes$?"
done
[ "$codes" = 424242424242 ] && ok || bad "--jobs exit codes follow the command line: $codes"

# An output name as long as a file name may be (255 bytes): its temporary's name is cut to fit.
long=$(printf 'n%.0s' $(seq 1 242)).capsule.wasm
expect 0 "pack to a 255-byte name" -- "$C" pack tone.wav --royalty m.yaml -o "$long"
[ -f "$long" ] && [ -z "$(ls -A | grep '\.tmp-')" ] && ok || bad "pack to a 255-byte name: output or temporary"

# --- reproducible ---
head -c 64 /dev/urandom >seed.bin
expect 0 "reproducible 1" -- "$C" pack tone.wav --royalty m.yaml --reproducible seed.bin -o r1.capsule.wasm
expect 0 "reproducible 2" -- "$C" pack tone.wav --royalty m.yaml --reproducible seed.bin -o r2.capsule.wasm
cmp -s r1.capsule.wasm r2.capsule.wasm && ok || bad "--reproducible not byte-identical"

# --- verify / inspect ---
expect 0 "verify" -- "$C" verify song.capsule.wasm --json
jcheck out.txt 'j.ok && j.integrity==="valid" && j.trust==="not-evaluated" && j.creator_binding==="absent"' "verify --json"
expect 0 "verify trusted" -- "$C" verify song.capsule.wasm --trust "$CAPSULE_HOME/default.pub"
# A report that cannot be written is an I/O error, not a silent success (a CI step that keeps
# `verify --json > report.json` on a full disk must fail).
"$C" verify song.capsule.wasm --json >/dev/full 2>err.txt; rc=$?
[ $rc = 3 ] && ok || bad "verify --json into a full disk: exit $rc"
contains err.txt "stdout: write failed: No space left on device; the report written there is lost \[io-write\]" "a lost report: message"
"$C" verify song.capsule.wasm >&- 2>err.txt; rc=$?
[ $rc = 3 ] && ok || bad "verify with stdout closed: exit $rc"
contains err.txt "stdout: closed" "stdout closed: message"
"$C" verify song.mp3 --json >/dev/full 2>/dev/null; rc=$?
[ $rc = 4 ] && ok || bad "a failure keeps its own code: exit $rc"
contains out.txt "trusted" "verify reports trust"
expect 6 "verify untrusted" -- "$C" verify song.capsule.wasm --trust other.pub --json
jcheck out.txt 'j.integrity==="valid" && j.trust==="untrusted" && j.error.code==="untrusted-signer"' "integrity and trust separate"
cp song.capsule.wasm tampered.capsule.wasm
node -e 'const fs=require("fs"),f="tampered.capsule.wasm",b=fs.readFileSync(f);b[b.length-100]^=1;fs.writeFileSync(f,b)'
expect 5 "verify tampered payload" -- "$C" verify tampered.capsule.wasm --json
jcheck out.txt '!j.ok && j.integrity==="invalid"' "tampered --json"
# A bad --trust file says nothing about the capsule: not checked (never "invalid", which scripts
# take for tampering).
expect 4 "verify with a --trust file that is no key" -- "$C" verify song.capsule.wasm --trust song.mp3 --json
jcheck out.txt '!j.ok && j.integrity==="not-checked" && j.error.code==="bad-key-file"' "bad --trust file: integrity not checked"
expect 0 "inspect --json" -- "$C" inspect song.capsule.wasm --json
jcheck out.txt 'j.ok === true && j.manifest.royalties.splits.reduce((s,x)=>s+x.share_ppm,0)===1000000 && j.parts.length===3 && j.code.logic==="bundled template buy"' "inspect --json content"
expect 0 "inspect text" -- "$C" inspect song.capsule.wasm
contains out.txt "not covered by any signature" "inspect says what is not covered"
expect 4 "inspect a non-capsule" -- "$C" inspect song.mp3
contains err.txt "not-wasm" "inspect non-wasm reason"

# --- previews decode to the requested length (± one frame) ---
node -e '
const fs=require("fs");
for (const [cap,out] of [["song.capsule.wasm","p.mp3"],["tone.capsule.wasm","p.wav"],["poem.capsule.wasm","p.txt"]]) {
  const m=new WebAssembly.Module(fs.readFileSync(cap));
  fs.writeFileSync(out, Buffer.from(WebAssembly.Module.customSections(m,"capsule.preview")[0]));
}'
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 p.mp3)
node -e "process.exit(Math.abs($d-2.0)<=0.027?0:1)" && ok || bad "MP3 preview lasts $d s, wanted 2 s ± 1 frame"
d=$(soxi -D p.wav)
node -e "process.exit(Math.abs($d-2.0)<=0.001?0:1)" && ok || bad "WAV preview lasts $d s"
[ "$(printf 'line one\r\nline two\r\n')" = "$(cat p.txt)" ] && ok || bad "text preview is not the first 2 lines"

# --- unpack ---
expect 0 "unpack" -- "$C" unpack song.capsule.wasm -o back.mp3
cmp -s back.mp3 song.mp3 && ok || bad "unpacked MP3 differs"
"$C" unpack song.capsule.wasm -o - >stdout.mp3 2>err.txt && ok || bad "unpack -o - failed"
cmp -s stdout.mp3 song.mp3 && ok || bad "unpack -o - output differs"
[ ! -e ./- ] && ok || bad "unpack -o - created a file named -"
expect 7 "unpack with a non-issuer key" -- "$C" unpack song.capsule.wasm --key other.key -o nope.mp3
mkdir -p emptyhome
CAPSULE_HOME="$PWD/emptyhome" expect 2 "unpack without an identity" -- "$C" unpack song.capsule.wasm -o nope.mp3 --json
contains out.txt '"code":"no-identity"' "unpack without an identity: reason (not io-open)"
[ ! -e nope.mp3 ] && ok || bad "output left after a refused unpack"
expect 5 "unpack tampered" -- "$C" unpack tampered.capsule.wasm -o nope.mp3
[ ! -e nope.mp3 ] && ok || bad "output left after an integrity failure"

# --- sign ---
expect 0 "co-sign" -- "$C" sign song.capsule.wasm --key ci.key -o cosigned.capsule.wasm
expect 0 "verify co-signed" -- "$C" verify cosigned.capsule.wasm --json
jcheck out.txt 'j.signers.length===1 && j.signatures===2' "co-signer not identified without --trust"
expect 0 "verify co-signed, both trusted" -- "$C" verify cosigned.capsule.wasm --trust "$CAPSULE_HOME/default.pub" --trust ci.pub --json
jcheck out.txt 'j.signers.length===2' "two signers identified"
expect 7 "co-sign twice" -- "$C" sign cosigned.capsule.wasm --key ci.key -o twice.capsule.wasm
expect 0 "detached" -- "$C" sign song.capsule.wasm --key ci.key --detached song.sig
[ -s song.sig ] && ok || bad "detached signature not written"
cp song.capsule.wasm inplace.capsule.wasm
expect 0 "in place" -- "$C" sign inplace.capsule.wasm --key ci.key --in-place
cmp -s inplace.capsule.wasm cosigned.capsule.wasm && ok || bad "in-place result differs from -o result"
expect 2 "sign onto its input without --in-place" -- "$C" sign song.capsule.wasm --key ci.key -o song.capsule.wasm

# --- key-file hygiene and passphrases ---
chmod 644 other.key
expect 7 "group-readable key refused" -- "$C" pack tone.wav --royalty m.yaml --key other.key -o y.capsule.wasm
contains err.txt "chmod 600" "permission message says how to fix it"
CAPSULE_PASSPHRASE="long enough pass" expect 0 "keygen with passphrase" -- "$C" keygen -o locked --passphrase
CAPSULE_PASSPHRASE="long enough pass" expect 0 "pack with a protected key" -- "$C" pack tone.wav --royalty m.yaml --key locked.key -o z.capsule.wasm
CAPSULE_PASSPHRASE="wrong passphrase" expect 7 "wrong passphrase" -- "$C" pack tone.wav --royalty m.yaml --key locked.key -o w.capsule.wasm
expect 2 "protected key without a passphrase source" -- "$C" pack tone.wav --royalty m.yaml --key locked.key -o w.capsule.wasm
[ ! -e w.capsule.wasm ] && ok || bad "output left after a key failure"

# --- every capsule made here: V8, wasm-validate, and the independent verifier (tests/node) ---
good=(song.capsule.wasm tone.capsule.wasm poem.capsule.wasm dist/t.capsule.wasm dist/u.capsule.wasm
      r1.capsule.wasm cosigned.capsule.wasm inplace.capsule.wasm z.capsule.wasm)
for f in "${good[@]}"; do wasm-validate "$f" && ok || bad "wasm-validate $f"; done
expect 0 "independent verifier (creator key)" -- node "$SRC/tests/node/verify_capsule.mjs" \
  --key-file "$CAPSULE_HOME/default.pub" "${good[@]:0:7}"
expect 0 "independent verifier (co-signer key)" -- node "$SRC/tests/node/verify_capsule.mjs" \
  --key-file ci.pub cosigned.capsule.wasm inplace.capsule.wasm

# --- embedded manifests follow schemas/capsule-manifest.schema.json (independent checker) ---
for f in song tone poem; do
  "$C" inspect $f.capsule.wasm --json >insp.json
  /usr/bin/python3 - "$SRC/schemas/capsule-manifest.schema.json" insp.json <<'PY' && ok || bad "$f: embedded manifest does not follow the schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.Draft202012Validator(schema).validate(json.load(open(sys.argv[2]))["manifest"])
PY
done
/usr/bin/python3 - "$SRC/schemas/manifest.schema.json" <<'PY' && ok || bad "manifest.yaml schema is not a valid JSON Schema"
import json, sys, jsonschema
jsonschema.Draft202012Validator.check_schema(json.load(open(sys.argv[1])))
PY

# --- no output replaces an input, --force or not: the key, the manifest, the seed, a co-signer ---
"$C" keygen -o guard >/dev/null
head -c 32 /dev/urandom >seed.bin
for f in guard.key m.yaml seed.bin "$CAPSULE_HOME/default.key"; do cp "$f" "$f.orig"; done
expect 2 "pack -o its key" -- "$C" pack tone.wav --royalty m.yaml --key guard.key -o guard.key --force --json
contains out.txt '"code":"same-input-output"' "pack -o its key: reason"
expect 2 "pack -o the default key" -- "$C" pack tone.wav --royalty m.yaml -o "$CAPSULE_HOME/default.key" --force
expect 2 "pack -o its manifest" -- "$C" pack tone.wav --royalty m.yaml -o m.yaml --force
expect 2 "pack -o its seed" -- "$C" pack tone.wav --royalty m.yaml --reproducible seed.bin -o seed.bin --force
expect 2 "pack -o a co-signer's key" -- "$C" pack tone.wav --royalty m.yaml --cosign guard.key -o guard.key --force
expect 2 "sign -o its key" -- "$C" sign tone.capsule.wasm --key guard.key -o guard.key --force
expect 2 "unpack -o the key" -- "$C" unpack tone.capsule.wasm -o "$CAPSULE_HOME/default.key" --force
for f in guard.key m.yaml seed.bin "$CAPSULE_HOME/default.key"; do
  cmp -s "$f" "$f.orig" && ok || bad "$f was overwritten"
done
expect 4 "a public key as --key" -- "$C" pack tone.wav --royalty m.yaml --key guard.pub -o pub.capsule.wasm
contains err.txt "a public key file" "a public key as --key: said so (not a permissions error)"

# --- names that are not UTF-8: --json still prints one valid object (U+FFFD in place) ---
B=$'bad\xffname'
cp tone.wav "$B.wav"
expect 0 "pack a file whose name is not UTF-8" -- "$C" pack "$B.wav" --royalty m.yaml --json
jcheck out.txt "j.ok !== false && j.output.includes('\ufffd')" "pack --json with a non-UTF-8 name"
expect 0 "verify --json, non-UTF-8 name" -- "$C" verify "$B.capsule.wasm" --json
jcheck out.txt "j.integrity === 'valid'" "verify --json with a non-UTF-8 name"
expect 0 "inspect --json, non-UTF-8 name" -- "$C" inspect "$B.capsule.wasm" --json
jcheck out.txt "j.manifest.capsule.file_name === 'bad\ufffdname.wav'" "the manifest records the name with U+FFFD"
expect 2 "a failing pack, non-UTF-8 name" -- "$C" pack "$B.wav" --royalty m.yaml --json
jcheck out.txt "j.error.code === 'output-exists'" "pack error --json with a non-UTF-8 name"

# --- a preview as long as the content would publish it in the clear: refused ---
{ sed '/^preview:/d' m.yaml; echo "preview: 5s"; } >whole.yaml
expect 4 "a preview of the whole content" -- "$C" pack tone.wav --royalty whole.yaml -o whole.capsule.wasm --json
contains out.txt '"code":"bad-preview"' "a whole-content preview: reason"
[ ! -e whole.capsule.wasm ] && ok || bad "a refused preview left output"

# --- a FIFO as input is refused at once (opening it used to wait for a writer) ---
mkfifo fifo.wav
expect 3 "a FIFO as input" -- timeout 20 "$C" pack fifo.wav --royalty m.yaml
contains err.txt "not a regular file" "a FIFO as input: said so"

# --- content checks: UTF-16 text is named as such; an MP3 behind padding packs (players skip it) ---
printf 'Hello\nworld\n' | iconv -t UTF-16 >utf16.txt
expect 4 "UTF-16 text" -- "$C" pack utf16.txt --royalty mt.yaml --json
contains out.txt '"code":"text-not-utf8"' "UTF-16 text: reason"
contains err.txt "UTF-16 text" "UTF-16 text: named"
{ head -c 1000 /dev/zero; cat song.mp3; } >padded.mp3
expect 0 "an MP3 after 1000 zero bytes" -- "$C" pack padded.mp3 --royalty m.yaml --json
"$C" inspect padded.capsule.wasm --json >ip.json && "$C" inspect song.capsule.wasm --json >is.json
node -e 'const a=require("./ip.json").manifest.capsule.media,b=require("./is.json").manifest.capsule.media;process.exit(a.duration_ms===b.duration_ms&&a.bitrate_kbps===b.bitrate_kbps?0:1)' &&
  ok || bad "the padded MP3's media facts differ from the original's"
head -c 5000 /dev/zero >zeros.mp3
expect 4 "zeros named .mp3" -- "$C" pack zeros.mp3 --royalty m.yaml
contains err.txt "not recognised, not MP3" "zeros: not called text"

# --- no temporary files left anywhere ---
[ -z "$(find . -name '.*.tmp-*')" ] && ok || bad "temporary files left behind"

finish
