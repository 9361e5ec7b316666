#!/usr/bin/env bash
# Installs everything the build and the tests need, from Debian 12 packages only.
# Idempotent: when every package is already installed it does nothing (no apt-get update).
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  # guest toolchain (capsule logic → wasm32) and wasm tools
  clang-14 lld-14 libclang-rt-14-dev-wasm32 binaryen wabt
  # libraries
  libsodium-dev libssl-dev libzstd-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libcurl4-openssl-dev libsecp256k1-dev libseccomp-dev nettle-dev
  # tests: unit framework, media makers and checkers, V8 (node), CID oracle
  googletest libgtest-dev libgmock-dev libbenchmark-dev sox libsox-fmt-mp3 lame ffmpeg ipfs-cid
  python3 python3-jsonschema python3-cryptography
  # real media shipped by Debian
  scratch asterisk-moh-opsound-wav jargon-text
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js: any installed node ≥ 18 will do (V8 checks in the tests); else Debian's package.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

# The chain toolchain pinned in contracts/package-lock.json (anvil, solc-js, OpenZeppelin,
# ethers) from the npm registry; idempotent (skips when installed from the current lock).
bash "$(dirname "$0")/install-npm.sh"
