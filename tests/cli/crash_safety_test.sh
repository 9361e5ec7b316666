#!/usr/bin/env bash
# Crash safety (issue 7, docs/hardening.md): `capsulec pack` and `capsule-run open -o FILE`
# killed with SIGKILL at many points leave nothing under the final name (only hidden
# `.NAME.tmp-XXXXXX` temps), and the next run works; stopped by SIGINT or SIGTERM, pack, unpack
# and open leave not even the temps; a full disk (RLIMIT_FSIZE) fails with
# exit 3 (I/O) and a message, and leaves no output.
#
# What the kill loop measures, honestly: the kill point is chosen by the size of the temp file
# observed by polling the directory in a bounded busy loop (no sleeps as timing), so each run
# kills the process "after at least k bytes were written", for k spread over the output size,
# plus a few runs killed right after start (before or while the temp file is created). The exact
# point varies with scheduling; a run that finished before the kill is counted as "completed"
# and its output must then verify (link(2) happens before the temp is unlinked, so a kill between
# the two may leave a complete output plus a stale temp — allowed).
#
# Env: CAPSULEC, CAPSULE_RUN (set by ctest). CRASH_RUNS (default 20) per program.
. "$(dirname "$0")/lib.sh" crash
C="${CAPSULEC:?}"
R="${CAPSULE_RUN:?}"
RUNS="${CRASH_RUNS:-20}"

"$C" keygen >/dev/null || { echo "keygen failed"; exit 1; }
{
  manifest_head "Crash safety test"
  cat <<'YAML'
  - type: buy
    price: "1"
    currency: USDC
    decimals: 6
YAML
} >paid.yaml
sed -e 's/- type: buy/- type: free/' -e '/price\|currency\|decimals/d' paid.yaml >free.yaml

# A few-MB WAV of noise (incompressible: the output is about as large as the input).
mkdir -p in out
python3 - <<'PY' || { echo "cannot make the WAV"; exit 1; }
import os, struct
n = 4 * 1024 * 1024
data = os.urandom(n)
hdr = b"RIFF" + struct.pack("<I", 36 + n) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 44100 * 4, 4, 16) + b"data" + struct.pack("<I", n)
open("in/noise.wav", "wb").write(hdr + data)
PY
SIZE=$(stat -c %s in/noise.wav)

# Files in DIR other than the allowed ones: prints offenders. Allowed: the hidden temp of NAME.
stray_files() {
  local dir="$1" name="$2" f
  for f in "$dir"/* "$dir"/.[!.]*; do
    [ -e "$f" ] || continue
    case "$(basename "$f")" in
      ".$name.tmp-"??????) ;;
      *) echo "$f" ;;
    esac
  done
}

# temp_size DIR NAME: size of the largest hidden temp of NAME in DIR (0 when none).
temp_size() {
  local max=0 f s
  for f in "$1"/."$2".tmp-*; do
    [ -e "$f" ] || continue
    s=$(stat -c %s "$f" 2>/dev/null || echo 0)
    [ "$s" -gt "$max" ] && max=$s
  done
  echo "$max"
}

# kill_when_written PID DIR NAME BYTES: SIGKILL PID once a temp of NAME holds ≥ BYTES, or
# right away for BYTES < 0. Bounded: gives up polling after ~200k iterations (kills anyway).
kill_when_written() {
  local pid="$1" dir="$2" name="$3" k="$4" i=0
  if [ "$k" -ge 0 ]; then
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 200000 ]; do
      [ "$(temp_size "$dir" "$name")" -ge "$k" ] && break
      i=$((i + 1))
    done
  fi
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return $?
}

# ---- 1. pack killed with SIGKILL ----
killed=0 completed=0
for ((r = 0; r < RUNS; r++)); do
  rm -rf out && mkdir out
  # k: -1 (immediately), then spread over 0..SIZE.
  if [ "$r" -lt 2 ]; then k=-1; else k=$(( (SIZE / RUNS) * (r - 2) + (RANDOM % 4096) )); fi
  "$C" pack in/noise.wav --royalty paid.yaml --compress never -o out/noise.capsule.wasm \
    >/dev/null 2>&1 </dev/null &
  kill_when_written $! out noise.capsule.wasm "$k"
  st=$?
  if [ -e out/noise.capsule.wasm ]; then
    completed=$((completed + 1))
    if "$C" verify out/noise.capsule.wasm >/dev/null 2>&1; then ok; else bad "pack run $r (k=$k): a final output exists that does not verify"; fi
  else
    killed=$((killed + 1))
    if [ "$st" -eq 0 ]; then bad "pack run $r: exited 0 but wrote no output"; else ok; fi
  fi
  s=$(stray_files out noise.capsule.wasm | grep -v '/noise.capsule.wasm$')
  if [ -z "$s" ]; then ok; else bad "pack run $r (k=$k): unexpected files: $s"; fi
  # The next pack into the same directory (stale temps present) works.
  if [ $((r % 5)) -eq 4 ] || [ "$r" -eq $((RUNS - 1)) ]; then
    rm -f out/noise.capsule.wasm
    if "$C" pack in/noise.wav --royalty paid.yaml --compress never -o out/noise.capsule.wasm >/dev/null 2>err.txt &&
       "$C" verify out/noise.capsule.wasm >/dev/null 2>&1; then ok; else bad "pack after a kill (run $r) failed: $(head -2 err.txt)"; fi
  fi
done
echo "pack: $killed runs killed mid-way, $completed completed before the kill"

# ---- 2. pack with a full disk (RLIMIT_FSIZE) ----
# SIGXFSZ is ignored (inherited through exec) so that write(2) fails with EFBIG, as it would
# with ENOSPC on a full disk, instead of the signal killing the process.
rm -rf out && mkdir out
( trap '' XFSZ; ulimit -f 1024; exec "$C" pack in/noise.wav --royalty paid.yaml --compress never \
    -o out/noise.capsule.wasm ) >stdout.txt 2>err.txt </dev/null
st=$?
if [ "$st" -eq 3 ]; then ok; else bad "pack on a full disk: exit $st, wanted 3 (I/O)"; sed 's/^/    /' err.txt | head -3; fi
if grep -qi 'write\|I/O\|too large\|space' err.txt; then ok; else bad "pack on a full disk: no clear I/O message: $(head -2 err.txt)"; fi
if [ -z "$(ls -A out)" ]; then ok; else bad "pack on a full disk left files: $(ls -A out)"; fi

# ---- 2b. pack, unpack and open stopped by SIGINT or SIGTERM remove their temporaries ----
# Ctrl-C in a terminal, a cancelled CI job: the handler unlinks every temporary still open (an
# unpack's and an open's hold plaintext) and the process dies of the signal. Started from Python,
# whose children get the default SIGINT (a background job of this shell would ignore it, and a
# signal ignored at start stays ignored); the signal is sent once the temporary holds ≥ 1 MiB
# (a bounded poll of its size, no sleeping as timing).
"$C" pack in/noise.wav --royalty paid.yaml --compress never -o sig.capsule.wasm >/dev/null 2>err.txt &&
  "$C" pack in/noise.wav --royalty free.yaml --compress never -o sigfree.capsule.wasm >/dev/null 2>>err.txt ||
  bad "pack for the signal runs failed: $(head -2 err.txt)"
cat >signal_run.py <<'PY'
import glob, os, signal, subprocess, sys
sig, outdir, name = getattr(signal, "SIG" + sys.argv[1]), sys.argv[2], sys.argv[3]
p = subprocess.Popen(sys.argv[4:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     stdin=subprocess.DEVNULL)
for _ in range(2_000_000):
    if p.poll() is not None:
        break
    temps = glob.glob(os.path.join(outdir, "." + name + ".tmp-*"))
    if temps and max(os.path.getsize(t) for t in temps if os.path.exists(t)) >= 1 << 20:
        break
p.send_signal(sig)
print(p.wait())
PY
for sig in INT TERM; do
  for cmd in pack unpack open; do
    rm -rf out && mkdir out
    case $cmd in
      pack) set -- "$C" pack in/noise.wav --royalty paid.yaml --compress never --threads 1 -o out/x ;;
      unpack) set -- "$C" unpack sig.capsule.wasm -o out/x ;;
      open) set -- "$R" open sigfree.capsule.wasm --trust "$CAPSULE_HOME/default.pub" -o out/x ;;
    esac
    st=$(python3 signal_run.py $sig out x "$@")
    if [ -e out/x ]; then
      echo "$cmd SIG$sig: completed before the signal"  # allowed: then it is whole
    elif [ "$st" = "-$(kill -l $sig)" ]; then ok
    else bad "$cmd SIG$sig: exit status $st, wanted death by the signal"; fi
    if [ -z "$(ls -A out | grep -v '^x$')" ]; then ok; else bad "$cmd SIG$sig left: $(ls -A out)"; fi
  done
done

# ---- 3. open -o FILE killed with SIGKILL ----
"$C" pack in/noise.wav --royalty free.yaml --compress never -o free.capsule.wasm >/dev/null 2>err.txt ||
  { bad "pack of the free capsule failed: $(head -2 err.txt)"; }
killed=0 completed=0
for ((r = 0; r < RUNS; r++)); do
  rm -rf out && mkdir out
  if [ "$r" -lt 2 ]; then k=-1; else k=$(( (SIZE / RUNS) * (r - 2) + (RANDOM % 4096) )); fi
  "$R" open free.capsule.wasm --trust "$CAPSULE_HOME/default.pub" -o out/noise.wav >/dev/null 2>&1 </dev/null &
  kill_when_written $! out noise.wav "$k"
  st=$?
  if [ -e out/noise.wav ]; then
    completed=$((completed + 1))
    if cmp -s out/noise.wav in/noise.wav; then ok; else bad "open run $r (k=$k): a final output exists that is not the content"; fi
  else
    killed=$((killed + 1))
    if [ "$st" -eq 0 ]; then bad "open run $r: exited 0 but wrote no output"; else ok; fi
  fi
  s=$(stray_files out noise.wav | grep -v '/noise.wav$')
  if [ -z "$s" ]; then ok; else bad "open run $r (k=$k): unexpected files: $s"; fi
  if [ $((r % 5)) -eq 4 ] || [ "$r" -eq $((RUNS - 1)) ]; then
    rm -f out/noise.wav
    if "$R" open free.capsule.wasm --trust "$CAPSULE_HOME/default.pub" -o out/noise.wav >/dev/null 2>err.txt && cmp -s out/noise.wav in/noise.wav; then ok
    else bad "open after a kill (run $r) failed: $(head -2 err.txt)"; fi
  fi
done
echo "open: $killed runs killed mid-way, $completed completed before the kill"

# ---- 4. open with a full disk ----
rm -rf out && mkdir out
# 3 MiB: room for the sandbox's 2 MiB shared window (a memfd counts against the limit), not for
# the 4 MiB output.
( trap '' XFSZ; ulimit -f 3072; exec "$R" open free.capsule.wasm --trust "$CAPSULE_HOME/default.pub" -o out/noise.wav ) \
  >stdout.txt 2>err.txt </dev/null
st=$?
if [ "$st" -eq 3 ]; then ok; else bad "open on a full disk: exit $st, wanted 3 (I/O)"; sed 's/^/    /' err.txt | head -3; fi
if grep -qi 'write\|I/O\|too large\|space' err.txt; then ok; else bad "open on a full disk: no clear I/O message: $(head -2 err.txt)"; fi
if [ -z "$(ls -A out)" ]; then ok; else bad "open on a full disk left files: $(ls -A out)"; fi
if grep -q 'out/noise.wav' err.txt; then ok; else bad "open on a full disk: the message does not name the output: $(head -2 err.txt)"; fi
# Below the window: refused up front, saying why.
( trap '' XFSZ; ulimit -f 1024; exec "$R" open free.capsule.wasm --trust "$CAPSULE_HOME/default.pub" -o out/noise.wav ) \
  >stdout.txt 2>err.txt </dev/null
st=$?
if [ "$st" -eq 3 ] && grep -q 'shared window.*ulimit -f' err.txt; then ok; else bad "open under a 1 MiB file-size limit: exit $st: $(head -2 err.txt)"; fi
if [ -z "$(ls -A out)" ]; then ok; else bad "open under a 1 MiB file-size limit left files: $(ls -A out)"; fi


# ---- 5. a pay-per-view open killed with SIGKILL: the state store is never left corrupt ----
# The play counter is written (locked, fsynced) before any content; a kill anywhere — at
# start-up, in the store, while streaming — must leave a store that the next open reads, with
# the killed run's play counted at most once: plays go up by 1 or 2 across (killed run + check).
sed -e 's/- type: buy/- type: pay_per_view\n    plays: 1000/' paid.yaml >ppv.yaml
"$C" keygen -o holder >/dev/null
"$C" pack in/noise.wav --royalty ppv.yaml --compress never -o ppv.capsule.wasm >/dev/null 2>err.txt ||
  bad "pack of the pay-per-view capsule failed: $(head -2 err.txt)"
"$C" license issue ppv.capsule.wasm --holder holder.pub --model pay_per_view -o ppv.lic >/dev/null ||
  bad "licence for the pay-per-view capsule"
"$R" ledger grant --ledger file:ledger.json --capsule ppv.capsule.wasm --holder holder.pub >/dev/null ||
  bad "ledger grant"
ppv() { "$R" open ppv.capsule.wasm --trust "$CAPSULE_HOME/default.pub" --license ppv.lic \
          --identity holder.key --ledger file:ledger.json "$@"; }
plays_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["plays_used"])' "$1"; }
rm -rf out && mkdir out
ppv -o - --json >/dev/null 2>first.json </dev/null || bad "first pay-per-view open failed"
before=$(plays_of first.json)
for ((r = 0; r < RUNS; r++)); do
  "$R" open ppv.capsule.wasm --trust "$CAPSULE_HOME/default.pub" --license ppv.lic \
    --identity holder.key --ledger file:ledger.json -o - >/dev/null 2>&1 </dev/null &
  pid=$!  # capsule-run itself (not a shell around it), so the kill reaches it
  # A kill point spread from start-up to streaming: a bounded busy loop of r*r*50 steps (no
  # sleeping: how far the open got varies with scheduling, which is the point).
  for ((i = 0; i < r * r * 50; i++)); do :; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  if ppv -o - --json >/dev/null 2>after.json </dev/null; then ok
  else bad "open after a killed pay-per-view open (run $r) failed: $(grep -o '"code":"[a-z-]*"' after.json)"; fi
  grep -q '"state-corrupt"' after.json && bad "run $r: the state store was left corrupt" || ok
  now=$(plays_of after.json 2>/dev/null || echo -1)
  d=$((now - before))
  if [ "$d" -eq 1 ] || [ "$d" -eq 2 ]; then ok; else bad "run $r: plays went from $before to $now"; fi
  before=$now
done
[ -z "$(find . -name '.*.tmp-*' -newer ppv.lic)" ] && ok || bad "the state store left temporary files"

finish
