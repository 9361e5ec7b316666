#!/usr/bin/env bash
# Quick start: install dependencies, build, and run the main job on the bundled samples:
# keygen → pack (a WAV with a clear preview, and a text) → verify → inspect → unpack, then the
# runtime: licence → ledger grant → capsule-run open for the holder, and the preview without one.
# Idempotent: the demo works in out/demo/ and starts afresh each run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

C="$PWD/build/capsulec/capsulec"
R="$PWD/build/runtime-min/capsule-run"
DEMO="$PWD/out/demo"
rm -rf "$DEMO"
mkdir -p "$DEMO"
export CAPSULE_HOME="$DEMO/home"   # the demo identity stays out of your real one
cp examples/sample/tone.wav examples/sample/poem.txt "$DEMO/"
cd "$DEMO"

echo "== capsulec keygen"
"$C" keygen
echo "== capsulec pack tone.wav --royalty sample.yaml"
"$C" pack tone.wav --royalty ../../examples/sample/sample.yaml
echo "== capsulec pack poem.txt --royalty poem.yaml"
"$C" pack poem.txt --royalty ../../examples/sample/poem.yaml
echo "== capsulec verify tone.capsule.wasm --trust home/default.pub"
"$C" verify tone.capsule.wasm --trust home/default.pub
echo "== capsulec inspect tone.capsule.wasm"
"$C" inspect tone.capsule.wasm
echo "== capsulec unpack tone.capsule.wasm -o tone.unpacked.wav"
"$C" unpack tone.capsule.wasm -o tone.unpacked.wav
cmp tone.wav tone.unpacked.wav && echo "unpacked content is byte-identical to the original"

echo "== a listener: capsulec keygen -o listener"
"$C" keygen -o listener
echo "== capsulec license issue tone.capsule.wasm --holder listener.pub --model buy"
"$C" license issue tone.capsule.wasm --holder listener.pub --model buy -o tone.lic
echo "== capsule-run ledger grant --ledger file:ledger.json --capsule tone.capsule.wasm --holder listener.pub"
"$R" ledger grant --ledger file:ledger.json --capsule tone.capsule.wasm --holder listener.pub
echo "== capsule-run open tone.capsule.wasm --license tone.lic --identity listener.key ..."
"$R" open tone.capsule.wasm --trust home/default.pub --license tone.lic --identity listener.key \
  --ledger file:ledger.json -o tone.opened.wav
cmp tone.wav tone.opened.wav && echo "opened content is byte-identical to the original"
echo "== capsule-run open tone.capsule.wasm (no licence: the clear preview)"
"$R" open tone.capsule.wasm --trust home/default.pub -o tone.preview.wav
echo
echo "Done. The capsules are in out/demo/."
