#!/usr/bin/env bash
# CLI tests of `capsulec mint`: the ERC-1155 metadata validates against our schema and the
# EIP-1155 one (Debian's python3-jsonschema as an independent checker), the CIDs equal Debian's
# `ipfs_cid` for the capsule file, the token id follows the derive rule, the 0xSplits export is
# ascending and sums to 1e6, the preview beside the metadata is the capsule's clear preview, and
# bad inputs exit with their documented codes and leave no output. --help has a golden file
# (update with CAPSULE_UPDATE_GOLDEN=1).
. "$(dirname "$0")/lib.sh" mint
C="${CAPSULEC:?set CAPSULEC to the capsulec binary}"
SRC="${CAPSULE_SOURCE_DIR:?}"
PY3=/usr/bin/python3
absent() { if [ ! -e "$1" ]; then ok; else bad "$2: $1 exists"; fi; }
# py DESCRIPTION ARGS... <<'PY' … PY: a Python check (exit 0 = pass).
py() { local what="$1"; shift; if "$PY3" - "$@"; then ok; else bad "$what"; fi; }

if "$PY3" -c 'import jsonschema' 2>/dev/null; then ok; else bad "python3-jsonschema missing (scripts/install-deps.sh installs it)"; fi
if command -v ipfs_cid >/dev/null; then ok; else bad "ipfs_cid missing (Debian package ipfs-cid; scripts/install-deps.sh installs it)"; fi

# --- help ---
expect 0 "mint --help" -- "$C" mint --help
contains out.txt "Example" "mint --help has an example"
contains out.txt "--json" "mint --help offers --json"
golden="$SRC/tests/cli/golden/help-mint.txt"
if [ -n "${CAPSULE_UPDATE_GOLDEN:-}" ]; then cp out.txt "$golden"; fi
if diff -u "$golden" out.txt >diff.txt; then ok; else bad "mint --help differs from $golden"; head -20 diff.txt; fi
expect 0 "top-level help lists mint" -- "$C" --help
contains out.txt "mint" "top-level help lists mint"

# --- capsules from the bundled samples; `chain:` blocks added to temporary copies ---
expect 0 "keygen" -- "$C" keygen
cp "$SRC/examples/sample/tone.wav" "$SRC/examples/sample/poem.txt" .
sed '/^chain:/,$d' "$SRC/examples/sample/sample.yaml" >nochain.yaml
cp nochain.yaml tone.yaml
printf 'chain:\n  chain_id: 21\n  contract: "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"\n  token_id: derive\n' >>tone.yaml
cp "$SRC/examples/sample/poem.yaml" poem.yaml
printf 'chain:\n  chain_id: 20\n  contract: "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb"\n  token_id: "0042"\n' >>poem.yaml
# A longer WAV: its capsule spans several 256 KiB IPFS chunks.
sox -n -r 44100 -c 2 -b 16 long.wav synth 8 sine 440 vol 0.5
expect 0 "pack tone" -- "$C" pack tone.wav --royalty tone.yaml
expect 0 "pack poem" -- "$C" pack poem.txt --royalty poem.yaml
expect 0 "pack long" -- "$C" pack long.wav --royalty tone.yaml
cp tone.wav nochain.wav
expect 0 "pack without chain" -- "$C" pack nochain.wav --royalty nochain.yaml

BASE="ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
mkdir -p meta

# --- an audio capsule: derive, three recipients, clear WAV preview ---
expect 0 "mint tone" -- "$C" mint tone.capsule.wasm --uri-base "$BASE/" --image "https://example.org/cover.png" \
  --external-url "https://example.org/tone" -o meta/tone.json --json
cp out.txt tone.result.json
"$C" inspect tone.capsule.wasm --json >tone.inspect.json
ipfs_cid tone.capsule.wasm >tone.cid.json 2>/dev/null
py "tone: --json result and files" tone.result.json tone.inspect.json "$BASE" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1])); insp = json.load(open(sys.argv[2])); base = sys.argv[3]
cid = insp["capsule_id"]
assert set(["token_id", "token_id_hex", "capsule_cid", "capsule_cid_v1", "metadata", "preview_file"]) <= set(r), r
assert r["token_id"] == str(int(cid, 16)), (r["token_id"], cid)      # derive: big-endian capsule id
assert r["token_id_hex"] == cid.rjust(64, "0"), r["token_id_hex"]
assert r["metadata"] == "meta/tone.json" and os.path.exists("meta/tone.json")
assert r["preview_file"] == "meta/" + r["token_id_hex"] + ".preview.wav", r["preview_file"]
assert os.path.exists(r["preview_file"])
assert "metadata_uri" not in r
PY
# Both schemas, with an independent validator.
for f in meta/tone.json; do
  py "$f follows schemas/token-metadata.schema.json" "$SRC/schemas/token-metadata.schema.json" "$f" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[2])))
PY
  py "$f follows the EIP-1155 metadata schema" "$SRC/schemas/erc1155-metadata.schema.json" "$f" <<'PY'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
cls(schema).validate(json.load(open(sys.argv[2])))
PY
done
py "tone: metadata fields" meta/tone.json tone.inspect.json tone.cid.json tone.result.json "$BASE" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); insp = json.load(open(sys.argv[2])); cid = json.load(open(sys.argv[3]))
r = json.load(open(sys.argv[4])); base = sys.argv[5]
man = insp["manifest"]; p = m["properties"]; hexid = r["token_id_hex"]
assert m["name"] == man["title"] and m["description"] == man["description"]
assert m["decimals"] == 0
assert m["image"] == "https://example.org/cover.png" and m["external_url"] == "https://example.org/tone"
assert m["animation_url"] == base + "/" + hexid + ".preview.wav", m["animation_url"]
# The CIDs are those Debian's ipfs_cid computes for the capsule file.
assert p["capsule_cid"] == cid["CIDv0"] and p["capsule_cid_v1"] == cid["CIDv1"], (p["capsule_cid"], cid)
assert p["capsule_cid"] == r["capsule_cid"] and p["capsule_cid_v1"] == r["capsule_cid_v1"]
assert p["capsule_id"] == insp["capsule_id"] and p["capsule_size"] == insp["size"]
assert p["media_type"] == "audio/wav" and p["duration_ms"] == man["capsule"]["media"]["duration_ms"]
assert p["models"] == man["models"]                       # terms exactly as embedded
assert p["creator"]["ed25519"] == man["creator"]["ed25519"]
assert p["royalties"]["resale_royalty_ppm"] == man["royalties"]["resale_royalty_ppm"] == 50000
assert [(s["role"], s["address"], s["share_ppm"]) for s in p["royalties"]["splits"]] == \
       [(s["role"], s["address"], s["share_ppm"]) for s in man["royalties"]["splits"]]
assert p["royalty"] == {"receiver": man["chain"]["contract"], "royalty_ppm": 50000, "eip2981_bps": 500}
assert p["chain"] == {"chain_id": 21, "contract": "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb",
                      "token_id": str(int(insp["capsule_id"], 16))}
# 0xSplits: strictly ascending by address (as 20-byte numbers), allocations pair with the
# recipients and sum to exactly 1e6, no distributor fee.
s = p["split_0xsplits"]
addrs = [int(a, 16) for a in s["recipients"]]
assert all(a < b for a, b in zip(addrs, addrs[1:])), s["recipients"]
assert sum(s["percentAllocations"]) == 1000000 and s["distributorFee"] == 0
shares = {x["address"]: x["share_ppm"] for x in man["royalties"]["splits"]}
assert dict(zip(s["recipients"], s["percentAllocations"])) == shares
assert p["preview"]["file"] == hexid + ".preview.wav" and p["preview"]["size"] == man["capsule"]["preview"]["size"]
assert p["preview"]["duration_ms"] == man["capsule"]["preview"]["duration_ms"] == 2000
attrs = {(a["trait_type"], str(a["value"])) for a in m["attributes"]}
assert ("Media type", "audio/wav") in attrs and ("Creator", man["creator"]["name"]) in attrs
assert ("Business model", "buy") in attrs and ("Business model", "resale") in attrs
dur = [a for a in m["attributes"] if a["trait_type"] == "Duration (seconds)"][0]
assert dur["display_type"] == "number" and dur["value"] * 1000 == p["duration_ms"]
PY
PREVIEW="meta/$("$PY3" -c 'import json; print(json.load(open("tone.result.json"))["token_id_hex"])').preview.wav"
if [ "$(soxi -D "$PREVIEW" 2>/dev/null)" = "2.000000" ]; then ok; else bad "the preview file is not the 2-second clear preview"; fi
ipfs_cid "$PREVIEW" >preview.cid.json 2>/dev/null
py "preview CID in the metadata equals ipfs_cid's" meta/tone.json preview.cid.json tone.result.json <<'PY'
import json, sys
want = json.load(open(sys.argv[2]))["CIDv0"]
assert json.load(open(sys.argv[1]))["properties"]["preview"]["cid"] == want
assert json.load(open(sys.argv[3]))["preview_cid"] == want
PY
# Same capsule, same metadata (nothing random or dated in it).
cp meta/tone.json tone.first.json
expect 0 "mint again with --force" -- "$C" mint tone.capsule.wasm --uri-base "$BASE/" --image "https://example.org/cover.png" \
  --external-url "https://example.org/tone" -o meta/tone.json --force
contains out.txt "publish as" "text output says where to publish"
if cmp -s tone.first.json meta/tone.json; then ok; else bad "mint is not deterministic"; fi

# {id} in -o is the 64-hex token id.
mkdir -p byid
expect 0 "mint -o {id}.json" -- "$C" mint tone.capsule.wasm -o 'byid/{id}.json' --json
py "{id} in -o" out.txt tone.result.json <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1])); hexid = json.load(open(sys.argv[2]))["token_id_hex"]
assert r["metadata"] == "byid/" + hexid + ".json" and os.path.exists(r["metadata"]), r["metadata"]
assert r["preview_file"] == "byid/" + hexid + ".preview.wav"
PY

# --- a longer capsule: several IPFS chunks ---
expect 0 "mint long" -- "$C" mint long.capsule.wasm -o long.json --json
cp out.txt long.result.json
ipfs_cid long.capsule.wasm >long.cid.json 2>/dev/null
py "long: CIDs equal ipfs_cid's (multi-chunk DAG)" long.json long.cid.json long.capsule.wasm <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1])); cid = json.load(open(sys.argv[2]))
assert os.path.getsize(sys.argv[3]) > 3 * 262144
assert m["properties"]["capsule_cid"] == cid["CIDv0"], (m["properties"]["capsule_cid"], cid)
assert m["properties"]["capsule_cid_v1"] == cid["CIDv1"]
assert "animation_url" not in m      # no --uri-base, no --preview-uri
PY
# Without --uri-base the preview is still written beside the metadata.
py "long: preview written without --uri-base" long.result.json <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
assert r["preview_file"] == r["token_id_hex"] + ".preview.wav" and os.path.exists(r["preview_file"])
assert r["animation_url"] is None
PY

# --- a text capsule: explicit token id, one recipient, text preview, image file ---
printf '\x89PNG\r\n\x1a\nnot really a picture' >cover.png
expect 0 "mint poem" -- "$C" mint poem.capsule.wasm --uri-base "$BASE" --image cover.png -o meta/poem.json --json
cp out.txt poem.result.json
ipfs_cid poem.capsule.wasm >poem.cid.json 2>/dev/null
py "poem: metadata" meta/poem.json poem.result.json poem.cid.json "$BASE" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2])); cid = json.load(open(sys.argv[3])); base = sys.argv[4]
p = m["properties"]
assert r["token_id"] == "42" and r["token_id_hex"] == "0" * 62 + "2a", r
assert p["chain"] == {"chain_id": 20, "contract": "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb", "token_id": "42"}
assert p["capsule_cid"] == cid["CIDv0"] and p["capsule_cid_v1"] == cid["CIDv1"]
assert p["media_type"] == "text/plain; charset=utf-8" and "duration_ms" not in p
assert p["size"] == os.path.getsize("poem.txt") and p["lines"] == len(open("poem.txt").read().splitlines())
assert "split_0xsplits" not in p                      # a single recipient: no 0xSplits form
assert p["royalty"] == {"receiver": p["chain"]["contract"], "royalty_ppm": 0, "eip2981_bps": 0}
assert m["image"] == base + "/" + r["token_id_hex"] + ".image.png"
assert r["image_file"] == "meta/" + r["token_id_hex"] + ".image.png"
assert m["animation_url"] == base + "/" + r["token_id_hex"] + ".preview.txt"
assert "description" not in m                         # poem.yaml has none
PY
HEX42=000000000000000000000000000000000000000000000000000000000000002a
if cmp -s cover.png "meta/$HEX42.image.png"; then ok; else bad "image file not copied beside the metadata"; fi
if [ "$(cat "meta/$HEX42.preview.txt")" = "$(head -n 3 poem.txt)" ]; then ok; else bad "text preview file is not the first 3 lines"; fi
for f in meta/poem.json; do
  py "$f follows both schemas" "$SRC/schemas/token-metadata.schema.json" "$SRC/schemas/erc1155-metadata.schema.json" "$f" <<'PY'
import json, sys, jsonschema
doc = json.load(open(sys.argv[3]))
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(doc)
erc = json.load(open(sys.argv[2]))
jsonschema.validators.validator_for(erc)(erc).validate(doc)
PY
done
# The schema is not vacuous: a wrong document fails it.
py "schema rejects a broken document" "$SRC/schemas/token-metadata.schema.json" meta/tone.json <<'PY'
import json, sys, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
doc = json.load(open(sys.argv[2]))
for mutate in (lambda d: d.update(decimals=1),
               lambda d: d["properties"].update(capsule_cid="bafy"),
               lambda d: d["properties"]["chain"].update(token_id=42),
               lambda d: d.update(extra=1)):
    d = json.loads(json.dumps(doc)); mutate(d)
    assert not v.is_valid(d)
PY

# --- a creator binding (the key file's EVM address is creator.address) is carried over ---
ADDR=$("$C" keygen -o binder --json | "$PY3" -c 'import json,sys; print(json.load(sys.stdin)["address"])')
sed "s/0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed/$ADDR/" tone.yaml >bound.yaml
cp tone.wav bound.wav
expect 0 "pack with a creator binding" -- "$C" pack bound.wav --royalty bound.yaml --key binder.key --json
expect 0 "mint a bound capsule" -- "$C" mint bound.capsule.wasm -o bound.json
"$C" inspect bound.capsule.wasm --json >bound.inspect.json
py "bound: binding in properties.creator, schema" bound.json bound.inspect.json "$SRC/schemas/token-metadata.schema.json" <<'PY'
import json, sys, jsonschema
m = json.load(open(sys.argv[1])); man = json.load(open(sys.argv[2]))["manifest"]
assert "binding" in man["creator"], "pack wrote no binding"
assert m["properties"]["creator"]["binding"] == man["creator"]["binding"]
assert m["properties"]["creator"]["address"] == man["creator"]["address"]
jsonschema.Draft202012Validator(json.load(open(sys.argv[3]))).validate(m)
PY

# --- refusals: documented exit codes, no output ---
mkdir -p nc
expect 2 "no chain block" -- "$C" mint nochain.capsule.wasm --uri-base "$BASE" -o nc/nc.json
contains err.txt "chain:" "no-chain message names chain:"
contains err.txt "manifest.yaml" "no-chain message names manifest.yaml"
[ -z "$(ls -A nc)" ] && ok || bad "no chain block left output: $(ls -A nc)"
expect 2 "no chain block --json" -- "$C" mint nochain.capsule.wasm -o nc/nc.json --json
py "no chain: --json error object" out.txt <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is False and j["error"]["code"] == "usage" and j["error"]["exit_code"] == 2
PY

# A changed byte in the payload (the end of the file, before the last delimiter): exit 5.
cp tone.capsule.wasm corrupt.capsule.wasm
"$PY3" - corrupt.capsule.wasm <<'PY'
import os, sys
p = sys.argv[1]; n = os.path.getsize(p)
with open(p, "r+b") as f:
    f.seek(n - 200); b = f.read(1); f.seek(n - 200); f.write(bytes([b[0] ^ 1]))
PY
mkdir -p bad
expect 5 "corrupt capsule" -- "$C" mint corrupt.capsule.wasm --uri-base "$BASE" -o bad/c.json --json
py "corrupt: reason code" out.txt <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["ok"] is False and j["error"]["exit_code"] == 5, j
PY
[ -z "$(ls -A bad)" ] && ok || bad "corrupt capsule left output: $(ls -A bad)"
head -c 4000 tone.capsule.wasm >trunc.capsule.wasm
expect 4 "truncated capsule" -- "$C" mint trunc.capsule.wasm -o bad/t.json
[ -z "$(ls -A bad)" ] && ok || bad "truncated capsule left output"
cp tone.capsule.wasm other.capsule.wasm
expect 2 "missing capsule file" -- "$C" mint missing.capsule.wasm -o bad/m.json
absent bad/m.json "missing capsule file"
expect 2 "missing -o" -- "$C" mint tone.capsule.wasm
expect 3 "missing image file" -- "$C" mint tone.capsule.wasm --uri-base "$BASE" --image nothere.png -o bad/i.json
absent bad/i.json "missing image file"
expect 2 "image file without --uri-base" -- "$C" mint tone.capsule.wasm --image cover.png -o bad/i.json
contains err.txt "uri-base" "image without --uri-base says why"
absent bad/i.json "image file without --uri-base"
expect 2 "--uri-base that is not a URI" -- "$C" mint tone.capsule.wasm --uri-base "not a uri" -o bad/u.json
expect 2 "--uri-base with a query" -- "$C" mint tone.capsule.wasm --uri-base "https://example.org/t?x=1" -o bad/q.json
contains err.txt "no query or fragment" "--uri-base with a query: explained"
absent bad/u.json "bad --uri-base"

# Existing outputs are not replaced without --force: neither the metadata nor the preview.
printf 'keep me\n' >exists.json
expect 2 "existing output without --force" -- "$C" mint tone.capsule.wasm -o exists.json --json
py "existing output: reason code" out.txt <<'PY'
import json, sys
assert json.load(open(sys.argv[1]))["error"]["code"] == "output-exists"
PY
if [ "$(cat exists.json)" = "keep me" ]; then ok; else bad "existing output was changed"; fi
mkdir -p pv
TONEHEX=$("$PY3" -c 'import json; print(json.load(open("tone.result.json"))["token_id_hex"])')
printf 'old preview\n' >"pv/$TONEHEX.preview.wav"
expect 2 "existing preview without --force" -- "$C" mint tone.capsule.wasm -o pv/new.json
absent pv/new.json "existing preview: metadata written anyway"
if [ "$(cat "pv/$TONEHEX.preview.wav")" = "old preview" ]; then ok; else bad "existing preview was changed"; fi
expect 0 "existing preview with --force" -- "$C" mint tone.capsule.wasm -o pv/new.json --force
if cmp -s "pv/$TONEHEX.preview.wav" "meta/$TONEHEX.preview.wav"; then ok; else bad "--force did not replace the preview"; fi
expect 2 "output over the capsule" -- "$C" mint tone.capsule.wasm -o tone.capsule.wasm --force
contains err.txt "same-input-output" "output over the capsule: reason code"
if cmp -s tone.capsule.wasm other.capsule.wasm; then ok; else bad "the capsule was overwritten"; fi

# --- no temporary files left anywhere ---
[ -z "$(find . -name '.*.tmp-*')" ] && ok || bad "temporary files left behind"

finish
