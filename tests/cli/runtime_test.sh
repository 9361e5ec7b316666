#!/usr/bin/env bash
# capsule-run through its CLI: real MP3, WAV and text capsules open to byte-identical output
# for an entitled holder; the preview is served without a licence; refusals exit with their
# group's code and reason; a play counted before release survives kill -9 mid-play; two
# concurrent opens count twice; nothing is written on failure.
. "$(dirname "$0")/lib.sh" runtime
C="${CAPSULEC:?}"
R="${CAPSULE_RUN:?}"

"$C" keygen >/dev/null                         # the creator (default identity)
"$C" keygen -o bob >/dev/null
"$C" keygen -o eve >/dev/null
CREATOR="$CAPSULE_HOME/default.pub"
{
  manifest_head "Runtime CLI test"
  cat <<'YAML'
  - type: buy
    price: "5"
    currency: ELA
  - type: pay_per_view
    price: "1"
    currency: ELA
    plays: 5
YAML
} >m.yaml
{ cat m.yaml; echo "preview: 2s"; } >ma.yaml
{ cat m.yaml; printf 'preview:\n  lines: 3\n'; } >mt.yaml
cp "/usr/share/scratch/Media/Sounds/Music Loops/Garden.mp3" song.mp3
cp /usr/share/asterisk/moh/manolo_camp-morning_coffee.wav coffee.wav
cp /usr/share/common-licenses/GPL-3 gpl.txt
for f in song.mp3 coffee.wav; do "$C" pack "$f" --royalty ma.yaml >/dev/null || bad "pack $f"; done
"$C" pack gpl.txt --royalty mt.yaml >/dev/null || bad "pack gpl.txt"

expect 0 "help" -- "$R" --help
expect 0 "open --help" -- "$R" open --help
contains out.txt "Example" "open help has examples"
expect 0 "verify" -- "$R" verify song.capsule.wasm --trust "$CREATOR" --json
"$R" verify song.capsule.wasm --trust "$CREATOR" --json >/dev/full 2>err.txt; rc=$?
[ $rc = 3 ] && ok || bad "capsule-run verify --json into a full disk: exit $rc"
contains err.txt "the report written there is lost" "capsule-run: a lost report: message"
contains out.txt '"trust":"trusted"' "capsule-run verify reports trust"

# Entitled holder: licence + ledger grant → byte-identical content.
for cap in song coffee gpl; do
  "$C" license issue $cap.capsule.wasm --holder bob.pub --model buy -o $cap.lic >/dev/null || bad "licence $cap"
  expect 0 "grant $cap" -- "$R" ledger grant --ledger file:ledger.json --capsule $cap.capsule.wasm --holder bob.pub
done
for pair in song:song.mp3 coffee:coffee.wav gpl:gpl.txt; do
  cap=${pair%%:*} orig=${pair#*:}
  expect 0 "open $cap" -- "$R" open $cap.capsule.wasm --trust "$CREATOR" --license $cap.lic \
    --identity bob.key --ledger file:ledger.json -o $cap.out --json
  cmp -s $cap.out "$orig" && ok || bad "$cap: opened content differs from the original"
done

# Grant expiry: a duration as in manifests and licences (format::ParseDuration), or a time;
# anything else is bad-duration (exit 4) and changes nothing.
now=$(date +%s)
expect 0 "grant --expires 1h30m" -- "$R" ledger grant --ledger file:exp.json --capsule song.capsule.wasm \
  --holder bob.pub --expires ' 1h30m' --json
jcheck out.txt "j.expires >= $now + 5400 && j.expires <= $now + 5460 && j.expired === false" "1h30m from now"
expect 0 "grant --expires TIME" -- "$R" ledger grant --ledger file:exp.json --capsule song.capsule.wasm \
  --holder bob.pub --expires 2030-01-01T00:00:00Z --json
jcheck out.txt "j.expires === 1893456000" "--expires as a time"
for badexp in 1y 30 0s 1m1h 1.5h 9007199254740992s; do
  expect 4 "grant --expires $badexp" -- "$R" ledger grant --ledger file:exp.json \
    --capsule song.capsule.wasm --holder bob.pub --expires "$badexp" --json
  contains out.txt '"code":"bad-duration"' "--expires $badexp reason"
done
jcheck exp.json "JSON.stringify(j).includes('1893456000')" "a refused --expires left the grant as it was"

# No licence: the clear preview, said on stderr.
expect 0 "preview" -- "$R" open song.capsule.wasm --trust "$CREATOR" -o preview.mp3
contains err.txt "preview" "preview is announced"
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 preview.mp3)
node -e "process.exit(Math.abs($d-2.0)<=0.027?0:1)" && ok || bad "preview lasts $d s"

# Refusals: group exit code and reason code, no output file.
refuse() {
  local code="$1" reason="$2" what="$3"; shift 3
  rm -f refused.out
  expect "$code" "$what" -- "$R" open "$@" -o refused.out --json
  contains out.txt "\"code\":\"$reason\"" "$what reason"
  [ ! -e refused.out ] && ok || bad "$what left output"
}
refuse 6 untrusted-signer "untrusted creator" song.capsule.wasm --trust eve.pub --license song.lic --identity bob.key --ledger file:ledger.json
refuse 7 license-wrong-holder "another holder" song.capsule.wasm --trust "$CREATOR" --license song.lic --identity eve.key --ledger file:ledger.json
refuse 7 license-wrong-capsule "licence for another capsule" song.capsule.wasm --trust "$CREATOR" --license coffee.lic --identity bob.key --ledger file:ledger.json
refuse 7 not-holder "no token" song.capsule.wasm --trust "$CREATOR" --license song.lic --identity bob.key --ledger file:empty.json
cp coffee.wav plain.wav && "$C" pack plain.wav --royalty m.yaml >/dev/null
refuse 7 no-license "no licence, no preview" plain.capsule.wasm --trust "$CREATOR" --identity bob.key
cp song.capsule.wasm bad.capsule.wasm
node -e 'const fs=require("fs"),f="bad.capsule.wasm",b=fs.readFileSync(f);b[b.length-500]^=1;fs.writeFileSync(f,b)'
refuse 5 chunk-hash-mismatch "tampered payload" bad.capsule.wasm --trust "$CREATOR" --license song.lic --identity bob.key --ledger file:ledger.json

# Transfer: the old holder is refused, the new one (with a licence) opens.
"$C" license issue coffee.capsule.wasm --holder eve.pub --model buy -o coffee-eve.lic >/dev/null
expect 0 "transfer" -- "$R" ledger transfer --ledger file:ledger.json --capsule coffee.capsule.wasm --holder bob.pub --to eve.pub
refuse 7 not-holder "after transfer, old holder" coffee.capsule.wasm --trust "$CREATOR" --license coffee.lic --identity bob.key --ledger file:ledger.json
expect 0 "after transfer, new holder" -- "$R" open coffee.capsule.wasm --trust "$CREATOR" --license coffee-eve.lic --identity eve.key --ledger file:ledger.json -o eve.out
cmp -s eve.out coffee.wav && ok || bad "new holder's content differs"

# Pay-per-view: a play is counted before release; kill -9 mid-play still counts it.
"$C" license issue coffee.capsule.wasm --holder eve.pub --model pay_per_view -o ppv.lic >/dev/null
ppv() { "$R" open coffee.capsule.wasm --trust "$CREATOR" --license ppv.lic --identity eve.key --ledger file:ledger.json "$@"; }
mkfifo pipe
ppv -o - >pipe 2>/dev/null &
pid=$!
exec 3<pipe
head -c 4096 <&3 >/dev/null          # content is flowing: the play was counted before this
kill -9 $pid; wait $pid 2>/dev/null
exec 3<&-
ppv -o ppv1.out --json >out.txt 2>err.txt && ok || bad "second ppv open"
contains out.txt '"plays_used":2' "the killed play was counted"
# Opens refused for their output or their window count no play (the counts below stay 3–5), and
# no output ever replaces an input, --force or not.
touch exists.out
expect 2 "ppv over an existing file" -- ppv -o exists.out --json
contains out.txt '"code":"output-exists"' "ppv over an existing file: reason"
expect 2 "ppv with a range past the end" -- ppv -o r.out --range 99999999- --json
[ ! -e r.out ] && ok || bad "a refused range left output"
cp ppv.lic ppv.lic.orig && cp eve.key eve.key.orig && cp ledger.json ledger.json.orig
for input in ppv.lic eve.key ledger.json coffee.capsule.wasm "$CREATOR"; do
  expect 2 "ppv -o $input --force" -- ppv -o "$input" --force --json
  contains out.txt '"code":"same-input-output"' "ppv -o $input: reason"
done
cmp -s ppv.lic ppv.lic.orig && cmp -s eve.key eve.key.orig && cmp -s ledger.json ledger.json.orig &&
  ok || bad "an input was overwritten"
expect 2 "ppv into the state store" -- ppv -o "$CAPSULE_HOME/state/records/x.wav" --json
contains out.txt '"code":"same-input-output"' "ppv into the state store: reason"
# Two concurrent opens both count: plays 3 and 4; the fifth is the last one.
ppv -o c1.out >/dev/null 2>&1 & a=$!
ppv -o c2.out >/dev/null 2>&1 & b=$!
wait $a; ra=$?; wait $b; rb=$?
[ $ra = 0 ] && [ $rb = 0 ] && ok || bad "concurrent opens: exits $ra/$rb"
ppv -o ppv5.out --json >out.txt 2>err.txt && ok || bad "fifth ppv open"
contains out.txt '"plays_used":5' "both concurrent plays were counted"
refuse 7 plays-exhausted "plays exhausted" coffee.capsule.wasm --trust "$CREATOR" --license ppv.lic --identity eve.key --ledger file:ledger.json
# A second pay-per-view licence is a second purchase (license.md §5): it has plays of its own,
# and the first stays spent.
"$C" license issue coffee.capsule.wasm --holder eve.pub --model pay_per_view -o ppv2.lic >/dev/null
expect 0 "a second pay-per-view licence" -- "$R" open coffee.capsule.wasm --trust "$CREATOR" --license ppv2.lic --identity eve.key --ledger file:ledger.json -o ppv2.out --json
contains out.txt '"plays_used":1' "the second licence counts its own plays"
refuse 7 plays-exhausted "the first licence stays spent" coffee.capsule.wasm --trust "$CREATOR" --license ppv.lic --identity eve.key --ledger file:ledger.json

# A damaged capsule uses up no play when the output is a file: every chunk of the window is
# checked against the signed index before the play is counted. A stream checks its first chunk
# first; damage found after content went out has counted the play (docs/exit-codes.md).
"$C" license issue coffee.capsule.wasm --holder eve.pub --model pay_per_view -o ppv3.lic >/dev/null
C="$C" python3 - <<'PY' || bad "make damaged copies"
import json, os, subprocess
j = json.loads(subprocess.check_output([os.environ["C"], "inspect", "coffee.capsule.wasm", "--json"]))
assert j["chunks"]["count"] >= 2, j["chunks"]
payload, delimiter = j["parts"][2]["sections"]
data = open("coffee.capsule.wasm", "rb").read()
for name, at in (("dmg-first", payload["offset"] + 100), ("dmg-last", delimiter["offset"] - 100)):
    b = bytearray(data); b[at] ^= 0x55
    open(name + ".capsule.wasm", "wb").write(b)
PY
ppv3() { "$R" open "$1" --trust "$CREATOR" --license ppv3.lic --identity eve.key --ledger file:ledger.json "${@:2}"; }
expect 5 "ppv of a capsule damaged at its end, to a file" -- ppv3 dmg-last.capsule.wasm -o dmg1.out --json
contains out.txt '"code":"chunk-hash-mismatch"' "damage at the end: reason"
[ ! -e dmg1.out ] && ok || bad "a damaged capsule left output"
jcheck out.txt "j.bytes === 0" "nothing went out of a failed open to a file"
expect 5 "ppv of a capsule damaged at its start, streamed" -- ppv3 dmg-first.capsule.wasm -o - --json
[ ! -s out.txt ] && ok || bad "a stream damaged at its start released content"
expect 0 "ppv after two damaged opens" -- ppv3 coffee.capsule.wasm -o good3.out --json
contains out.txt '"plays_used":1' "damaged opens counted no play"
expect 5 "ppv of a capsule damaged at its end, streamed" -- ppv3 dmg-last.capsule.wasm -o -
[ -s out.txt ] && ok || bad "the stream before the damage did not go out"
# A FIFO is a stream too: its first byte is not kept waiting for a check of every chunk.
mkfifo dmgpipe
cat dmgpipe >dmgpipe.out &
cpid=$!
expect 5 "ppv of a capsule damaged at its end, into a FIFO" -- ppv3 dmg-last.capsule.wasm -o dmgpipe
wait $cpid
[ -s dmgpipe.out ] && ok || bad "the FIFO got nothing before the damage"
expect 0 "ppv after damaged streams" -- ppv3 coffee.capsule.wasm -o good4.out --json
contains out.txt '"plays_used":4' "streams whose content went out counted their plays"

# capsule-run test: the real checks and logic with a fake counter and clock; content is hashed,
# never written, and the state store is not touched.
before=$(ls -R "$CAPSULE_HOME" | wc -l)
expect 0 "test at the last play" -- "$R" test coffee.capsule.wasm --trust "$CREATOR" --license ppv.lic --as eve.key --ledger file:ledger.json --plays-used 4
contains out.txt "output: $(stat -c %s coffee.wav) bytes (not hashed" "test counts a holder's content without hashing it"
# The hash of a one-byte --range would give a holder the content byte by byte, with --at and
# --plays-used also after the licence ended or the plays ran out: never shown to a holder.
expect 0 "test of a one-byte range" -- "$R" test coffee.capsule.wasm --trust "$CREATOR" --license ppv.lic --as eve.key --ledger file:ledger.json --plays-used 0 --range 0-0 --json
jcheck out.txt "j.ok && j.bytes === 1 && !('output_sha256' in j)" "no hash of a holder's one-byte window"
# The creator is an issuer and holds the content anyway: its dry run hashes what was released.
"$C" license issue coffee.capsule.wasm --holder "$CREATOR" --model pay_per_view -o creator.lic >/dev/null
"$R" ledger grant --ledger file:creator-ledger.json --capsule coffee.capsule.wasm --holder "$CREATOR" >/dev/null
expect 0 "test as the creator" -- "$R" test coffee.capsule.wasm --trust "$CREATOR" --license creator.lic --ledger file:creator-ledger.json --plays-used 0
contains out.txt "sha256 $(sha256sum coffee.wav | cut -c1-64)" "test hashes the content for an issuer"
expect 7 "test with every play used" -- "$R" test coffee.capsule.wasm --trust "$CREATOR" --license ppv.lic --as eve.key --ledger file:ledger.json --plays-used 5
contains out.txt "plays-exhausted" "test reports the refusal"
"$C" license issue song.capsule.wasm --holder bob.pub --model buy --not-after 2027-01-01 -o song-2027.lic >/dev/null
expect 0 "test before the licence ends" -- "$R" test song.capsule.wasm --trust "$CREATOR" --license song-2027.lic --as bob.key --ledger file:ledger.json --at 2026-12-31T00:00Z
expect 7 "test after the licence ends" -- "$R" test song.capsule.wasm --trust "$CREATOR" --license song-2027.lic --as bob.key --ledger file:ledger.json --at 2027-06-01T00:00Z
contains out.txt "license-expired" "test with a fake clock past the end"
[ "$(ls -R "$CAPSULE_HOME" | wc -l)" = "$before" ] && ok || bad "capsule-run test changed the state store"

# No --identity and no default identity: no-identity (2), as capsulec says it, not io-open.
expect 2 "unknown ledger subcommand" -- "$R" ledger bogus
contains err.txt "capsule-run ledger: unknown subcommand 'bogus' (one of: grant, revoke, transfer" "capsule-run names an unknown subcommand"
mkdir -p emptyhome
CAPSULE_HOME="$PWD/emptyhome" expect 2 "open without an identity" -- "$R" open song.capsule.wasm --trust "$CREATOR" --license song.lic --ledger file:ledger.json -o none.out --json
contains out.txt '"code":"no-identity"' "open without an identity: reason"
CAPSULE_HOME="$PWD/emptyhome" expect 2 "test without an identity" -- "$R" test song.capsule.wasm --trust "$CREATOR" --license song.lic --ledger file:ledger.json --json
contains out.txt '"code":"no-identity"' "test without an identity: reason"

# capsule-run test does not create a state store it was pointed at (it writes nothing), nor
# set one up around a key that is there alone.
expect 0 "test with a new state dir" -- "$R" test song.capsule.wasm --trust "$CREATOR" --license song.lic --as bob.key --ledger file:ledger.json --state-dir newstate
[ ! -e newstate ] && ok || bad "capsule-run test created a state store"
mkdir -m 700 keyonly && head -c 32 /dev/urandom >keyonly/store.key && chmod 600 keyonly/store.key
expect 0 "test with a store key alone" -- "$R" test song.capsule.wasm --trust "$CREATOR" --license song.lic --as bob.key --ledger file:ledger.json --state-dir keyonly
[ "$(ls -A keyonly)" = "store.key" ] && ok || bad "capsule-run test set up a store: $(ls -A keyonly | tr '\n' ' ')"

# A licence file above 65,536 bytes is malformed (license.md §6.1), not an I/O error.
{ cat song.lic; head -c 70000 /dev/zero | tr '\0' ' '; } >big.lic
refuse 4 license-malformed "a licence above 64 KiB" song.capsule.wasm --trust "$CREATOR" --license big.lic --identity bob.key --ledger file:ledger.json

# stdout: closed at start, or closed by the reader part way, is an I/O error (exit 3) that says
# so, with what went out reported; never a sandbox failure or a silent death by SIGPIPE.
open_song() { "$R" open song.capsule.wasm --trust "$CREATOR" --license song.lic --identity bob.key --ledger file:ledger.json "$@"; }
open_song -o - --json >&- 2>err.txt; rc=$?
[ $rc = 3 ] && ok || bad "-o - with stdout closed: exit $rc"
contains err.txt "stdout: closed" "-o - with stdout closed: message"
open_song -o - --json 2>err.txt | head -c 100 >/dev/null; rc=${PIPESTATUS[0]}
[ $rc = 3 ] && ok || bad "-o - into a pipe closed part way: exit $rc"
contains err.txt "reader closed the pipe" "-o - into a closed pipe: message"
grep '^{' err.txt >err.json
jcheck err.json "j.error.code === 'io-write' && j.bytes >= 100 && j.bytes < $(stat -c %s song.mp3)" "-o - into a closed pipe: JSON with the bytes that went out (not all)"

# A sandbox outcome names the capsule.
expect 8 "instruction budget" -- open_song -o budget.out --max-instructions 100
contains err.txt "song.capsule.wasm" "a sandbox limit names the capsule"

# A --holder that is neither an address nor a key file.
expect 4 "grant to a bad address" -- "$R" ledger grant --ledger file:ledger.json --capsule song.capsule.wasm --holder 0xZZ
contains err.txt "bad-address" "bad address: reason"

[ -z "$(find . -name '.*.tmp-*')" ] && ok || bad "temporary files left behind"
finish
