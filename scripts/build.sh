#!/usr/bin/env bash
# Configures (once) and builds the project in build/ with ccache and -j2.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${CAPSULE_BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${CAPSULE_BUILD_TYPE:-RelWithDebInfo}" \
    ${CAPSULE_CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" -j "${CAPSULE_JOBS:-2}"
