;; Reads the terms in 7-byte pieces and writes each out, then reads once past their end (which
;; must be a range error, -2). Returns 0, or the failing step. The sandbox child serves these
;; reads from the terms that came with Go when they fit there (docs/sandbox.md §3), else asks.
(module
  (import "capsule_v1" "terms_size" (func $terms_size (result i32)))
  (import "capsule_v1" "terms_read" (func $terms_read (param i32 i32 i32) (result i32)))
  (import "capsule_v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32)
    (local $size i32) (local $off i32) (local $n i32)
    (local.set $size (call $terms_size))
    (block $done
      (loop $next
        (local.set $n (call $terms_read (local.get $off) (i32.const 0) (i32.const 7)))
        (br_if $done (i32.eqz (local.get $n)))
        (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (i32.const 1))))
        (drop (call $output_write (i32.const 0) (local.get $n)))
        (local.set $off (i32.add (local.get $off) (local.get $n)))
        (br $next)))
    (if (i32.ne (local.get $off) (local.get $size)) (then (return (i32.const 2))))
    (if (i32.ne (call $terms_read (i32.add (local.get $size) (i32.const 1)) (i32.const 0)
                                  (i32.const 7))
                (i32.const -2))
      (then (return (i32.const 3))))
    (i32.const 0)))
