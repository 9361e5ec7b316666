#!/usr/bin/env bash
# The chain end to end on a real node (issue 4): anvil from the pinned npm package on 127.0.0.1
# (chain id 21, shanghai), the access-token contract compiled and deployed, capsules minted by
# `capsulec mint --rpc` (an EIP-1559 transaction signed by capsulec), licences issued from
# EIP-712 requests checked against the chain, and `capsule-run open --ledger evm:URL`:
# holder opens, stranger refused, transfer moves access, a rental ends by block time, and wrong
# chain id / no contract code / another manifest / a dead endpoint each refused with their own
# reason. The node is stopped on exit, also when tests fail.
set -uo pipefail
C="${CAPSULEC:?set CAPSULEC to the capsulec binary}"
R="${CAPSULE_RUN:?set CAPSULE_RUN to the capsule-run binary}"
SRC="${CAPSULE_SOURCE_DIR:?}"
BIN="${CAPSULE_BINARY_DIR:?}"
D="$SRC/contracts/scripts/devchain.mjs"
TOOL="$SRC/tests/chain/chain_tool.mjs"
T="$(mktemp -d "${TMPDIR:-/tmp}/capsule-chain.XXXXXX")"
cleanup() { node "$D" stop --state-file "$T/chain.json" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
export CAPSULE_HOME="$T/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE
cd "$T"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect() {
  local want="$1" what="$2"; shift 3
  "$@" >out.txt 2>err.txt </dev/null
  local got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, wanted $want"; sed 's/^/    /' err.txt | head -5; fi
}
contains() { if grep -q -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1"; sed 's/^/    /' "$1" | head -5; fi; }
# Prints a member of the JSON on stdin (a whole document, else its last line).
jget() { node -e "const t=require('fs').readFileSync(0,'utf8').trim(); let j; try { j=JSON.parse(t) } catch { j=JSON.parse(t.split('\n').pop()) } console.log(j$1)"; }

[ -d "$SRC/contracts/node_modules" ] || { echo "contracts/node_modules missing: run scripts/install-npm.sh"; exit 1; }
mkdir -p "$BIN/contracts"
node "$SRC/contracts/scripts/compile.mjs" "$BIN/contracts" >/dev/null || { echo "FAIL: compile"; exit 1; }
node "$D" start --artifact "$BIN/contracts/CapsuleAccess.json" --state-file "$T/chain.json" --ttl 900 >/dev/null ||
  { echo "FAIL: anvil did not start"; exit 1; }
URL="$(jget .url <chain.json)"
CONTRACT="$(jget .contract <chain.json)"
L="evm:$URL"
# A second node on the same port fails to start, and says so (the first node's answers must
# not be taken for its own).
PORT="${URL##*:}"
node "$D" start --artifact "$BIN/contracts/CapsuleAccess.json" --state-file "$T/chain2.json" --port "$PORT" --ttl 60 \
  >/dev/null 2>err.txt && bad "a second devchain on port $PORT started" || ok
contains err.txt "already in use" "a second devchain on the same port: explained"

for who in creator bob carol eve; do "$C" keygen -o "$who" >/dev/null || bad "keygen $who"; done
addr() { jget .address <"$1.pub"; }
CREATOR="$(addr creator)" BOB="$(addr bob)" CAROL="$(addr carol)" EVE="$(addr eve)"
node "$TOOL" fund "$URL" "$CREATOR" || bad "fund creator"
node "$TOOL" fund "$URL" "$BOB" || bad "fund bob"

manifest() {  # manifest NAME CHAIN_ID CONTRACT [TOKEN_ID]
  cat >"$1" <<YAML
title: Chain test
creator:
  name: Creator
  address: $CREATOR
royalties:
  splits:
    - role: creator
      address: $CREATOR
      share: 90%
    - role: publisher
      address: 0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359
      share: 10%
  resale_royalty: 5%
models:
  - type: buy
    price: "1.00"
    currency: ELA
  - type: rental
    price: "0.10"
    currency: ELA
    duration: 48h
chain:
  chain_id: $2
  contract: $3
  token_id: ${4:-derive}
YAML
}
sox -n -r 8000 -c 1 -b 16 tone.wav synth 2 sine 440 vol 0.5
manifest m.yaml 21 "$CONTRACT"
expect 0 "pack with creator binding" -- "$C" pack tone.wav --royalty m.yaml --key creator.key -o song.capsule.wasm --json
if [ "$(jget .creator_binding <out.txt)" = true ]; then ok; else bad "pack did not bind the creator key"; fi
expect 0 "verify checks the binding" -- "$C" verify song.capsule.wasm --json
if [ "$(jget .creator_binding <out.txt)" = valid ]; then ok; else bad "verify did not report a valid binding"; fi

# --- mint: metadata offline, then the real transaction ---
expect 0 "mint offline (unsigned request)" -- "$C" mint song.capsule.wasm -o offline.json --json
contains out.txt '"to"' "the unsigned request names the contract"
expect 0 "mint --rpc" -- "$C" mint song.capsule.wasm --rpc "$URL" --minter creator.key --to "$BOB" -o token.json --json
TOKEN="$(jget .token_id <out.txt)"
TX="$(jget .tx_hash <out.txt)"
case "$TX" in 0x????????????????????????????????????????????????????????????????) ok ;; *) bad "no tx hash: $TX" ;; esac
[ "$(node "$TOOL" balance "$URL" "$CONTRACT" "$BOB" "$TOKEN")" = 1 ] && ok || bad "bob holds 1 token after mint"
expect 7 "minting the same token again with another manifest is refused by the node" -- \
  "$C" mint song.capsule.wasm --rpc "$URL" --minter bob.key --to "$BOB" -o token2.json
contains err.txt "chain-tx-failed" "reverted mint reason"
[ -e token2.json ] && bad "failed mint left token2.json" || ok
# A later mint by the creator adds supply (the split was registered by the first: not resent).
BUYER2=0x1111111111111111111111111111111111111111  # a second buyer (no key needed to hold)
expect 0 "a second mint by the creator" -- "$C" mint song.capsule.wasm --rpc "$URL" --minter creator.key --to "$BUYER2" -o token3.json --json
[ "$(node "$TOOL" balance "$URL" "$CONTRACT" "$BUYER2" "$TOKEN")" = 1 ] && ok || bad "the second buyer holds 1 token after the second mint"
# A first mint by anyone but creator.address would register a token no runtime accepts: refused
# before anything is sent (the creator can still mint it afterwards).
"$C" pack tone.wav --royalty m.yaml --key creator.key -o song2.capsule.wasm >/dev/null || bad "pack song2"
expect 2 "a first mint by another key" -- "$C" mint song2.capsule.wasm --rpc "$URL" --minter bob.key --to "$BOB" -o t4.json
contains err.txt "nothing was sent" "a first mint by another key: explained"
[ -e t4.json ] && bad "a refused mint left t4.json" || ok
expect 0 "the creator mints it then" -- "$C" mint song2.capsule.wasm --rpc "$URL" --minter creator.key --to "$BOB" -o t5.json
# A capsule without a creator binding: its token could never open anywhere.
"$C" pack tone.wav --royalty m.yaml --key bob.key -o nobind.capsule.wasm >/dev/null 2>&1 || bad "pack nobind"
expect 7 "mint of a capsule without a creator binding" -- "$C" mint nobind.capsule.wasm --rpc "$URL" --minter bob.key -o t6.json
contains err.txt "no-creator-binding" "mint without a binding: reason"

# --- licence from an EIP-712 request checked on chain ---
expect 0 "bob requests a licence" -- "$C" license request song.capsule.wasm --key bob.key --model buy -o bob.req.json
expect 7 "a request for a model not offered" -- "$C" license request song.capsule.wasm --key bob.key --model pay_per_view -o ppv.req.json
contains err.txt "model-not-offered" "a request for a model not offered: reason"
[ -e ppv.req.json ] && bad "a refused request was written" || ok
# A refusal that has nothing to do with the request (its output exists) does not use it up.
touch bob.lic
expect 2 "issue over an existing file" -- "$C" license issue song.capsule.wasm --issuer-key creator.key --request bob.req.json \
  --ledger "$L" --confirmations 0 -o bob.lic
contains err.txt "output-exists" "issue over an existing file: reason"
rm -f bob.lic
expect 0 "issue from bob's request" -- "$C" license issue song.capsule.wasm --issuer-key creator.key --request bob.req.json \
  --ledger "$L" --confirmations 0 -o bob.lic
expect 7 "a replayed request is refused" -- "$C" license issue song.capsule.wasm --issuer-key creator.key --request bob.req.json \
  --ledger "$L" --confirmations 0 -o bob2.lic
contains err.txt "license-request-replayed" "replay reason"
node -e "const fs=require('fs');const j=JSON.parse(fs.readFileSync('bob.req.json'));j.typed_data.message.holderX25519='0x'+'11'.repeat(32);fs.writeFileSync('rekeyed.json',JSON.stringify(j))"
expect 6 "a re-keyed request is refused" -- "$C" license issue song.capsule.wasm --issuer-key creator.key --request rekeyed.json \
  --ledger "$L" --confirmations 0 -o bob3.lic
contains err.txt "license-request-bad-signature" "re-keyed reason"
expect 0 "eve requests" -- "$C" license request song.capsule.wasm --key eve.key --model buy -o eve.req.json
expect 7 "no licence for a stranger's request" -- "$C" license issue song.capsule.wasm --issuer-key creator.key --request eve.req.json \
  --ledger "$L" --confirmations 0 -o eve.lic
contains err.txt "not-holder" "stranger request reason"

# --- open against the chain (no --trust: the chain vouches for the creator key) ---
expect 0 "holder opens" -- "$R" open song.capsule.wasm --license bob.lic --identity bob.key --ledger "$L" --confirmations 0 -o bob.wav
cmp -s bob.wav tone.wav && ok || bad "bob's output differs from the input"
"$C" license issue song.capsule.wasm --issuer-key creator.key --holder eve.pub --model buy -o eve-direct.lic >/dev/null 2>&1 || bad "issue eve direct"
expect 7 "stranger with a licence but no token is refused" -- "$R" open song.capsule.wasm --license eve-direct.lic --identity eve.key \
  --ledger "$L" --confirmations 0 -o eve.wav
contains err.txt "not-holder" "stranger reason"
[ -e eve.wav ] && bad "refused open left output" || ok
expect 7 "confirmations: the token is younger than 50 blocks" -- "$R" open song.capsule.wasm --license bob.lic --identity bob.key \
  --ledger "$L" --confirmations 50 -o late.wav

# --- transfer: old holder refused, new one (with a licence) opens ---
node "$TOOL" transfer "$URL" "$CONTRACT" bob.key "$CAROL" "$TOKEN" || bad "transfer"
expect 7 "old holder refused after transfer" -- "$R" open song.capsule.wasm --license bob.lic --identity bob.key --ledger "$L" --confirmations 0 -o bob2.wav
contains err.txt "not-holder" "old holder reason"
"$C" license issue song.capsule.wasm --issuer-key creator.key --holder carol.pub --model buy -o carol.lic >/dev/null 2>&1 || bad "issue carol"
expect 0 "new holder opens" -- "$R" open song.capsule.wasm --license carol.lic --identity carol.key --ledger "$L" --confirmations 0 -o carol.wav
cmp -s carol.wav tone.wav && ok || bad "carol's output differs"

# --- rental: a user record ends by block time ---
node "$TOOL" fund "$URL" "$CAROL" || bad "fund carol"
node "$TOOL" rent "$URL" "$CONTRACT" carol.key "$EVE" "$TOKEN" 3600 >/dev/null || bad "rent to eve"
"$C" license issue song.capsule.wasm --issuer-key creator.key --holder eve.pub --model rental -o eve-rent.lic >/dev/null 2>&1 || bad "issue eve rental"
expect 0 "renter opens during the rental" -- "$R" open song.capsule.wasm --license eve-rent.lic --identity eve.key --ledger "$L" --confirmations 0 -o rent.wav --json
node "$TOOL" advance "$URL" 7200 || bad "advance"
expect 7 "renter refused after the rental's end (block time)" -- "$R" open song.capsule.wasm --license eve-rent.lic --identity eve.key \
  --ledger "$L" --confirmations 0 -o rent2.wav
[ -e rent2.wav ] && bad "expired rental left output" || ok
# The chain (now 2 h ahead of this machine) decided that open, but the state store keeps at most
# an hour past this machine's clock: a lying endpoint cannot expire this machine's licences for
# good.
now=$(date +%s)
seen=$(python3 -c 'import glob,json,sys; m=max(glob.glob(sys.argv[1]+"/manifest.*.json"), key=lambda p: int(p.split(".")[-2])); print(json.load(open(m))["last_seen"])' "$CAPSULE_HOME/state")
[ "$seen" -ge $((now + 3000)) ] && [ "$seen" -le $((now + 3600)) ] && ok ||
  bad "the state store keeps $seen, $((seen - now)) s past this machine's clock (wanted ≤ 3600)"

# --- refusals, each with its own reason ---
manifest wrong-chain.yaml 20 "$CONTRACT"
"$C" pack tone.wav --royalty wrong-chain.yaml --key creator.key -o wrong-chain.capsule.wasm >/dev/null || bad "pack wrong chain"
expect 7 "wrong chain id" -- "$R" open wrong-chain.capsule.wasm --license carol.lic --identity carol.key --ledger "$L" --confirmations 0 -o x.wav
contains err.txt "chain-wrong-id" "wrong chain reason"
manifest no-code.yaml 21 0x1111111111111111111111111111111111111111
"$C" pack tone.wav --royalty no-code.yaml --key creator.key -o no-code.capsule.wasm >/dev/null || bad "pack no code"
expect 7 "contract without code" -- "$R" open no-code.capsule.wasm --ledger "$L" --confirmations 0 -o x.wav
contains err.txt "chain-no-contract" "no code reason"
manifest same-token.yaml 21 "$CONTRACT" "$TOKEN"
"$C" pack tone.wav --royalty same-token.yaml --key creator.key -o other.capsule.wasm >/dev/null || bad "pack same token"
expect 7 "token recording another manifest" -- "$R" open other.capsule.wasm --ledger "$L" --confirmations 0 -o x.wav
contains err.txt "chain-manifest-mismatch" "manifest mismatch reason"
manifest unminted.yaml 21 "$CONTRACT" 12345
"$C" pack tone.wav --royalty unminted.yaml --key creator.key -o unminted.capsule.wasm >/dev/null || bad "pack unminted"
expect 7 "unregistered token" -- "$R" open unminted.capsule.wasm --ledger "$L" --confirmations 0 -o x.wav
contains err.txt "chain-token-unknown" "unknown token reason"
# A squatter registers a capsule's token first, with its (public) manifest hash but another key.
manifest squat.yaml 21 "$CONTRACT"
"$C" pack tone.wav --royalty squat.yaml --key creator.key -o squat.capsule.wasm >/dev/null || bad "pack squat"
"$C" mint squat.capsule.wasm -o squat-meta.json --json >squat-mint.json 2>/dev/null || bad "unsigned mint"
node "$TOOL" fund "$URL" "$EVE" || bad "fund eve"
node "$TOOL" squat "$URL" squat-mint.json eve.key || bad "squat"
expect 7 "token registered by a squatter with another creator key" -- "$R" open squat.capsule.wasm \
  --ledger "$L" --confirmations 0 -o x.wav
contains err.txt "chain-creator-key-mismatch" "squatted token reason"
DEAD="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
expect 3 "dead RPC endpoint" -- "$R" open song.capsule.wasm --license carol.lic --identity carol.key \
  --ledger "evm:http://127.0.0.1:$DEAD" --rpc-timeout-ms 2000 -o x.wav
contains err.txt "chain-rpc-unreachable" "dead endpoint reason"
expect 2 "plain http off loopback is refused" -- "$R" open song.capsule.wasm --license carol.lic --identity carol.key \
  --ledger "evm:http://rpc.example.org" -o x.wav
contains err.txt "chain-insecure-rpc" "insecure reason"
[ -e x.wav ] && bad "a refused open left x.wav" || ok

echo "runtime_chain_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
