#!/usr/bin/env bash
# Regenerates the seed corpora of the fuzz targets `license_request` and `open` (not run by CI;
# the seeds are committed). Uses the built tools of any build (GCC or clang):
#   tests/fuzz/make_seeds.sh [BUILD_DIR]      (default: build)
# Needs sox and python3. Files named regress-* in the two corpus directories are kept; every
# other file there is replaced.
#
# - open/: "CTL ‖ capsule" (fuzz_open.cc explains the control byte). The capsules are packed
#   with the fixed identities of fuzz_open (written by `CAPSULE_FUZZ_OPEN_KEYS=DIR replay_open`)
#   and --reproducible, so they are byte-identical on every run: a paid text capsule with a
#   chain block (creator binding) and four models, a free text capsule, a free_with_ads one, a
#   rental WAV and a pay-per-view MP3 with previews, and one with custom logic (shout); each is
#   a few KiB (chunk size 4096, tiny contents).
# - license_request/: requests made by `capsulec license request` for the paid text capsule
#   (the token fuzz_license_request.cc checks against: its constants must match what this script
#   prints), plus edge cases edited with python (re-keyed, high-s, malformed shapes). Requests
#   are not byte-identical between runs (expiry = now + --valid-for; one random nonce); the
#   target's clock is 2100-01-01, so "expired" (valid 1 hour) is expired there and the others
#   (valid 36500 days) are not, for seeds made any time between 2000 and 2100.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=${1:-$root/build}
[[ $B = /* ]] || B=$root/$B
C=$B/capsulec/capsulec
REPLAY=$B/tests/fuzz/replay_open
for x in "$C" "$REPLAY"; do [[ -x $x ]] || { echo "$x not built" >&2; exit 2; }; done
W=$(mktemp -d "${TMPDIR:-/tmp}/capsule-fuzz-seeds.XXXXXX")
trap 'rm -rf "$W"' EXIT
export CAPSULE_HOME="$W/home"
unset CAPSULE_PASSPHRASE CAPSULE_PASSPHRASE_FILE
cd "$W"

CAPSULE_FUZZ_OPEN_KEYS="$W" "$REPLAY"
head -c 32 /dev/zero | tr '\0' '\7' >seed.bin
ADDR=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["address"])' creator.pub)

head_yaml() {  # TITLE
  cat <<YAML
title: "$1"
creator:
  name: Fuzz Creator
  address: "$ADDR"
royalties:
  splits:
    - role: creator
      address: "$ADDR"
      share: 90%
    - role: publisher
      address: "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
      share: 10%
YAML
}
{ head_yaml "Paid text"; cat <<'YAML'
models:
  - type: buy
    price: "1"
    currency: USDC
    decimals: 6
  - type: rental
    price: "0.5"
    currency: ELA
    duration: 48h
    from_first_play: true
  - type: pay_per_view
    price: "0.1"
    currency: ELA
    plays: 3
  - type: subscription
    price: "4"
    currency: ELA
    period: 30d
preview: {lines: 1}
chain:
  chain_id: 21
  contract: "0x00000000000000000000000000000000c0ffee00"
YAML
} >paid-text.yaml
{ head_yaml "Free text"; printf 'models:\n  - type: free\n'; } >free-text.yaml
{ head_yaml "Free with ads"; printf 'models:\n  - type: free_with_ads\n    ad_capsule: 00112233445566778899aabbccddeeff\n'; } >free-ads.yaml
{ head_yaml "Rental WAV"; printf 'models:\n  - type: rental\n    price: "1"\n    currency: ELA\n    duration: 1h\npreview: 50ms\n'; } >rental-wav.yaml
{ head_yaml "PPV MP3"; printf 'models:\n  - type: pay_per_view\n    price: "1"\n    currency: ELA\n    plays: 2\npreview: 100ms\n'; } >ppv-mp3.yaml
{ head_yaml "Shout"; printf 'models:\n  - type: buy\n    price: "1"\n    currency: ELA\n'; } >shout.yaml

printf 'First line, the preview.\nSecond line.\nThird line of the paid text.\n' >paid.txt
# A text over two chunks (compressible: the capsule stays small).
python3 -c 'import sys; sys.stdout.write("".join("line %d of a longer text, long enough for two chunks\n" % i for i in range(120)))' >long.txt
printf 'A free poem.\n' >free.txt
sox -D -n -r 8000 -c 1 -b 8 -e unsigned-integer tone.wav synth 0.2 sine 440 vol 0.5
tail -c +2 "$here/corpus/media/tone.mp3.in" >tone.mp3
P=(--key creator.key --chunk-size 4096 --reproducible seed.bin)
"$C" pack paid.txt --royalty paid-text.yaml "${P[@]}" -o paid-text.capsule.wasm >/dev/null
"$C" pack long.txt --royalty paid-text.yaml "${P[@]}" -o long-text.capsule.wasm >/dev/null
"$C" pack free.txt --royalty free-text.yaml "${P[@]}" -o free-text.capsule.wasm >/dev/null
"$C" pack free.txt --royalty free-ads.yaml "${P[@]}" -o free-ads.capsule.wasm >/dev/null
"$C" pack tone.wav --royalty rental-wav.yaml "${P[@]}" -o rental-wav.capsule.wasm >/dev/null
"$C" pack tone.mp3 --royalty ppv-mp3.yaml "${P[@]}" -o ppv-mp3.capsule.wasm >/dev/null
"$C" logic build "$root/examples/logic/shout/shout.c" -o shout.wasm >/dev/null
"$C" pack paid.txt --royalty shout.yaml "${P[@]}" --logic shout.wasm -o shout.capsule.wasm >/dev/null

O=$here/corpus/open
mkdir -p "$O"
find "$O" -type f ! -name 'regress-*' -delete
seed() {  # NAME CTL CAPSULE
  { printf "\\x$2"; cat "$3.capsule.wasm"; } >"$O/$1"
}
seed paid-text-preview 00 paid-text
seed paid-text-buy 08 paid-text
seed paid-text-rental 18 paid-text
seed paid-text-ppv 28 paid-text
seed paid-text-subscription 38 paid-text
seed paid-text-canonical-buy 48 paid-text
seed paid-text-as-signed 07 paid-text
seed paid-text-as-signed-buy 0f paid-text
seed long-text-buy 08 long-text
seed free-text 00 free-text
seed free-text-licensed 08 free-text
seed free-ads 00 free-ads
seed rental-wav-preview 00 rental-wav
seed rental-wav 08 rental-wav
seed ppv-mp3-preview 00 ppv-mp3
seed ppv-mp3 08 ppv-mp3
seed shout-buy 08 shout
seed shout-preview 00 shout

# ---- licence requests ----
R=$here/corpus/license_request
mkdir -p "$R"
find "$R" -type f ! -name 'regress-*' -delete
req() {  # NAME CAPSULE MODEL [ARGS...]
  local name=$1 cap=$2 model=$3
  shift 3
  "$C" license request "$cap.capsule.wasm" --key holder.key --model "$model" -o "$R/$name.json" "$@" >/dev/null
}
req buy paid-text buy --nonce 1 --valid-for 36500d
req rental paid-text rental --nonce 2 --valid-for 36500d
req nonce-zero paid-text pay_per_view --nonce 0 --valid-for 36500d
req nonce-max paid-text subscription --valid-for 36500d \
  --nonce 115792089237316195423570985008687907853269984665640564039457584007913129639935
req expired paid-text buy --nonce 3 --valid-for 1h  # expired at the target's fixed clock (2100)
req default-nonce paid-text buy --valid-for 36500d
sed -e 's/c0ffee00/c0ffee01/' paid-text.yaml >other.yaml
"$C" pack paid.txt --royalty other.yaml "${P[@]}" -o other.capsule.wasm >/dev/null
req other-contract other buy --nonce 4 --valid-for 36500d
python3 - "$R" <<'PY'
import json, sys
R = sys.argv[1]
base = json.load(open(f"{R}/buy.json"))
def out(name, j, raw=False):
    with open(f"{R}/{name}.json", "w") as f:
        f.write(j if raw else json.dumps(j, indent=2) + "\n")
j = json.loads(json.dumps(base)); j["typed_data"]["message"]["holderX25519"] = "0x" + "11" * 32
out("rekeyed", j)
# The same signature with s' = n - s and v flipped: valid for secp256k1 but high-s (refused).
n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
sig = bytes.fromhex(base["signature"][2:])
r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
j = json.loads(json.dumps(base)); j["signature"] = "0x" + (r + (n - s).to_bytes(32, "big") + bytes([v ^ 1])).hex()
out("high-s", j)
j = json.loads(json.dumps(base)); j["typed_data"]["message"]["holder"] = j["typed_data"]["message"]["holder"].upper().replace("0X", "0x")
out("holder-uppercase", j)
j = json.loads(json.dumps(base)); j["typed_data"]["domain"]["chainId"] = "21"
out("chainid-string", j)
j = json.loads(json.dumps(base)); j["typed_data"]["message"]["expiry"] = -1
out("expiry-negative", j)
j = json.loads(json.dumps(base)); j["typed_data"]["message"]["tokenId"] = "0" + j["typed_data"]["message"]["tokenId"]
out("tokenid-leading-zero", j)
j = json.loads(json.dumps(base)); j["typed_data"]["message"]["extra"] = 1
out("extra-field", j)
j = json.loads(json.dumps(base)); j["version"] = 2
out("version-2", j)
out("not-an-object", "[]\n", raw=True)
out("truncated", json.dumps(base)[:200], raw=True)
PY

TD=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["typed_data"]["message"]; print(m["tokenId"], m["manifestHash"][2:])' "$R/buy.json")
echo "token of the license_request seeds: token id ${TD% *}, manifest hash ${TD#* }"
grep -q "${TD% *}" "$here/fuzz_license_request.cc" && grep -q "${TD#* }" "$here/fuzz_license_request.cc" ||
  echo "WARNING: update kTokenId / kManifestHash in fuzz_license_request.cc" >&2
ls -l "$O" "$R" | awk '{print $5, $9}'
