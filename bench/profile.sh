#!/usr/bin/env bash
# Profiles pack (--compress never and auto) and open (through the sandbox, to /dev/null) of a
# generated WAV with `perf record` (DWARF call graphs), then prints each profile's hottest
# symbols (self time) and the callers of the top ones. Not part of run.sh: run it when run.sh
# shows a MISS, and read docs/performance.md for what was found last time.
#
#   bash bench/profile.sh            # BUILD_DIR (default build), BENCH_SIZE_MB (default 1024)
#
# Needs linux-perf (installed here when missing) and root or kernel.perf_event_paranoid ≤ 1.
# Everything lives in a work dir under ${TMPDIR:-/tmp}, removed on exit; BENCH_KEEP=1 keeps it
# (the perf.data files, for `perf report -i`).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
SIZE_MB="${BENCH_SIZE_MB:-1024}"
C="$BUILD_DIR/capsulec/capsulec"
R="$BUILD_DIR/runtime-min/capsule-run"
if [ ! -x "$C" ] || [ ! -x "$R" ]; then
  echo "bench/profile.sh: no binaries in $BUILD_DIR" >&2
  exit 1
fi
for p in linux-perf sox; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    apt-get install -y --no-install-recommends "$p" >&2
done
W="$(mktemp -d "${TMPDIR:-/tmp}/capsule-profile.XXXXXX")"
if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "work dir kept: $W" >&2; else trap 'rm -rf "$W"' EXIT; fi
export CAPSULE_HOME="$W/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE
cd "$W"

secs=$((SIZE_MB * 1024 * 1024 / 192000))
sox -n -r 48000 -c 2 -b 16 base.wav synth 60 pinknoise vol 0.5
if [ "$secs" -le 60 ]; then sox base.wav in.wav trim 0 "$secs"; else
  sox base.wav in.wav repeat $(((secs + 59) / 60 - 1)) trim 0 "$secs"; fi
rm base.wav
"$C" keygen >/dev/null
"$C" keygen -o bob >/dev/null
cat >m.yaml <<'YAML'
title: Profile
creator:
  name: Profile
  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
royalties:
  splits:
    - role: creator
      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
      share: 100%
models:
  - type: buy
    price: "5"
    currency: ELA
YAML

rec() {  # rec NAME CMD...: perf record of CMD (and its children), stdout to /dev/null
  local name="$1"; shift
  perf record -q -F 999 --call-graph dwarf,16384 -o "$name.data" -- "$@" >/dev/null 2>"$name.err" ||
    { echo "$name: failed"; tail -3 "$name.err"; return 1; }
}
show() {  # (pipes into head: no pipefail here)
  local name="$1" lib
  set +o pipefail
  echo
  echo "=== $name: self time by process and library ==="
  perf report -i "$name.data" --stdio --no-children --sort comm,dso -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | head -12
  lib="$(ldd "$C" | awk '/libcrypto/ {print $3}')"
  echo "--- $name: libcrypto by instruction mix (Debian's libcrypto has no symbols) ---"
  perf report -i "$name.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
    python3 "$ROOT/bench/bench.py" crypto-split "$lib"
  echo "--- $name: self time by symbol, libcrypto left out (top 15) ---"
  perf report -i "$name.data" --stdio --no-children --sort comm,dso,symbol -g none 2>/dev/null |
    grep -v '^#' | grep -v '^$' | grep -v libcrypto | head -15 | cut -c1-120
  echo "--- $name: inclusive time by function (≥ 3 %) ---"
  perf report -i "$name.data" --stdio --children --sort symbol --percent-limit 3 -g none \
    2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 | cut -c1-140
  set -o pipefail
}
rec pack-never "$C" pack in.wav --royalty m.yaml --compress never -o never.capsule.wasm --force
rec pack-auto "$C" pack in.wav --royalty m.yaml --compress auto -o auto.capsule.wasm --force
rm -f auto.capsule.wasm
"$C" license issue never.capsule.wasm --holder bob.pub --model buy -o bob.lic >/dev/null
"$R" ledger grant --ledger file:ledger.json --capsule never.capsule.wasm --holder bob.pub >/dev/null
rec open "$R" open never.capsule.wasm --trust "$CAPSULE_HOME/default.pub" --license bob.lic \
  --identity bob.key --ledger file:ledger.json -o -
rec verify "$C" verify never.capsule.wasm
for n in pack-never pack-auto open verify; do show "$n"; done
