#!/usr/bin/env bash
# Configures (once) and builds the project in build/ with ccache and -j2.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${CAPSULE_BUILD_DIR:-build}"
# ccache: paths under the checkout are hashed relative to it and the build directory is not
# hashed, so another build tree or a fresh clone elsewhere reuses the same cache entries (debug
# info then names the first tree's directory; harmless for tests).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${CAPSULE_BUILD_TYPE:-RelWithDebInfo}" \
    ${CAPSULE_CMAKE_ARGS:-}
fi
cmake --build "$BUILD_DIR" -j "${CAPSULE_JOBS:-2}"
