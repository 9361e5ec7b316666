#!/usr/bin/env bash
# Installs the chain-test toolchain pinned in contracts/package-lock.json (anvil, solc-js,
# OpenZeppelin contracts, ethers) into contracts/node_modules with `npm ci`.
# Idempotent: does nothing when contracts/node_modules was installed from the current lock
# (a stamp file in it holds the lock's sha256). Needs node and npm; no stdin, works as root.
# Prints one line saying what it did.
set -euo pipefail

cd "$(dirname "$0")/.."
CONTRACTS=contracts
LOCK="$CONTRACTS/package-lock.json"
MODULES="$CONTRACTS/node_modules"
STAMP="$MODULES/.capsule-lock.sha256"
ANVIL="$MODULES/@foundry-rs/anvil-linux-amd64/bin/anvil"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-npm: $tool not found (needs node >= 20 and npm)" >&2
    exit 1
  fi
done
if [ ! -f "$LOCK" ]; then
  echo "install-npm: $LOCK is missing" >&2
  exit 1
fi

want="$(sha256sum "$LOCK" | cut -d' ' -f1)"
if [ -d "$MODULES" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$ANVIL" ]; then
  echo "install-npm: $MODULES up to date (lock sha256 ${want:0:12})"
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$SECONDS
if ! (cd "$CONTRACTS" && CI=true npm ci --no-audit --no-fund --no-progress </dev/null) >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-npm: npm ci in $CONTRACTS/ failed" >&2
  exit 1
fi
if [ ! -x "$ANVIL" ]; then
  echo "install-npm: npm ci succeeded but $ANVIL is missing (not a linux x64 machine?)" >&2
  exit 1
fi
printf '%s\n' "$want" >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
count="$(node -e 'const l=require(process.argv[1]);console.log(Object.keys(l.packages).filter(Boolean).length)' "$PWD/$LOCK")"
echo "install-npm: npm ci in $CONTRACTS/ installed $count packages in $((SECONDS - start))s (lock sha256 ${want:0:12})"
