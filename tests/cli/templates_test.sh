#!/usr/bin/env bash
# Every bundled template through the real runtime with real media (issue 5): pack picks the
# models' own template and inspect/open name it; the preview is served to an unlicensed user
# and nothing more; pay-per-view counts exactly one play per open and none for a refused one;
# a rental counted from the first play ends duration after that play; the ad plays first; the
# watermark-text template weaves the licensee's address into text that is otherwise identical.
. "$(dirname "$0")/lib.sh" templates
C="${CAPSULEC:?}"
R="${CAPSULE_RUN:?}"

"$C" keygen >/dev/null
"$C" keygen -o bob >/dev/null
CREATOR="$CAPSULE_HOME/default.pub"
TRUST=(--trust "$CREATOR")
head_yaml() { manifest_head "Template test"; }
{ head_yaml; printf '  - type: buy\n    price: "5"\n    currency: ELA\n  - type: resale\n    price: "4"\n    currency: ELA\n    reseller_cut: 10%%\npreview: 3s\n'; } >buy.yaml
{ head_yaml; printf '  - type: pay_per_view\n    price: "1"\n    currency: ELA\n    plays: 2\n'; } >ppv.yaml
{ head_yaml; printf '  - type: rental\n    price: "2"\n    currency: ELA\n    duration: 48h\n    from_first_play: true\n'; } >rental.yaml
{ head_yaml; printf '  - type: subscription\n    price: "9"\n    currency: ELA\n    period: 30d\n'; } >sub.yaml
{ head_yaml; printf '  - type: free\n'; } >free.yaml
{ head_yaml; printf '  - type: buy\n    price: "5"\n    currency: ELA\n  - type: rental\n    price: "2"\n    currency: ELA\n    duration: 48h\n'; } >mixed.yaml

cp "/usr/share/scratch/Media/Sounds/Music Loops/Garden.mp3" song.mp3
cp /usr/share/asterisk/moh/manolo_camp-morning_coffee.wav coffee.wav
cp /usr/share/common-licenses/GPL-3 gpl.txt
sox coffee.wav -r 8000 -c 1 jingle.wav trim 0 1.5 2>/dev/null || bad "sox jingle"

logic_of() { "$C" inspect "$1" --json >insp.json && jget insp.json code.logic; }
pack() { # input manifest output [more args]
  local in=$1 m=$2 o=$3; shift 3
  "$C" pack "$in" --royalty "$m" -o "$o" --json "$@" >pack.json 2>err.txt || { bad "pack $o"; sed 's/^/    /' err.txt | head -3; }
}

# ---- auto choice: each model family gets its own template; a mix gets `standard` ----
pack song.mp3 buy.yaml song-buy.capsule.wasm
[ "$(jget pack.json logic)" = "bundled template buy" ] && ok || bad "pack --json names the template: $(jget pack.json logic)"
pack coffee.wav ppv.yaml coffee-ppv.capsule.wasm
pack song.mp3 rental.yaml song-rental.capsule.wasm
pack gpl.txt sub.yaml gpl-sub.capsule.wasm
pack jingle.wav free.yaml jingle.capsule.wasm
pack coffee.wav mixed.yaml coffee-mixed.capsule.wasm
for pair in song-buy:buy coffee-ppv:pay-per-view song-rental:rental gpl-sub:subscription \
            jingle:free coffee-mixed:standard; do
  got=$(logic_of "${pair%%:*}.capsule.wasm")
  [ "$got" = "bundled template ${pair#*:}" ] && ok || bad "${pair%%:*}: inspect says '$got'"
done
expect 2 "unknown template" -- "$C" pack song.mp3 --royalty buy.yaml -o x.capsule.wasm --template lottery
contains err.txt "no such bundled template" "unknown template named"
# A model's own template for a manifest that offers another model: its capsule could never be
# opened under that model, so pack refuses (mixed.yaml offers several; buy.yaml only buy).
expect 2 "--template rental for a buy manifest" -- "$C" pack song.mp3 --royalty buy.yaml -o x.capsule.wasm --template rental
contains err.txt "serves rental licences only" "a model's template for another model: explained"
expect 2 "--template buy for a mixed manifest" -- "$C" pack coffee.wav --royalty mixed.yaml -o x.capsule.wasm --template buy
[ ! -e x.capsule.wasm ] && ok || bad "a refused --template left output"
expect 0 "--template buy for a buy manifest" -- "$C" pack song.mp3 --royalty buy.yaml -o x.capsule.wasm --template buy
rm -f x.capsule.wasm
expect 2 "watermark-text on audio" -- "$C" pack song.mp3 --royalty buy.yaml -o x.capsule.wasm --template watermark-text
contains err.txt "text only" "watermark-text refuses audio"
[ ! -e x.capsule.wasm ] && ok || bad "a refused pack left output"

grant() { # capsule model licence [license args]
  local cap=$1 model=$2 lic=$3; shift 3
  "$C" license issue "$cap" --holder bob.pub --model "$model" -o "$lic" "$@" >/dev/null || bad "licence $lic"
  "$R" ledger grant --ledger file:ledger.json --capsule "$cap" --holder bob.pub >/dev/null || bad "grant $cap"
}
open_as_bob() { "$R" open "$1" "${TRUST[@]}" --license "$2" --identity bob.key --ledger file:ledger.json "${@:3}"; }

# ---- buy (MP3): full content for the holder; the preview, and nothing more, for others ----
grant song-buy.capsule.wasm buy song-buy.lic
expect 0 "buy: holder opens" -- open_as_bob song-buy.capsule.wasm song-buy.lic -o buy.out --json
cmp -s buy.out song.mp3 && ok || bad "buy: content differs"
contains out.txt '"logic":"bundled template buy"' "open --json names the template"
expect 0 "buy: no licence → preview" -- "$R" open song-buy.capsule.wasm "${TRUST[@]}" -o preview.mp3 --json
contains out.txt '"mode":"preview"' "preview mode reported"
# The capsule.preview custom section, read independently with a few lines of wasm parsing.
python3 - song-buy.capsule.wasm preview-section.mp3 <<'PY' || bad "no capsule.preview section"
import sys
b = open(sys.argv[1], "rb").read()
def leb(i):
    v = s = 0
    while True:
        x = b[i]; i += 1; v |= (x & 0x7f) << s; s += 7
        if x < 0x80: return v, i
i = 8
while i < len(b):
    sid = b[i]; size, j = leb(i + 1); end = j + size
    if sid == 0:
        n, k = leb(j)
        if b[k:k + n] == b"capsule.preview":
            open(sys.argv[2], "wb").write(b[k + n:end]); sys.exit(0)
    i = end
sys.exit(1)
PY
cmp -s preview.mp3 preview-section.mp3 && ok || bad "preview output is not exactly the preview section"
psize=$(stat -c %s preview.mp3) fsize=$(stat -c %s song.mp3)
[ "$psize" -gt 0 ] && [ "$psize" -lt $((fsize / 2)) ] && ok || bad "preview is $psize of $fsize bytes"
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 preview.mp3)
python3 -c "import sys; sys.exit(0 if abs($d-3.0)<=0.03 else 1)" && ok || bad "preview lasts $d s, wanted 3"
# The content itself is not in the preview output (its last 64 KiB do not occur in it).
tail -c 65536 song.mp3 >tail.bin
python3 -c 'import sys; sys.exit(1 if open("tail.bin","rb").read() in open("preview.mp3","rb").read() else 0)' \
  && ok || bad "the preview output contains the end of the song"

# `test` takes open's sandbox limits; a run cut short is "stopped", not "rejected".
expect 8 "test with a tiny instruction budget" -- "$R" test song-buy.capsule.wasm "${TRUST[@]}" --license song-buy.lic --as bob.key --ledger file:ledger.json --max-instructions 1000
contains out.txt "decision: stopped (sandbox-instruction-limit)" "test reports a stopped run"
contains out.txt "logic: bundled template buy" "test names the logic of a stopped run"

# ---- pay-per-view (WAV): one play per open, none for a refused open ----
grant coffee-ppv.capsule.wasm pay_per_view coffee-ppv.lic
expect 0 "ppv: first open" -- open_as_bob coffee-ppv.capsule.wasm coffee-ppv.lic -o ppv1.out --json
[ "$(jget out.txt plays_used)" = 1 ] && ok || bad "ppv: first open counted $(jget out.txt plays_used)"
cmp -s ppv1.out coffee.wav && ok || bad "ppv: content differs"
expect 0 "ppv: test --plays-used does not count" -- "$R" test coffee-ppv.capsule.wasm "${TRUST[@]}" --license coffee-ppv.lic --as bob.key --ledger file:ledger.json --plays-used 0
contains out.txt "logic: bundled template pay-per-view" "test names the template"
expect 0 "ppv: second open" -- open_as_bob coffee-ppv.capsule.wasm coffee-ppv.lic -o ppv2.out --json
[ "$(jget out.txt plays_used)" = 2 ] && ok || bad "ppv: second open counted $(jget out.txt plays_used), wanted 2"
expect 7 "ppv: third open refused" -- open_as_bob coffee-ppv.capsule.wasm coffee-ppv.lic -o ppv3.out --json
contains out.txt '"code":"plays-exhausted"' "ppv: exhausted"
[ ! -e ppv3.out ] && ok || bad "ppv: refused open left output"

# ---- rental from the first play (MP3): ends 48 h after the first play, whenever that is ----
grant song-rental.capsule.wasm rental song-rental.lic
at() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
rtest() { "$R" test song-rental.capsule.wasm "${TRUST[@]}" --license song-rental.lic --as bob.key --ledger file:ledger.json --json --at "$(at "$1")"; }
# A dry run before the first play counts nothing: a week later it still has the full 48 h.
week=$(( $(date +%s) + 7 * 86400 ))
expect 0 "rental: test before any play" -- rtest "$week"
[ "$(jget out.txt expires)" = $((week + 48 * 3600)) ] && ok || bad "rental: a test started the rental"
before=$(date +%s)
expect 0 "rental: first play" -- open_as_bob song-rental.capsule.wasm song-rental.lic -o rental.out --json
after=$(date +%s)
cmp -s rental.out song.mp3 && ok || bad "rental: content differs"
end=$(jget out.txt expires)
[ "$end" -ge $((before + 48 * 3600)) ] && [ "$end" -le $((after + 48 * 3600)) ] && ok || bad "rental: ends $end, wanted first play + 48 h"
expect 0 "rental: 47 h after the first play" -- rtest $((end - 3600))
[ "$(jget out.txt expires)" = "$end" ] && ok || bad "rental: end moved after the first play"
expect 7 "rental: 48 h after the first play" -- rtest "$end"
contains out.txt '"code":"license-expired"' "rental: expired at first play + 48 h"
expect 0 "rental: second play within the period" -- open_as_bob song-rental.capsule.wasm song-rental.lic -o rental2.out --json
[ "$(jget out.txt expires)" = "$end" ] && ok || bad "rental: second play moved the end"

# ---- standard (WAV, buy + rental offered): either model's licence opens ----
grant coffee-mixed.capsule.wasm rental coffee-mixed.lic
expect 0 "standard: rental licence" -- open_as_bob coffee-mixed.capsule.wasm coffee-mixed.lic -o mixed.out --json
cmp -s mixed.out coffee.wav && ok || bad "standard: content differs"
contains out.txt '"logic":"bundled template standard"' "open names the standard template"
[ "$(jget out.txt model)" = rental ] && ok || bad "standard: model $(jget out.txt model)"

# ---- subscription (text): open within the period ----
grant gpl-sub.capsule.wasm subscription gpl-sub.lic
expect 0 "subscription: open" -- open_as_bob gpl-sub.capsule.wasm gpl-sub.lic -o sub.out
cmp -s sub.out gpl.txt && ok || bad "subscription: content differs"
contains out.txt "bundled template subscription" "open names the template"

# ---- free (WAV) and free-with-ads: the ad plays first ----
expect 0 "free: open without licence" -- "$R" open jingle.capsule.wasm "${TRUST[@]}" -o jingle.out
cmp -s jingle.out jingle.wav && ok || bad "free: content differs"
AD_ID=$("$C" inspect jingle.capsule.wasm --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["capsule_id"])')
{ head_yaml; printf '  - type: free_with_ads\n    ad_capsule: "%s"\npreview:\n  lines: 5\n' "$AD_ID"; } >ads.yaml
pack gpl.txt ads.yaml gpl-ads.capsule.wasm
[ "$(logic_of gpl-ads.capsule.wasm)" = "bundled template free-with-ads" ] && ok || bad "ads: template"
mkdir ads && cp jingle.capsule.wasm ads/
expect 0 "free-with-ads: open" -- "$R" open gpl-ads.capsule.wasm "${TRUST[@]}" --ad-dir ads -o ads.out --json
contains out.txt '"ad_played":true' "ad reported played"
cat jingle.wav gpl.txt >ad-then-text
cmp -s ads.out ad-then-text && ok || bad "free-with-ads: output is not the ad followed by the text"
expect 7 "free-with-ads: no ad, no content" -- "$R" open gpl-ads.capsule.wasm "${TRUST[@]}" --ad-dir /nonexistent -o noad.out --json
contains out.txt '"code":"ad-missing"' "ad missing refused"
[ ! -e noad.out ] && ok || bad "ad missing left output"

# ---- watermark-text: the licensee's address woven in; otherwise identical ----
zcat /usr/share/doc/jargon-text/jargon.txt.gz >jargon.txt || bad "jargon-text missing"
sed 's/^preview: 3s$/preview:\n  lines: 4/' buy.yaml >buy-text.yaml
pack jargon.txt buy-text.yaml jargon.capsule.wasm --template watermark-text
[ "$(logic_of jargon.capsule.wasm)" = "bundled template watermark-text" ] && ok || bad "watermark: template"
grant jargon.capsule.wasm buy jargon.lic
expect 0 "watermark: open" -- open_as_bob jargon.capsule.wasm jargon.lic -o marked.txt
BOB=$(python3 -c 'import json; print(json.load(open("bob.pub"))["address"].lower())' 2>/dev/null || true)
ID=$("$C" inspect jargon.capsule.wasm --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["capsule_id"])')
MARK="[licensed to $BOB | capsule $ID]"
[ "$(head -n1 marked.txt)" = "$MARK" ] && ok || bad "watermark: first line is '$(head -n1 marked.txt)', wanted '$MARK'"
n=$(grep -cxF -- "$MARK" marked.txt)
size=$(stat -c %s jargon.txt)
[ "$n" -ge $((size / 4300)) ] && [ "$n" -le $((size / 4096 + 1)) ] && ok || bad "watermark: $n marks in $size bytes"
grep -vxF -- "$MARK" marked.txt >unmarked.txt
cmp -s unmarked.txt jargon.txt && ok || bad "watermark: text differs once the marks are removed"
expect 0 "watermark: preview unmarked" -- "$R" open jargon.capsule.wasm "${TRUST[@]}" -o tprev.txt
grep -qF "licensed to" tprev.txt && bad "watermark: the preview carries a mark" || ok
[ "$(cat tprev.txt)" = "$(head -n4 jargon.txt)" ] && ok || bad "watermark: preview is not the first 4 lines"

[ -z "$(find . -name '.*.tmp-*')" ] && ok || bad "temporary files left behind"
finish
