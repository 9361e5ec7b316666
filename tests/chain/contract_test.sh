#!/usr/bin/env bash
# The access-token contract on a real chain: compiles contracts/src with the pinned solc-js
# into "$CAPSULE_BINARY_DIR/contracts" (default build/) and runs contracts/test/ (node:test +
# ethers) against the pinned anvil on 127.0.0.1 (chain id 21, hardfork shanghai).
# Needs contracts/node_modules: run `bash scripts/install-npm.sh` first (the test command does).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${CAPSULE_BINARY_DIR:-$ROOT/build}"
OUT="$BIN/contracts"

if [ ! -x "$ROOT/contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ] ||
   [ ! -d "$ROOT/contracts/node_modules/solc" ] || [ ! -d "$ROOT/contracts/node_modules/ethers" ]; then
  echo "contract_test: contracts/node_modules is missing or incomplete: run 'bash scripts/install-npm.sh' first" >&2
  exit 1
fi

cd "$ROOT"
node contracts/scripts/compile.mjs "$OUT"
# The files are named (not the directory) so that node 20 and node >= 22 find the same tests.
CAPSULE_CONTRACT_ARTIFACT="$OUT/CapsuleAccess.json" node --test contracts/test/*.test.mjs
