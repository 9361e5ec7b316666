#!/usr/bin/env bash
# The whole test suite: installs what it needs, then
#   1. an optimised GCC 12 build (build/), all tests;
#   2. a clang-14 ASan+UBSan build (build-asan/), all tests again, byte-flip loops sampled.
# Configured build trees are reused (ccache makes rebuilds cheap). This is what CI runs.
# CAPSULE_SKIP_SANITIZERS=1 skips stage 2 for a quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

echo "== stage 1: GCC build and tests"
CAPSULE_BUILD_DIR=build bash scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 900)

if [ -z "${CAPSULE_SKIP_SANITIZERS:-}" ]; then
  echo "== stage 2: clang-14 ASan+UBSan build and tests"
  CC=clang-14 CXX=clang++-14 CAPSULE_BUILD_DIR=build-asan CAPSULE_BUILD_TYPE=Debug \
    CAPSULE_CMAKE_ARGS="-DCAPSULE_SANITIZE=ON" bash scripts/build.sh
  (cd build-asan && CAPSULE_SAMPLED_FLIPS=1 ctest --output-on-failure -j2 --timeout 900)
fi
