#!/usr/bin/env bash
# Cross-implementation test: capsules that capsulec packs from real media must pass an
# independent verifier (tests/node/verify_capsule.mjs: Node's crypto and V8, written from
# DESIGN §7, sharing no code with the C++ library) and wabt's wasm-validate. Co-signed capsules
# and detached signatures must verify under every signer's key. Negative checks prove the oracle
# can fail: a flipped byte in the payload, the manifest, the code or a signature, a truncated
# file and the wrong key must all be rejected.
#
# Run by ctest with CAPSULEC, CAPSULE_SOURCE_DIR and CAPSULE_BINARY_DIR set; runs standalone
# when those are exported. Ends with "N passed, M failed"; exit 1 on any failure.
set -uo pipefail
C="${CAPSULEC:?set CAPSULEC to the capsulec binary}"
SRC="${CAPSULE_SOURCE_DIR:?set CAPSULE_SOURCE_DIR to the source tree}"
VERIFY="$SRC/tests/node/verify_capsule.mjs"
if [ -n "${CAPSULE_BINARY_DIR:-}" ]; then
  mkdir -p "$CAPSULE_BINARY_DIR/tests/tmp"
  T="$(mktemp -d "$CAPSULE_BINARY_DIR/tests/tmp/node-verify.XXXXXX")"
else
  T="$(mktemp -d "${TMPDIR:-/tmp}/node-verify.XXXXXX")"
fi
trap 'rm -rf "$T"' EXIT
export CAPSULE_HOME="$T/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE
cd "$T" || exit 1

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
show() { sed 's/^/    /' "$1" | head -"${2:-5}"; }

# run WANT_EXIT DESCRIPTION -- command...   (stdout → out.txt, stderr → err.txt)
run() {
  local want="$1" what="$2"; shift 3
  "$@" >out.txt 2>err.txt </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then ok; return 0; fi
  bad "$what: exit $got, wanted $want"; show out.txt 3; show err.txt 3
  return 1
}
# jcheck DESCRIPTION JS_PREDICATE — evaluated over j, the last JSON line of out.txt.
jcheck() {
  if node -e "const t=require('fs').readFileSync('out.txt','utf8').trim().split('\n').pop();
              const j=JSON.parse(t); if(!($2)){console.error(t.slice(0,600));process.exit(1)}" 2>jerr.txt; then
    ok
  else
    bad "$1"; show jerr.txt
  fi
}
# verify_ok DESCRIPTION SIGNATURES_AT_LEAST verifier-args...
verify_ok() {
  local what="$1" n="$2"; shift 2
  run 0 "$what" -- node "$VERIFY" "$@" &&
    jcheck "$what: JSON report" "j.ok===true && j.v8_valid===true && j.parts===3 && j.signatures_valid>=$n && !('error' in j)"
}
# verify_fails DESCRIPTION ERROR_SUBSTRING verifier-args...
verify_fails() {
  local what="$1" why="$2"; shift 2
  run 1 "$what" -- node "$VERIFY" "$@" &&
    jcheck "$what: reason" "j.ok===false && typeof j.error==='string' && j.error.includes($(node -p 'JSON.stringify(process.argv[1])' "$why"))"
}
# flip FILE OFFSET OUT — copy FILE to OUT with the byte at OFFSET xor 0x01.
flip() { node -e "const fs=require('fs');const b=fs.readFileSync(process.argv[1]);b[+process.argv[2]]^=1;fs.writeFileSync(process.argv[3],b)" "$@"; }
# section_range FILE NAME — "START END" of a section's payload, as wabt's wasm-objdump lists it
# (NAME is a custom section's name, or a standard section's kind such as Code).
section_range() {
  wasm-objdump -h "$1" | awk -v n="$2" '$NF == "\"" n "\"" || $1 == n {
      sub(/^start=/, "", $2); sub(/^end=/, "", $3); print $2, $3; exit }'
}
# section_mid FILE NAME — an offset in the middle of that payload.
section_mid() {
  local r; r="$(section_range "$1" "$2")"; [ -n "$r" ] || return 0
  set -- $r; echo $((($1 + $2) / 2))
}

for tool in node wasm-validate wasm-objdump sox lame; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not installed"; echo "0 passed, 1 failed"; exit 1; }
done

# --- identities ---
run 0 "keygen (default identity)" -- "$C" keygen
run 0 "keygen -o ci" -- "$C" keygen -o ci   # writes ci.key and ci.pub here
CREATOR_PUB="$CAPSULE_HOME/default.pub"
CI_KEY="$T/ci.key" CI_PUB="$T/ci.pub"

# --- manifests: audio with and without a preview, text (rental, preview lines), free text ---
sed 's/^title: .*/title: Oracle audio/' "$SRC/examples/sample/sample.yaml" >audio-preview.yaml
sed -e 's/^title: .*/title: Oracle audio, no preview/' -e '/^preview:/d' \
  "$SRC/examples/sample/sample.yaml" >audio-plain.yaml
sed 's/^title: .*/title: Oracle text/' "$SRC/examples/sample/poem.yaml" >text-rental.yaml
sed 's/^title: .*/title: Oracle free text/' "$SRC/examples/poem-free.yaml" >text-free.yaml

# --- media: real files shipped by Debian packages, plus generated ones ---
GARDEN="/usr/share/scratch/Media/Sounds/Music Loops/Garden.mp3"   # note the space
COLD_DAY="/usr/share/asterisk/moh/macroform-cold_day.wav"
JARGON_GZ="$(dpkg -L jargon-text 2>/dev/null | grep 'jargon\.txt\.gz$' | head -1)"
if [ -n "$JARGON_GZ" ] && [ -f "$JARGON_GZ" ]; then zcat "$JARGON_GZ" >jargon.txt; else cp /usr/share/common-licenses/GPL-3 jargon.txt; fi
cp /usr/share/common-licenses/GPL-3 gpl-3.txt
sox -n -r 48000 -c 2 -b 24 tone24.wav synth 6 sine 330 sine 550 vol 0.4
sox -n -r 44100 -c 2 -b 16 sweep.wav synth 8 sine 200-2000 vol 0.5
lame --quiet -V 2 sweep.wav vbr.mp3

# name|input|manifest
CASES=(
  "garden|$GARDEN|audio-preview.yaml"
  "cold-day|$COLD_DAY|audio-plain.yaml"
  "jargon|jargon.txt|text-rental.yaml"
  "gpl-free|gpl-3.txt|text-free.yaml"
  "tone24|tone24.wav|audio-preview.yaml"
  "vbr|vbr.mp3|audio-plain.yaml"
)
CAPSULES=()
for c in "${CASES[@]}"; do
  IFS='|' read -r name input manifest <<<"$c"
  out="$name.capsule.wasm"
  if ! [ -f "$input" ]; then bad "$name: input $input missing"; continue; fi
  run 0 "pack $name" -- "$C" pack "$input" --royalty "$manifest" -o "$out" || continue
  CAPSULES+=("$out")
  # (a) the oracle accepts it under the creator's .pub, and under the manifest's own key.
  verify_ok "$name: verifier --key-file creator.pub" 1 --key-file "$CREATOR_PUB" "$out"
  verify_ok "$name: verifier with the manifest's key" 1 "$out"
  grep -q 'creator.ed25519' err.txt && ok || bad "$name: no stderr note about the manifest key"
  jcheck "$name: key taken from the manifest, and said so" "j.key_source==='manifest'"
  run 0 "$name: wasm-validate" -- wasm-validate "$out"
done
# The preview section is present exactly when the manifest asks for one (audio) — V8 and the
# parser counted it; here the oracle's structure check is cross-checked with wabt's listing.
for name in garden tone24; do
  [ -f "$name.capsule.wasm" ] || continue
  wasm-objdump -h "$name.capsule.wasm" | grep -q '"capsule.preview"' && ok || bad "$name: no capsule.preview"
done
for name in cold-day vbr; do
  [ -f "$name.capsule.wasm" ] || continue
  wasm-objdump -h "$name.capsule.wasm" | grep -q '"capsule.preview"' && bad "$name: unexpected capsule.preview" || ok
done
# All capsules at once: one JSON line each, exit 0.
if [ "${#CAPSULES[@]}" -gt 0 ]; then
  run 0 "verifier over all ${#CAPSULES[@]} capsules at once" -- node "$VERIFY" --key-file "$CREATOR_PUB" "${CAPSULES[@]}"
  [ "$(grep -c '"ok":true' out.txt)" -eq "${#CAPSULES[@]}" ] && ok || bad "one ok JSON line per capsule"
fi

# --- (b) co-signing and detached signatures ---
X=garden.capsule.wasm
CI_HEX="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).ed25519' "$CI_PUB")"
run 0 "sign --key ci.key -o" -- "$C" sign "$X" --key "$CI_KEY" -o cosigned.capsule.wasm
verify_ok "co-signed: creator key" 1 --key-file "$CREATOR_PUB" cosigned.capsule.wasm
verify_ok "co-signed: ci key" 1 --key-file "$CI_PUB" cosigned.capsule.wasm
verify_ok "co-signed: ci key as --key HEX" 1 --key "$CI_HEX" cosigned.capsule.wasm
verify_ok "co-signed: both keys at once" 2 --key-file "$CREATOR_PUB" --key-file "$CI_PUB" cosigned.capsule.wasm
jcheck "co-signed: exactly two valid signatures" "j.signatures_valid===2"
run 0 "co-signed: wasm-validate" -- wasm-validate cosigned.capsule.wasm
before="$(sha256sum <"$X")"
run 0 "sign --detached" -- "$C" sign "$X" --key "$CI_KEY" --detached garden.sig
[ "$(sha256sum <"$X")" = "$before" ] && ok || bad "sign --detached changed the original capsule"
verify_ok "detached: ci key against the original capsule" 1 --detached garden.sig --key-file "$CI_PUB" "$X"
verify_ok "detached: creator key (earlier signatures kept)" 1 --detached garden.sig --key-file "$CREATOR_PUB" "$X"
verify_fails "original without the detached file: ci key" "no valid Ed25519 signature" --key-file "$CI_PUB" "$X"

# --- (c) negatives: the oracle must be able to fail ---
off="$(section_mid "$X" capsule.payload)"
if [ -n "$off" ]; then
  flip "$X" "$off" neg-payload.wasm
  verify_fails "flipped payload byte at $off" "no signature set matches" --key-file "$CREATOR_PUB" neg-payload.wasm
  jcheck "flipped payload: h3 is the hash that differs" "j.error.includes('h3 signed')"
  verify_fails "flipped payload byte, manifest key" "no signature set matches" neg-payload.wasm
else bad "capsule.payload not found by wasm-objdump"; fi
off="$(section_mid "$X" capsule.manifest)"
if [ -n "$off" ]; then
  flip "$X" "$off" neg-manifest.wasm
  verify_fails "flipped manifest byte at $off" "no signature set matches" --key-file "$CREATOR_PUB" neg-manifest.wasm
  jcheck "flipped manifest: h2 is the first hash that differs" "j.error.includes('h2 signed')"
else bad "capsule.manifest not found by wasm-objdump"; fi
off="$(section_mid "$X" Code)"
if [ -n "$off" ]; then
  flip "$X" "$off" neg-code.wasm
  verify_fails "flipped code byte at $off" "no signature set matches" --key-file "$CREATOR_PUB" neg-code.wasm
else bad "Code section not found by wasm-objdump"; fi
# The last byte of the first delimiter's 16 (the middle would hit its name).
delim_range="$(section_range "$X" signature_delimiter)"
if [ -n "$delim_range" ]; then
  off=$(( ${delim_range#* } - 1 ))
  flip "$X" "$off" neg-delim.wasm
  verify_fails "flipped delimiter byte at $off" "no signature set matches" --key-file "$CREATOR_PUB" neg-delim.wasm
else bad "signature_delimiter not found by wasm-objdump"; fi
# The last signature byte: end of the signature section (before the first code section).
sig_range="$(section_range "$X" signature)"
if [ -n "$sig_range" ]; then
  sig_end=$(( ${sig_range#* } - 1 ))
  flip "$X" "$sig_end" neg-sig.wasm
  verify_fails "flipped signature byte at $sig_end" "no valid Ed25519 signature" --key-file "$CREATOR_PUB" neg-sig.wasm
else bad "signature section not found by wasm-objdump"; fi
verify_fails "wrong key (ci key on a capsule only the creator signed)" "no valid Ed25519 signature" --key-file "$CI_PUB" "$X"
verify_fails "wrong key via --key HEX" "no valid Ed25519 signature" --key "$CI_HEX" "$X"
head -c "$(($(stat -c %s "$X") - 7))" "$X" >neg-truncated.wasm
verify_fails "truncated capsule" "only" --key-file "$CREATOR_PUB" neg-truncated.wasm
flip garden.sig 40 neg-detached.sig
verify_fails "detached signature with a flipped hash byte" "no signature set matches" --detached neg-detached.sig --key-file "$CI_PUB" "$X"
# A bad file among good ones fails the whole run, and the good one still reports ok.
run 1 "one bad capsule fails the run" -- node "$VERIFY" --key-file "$CREATOR_PUB" "$X" neg-payload.wasm
[ "$(grep -c '"ok":true' out.txt)" -eq 1 ] && ok || bad "the good capsule is still reported ok"

# wasmsign2's multi-part path (verify --split, verify_matrix, sign) re-encodes every section
# size in shortest LEB128 form before hashing; capsules must hash the same that way too.
run 0 "all capsules verify with wasmsign2's re-encoding hash" -- \
  node "$VERIFY" --wasmsign2 --key-file "$CREATOR_PUB" "${CAPSULES[@]}"
if grep -q '"warnings"' out.txt; then bad "non-minimal LEB128 sizes reported"; else ok; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
