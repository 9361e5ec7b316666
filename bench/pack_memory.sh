#!/usr/bin/env bash
# Measures pack / verify / unpack time and peak RSS on a generated WAV of SIZE_MB (default
# 512), to show that memory does not grow with the input. Not a test: numbers vary by machine.
#   bash bench/pack_memory.sh [SIZE_MB]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
C="$ROOT/build/capsulec/capsulec"
MB="${1:-512}"
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
export CAPSULE_HOME="$T/home"
cd "$T"
"$C" keygen >/dev/null
secs=$((MB * 1024 * 1024 / 192000))
sox -n -r 48000 -c 2 -b 16 in.wav synth "$secs" whitenoise vol 0.3
cp "$ROOT/examples/sample/sample.yaml" m.yaml
echo "input: $(stat -c %s in.wav) bytes"
for mode in never auto; do
  /usr/bin/time -f "pack --compress $mode: %e s, peak RSS %M KiB" \
    "$C" pack in.wav --royalty m.yaml --compress "$mode" --force >/dev/null
done
/usr/bin/time -f "verify: %e s, peak RSS %M KiB" "$C" verify in.capsule.wasm >/dev/null
/usr/bin/time -f "unpack: %e s, peak RSS %M KiB" "$C" unpack in.capsule.wasm -o out.wav >/dev/null
cmp in.wav out.wav && echo "round trip: identical"
