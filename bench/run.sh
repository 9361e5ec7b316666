#!/usr/bin/env bash
# The performance bench of issue 6, in one run (docs/performance.md explains every figure):
#   limits  — OpenSSL AES-256-GCM and SHA-256 on one core, and the design limits built from them;
#   peers   — Debian's age (encrypt/decrypt, X25519 recipient) and minisign (sign) of the same file;
#   ours    — pack, open through the sandbox, full verify, time to first byte, peak RSS, a
#             catalogue of 1,000 small real-media files, --compress auto; each with its goal;
#   micro   — the Google Benchmark micro-benchmarks (bench/micro), built in build-bench.
#
#   bash bench/run.sh [--json] [--no-micro]
#
# Environment: BUILD_DIR (binaries measured; default build), BENCH_SIZE_MB (big WAV; default
# 1024), BENCH_CATALOGUE (default 1000), BENCH_SECONDS (openssl speed; default 3),
# BENCH_TTFB_RUNS (default 31, after BENCH_TTFB_WARMUP untimed runs, default 10), BENCH_REPEAT
# (runs of each throughput figure, the median is reported; default 3), BENCH_MICRO_DIR (default
# build-bench), BENCH_MICRO_MIN_TIME (seconds per micro-benchmark; default 0.2), BENCH_NICE
# (priority of the whole run; default -20 as root, so that other work on a shared machine
# distorts the figures less; 0 to leave it).
# Installs what it needs with apt-get when missing;
# needs no network otherwise. Everything it writes lives in a work dir under ${TMPDIR:-/tmp},
# removed on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
JSON=0 MICRO=1
for a in "$@"; do
  case "$a" in
    --json) JSON=1 ;;
    --no-micro) MICRO=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
BUILD_DIR="${BUILD_DIR:-build}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
MICRO_DIR="${BENCH_MICRO_DIR:-build-bench}"
case "$MICRO_DIR" in /*) ;; *) MICRO_DIR="$ROOT/$MICRO_DIR" ;; esac
SIZE_MB="${BENCH_SIZE_MB:-1024}"
CAT_N="${BENCH_CATALOGUE:-1000}"
SECONDS_PER_SPEED="${BENCH_SECONDS:-3}"
TTFB_RUNS="${BENCH_TTFB_RUNS:-31}"
C="$BUILD_DIR/capsulec/capsulec"
R="$BUILD_DIR/runtime-min/capsule-run"

log() { echo "bench: $*" >&2; }
die() { echo "bench/run.sh: $*" >&2; exit 1; }
if [ ! -x "$C" ] || [ ! -x "$R" ]; then
  die "no capsulec/capsule-run in $BUILD_DIR (build first: bash scripts/build.sh)"
fi

# ---- packages (installed only when missing) ----
need=(sox libsox-fmt-mp3 lame age minisign openssl python3 scratch asterisk-moh-opsound-wav
  jargon-text)
[ "$MICRO" = 1 ] && need+=(libbenchmark-dev cmake ninja-build wabt)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >&2 ||
    { $SUDO apt-get update >&2 && $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >&2; } ||
    die "cannot install ${missing[*]}"
fi

# ---- work dir ----
W="$(mktemp -d "${TMPDIR:-/tmp}/capsule-bench.XXXXXX")"
AUTOGROUP_OLD=""
cleanup() {
  rm -rf "$W"
  [ -z "$AUTOGROUP_OLD" ] || echo "$AUTOGROUP_OLD" >"/proc/$$/autogroup" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Priority: the kernel shares CPU between sessions (autogroups) before it looks at nice values,
# so both are raised for the run (and the session's autogroup value restored on exit).
NICE="${BENCH_NICE:-$([ "$(id -u)" = 0 ] && echo -20 || echo 0)}"
if [ "$NICE" != 0 ]; then
  renice -n "$NICE" -p $$ >/dev/null 2>&1 || NICE=0
  if [ "$NICE" != 0 ] && [ -w "/proc/$$/autogroup" ]; then
    old="$(sed -n 's/.* nice //p' "/proc/$$/autogroup")"
    echo "$NICE" >"/proc/$$/autogroup" 2>/dev/null && AUTOGROUP_OLD="$old"
  fi
fi
export BENCH_RESULTS="$W/results.jsonl" CAPSULE_HOME="$W/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE
H=(python3 "$ROOT/bench/bench.py")
cd "$W"
mkdir -p in cat out

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
record() { "${H[@]}" record "$@"; }
# What was measured: the source tree the build dir was configured from, and its commit.
SRC="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)"
SRC="${SRC:-$ROOT}"
if commit="$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)"; then
  [ -z "$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit+dirty"
else
  commit="none ($SRC is not a git checkout)"
fi
LOAD_START="$(loadavg)"

# ---- limits ----
log "limits: openssl speed (${SECONDS_PER_SPEED} s each, CPU time and wall clock)"
speed() {
  local key="$1" alg="$2"; shift 2
  openssl speed "$@" -mr -evp "$alg" -bytes 65536 -seconds "$SECONDS_PER_SPEED" >"$key.txt" 2>&1 &&
    "${H[@]}" openssl "$key" "$key.txt" || record "$key" '{"error":"openssl speed failed"}'
}
speed openssl.aes aes-256-gcm
speed openssl.sha sha256
speed openssl.aes.elapsed aes-256-gcm -elapsed
speed openssl.sha.elapsed sha256 -elapsed

# ---- inputs ----
BYTES_PER_S=192000  # 48 kHz, stereo, 16-bit
secs=$((SIZE_MB * 1024 * 1024 / BYTES_PER_S))
log "inputs: ${SIZE_MB} MiB pink-noise WAV (sox), 1 MiB WAV, $CAT_N real-media pieces"
sox -n -r 48000 -c 2 -b 16 in/base.wav synth 60 pinknoise vol 0.5
if [ "$secs" -le 60 ]; then
  sox in/base.wav in/big.wav trim 0 "$secs"
else
  sox in/base.wav in/big.wav repeat $(((secs + 59) / 60 - 1)) trim 0 "$secs"
fi
rm in/base.wav
sox -n -r 48000 -c 2 -b 16 in/small.wav synth "$(python3 -c "print(1048576/$BYTES_PER_S)")" pinknoise vol 0.5
WAV_BYTES=$(stat -c %s in/big.wav)

# Catalogue: a third MP3 (Scratch's sounds, decoded, joined and re-encoded once with lame at
# 128 kbit/s, cut on frame boundaries), a third WAV (asterisk's music on hold, cut on sample
# boundaries), a third text (the Jargon File, cut on line boundaries); ~100 KB each.
n_mp3=$((CAT_N / 3)) n_wav=$((CAT_N / 3))
n_txt=$((CAT_N - n_mp3 - n_wav))
mkdir -p mp3src
i=0
while IFS= read -r -d '' f; do
  sox -q "$f" -r 44100 -c 1 -b 16 "mp3src/$(printf %03d $i).wav" 2>/dev/null || true
  i=$((i + 1))
done < <(find /usr/share/scratch -name '*.mp3' -print0 | sort -z)
sox mp3src/*.wav mp3src/all.wav
lame --quiet -b 128 mp3src/all.wav mp3src/all.mp3
"${H[@]}" cut-mp3 cat "$n_mp3" 100000 mp3src/all.mp3
"${H[@]}" cut-wav cat "$n_wav" 100000 /usr/share/asterisk/moh/*.wav
zcat /usr/share/doc/jargon-text/jargon.txt.gz >jargon.txt
"${H[@]}" cut-text cat "$n_txt" 100000 jargon.txt
rm -rf mp3src jargon.txt
CAT_BYTES=$(du -cb cat | tail -1 | cut -f1)

# ---- keys, manifest, peers' keys ----
"$C" keygen >/dev/null
"$C" keygen -o bob >/dev/null
CREATOR="$CAPSULE_HOME/default.pub"
cat >m.yaml <<'YAML'
title: Bench
creator:
  name: Bench
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
age-keygen -o age.key 2>/dev/null
AGE_RECIPIENT="$(age-keygen -y age.key)"
minisign -G -W -p ms.pub -s ms.key >/dev/null

# ---- peers ----
log "peers: age encrypt/decrypt, minisign sign of ${SIZE_MB} MiB"
"${H[@]}" run age.encrypt --warm in/big.wav -- age -r "$AGE_RECIPIENT" -o out/big.age in/big.wav || true
"${H[@]}" run age.decrypt --warm out/big.age -- age -d -i age.key -o /dev/null out/big.age || true
rm -f out/big.age
"${H[@]}" run minisign.sign --warm in/big.wav -- minisign -S -s ms.key -m in/big.wav -x out/big.minisig || true

# ---- ours ----
has_threads=0
"$C" pack --help | grep -q -- '--threads' && has_threads=1
log "pack ${SIZE_MB} MiB, --compress never"
"${H[@]}" run pack.never --warm in/big.wav -- "$C" pack in/big.wav --royalty m.yaml --compress never -o out/big.capsule.wasm --force || true
CAPSULE_BYTES=$(stat -c %s out/big.capsule.wasm 2>/dev/null || echo 0)
log "pack ${SIZE_MB} MiB, --compress auto"
"${H[@]}" run pack.auto --warm in/big.wav -- "$C" pack in/big.wav --royalty m.yaml --compress auto -o out/auto.capsule.wasm --force || true
AUTO_BYTES=$(stat -c %s out/auto.capsule.wasm 2>/dev/null || echo 0)
rm -f out/auto.capsule.wasm
log "verify (full)"
"${H[@]}" run verify --warm out/big.capsule.wasm -- "$C" verify out/big.capsule.wasm || true

"$C" pack in/small.wav --royalty m.yaml --compress never -o out/small.capsule.wasm --force >/dev/null
for cap in big small; do
  "$C" license issue out/$cap.capsule.wasm --holder bob.pub --model buy -o $cap.lic >/dev/null
  "$R" ledger grant --ledger file:ledger.json --capsule out/$cap.capsule.wasm --holder bob.pub >/dev/null
done
open_cmd() {  # open_cmd CAP [extra args] → OPEN=(…): an entitled holder, streaming to stdout
  local cap="$1"; shift
  OPEN=("$R" open "out/$cap.capsule.wasm" --trust "$CREATOR" --license "$cap.lic"
    --identity bob.key --ledger file:ledger.json "$@" -o -)
}
log "open → /dev/null through the sandbox"
# -o - streams through the sandbox to stdout (here /dev/null). Not `-o /dev/null`: that is an
# atomic output (temp file beside it, then rename), which would try to replace /dev/null.
open_cmd big --json
"${H[@]}" run open.stdout --stderr open.err --warm out/big.capsule.wasm -- "${OPEN[@]}" || true
released=$(grep -o '"bytes":[0-9]*' open.err | cut -d: -f2 || true)
[ "${released:-0}" = "$WAV_BYTES" ] ||
  record open.stdout "{\"error\":\"open released ${released:-no} bytes, not $WAV_BYTES\"}"
"${H[@]}" run open.test --warm out/big.capsule.wasm -- "$R" test out/big.capsule.wasm --trust "$CREATOR" --license big.lic \
  --identity bob.key --ledger file:ledger.json || true
log "unpack (issuer, no sandbox), for reference"
"${H[@]}" run unpack --warm out/big.capsule.wasm -- "$C" unpack out/big.capsule.wasm -o out/unpacked.wav --force || true
rm -f out/unpacked.wav

# The unpack above wrote 1 GiB: let the kernel write it back now, not during the first-byte runs
# (its flusher threads take the CPU the start-up needs; that is not what this figure measures).
sync
log "time to first byte (${TTFB_RUNS} runs each)"
open_cmd small
"${H[@]}" ttfb ttfb.small "$TTFB_RUNS" -- "${OPEN[@]}" || true
open_cmd big
"${H[@]}" ttfb ttfb.big "$TTFB_RUNS" -- "${OPEN[@]}" || true
if "$R" open --help | grep -q -- '--from'; then
  from=$((secs * 9 / 10))
  open_cmd big --from "$from"
  "${H[@]}" ttfb ttfb.from "$TTFB_RUNS" -- "${OPEN[@]}" || true
else
  record ttfb.from '{"na":"not implemented (capsule-run open has no --from)"}'
fi
rm -f out/big.capsule.wasm out/small.capsule.wasm

log "catalogue: $CAT_N inputs, --jobs 2$([ $has_threads = 1 ] && echo ' --threads 2')"
cat_flags=(--jobs 2)
[ "$has_threads" = 1 ] && cat_flags+=(--threads 2)
mkdir -p out/cat
"${H[@]}" run catalogue --warm cat -- "$C" pack "${cat_flags[@]}" --royalty m.yaml --out-dir out/cat --force cat/* || true
made=$(find out/cat -name '*.capsule.wasm' | wc -l)
[ "$made" = "$CAT_N" ] || record catalogue "{\"error\":\"$made of $CAT_N capsules made\"}"
rm -rf out/cat

# ---- micro-benchmarks ----
MICRO_JSON=""
if [ "$MICRO" = 1 ]; then
  log "micro-benchmarks: building capsule_micro_bench in $MICRO_DIR"
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
  if { [ -f "$MICRO_DIR/build.ninja" ] && grep -q 'CAPSULE_BENCH:BOOL=ON' "$MICRO_DIR/CMakeCache.txt"; } ||
    cmake -S "$ROOT" -B "$MICRO_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAPSULE_BENCH=ON \
      >micro-build.log 2>&1; then
    if cmake --build "$MICRO_DIR" --target capsule_micro_bench -j 2 >>micro-build.log 2>&1; then
      log "micro-benchmarks: running"
      "$MICRO_DIR/bench/capsule_micro_bench" --benchmark_min_time="${BENCH_MICRO_MIN_TIME:-0.2}" \
        --benchmark_out=micro.json --benchmark_out_format=json >micro.txt 2>&1 &&
        MICRO_JSON="$W/micro.json" || record micro '{"error":"capsule_micro_bench failed"}'
      [ "$JSON" = 1 ] || cat micro.txt >&2
    fi
  fi
  if [ -z "$MICRO_JSON" ]; then
    tail -5 micro-build.log >&2 || true
    MICRO_NA="build or run failed in $MICRO_DIR (see above)"
  fi
else
  MICRO_NA="skipped (--no-micro)"
fi

mix="$n_mp3 MP3 + $n_wav WAV + $n_txt text, $((CAT_BYTES / CAT_N / 1000)) KB average"
record meta "$(python3 -c '
import json, sys, os
a = sys.argv[1:]
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip(); break
print(json.dumps({"date": a[0], "cpu": cpu, "cores": os.cpu_count(), "load_start": a[1],
  "load_end": a[2], "build": a[3], "commit": a[4], "size_mb": int(a[5]), "wav_bytes": int(a[6]),
  "wav_kind": "sox pink noise, 48 kHz stereo 16-bit", "capsule_bytes": int(a[7]),
  "capsule_auto_bytes": int(a[8]), "catalogue_n": int(a[9]), "catalogue_flags": a[10],
  "catalogue_mix": a[11], "guest_cap_mib": 64, "micro_na": a[12], "nice": int(a[13])}))
' "$(date -u +%Y-%m-%dT%H:%MZ)" "$LOAD_START" "$(loadavg)" "$BUILD_DIR" "$commit" "$SIZE_MB" \
  "$WAV_BYTES" "$CAPSULE_BYTES" "$AUTO_BYTES" "$CAT_N" "${cat_flags[*]}" "$mix" "${MICRO_NA:-}" "$NICE")"

if [ "$JSON" = 1 ]; then
  "${H[@]}" report --json ${MICRO_JSON:+--micro "$MICRO_JSON"}
else
  "${H[@]}" report ${MICRO_JSON:+--micro "$MICRO_JSON"}
fi
