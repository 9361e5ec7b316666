#!/usr/bin/env bash
# Generates the test vectors (tests/vectors/README.md): capsules, licences, licence requests and
# ledgers, each tagged in vectors.json with `"expect": "ok"` or `"expect": "reject <reason-code>"`
# for `capsulec verify`, `capsule-run open` or `capsulec license issue --request`. The tags are
# what the specification requires, written by hand in make_vectors.py — not recorded from the
# tools — so that run_vectors.sh checks the tools against them.
#
#   tests/vectors/generate.sh [OUT_DIR]     (default: tests/vectors/v1; replaced)
# Env: CAPSULEC, CAPSULE_RUN (default: build/capsulec/capsulec, build/runtime-min/capsule-run).
# Needs python3 with `cryptography`, libsodium and libsecp256k1 (ctypes), and wat2wasm (wabt).
#
# Deterministic: the keys in OUT_DIR/keys are kept when they exist (keygen is random: delete
# them to make new ones); capsules use --reproducible; the random and time-dependent fields of
# licences, requests and ledgers (ids, issued_at, sealed keys, expiry, granted_at) are replaced
# by make_vectors.py with fixed or seeded values and re-signed. Generating twice gives the same
# files.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
C="${CAPSULEC:-$root/build/capsulec/capsulec}"
R="${CAPSULE_RUN:-$root/build/runtime-min/capsule-run}"
OUT="${1:-$here/v1}"
W=$(mktemp -d "${TMPDIR:-/tmp}/capsule-vectors.XXXXXX")
trap 'rm -rf "$W"' EXIT
export CAPSULE_HOME="$W/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE

# Identities (test keys, committed with the vectors: never use them for anything else).
KEYS="creator issuer holder stranger"
mkdir -p "$W/keys"
for k in $KEYS; do
  if [ -f "$OUT/keys/$k.key" ] && [ -f "$OUT/keys/$k.pub" ]; then
    cp "$OUT/keys/$k.key" "$OUT/keys/$k.pub" "$W/keys/"
  fi
done
rm -rf "$OUT" && mkdir -p "$OUT"/{keys,capsules,licenses,requests,states,ads,ads-other,ads-tampered}
OUT=$(cd "$OUT" && pwd)
cd "$OUT"
for k in $KEYS; do
  if [ -f "$W/keys/$k.key" ]; then cp "$W/keys/$k.key" "$W/keys/$k.pub" keys/ && chmod 600 "keys/$k.key"
  else "$C" keygen -o "keys/$k" >/dev/null; fi
done
head -c 32 /dev/zero | tr '\0' '\7' >"$W/seed.bin"
CREATOR_ADDRESS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' keys/creator.pub)

# Manifests. paid: buy and pay_per_view (2 plays); free; chain: buy on chain 21 with the
# creator's own address (pack adds the EIP-712 creator binding); chain-unbound: the same with an
# address that is not the key's (no binding).
cat >"$W/paid.yaml" <<'YAML'
title: Test vector (paid)
creator:
  name: Vector Creator
  address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
royalties:
  splits:
    - role: creator
      address: 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed
      share: 100%
models:
  - type: buy
    price: "1"
    currency: USDC
    decimals: 6
  - type: pay_per_view
    price: "0.1"
    currency: USDC
    decimals: 6
    plays: 2
YAML
sed -e '/^models:/,$d' "$W/paid.yaml" | sed 's/(paid)/(free)/' >"$W/free.yaml"
printf 'models:\n  - type: free\n' >>"$W/free.yaml"
sed 's/(paid)/(previewed)/' "$W/paid.yaml" >"$W/previewed.yaml"
printf 'preview:\n  lines: 1\n' >>"$W/previewed.yaml"
sed -e '/^models:/,$d' "$W/paid.yaml" | sed 's/(paid)/(free with ads)/' >"$W/free-ads.yaml"
sed -e '/^models:/,$d' "$W/paid.yaml" | sed 's/(paid)/(chain, no binding)/' >"$W/chain-unbound.yaml"
cat >>"$W/chain-unbound.yaml" <<'YAML'
models:
  - type: buy
    price: "1"
    currency: ELA
chain:
  chain_id: 21
  contract: 0x5FbDB2315678afecb367f032d93F642f64180aa3
YAML
sed -e "s/^  address: .*/  address: \"$CREATOR_ADDRESS\"/" -e 's/(chain, no binding)/(chain)/' \
  "$W/chain-unbound.yaml" >"$W/chain.yaml"

printf 'The content of the paid test vector.\nLine two.\n' >"$W/paid.txt"
printf 'The content of the free test vector.\n' >"$W/free.txt"
printf 'Another capsule, same creator.\n' >"$W/other.txt"
printf 'The content of the previewed test vector.\nLine two.\n' >"$W/previewed.txt"
printf 'An ad for the test vectors.\n' >"$W/ad.txt"
printf 'Free content, after an ad.\n' >"$W/free-ads.txt"
printf 'The content of the chain test vector.\n' >"$W/chain.txt"
printf 'The content of the logic test vectors.\n' >"$W/logic.txt"

P=(--key keys/creator.key --issuer keys/issuer.pub --chunk-size 4096 --reproducible "$W/seed.bin")
pack() {  # pack NAME TEXT YAML [pack flags]
  local name="$1" text="$2" yaml="$3"; shift 3
  "$C" pack "$W/$text.txt" --royalty "$W/$yaml.yaml" "${P[@]}" "$@" -o "capsules/$name.capsule.wasm" --json \
    | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["capsule_id"])'
}
pack paid paid paid >/dev/null
pack free free free >/dev/null
pack other other paid >/dev/null
pack previewed previewed previewed >/dev/null
AD_ID=$(pack ad ad free)
printf 'models:\n  - type: free_with_ads\n    ad_capsule: "%s"\n' "$AD_ID" >>"$W/free-ads.yaml"
pack free-ads free-ads free-ads >/dev/null
pack chain chain chain >/dev/null
pack chain-unbound chain chain-unbound >/dev/null
mv capsules/ad.capsule.wasm ads/
cp capsules/free.capsule.wasm ads-other/
for t in paid free ad free-ads logic; do cp "$W/$t.txt" "capsules/$t.txt"; done

# Capsule logic (tests/vectors/logic/*.wat). Modules that `pack --logic` accepts are packed with
# it; the ones it refuses (module-* codes) are swapped into a capsule by make_vectors.py.
mkdir -p "$W/logic"
for f in "$here"/logic/*.wat; do
  n=$(basename "$f" .wat); a=()
  [ "$n" = threads ] && a=(--enable-threads)
  wat2wasm "${a[@]}" "$f" -o "$W/logic/$n.wasm"
done
# The value-stack bomb: 4000 locals a frame, recursing (past 1M values before wabt's 1638 frames).
python3 - "$W/logic/stack.wat" <<'PY'
import sys
open(sys.argv[1], "w").write(
    ';; Each frame has 4000 locals and recurses: the value stack passes 1M values → sandbox-memory-limit.\n'
    '(module\n  (memory (export "memory") 1 1)\n'
    '  (func $deep (local ' + 'i64 ' * 4000 + ') (call $deep))\n'
    '  (func (export "capsule_run") (result i32) (call $deep) (i32.const 0)))\n')
PY
wat2wasm "$W/logic/stack.wat" -o "$W/logic/stack.wasm"
for n in copy trap loop flood refuse stack; do
  pack "logic-$n" logic free --logic "$W/logic/$n.wasm" >/dev/null
done

# Licences (fixed windows, so that they stay valid, or invalid, whenever the vectors run).
L=(--holder keys/holder.pub --not-before 2024-01-01)
I() { "$C" license issue "$@" >/dev/null 2>&1; }
I capsules/paid.capsule.wasm -k keys/issuer.key "${L[@]}" --model buy -o licenses/buy.lic
I capsules/paid.capsule.wasm -k keys/creator.key "${L[@]}" --model pay_per_view -o licenses/ppv.lic
I capsules/paid.capsule.wasm -k keys/issuer.key --holder keys/stranger.pub --not-before 2024-01-01 --model buy -o licenses/stranger-holder.lic
I capsules/other.capsule.wasm -k keys/issuer.key "${L[@]}" --model buy -o licenses/other-capsule.lic
I capsules/paid.capsule.wasm -k keys/issuer.key --holder keys/holder.pub --not-before 2099-01-01 --model buy -o licenses/not-yet-valid.lic
I capsules/paid.capsule.wasm -k keys/issuer.key --holder keys/holder.pub --not-before 2020-01-01 --not-after 2020-02-01 --model buy -o licenses/expired.lic

# A licence request made by capsulec (its expiry is now + 1h): make_vectors.py checks that it
# writes the same bytes for the same fields, then writes the requests with fixed expiries.
"$C" license request capsules/chain.capsule.wasm --key keys/holder.key --model buy --nonce 1 -o "$W/tool.req.json" >/dev/null

# The development ledgers: the holder holds paid and other; nobody holds anything else. In
# ledger-expired.json the holder's grant for paid ended on 2020-02-01.
for cap in paid other; do
  "$R" ledger grant --ledger file:ledger.json --capsule "capsules/$cap.capsule.wasm" --holder keys/holder.pub >/dev/null
done
"$R" ledger grant --ledger file:ledger-expired.json --capsule capsules/paid.capsule.wasm --holder keys/holder.pub \
  --expires 2020-02-01 >/dev/null 2>&1
# A state store written by capsule-run (one pay-per-view play): make_vectors.py checks that it
# writes the same bytes for the same fields, then writes the state stores of the vectors.
"$R" open capsules/paid.capsule.wasm -l licenses/ppv.lic -i keys/holder.key --trust keys/creator.pub \
  --ledger file:ledger.json --state-dir "$W/state-tool" -o "$W/ppv.out" >/dev/null 2>&1
rm -f ledger.json.lock ledger-expired.json.lock

# Byte-level mutations, re-signed capsules, licences and requests, and vectors.json.
python3 "$here/make_vectors.py" "$OUT" "$W"
