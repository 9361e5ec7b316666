#!/usr/bin/env bash
# Quick start: install dependencies, build, and run the main job on the bundled samples:
# keygen → pack (a WAV with a clear preview, and a text) → verify → inspect → unpack.
# Idempotent: the demo works in out/demo/ and starts afresh each run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh

C="$PWD/build/capsulec/capsulec"
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
echo
echo "Done. The capsules are in out/demo/."
