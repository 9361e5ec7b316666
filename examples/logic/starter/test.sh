#!/usr/bin/env bash
# @NAME@: build the logic, pack a text with it (a free capsule), open it with capsule-run and
# compare. Needs capsulec and capsule-run on PATH (or CAPSULEC / CAPSULE_RUN set).
set -euo pipefail
cd "$(dirname "$0")"
C="${CAPSULEC:-capsulec}"
R="${CAPSULE_RUN:-capsule-run}"
T="$(mktemp -d "${TMPDIR:-/tmp}/@NAME@-test.XXXXXX")"
trap 'rm -rf "$T"' EXIT
export CAPSULE_HOME="$T/home"

"$C" logic build @NAME@.c -o "$T/@NAME@.wasm"
"$C" keygen >/dev/null
printf 'Hello from a capsule.\nSecond line.\n' >"$T/hello.txt"
cat >"$T/manifest.yaml" <<'YAML'
title: @NAME@ test
creator:
  name: Tester
  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
royalties:
  splits:
    - role: creator
      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
      share: 100%
models:
  - type: free
YAML
"$C" pack "$T/hello.txt" --royalty "$T/manifest.yaml" --logic "$T/@NAME@.wasm" -o "$T/hello.capsule.wasm"
"$C" inspect "$T/hello.capsule.wasm" | grep "code:"
"$R" open "$T/hello.capsule.wasm" --trust "$CAPSULE_HOME/default.pub" -o "$T/out.txt"
# The starter copies the content unchanged; change this check when you add a transform.
cmp "$T/hello.txt" "$T/out.txt"
echo "@NAME@: OK"
