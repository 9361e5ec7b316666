#!/usr/bin/env bash
# The capsule logic SDK through the CLIs: `logic new` gives a project whose test passes;
# `logic build` of the bundled template reproduces its code hash; the shout example
# (examples/logic/shout) is built, packed with --logic, reported as custom by inspect, opened
# with capsule-run (uppercased output), accepted by --trust-logic with its hash and refused with
# another; `logic build` refuses WASI imports, memories without a maximum, bad exports and
# compiler errors with their exit codes and reasons.
. "$(dirname "$0")/lib.sh" logic
C="${CAPSULEC:?}"
R="${CAPSULE_RUN:?}"
S="${CAPSULE_SOURCE_DIR:?}"

"$C" keygen >/dev/null
CREATOR="$CAPSULE_HOME/default.pub"

# ---- logic new: a starter project that builds, packs, opens ----
expect 0 "logic new" -- "$C" logic new starter1
for f in starter1.c capsule_v1.h test.sh README.md; do [ -f starter1/$f ] && ok || bad "logic new: $f missing"; done
cmp -s starter1/capsule_v1.h "$S/templates/capsule_v1.h" && ok || bad "logic new: header differs from templates/"
grep -q '@NAME@' starter1/* && bad "logic new: placeholder left" || ok
expect 2 "logic new over an existing dir" -- "$C" logic new starter1 --json
contains out.txt '"code":"output-exists"' "logic new refuses an existing directory"
expect 2 "logic new bad name" -- "$C" logic new 'bad name!'
expect 2 "logic new name starting with -" -- "$C" logic new -- -x
[ ! -e ./-x ] && ok || bad "logic new -x created a directory"
expect 0 "starter test.sh" -- env CAPSULEC="$C" CAPSULE_RUN="$R" bash starter1/test.sh
contains out.txt "starter1: OK" "starter test.sh passes"

# ---- the bundled template, built by `logic build`, is byte-identical code ----
printf 'bundled\n' >b.txt
"$C" pack b.txt --royalty "$S/examples/poem-free.yaml" -o b.capsule.wasm >/dev/null || bad "pack bundled"
BUNDLED=$("$C" inspect b.capsule.wasm --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["code"]["sha256"])')
expect 0 "logic build --help" -- "$C" logic build --help
contains out.txt "Examples:" "logic build --help has an example"
contains out.txt "CAPSULE_CLANG" "logic build --help names the compiler override"
# $CAPSULE_CLANG names the compiler; a failure names the one that was used.
CAPSULE_CLANG=/bin/false expect 4 "logic build with a failing compiler" -- "$C" logic build "$S/templates/free.c" -o never.wasm
contains err.txt "compilation failed (/bin/false)" "the compiler used is named"
expect 0 "logic build free.c" -- "$C" logic build "$S/templates/free.c" -o free.wasm --json
contains out.txt "\"code_sha256\":\"$BUNDLED\"" "logic build reproduces the bundled template's code hash"

# ---- the shout example: build, pack, inspect, open ----
expect 0 "logic build shout.c" -- "$C" logic build "$S/examples/logic/shout/shout.c" -o shout.wasm --json
HASH=$(python3 -c 'import json; print(json.load(open("out.txt"))["code_sha256"])')
[ ${#HASH} -eq 64 ] && ok || bad "logic build --json gives a code hash"
expect 0 "logic build shout.wasm (already compiled)" -- "$C" logic build shout.wasm -o shout2.wasm
cmp -s shout.wasm shout2.wasm && ok || bad "optimising an optimised module changed it"
# A rebuild replaces the old module; any other existing file (a key) needs --force.
expect 0 "logic build over its previous module" -- "$C" logic build shout.wasm -o shout2.wasm
"$C" keygen -o precious >/dev/null && cp precious.key precious.orig
expect 2 "logic build over a key" -- "$C" logic build shout.wasm -o precious.key --json
contains out.txt '"code":"output-exists"' "logic build over a key: reason"
cmp -s precious.key precious.orig && ok || bad "logic build replaced a key"
# Features the sandbox allows beyond the MVP (host-abi.md §3) build, pack and run.
printf '(module (import "capsule_v1" "output_write" (func $w (param i32 i32) (result i32)))
 (memory (export "memory") 1 1) (data (i32.const 16) "bulk!")
 (func (export "capsule_run") (result i32)
  (memory.copy (i32.const 0) (i32.const 16) (i32.const 5))
  (drop (call $w (i32.const 0) (i32.extend8_s (i32.const 5))))
  (i32.const 0)))
' >bulk.wat
wat2wasm bulk.wat -o bulk.raw.wasm || bad "wat2wasm bulk.wat"
expect 0 "logic build with bulk memory and sign extension" -- "$C" logic build bulk.raw.wasm -o bulk.wasm
"$C" pack b.txt --royalty "$S/examples/poem-free.yaml" --logic bulk.wasm -o bulk.capsule.wasm >/dev/null || bad "pack bulk"
expect 0 "open bulk" -- "$R" open bulk.capsule.wasm --trust "$CREATOR" -o bulk.out
[ "$(cat bulk.out)" = "bulk!" ] && ok || bad "bulk-memory logic released '$(cat bulk.out)'"
printf 'Hello, capsule world.\nZweite Zeile: grüße!\n' >poem.txt
expect 0 "pack --logic" -- "$C" pack poem.txt --royalty "$S/examples/poem-free.yaml" --logic shout.wasm -o poem.capsule.wasm --json
contains out.txt "\"code_sha256\":\"$HASH\"" "pack reports the custom code hash"
expect 0 "inspect" -- "$C" inspect poem.capsule.wasm
contains out.txt "custom (sha256 $HASH)" "inspect says custom logic with its hash"
expect 0 "open (shout)" -- "$R" open poem.capsule.wasm --trust "$CREATOR" -o shouted.txt
tr 'a-z' 'A-Z' <poem.txt >want.txt  # ASCII only: the ü and ß bytes pass through
cmp -s want.txt shouted.txt && ok || bad "shout output differs: $(head -c 200 shouted.txt)"
contains err.txt "shout: raised 28 letters" "the logic's log line is shown"
expect 0 "open --trust-logic HASH" -- "$R" open poem.capsule.wasm --trust "$CREATOR" --trust-logic "$HASH" -o shouted2.txt --force
expect 7 "open --trust-logic other" -- "$R" open poem.capsule.wasm --trust "$CREATOR" --trust-logic "$BUNDLED" -o x.txt --json
contains out.txt '"untrusted-logic"' "a wrong --trust-logic refuses (untrusted-logic)"
[ -e x.txt ] && bad "refused open wrote output" || ok
# --trust-logic takes a SHA-256 in either case; anything else is a usage error.
UPPER=$(echo "$HASH" | tr 'a-f' 'A-F')
expect 0 "open --trust-logic HASH in upper case" -- "$R" open poem.capsule.wasm --trust "$CREATOR" --trust-logic "$UPPER" -o shouted3.txt
expect 2 "open --trust-logic zz" -- "$R" open poem.capsule.wasm --trust "$CREATOR" --trust-logic zz -o x.txt
contains err.txt "64 hex digits" "a malformed --trust-logic: said so"
# Logic that refuses: exit 7, outcome "refused" (it ran), the capsule named.
printf '#include "capsule_v1.h"\n__attribute__((export_name("capsule_run"))) int32_t capsule_run(void) { return 42; }\n' >refuse.c
"$C" logic build refuse.c -o refuse.wasm >/dev/null || bad "logic build refuse.c"
"$C" pack poem.txt --royalty "$S/examples/poem-free.yaml" --logic refuse.wasm -o refuse.capsule.wasm >/dev/null || bad "pack refuse"
expect 7 "open, logic refuses" -- "$R" open refuse.capsule.wasm --trust "$CREATOR" -o refused.txt --json
jcheck out.txt "j.outcome === 'refused' && j.error.code === 'refused-by-logic' && j.instructions > 0" "a refusal by the logic is reported as refused, with what it ran"
contains err.txt "refuse.capsule.wasm: the capsule logic refused" "a refusal by the logic names the capsule"
[ ! -e refused.txt ] && ok || bad "a refused open left output"
expect 7 "test, logic refuses" -- "$R" test refuse.capsule.wasm --trust "$CREATOR"
contains out.txt "decision: refused (refused-by-logic)" "test says refused"
# A run the sandbox stops reports what it ran (the budget, exactly; the child checks the wall
# clock too): never a false 0.
printf '#include "capsule_v1.h"\n__attribute__((export_name("capsule_run"))) int32_t capsule_run(void) { volatile int x = 0; for (;;) x++; }\n' >spin.c
"$C" logic build spin.c -o spin.wasm >/dev/null || bad "logic build spin.c"
"$C" pack poem.txt --royalty "$S/examples/poem-free.yaml" --logic spin.wasm -o spin.capsule.wasm >/dev/null || bad "pack spin"
expect 8 "a spinning logic hits the instruction budget" -- "$R" test spin.capsule.wasm --trust "$CREATOR" --max-instructions 5000 --json
jcheck out.txt "j.outcome === 'stopped' && j.error.code === 'sandbox-instruction-limit' && j.instructions === 5000" "a run stopped at its budget reports the budget"
expect 8 "test, the budget in text" -- "$R" test spin.capsule.wasm --trust "$CREATOR" --max-instructions 5000
contains out.txt "instructions: 5000" "test says what a stopped run ran"
expect 8 "a spinning logic hits the wall clock" -- "$R" test spin.capsule.wasm --trust "$CREATOR" --max-time-ms 200 --json
jcheck out.txt "j.outcome === 'stopped' && j.error.code === 'sandbox-time-limit' && j.instructions > 5000" "a run stopped by the wall clock reports what it ran"
# The parent ends a run that writes beyond the output cap: no count comes back from the child.
printf '#include "capsule_v1.h"\nstatic char block[65536];\n__attribute__((export_name("capsule_run"))) int32_t capsule_run(void) { while (capsule_output_write(block, sizeof block) == (int32_t)sizeof block) {} return 9; }\n' >flood.c
"$C" logic build flood.c -o flood.wasm >/dev/null || bad "logic build flood.c"
"$C" pack poem.txt --royalty "$S/examples/poem-free.yaml" --logic flood.wasm -o flood.capsule.wasm >/dev/null || bad "pack flood"
expect 8 "a flooding logic hits the output cap" -- "$R" test flood.capsule.wasm --trust "$CREATOR" --json
jcheck out.txt "j.outcome === 'stopped' && j.error.code === 'sandbox-output-limit' && !('instructions' in j)" "a run the parent stopped has no instruction count"
expect 2 "pack --logic missing" -- "$C" pack poem.txt --royalty "$S/examples/poem-free.yaml" --logic nope.wasm -o y.capsule.wasm
# --reproducible: the code is part of the settings, so the logic changes the capsule id.
head -c 32 /dev/urandom >seed.bin
"$C" pack poem.txt --royalty "$S/examples/poem-free.yaml" --reproducible seed.bin -o r1.capsule.wasm --json >r1.json
"$C" pack poem.txt --royalty "$S/examples/poem-free.yaml" --reproducible seed.bin --logic shout.wasm -o r2.capsule.wasm --json >r2.json
"$C" pack poem.txt --royalty "$S/examples/poem-free.yaml" --reproducible seed.bin --logic shout.wasm -o r3.capsule.wasm --json >r3.json
id() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["capsule_id"])' "$1"; }
[ "$(id r1.json)" != "$(id r2.json)" ] && ok || bad "--reproducible ignores --logic"
cmp -s r2.capsule.wasm r3.capsule.wasm && ok || bad "--reproducible with --logic is not byte-identical"

# ---- refusals ----
cat >wasi.c <<'C'
#include "capsule_v1.h"
__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write")))
int32_t fd_write(int32_t, int32_t, int32_t, int32_t);
__attribute__((export_name("capsule_run"))) int32_t capsule_run(void) { return fd_write(1, 0, 0, 0); }
C
expect 7 "WASI import" -- "$C" logic build wasi.c -o wasi.wasm --json
contains out.txt '"module-forbidden-import"' "WASI import refused (module-forbidden-import)"
contains err.txt "wasi_snapshot_preview1" "the message names the import"
[ -e wasi.wasm ] && bad "refused build wrote output" || ok
cat >nomax.wat <<'W'
(module
  (import "capsule_v1" "clock_now_ms" (func $now (result i64)))
  (memory (export "memory") 2)
  (func (export "capsule_run") (result i32) i32.const 0))
W
wat2wasm nomax.wat -o nomax.wasm || bad "wat2wasm nomax"
expect 7 "memory without maximum" -- "$C" logic build nomax.wasm -o n.wasm --json
contains out.txt '"module-memory-unbounded"' "memory without a maximum refused (module-memory-unbounded)"
cat >noexport.wat <<'W'
(module (memory (export "memory") 2 2) (func (export "main") (result i32) i32.const 0))
W
wat2wasm noexport.wat -o noexport.wasm || bad "wat2wasm noexport"
expect 7 "no capsule_run" -- "$C" logic build noexport.wasm -o e.wasm --json
contains out.txt '"module-bad-exports"' "missing capsule_run refused (module-bad-exports)"
printf 'int32_t capsule_run(void) { return undeclared; }\n' >broken.c
expect 4 "compiler error" -- "$C" logic build broken.c -o b.wasm --json
contains out.txt '"bad-template"' "compiler error reported as bad-template"
contains err.txt "undeclared" "the compiler's message is shown"
printf 'not wasm' >junk.wasm
expect 4 "junk .wasm" -- "$C" logic build junk.wasm -o j.wasm
expect 7 "pack --logic with a WASI module" -- "$C" pack poem.txt --royalty "$S/examples/poem-free.yaml" --logic nomax.wasm -o z.capsule.wasm

[ -z "$(find . -name '.*.tmp-*')" ] && ok || bad "temporary files left behind"
finish
