#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds (reusing a configured build tree), and
# runs every test through ctest. This is what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
BUILD_DIR="${CAPSULE_BUILD_DIR:-build}"
cd "$BUILD_DIR"
ctest --output-on-failure -j2 --timeout 900
