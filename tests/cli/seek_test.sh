#!/usr/bin/env bash
# capsule-run open --range / --from: the released bytes are exactly that part of the content
# (WAV: a valid file whose samples are the original's from that time on; MP3: whole frames from
# that time to the end), only the chunks the window touches are decrypted, and bad requests are
# usage errors that write nothing.
. "$(dirname "$0")/lib.sh" seek
C="${CAPSULEC:?}"
R="${CAPSULE_RUN:?}"

"$C" keygen >/dev/null
"$C" keygen -o bob >/dev/null
{
  manifest_head "Seek test"
  cat <<'YAML'
  - type: buy
    price: "5"
    currency: ELA
YAML
} >m.yaml
cp /usr/share/asterisk/moh/manolo_camp-morning_coffee.wav coffee.wav
cp "/usr/share/scratch/Media/Sounds/Music Loops/Garden.mp3" song.mp3
cp /usr/share/common-licenses/GPL-3 gpl.txt
# Packs FILE (16 KiB chunks) beside it and gives bob a licence (NAME.lic) and a ledger grant.
sell() {
  local f=$1 cap="${1%.*}.capsule.wasm"
  "$C" pack "$f" --royalty m.yaml --chunk-size 16384 >/dev/null || bad "pack $f"
  "$C" license issue "$cap" --holder bob.pub --model buy -o "${f%.*}.lic" >/dev/null || bad "licence $f"
  "$R" ledger grant --ledger file:ledger.json --capsule "$cap" --holder bob.pub >/dev/null || bad "grant $f"
}
for f in coffee.wav song.mp3 gpl.txt; do sell "$f"; done
open_() { local name=$1; shift; "$R" open "$name.capsule.wasm" --trust "$CAPSULE_HOME/default.pub" --license "$name.lic" --identity bob.key --ledger file:ledger.json --json "$@"; }

# ---- --range: exactly those bytes; only the chunks it touches are decrypted ----
expect 0 "range in the middle" -- open_ gpl -o r1.txt --range 1000-4999
cmp -s r1.txt <(tail -c +1001 gpl.txt | head -c 4000) && ok || bad "range 1000-4999 differs"
[ "$(jget out.txt range.offset)" = 1000 ] && [ "$(jget out.txt range.length)" = 4000 ] && ok || bad "range reported"
[ "$(jget out.txt chunks_decrypted)" = 1 ] && ok || bad "range in one chunk decrypted $(jget out.txt chunks_decrypted) chunks"
size=$(stat -c %s gpl.txt)
expect 0 "range to the end" -- open_ gpl -o r2.txt --range $((size - 100))-
cmp -s r2.txt <(tail -c 100 gpl.txt) && ok || bad "open-ended range differs"
[ "$(jget out.txt chunks_decrypted)" = 1 ] && ok || bad "the last 100 bytes decrypted $(jget out.txt chunks_decrypted) chunks"
expect 0 "range across a chunk boundary" -- open_ gpl -o r3.txt --range 16000-16999
cmp -s r3.txt <(tail -c +16001 gpl.txt | head -c 1000) && ok || bad "range across chunks differs"
[ "$(jget out.txt chunks_decrypted)" = 2 ] && ok || bad "a range over two chunks decrypted $(jget out.txt chunks_decrypted)"
expect 0 "range past the end is clipped" -- open_ gpl -o r4.txt --range $((size - 10))-$((size + 500))
cmp -s r4.txt <(tail -c 10 gpl.txt) && ok || bad "clipped range differs"
for badr in 5000-1000 $size- abc -5 1-2-3 ""; do
  rm -f bad.out
  expect 2 "bad range '$badr'" -- open_ gpl -o bad.out --range "$badr"
  [ ! -e bad.out ] && ok || bad "bad range '$badr' left output"
done

# ---- --from on a WAV: a valid WAV with the original's samples from that time on ----
expect 0 "wav --from 10" -- open_ coffee -o from10.wav --from 10
python3 - coffee.wav from10.wav <<'PY' && ok || bad "wav --from 10: not the original's samples from 10 s"
import sys, wave
a, b = wave.open(sys.argv[1]), wave.open(sys.argv[2])
assert (a.getnchannels(), a.getsampwidth(), a.getframerate()) == (b.getnchannels(), b.getsampwidth(), b.getframerate())
skip = 10 * a.getframerate()
assert b.getnframes() == a.getnframes() - skip, (b.getnframes(), a.getnframes() - skip)
a.setpos(skip)
assert a.readframes(a.getnframes()) == b.readframes(b.getnframes())
PY
d0=$(ffprobe -v error -show_entries format=duration -of csv=p=0 coffee.wav)
d1=$(ffprobe -v error -show_entries format=duration -of csv=p=0 from10.wav)
python3 -c "import sys; sys.exit(0 if abs(($d0-10)-$d1) < 0.01 else 1)" && ok || bad "wav --from 10 lasts $d1 of $d0"
n=$(jget out.txt chunks_decrypted); total=$(( ($(stat -c %s coffee.wav) + 16383) / 16384 ))
[ "$n" -lt "$total" ] && ok || bad "wav --from 10 decrypted $n of $total chunks"
expect 2 "wav --from beyond the end" -- open_ coffee -o late.wav --from 100000
contains err.txt "beyond the end" "beyond the end said"
[ ! -e late.wav ] && ok || bad "--from beyond the end left output"

# ---- --from on an MP3: whole frames from that time to the end ----
expect 0 "mp3 --from 2" -- open_ song -o from2.mp3 --from 2
python3 - song.mp3 from2.mp3 <<'PY' && ok || bad "mp3 --from 2: not a frame-aligned tail of the original"
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert b[0] == 0xFF and (b[1] & 0xE0) == 0xE0, "does not start on a frame sync"
end = len(a) - 128 if a[-128:-125] == b"TAG" else len(a)
assert a[end - len(b):end] == b, "not the original's tail"
PY
s0=$(ffprobe -v error -show_entries format=duration -of csv=p=0 song.mp3)
s1=$(ffprobe -v error -show_entries format=duration -of csv=p=0 from2.mp3)
python3 -c "import sys; sys.exit(0 if abs(($s0-2)-$s1) < 0.1 else 1)" && ok || bad "mp3 --from 2 lasts $s1 of $s0"
ffmpeg -v error -i from2.mp3 -f null - 2>dec.txt && [ ! -s dec.txt ] && ok || bad "mp3 --from 2 does not decode cleanly: $(head -2 dec.txt)"

# ---- --from on a VBR MP3: the Xing table, not the average bitrate ----
# Where a --from window of a VBR MP3 starts (MPEG-1 Layer III, 44.1 kHz mono: 1152 samples a
# frame; the first frame is the header frame, not audio): it must be the original's tail from a
# frame within TOLERANCE seconds of the time asked for.
# The window comes behind a Xing header frame of its own (the original's stays behind), whose
# frame count (what players show as the duration) must be the window's within the same
# tolerance, and whose byte count is exact.
cat >vbr_at.py <<'PY'
import struct, sys
a, b, off = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), int(sys.argv[3])
want, tolerance = float(sys.argv[4]), float(sys.argv[5])
rates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
size = lambda x, p: 144000 * rates[x[p + 2] >> 4] // 44100 + ((x[p + 2] >> 1) & 1)
assert b[:2] == b"\xff\xfb" and b[4 + 17:4 + 17 + 4] == b"Xing", "no Xing header frame first"
head = size(b, 0)
flags, frames, nbytes = struct.unpack(">III", b[25:37])
assert flags & 7 == 7 and nbytes == len(b), "Xing flags %d, bytes %d of %d" % (flags, nbytes, len(b))
tail = b[head:]
assert a[off:off + len(tail)] == tail and off + len(tail) >= len(a) - 128, "not the original's tail"
p, n, starts = 0, 0, {}
while p + 4 <= len(a) and a[p] == 0xFF and (a[p + 1] & 0xE0) == 0xE0:
    starts[p] = n
    p += size(a, p)
    n += 1
assert off in starts, "the window does not start on a frame"
t = (starts[off] - 1) * 1152 / 44100
if abs(t - want) > tolerance:
    sys.exit("starts at %.2f s" % t)
if abs((frames - (n - starts[off])) * 1152 / 44100) > tolerance:
    sys.exit("its Xing frame counts %d frames, the window holds %d" % (frames, n - starts[off]))
PY
# 10 s of near-silence (few bits per frame) then 10 s of noise (many): at 5 s the average
# bitrate points past 12 s; LAME's Xing table places it within 1 % of the duration.
sox -n -r 44100 -c 1 quiet.wav synth 10 sine 440 vol 0.001
sox -n -r 44100 -c 1 loud.wav synth 10 whitenoise vol 0.5
sox quiet.wav loud.wav vbrsrc.wav
lame --quiet -V 2 vbrsrc.wav vbr.mp3
sell vbr.mp3
for at in 5 15; do
  expect 0 "vbr mp3 --from $at" -- open_ vbr -o vbr$at.mp3 --from $at
  off=$(jget out.txt range.offset)
  # 1 % of 20 s, and a frame
  python3 vbr_at.py vbr.mp3 vbr$at.mp3 "$off" $at 0.23 2>py.err && ok || bad "vbr --from $at: $(cat py.err)"
done

# The same audio behind a Fraunhofer VBRI header frame instead of LAME's Xing frame: 50 segments
# of 16 frames each, their byte counts in the table (the frames themselves are LAME's).
python3 - vbr.mp3 vbri.mp3 <<'PY' || bad "making vbri.mp3"
import struct, sys
a = open(sys.argv[1], "rb").read()
rates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
frames, p = [], 0
while p + 4 <= len(a) and a[p] == 0xFF and (a[p + 1] & 0xE0) == 0xE0:
    n = 144000 * rates[a[p + 2] >> 4] // 44100 + ((a[p + 2] >> 1) & 1)
    frames.append(a[p:p + n])
    p += n
audio = frames[1:]  # frames[0] is LAME's Xing frame
fpe = 16
sizes = [sum(map(len, audio[i:i + fpe])) for i in range(0, len(audio), fpe)]
head = bytes([0xFF, a[1], (9 << 4) | (a[2] & 0x0D), a[3]])  # 128 kbit/s, unpadded: 417 bytes
tag = b"VBRI" + struct.pack(">HHHIIHHHH", 1, 576, 75, sum(map(len, audio)) + 417, len(audio),
                            len(sizes), 1, 2, fpe) + b"".join(struct.pack(">H", s) for s in sizes)
first = head + bytes(32) + tag
assert len(first) <= 417
open(sys.argv[2], "wb").write(first + bytes(417 - len(first)) + b"".join(audio))
open("vbri.frames", "w").write(str(len(audio)))
PY
sell vbri.mp3
"$C" inspect vbri.capsule.wasm --json >vbri.json || bad "inspect vbri"
python3 -c "import json,sys; m=json.load(open('vbri.json'))['manifest']['capsule']['media']; sys.exit(0 if m['vbr'] and m['duration_ms'] == $(cat vbri.frames) * 1152 * 1000 // 44100 else 1)" &&
  ok || bad "vbri.mp3: not VBR, or the VBRI frame counted as audio: $(head -c 300 vbri.json)"
for at in 5 15; do
  expect 0 "vbri mp3 --from $at" -- open_ vbri -o vbri$at.mp3 --from $at
  off=$(jget out.txt range.offset)
  # a segment of the table (16 frames), and a frame
  python3 vbr_at.py vbri.mp3 vbri$at.mp3 "$off" $at 0.45 2>py.err && ok || bad "vbri --from $at: $(cat py.err)"
done
ffmpeg -v error -i vbri5.mp3 -f null - 2>dec.txt && [ ! -s dec.txt ] && ok || bad "vbri --from 5 does not decode cleanly: $(head -2 dec.txt)"
# What a player shows: the duration of the rest, not the first frame's bitrate × the size.
for f in vbr5:15 vbr15:5 vbri5:15 vbri15:5; do
  d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "${f%%:*}.mp3")
  python3 -c "import sys; sys.exit(0 if abs($d - ${f#*:}) < 0.5 else 1)" && ok || bad "${f%%:*}.mp3 lasts $d s for ffprobe, wanted ${f#*:}"
done

# ---- refusals ----
expect 2 "--from in hexadecimal" -- open_ coffee -o hex.wav --from 0x10
contains err.txt "decimal" "--from 0x10 explained"
expect 2 "--from far past the end of a WAV" -- open_ coffee -o far.wav --from 1e17
contains err.txt "beyond the end" "--from 1e17 explained"
[ ! -e far.wav ] && ok || bad "--from 1e17 left output"
expect 2 "--from on text" -- open_ gpl -o t.txt --from 3
contains err.txt "needs audio" "--from on text explained"
expect 2 "--range and --from together" -- open_ coffee -o x.wav --from 1 --range 0-10
{ cat m.yaml; echo "preview: 2s"; } >mp.yaml
"$C" pack song.mp3 --royalty mp.yaml -o prev.capsule.wasm >/dev/null || bad "pack with preview"
expect 2 "--range on a preview" -- "$R" open prev.capsule.wasm --trust "$CAPSULE_HOME/default.pub" -o p.mp3 --range 0-10
contains err.txt "a preview is served whole" "--range on a preview explained"
[ ! -e p.mp3 ] && ok || bad "--range on a preview left output"
# ---- -o on a device or a FIFO streams to it; no tool renames a file over one ----
expect 0 "open -o /dev/null" -- open_ coffee -o /dev/null
[ -c /dev/null ] && ok || bad "/dev/null is no longer a character device"
mkfifo pipe
(cat pipe >from-fifo.wav) & reader=$!
expect 0 "open -o FIFO" -- open_ coffee -o pipe
wait $reader
cmp -s from-fifo.wav coffee.wav && ok || bad "content through a FIFO differs"
expect 2 "unpack over a FIFO" -- "$C" unpack coffee.capsule.wasm -o pipe --force
contains err.txt "not a regular file" "unpack refuses a non-regular output"
[ -p pipe ] && ok || bad "the FIFO was replaced"
# ---- a progress bar on stderr when it is a terminal (script(1) gives one), none with --json ----
script -qec "'$R' open coffee.capsule.wasm --trust '$CAPSULE_HOME/default.pub' --license coffee.lic --identity bob.key --ledger file:ledger.json -o tty.wav" /dev/null >tty.txt 2>&1 </dev/null
grep -q "opening coffee.capsule.wasm \[#*" tty.txt && grep -q "100%" tty.txt && ok || bad "no progress bar on a terminal: $(head -c 200 tty.txt | tr '\r' ' ')"
cmp -s tty.wav coffee.wav && ok || bad "content opened on a terminal differs"
script -qec "'$R' open coffee.capsule.wasm --trust '$CAPSULE_HOME/default.pub' --license coffee.lic --identity bob.key --ledger file:ledger.json -o tty2.wav --json" /dev/null >tty2.txt 2>&1 </dev/null
grep -q "opening" tty2.txt && bad "a progress bar with --json" || ok
expect 0 "no progress bar when stderr is not a terminal" -- open_ coffee -o piped.wav
grep -q "opening" err.txt && bad "a progress bar on a pipe" || ok
[ -z "$(find . -name '.*.tmp-*')" ] && ok || bad "temporary files left behind"
finish
