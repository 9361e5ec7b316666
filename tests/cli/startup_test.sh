#!/usr/bin/env bash
# What `capsule-run open` does before its first output byte (issue 6): a file-ledger open never
# loads libcurl (an evm: ledger loads it on first use); the clock rule's write lands before the
# first byte even when the reader goes away right after it, and a counted play needs no
# separate one; without a loadable libcrypto, Nettle does the same work. (The missing-libcurl
# error: tests/unit/startup_test.cc.)
. "$(dirname "$0")/lib.sh" startup
C="${CAPSULEC:?}"
R="${CAPSULE_RUN:?}"

"$C" keygen >/dev/null
"$C" keygen -o bob >/dev/null
CREATOR="$CAPSULE_HOME/default.pub"
{
  manifest_head "Start-up test"
  cat <<'YAML'
  - type: buy
    price: "5"
    currency: ELA
  - type: pay_per_view
    price: "1"
    currency: ELA
    plays: 5
YAML
} >m.yaml
cp /usr/share/common-licenses/GPL-3 gpl.txt
"$C" pack gpl.txt --royalty m.yaml >/dev/null || bad "pack"
"$C" license issue gpl.capsule.wasm --holder bob.pub --model buy -o buy.lic >/dev/null || bad "licence"
"$C" license issue gpl.capsule.wasm --holder bob.pub --model pay_per_view -o ppv.lic >/dev/null ||
  bad "ppv licence"
"$R" ledger grant --ledger file:ledger.json --capsule gpl.capsule.wasm --holder bob.pub >/dev/null ||
  bad "grant"
open_args=(open gpl.capsule.wasm --trust "$CREATOR" --identity bob.key)

# libcurl: not mapped by a file-ledger open (LD_DEBUG lists every library the loader opens).
LD_DEBUG=libs "$R" "${open_args[@]}" --license buy.lic --ledger file:ledger.json -o gpl.out \
  >/dev/null 2>ld.txt </dev/null || bad "file-ledger open failed: $(grep capsule-run ld.txt | head -2)"
cmp -s gpl.out gpl.txt && ok || bad "file-ledger open: content differs"
grep -q 'libsodium' ld.txt && ok || bad "LD_DEBUG=libs did not list the libraries (cannot check)"
grep -q 'libcurl' ld.txt && bad "a file-ledger open loaded libcurl" || ok
# …nor libcrypto: a small content is released with Nettle alone (format/crypto.cc).
grep -q 'calling init: .*libcrypto' ld.txt && bad "a 35 KB open loaded libcrypto" || ok
# …and loaded on demand by an evm: ledger (which checks its URL with curl's parser, then refuses
# this capsule: it names no chain).
LD_DEBUG=libs "$R" "${open_args[@]}" --license buy.lic --ledger evm:http://127.0.0.1:1 \
  --rpc-timeout-ms 2000 -o evm.out --json >out.txt 2>ld.txt </dev/null
st=$?
[ "$st" -eq 2 ] && ok || bad "evm: open of a capsule without a chain block: exit $st, wanted 2"
grep -q 'no `chain` block' out.txt && ok || bad "evm: unexpected error: $(head -c 300 out.txt)"
grep -q 'libcurl' ld.txt && ok || bad "the evm: ledger did not load libcurl"
[ ! -e evm.out ] && ok || bad "a failed evm: open left output"

# libcrypto is loaded with dlopen when bulk work starts (format/crypto.cc); where it cannot be
# (here an unloadable file first on the library path), Nettle does the same work: the same
# capsule from the same seed, a clean verify, the same content out.
mkdir -p nolib && printf 'not a library' >nolib/libcrypto.so.3
head -c 64 /dev/urandom >seed.bin
LD_DEBUG=libs "$C" pack gpl.txt --royalty m.yaml --reproducible seed.bin -o with.capsule.wasm \
  >/dev/null 2>ld.txt </dev/null || bad "reproducible pack"
grep -q 'calling init: .*libcrypto' ld.txt && ok || bad "pack did not load libcrypto"
LD_LIBRARY_PATH=nolib LD_DEBUG=libs "$C" pack gpl.txt --royalty m.yaml --reproducible seed.bin \
  -o without.capsule.wasm >/dev/null 2>ld.txt </dev/null || bad "pack without libcrypto"
grep -q 'trying file=nolib/libcrypto.so.3' ld.txt && ok || bad "the unloadable libcrypto was not tried"
grep -q 'calling init: .*libcrypto' ld.txt && bad "pack loaded a libcrypto after all" || ok
# …and says so (the result stands, but it was slower), naming the library and its fault.
grep -q "capsulec: warning: OpenSSL's libcrypto could not be used (nolib/libcrypto.so.3: " ld.txt &&
  ok || bad "pack without libcrypto did not warn: $(grep -v '^ *[0-9]*:' ld.txt | head -c 300)"
cmp -s with.capsule.wasm without.capsule.wasm && ok || bad "Nettle and libcrypto packed different bytes"
LD_LIBRARY_PATH=nolib "$C" verify without.capsule.wasm >/dev/null 2>err.txt </dev/null && ok ||
  bad "verify without libcrypto"
grep -q "capsulec: warning: OpenSSL's libcrypto could not be used" err.txt && ok ||
  bad "verify without libcrypto did not warn"
"$C" verify without.capsule.wasm >/dev/null 2>err.txt </dev/null && ok || bad "verify"
grep -q "warning" err.txt && bad "verify with libcrypto warned: $(head -c 300 err.txt)" || ok
# --version names the implementations; without libcrypto, why it is not among them.
"$C" --version >ver.txt && grep -q '^crypto: OpenSSL 3\.' ver.txt && grep -q 'Nettle 3\.' ver.txt &&
  ok || bad "capsulec --version: $(cat ver.txt)"
LD_LIBRARY_PATH=nolib "$R" --version >ver.txt &&
  grep -q '^crypto: Nettle 3\.[0-9]*: all symmetric crypto (libcrypto: nolib/libcrypto.so.3: ' ver.txt &&
  ok || bad "capsule-run --version without libcrypto: $(cat ver.txt)"
"$C" license issue with.capsule.wasm --holder bob.pub --model buy -o with.lic >/dev/null ||
  bad "licence for the reproducible capsule"
"$R" ledger grant --ledger file:ledger.json --capsule with.capsule.wasm --holder bob.pub \
  >/dev/null || bad "grant for the reproducible capsule"
LD_LIBRARY_PATH=nolib "$R" open without.capsule.wasm --trust "$CREATOR" --identity bob.key \
  --license with.lic --ledger file:ledger.json -o nolib.out </dev/null 2>err.txt || bad "open without libcrypto"
cmp -s nolib.out gpl.txt && ok || bad "open without libcrypto: content differs"
# A small content never asks for libcrypto: nothing to warn about.
grep -q "warning" err.txt && bad "a 35 KB open warned: $(head -c 300 err.txt)" || ok

# A large content (here 9 MB of text) loads libcrypto once its first byte is out.
head -c 6750000 /dev/urandom | base64 -w 76 >large.txt
"$C" pack large.txt --royalty m.yaml >/dev/null || bad "pack large.txt"
"$C" license issue large.capsule.wasm --holder bob.pub --model buy -o large.lic >/dev/null ||
  bad "licence for large.txt"
"$R" ledger grant --ledger file:ledger.json --capsule large.capsule.wasm --holder bob.pub \
  >/dev/null || bad "grant for large.txt"
LD_DEBUG=libs "$R" open large.capsule.wasm --trust "$CREATOR" --identity bob.key --license large.lic \
  --ledger file:ledger.json -o large.out </dev/null 2>ld.txt || bad "open of large.txt"
cmp -s large.out large.txt && ok || bad "open of large.txt: content differs"
grep -q 'calling init: .*libcrypto' ld.txt && ok || bad "a 9 MB open did not load libcrypto"
grep -q "warning" ld.txt && bad "a 9 MB open with libcrypto warned" || ok
# Without it, Nettle releases the same content and the open says why it was slower.
LD_LIBRARY_PATH=nolib "$R" open large.capsule.wasm --trust "$CREATOR" --identity bob.key \
  --license large.lic --ledger file:ledger.json -o large2.out </dev/null 2>err.txt ||
  bad "open of large.txt without libcrypto"
cmp -s large2.out large.txt && ok || bad "open of large.txt without libcrypto: content differs"
grep -q "capsule-run: warning: OpenSSL's libcrypto could not be used (nolib/libcrypto.so.3: " err.txt &&
  ok || bad "a 9 MB open without libcrypto did not warn: $(head -c 300 err.txt)"

# The clock rule: a fresh store has seen nothing; an open whose reader takes one byte and
# leaves has still raised the store's time before that byte (it is durable before release).
last_seen() { python3 -c 'import glob,json,sys
m=max(glob.glob(sys.argv[1]+"/manifest.*.json"), key=lambda p: int(p.split(".")[-2]))
print(json.load(open(m))["last_seen"])' "$1"; }
before=$(date +%s)
"$R" "${open_args[@]}" --license buy.lic --ledger file:ledger.json --state-dir st -o - \
  2>/dev/null </dev/null | head -c 1 >first.txt
after=$(date +%s)
[ "$(wc -c <first.txt)" -eq 1 ] && ok || bad "no first byte"
seen=$(last_seen st 2>/dev/null || echo 0)
if [ "$seen" -ge "$before" ] && [ "$seen" -le "$after" ]; then ok
else bad "last_seen $seen after an open at $before..$after"; fi
[ -z "$(find st -name '.*.tmp-*')" ] && ok || bad "the state store kept temporaries"

# A counted play raises the time in its own commit: one manifest, naming the play.
"$R" "${open_args[@]}" --license ppv.lic --ledger file:ledger.json --state-dir st2 -o ppv.out \
  --json >ppv.json 2>/dev/null </dev/null || bad "pay-per-view open failed"
[ "$(jget ppv.json plays_used)" = 1 ] && ok || bad "pay-per-view: $(cat ppv.json)"
seen=$(last_seen st2 2>/dev/null || echo 0)
[ "$seen" -ge "$before" ] && ok || bad "pay-per-view: last_seen $seen"
[ "$(ls st2 | grep -c '^manifest\.')" -eq 1 ] && ok || bad "pay-per-view: $(ls st2)"

finish
