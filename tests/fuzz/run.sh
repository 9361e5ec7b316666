#!/usr/bin/env bash
# Runs one libFuzzer target for a while (not in CI): tests/fuzz/run.sh TARGET SECONDS [ARGS...]
#   TARGET   container | signature | chunk_index | canonical_json | manifest_yaml | license |
#            ledger | media | keys | wasm_module | license_request | open | chunk_open
#            (open runs the build's capsule-sandbox child per input: ≈ 100–300 executions/s)
#   BUILD_DIR  the clang ASan+UBSan build with fuzz targets (default: build-asan, configured with
#              CC=clang-14 CXX=clang++-14 -DCAPSULE_SANITIZE=ON)
# New inputs go to $WORK_DIR/TARGET (default build dir's fuzz-work/); the seed corpus in
# tests/fuzz/corpus/TARGET is read, never written. Crashes are written to $WORK_DIR/artifacts/:
# minimise one (fuzz_TARGET -minimize_crash=1 FILE), add it to tests/fuzz/corpus/TARGET/ as
# regress-<what>, and it replays in every ctest run from then on.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[[ $# -ge 2 ]] || { echo "usage: $0 TARGET SECONDS [libFuzzer args...]" >&2; exit 2; }
target=$1 seconds=$2
shift 2
build=${BUILD_DIR:-$root/build-asan}
[[ $build = /* ]] || build=$root/$build
bin=$build/tests/fuzz/fuzz_$target
if [[ ! -x $bin ]]; then
  echo "$bin not found: configure a clang ASan build with CAPSULE_SANITIZE=ON and build fuzz_$target" >&2
  exit 2
fi
work=${WORK_DIR:-$build/fuzz-work}
mkdir -p "$work/$target" "$work/artifacts"
# JOBS>1 runs that many fuzzing processes (libFuzzer writes their logs as fuzz-N.log into the
# current directory: we run from the work directory so they land there).
par=()
if [[ ${JOBS:-1} -gt 1 ]]; then par=(-jobs="$JOBS" -workers="$JOBS"); fi
cd "$work"
exec "$bin" "$work/$target" "$here/corpus/$target" \
  -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 -max_len="${MAX_LEN:-262144}" \
  -artifact_prefix="$work/artifacts/$target-" -print_final_stats=1 "${par[@]}" "$@"
