;; Well-behaved logic: copies the clear preview to the output; 1 when there is none.
(module
  (import "capsule_v1" "preview_size" (func $preview_size (result i32)))
  (import "capsule_v1" "preview_read" (func $preview_read (param i32 i32 i32) (result i32)))
  (import "capsule_v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32)
    (local $size i32) (local $off i32) (local $n i32)
    (local.set $size (call $preview_size))
    (if (i32.le_s (local.get $size) (i32.const 0)) (then (return (i32.const 1))))
    (block $done
      (loop $pieces
        (br_if $done (i32.ge_u (local.get $off) (local.get $size)))
        (local.set $n (call $preview_read (local.get $off) (i32.const 0) (i32.const 4096)))
        (if (i32.le_s (local.get $n) (i32.const 0)) (then (return (i32.const 2))))
        (if (i32.ne (call $output_write (i32.const 0) (local.get $n)) (local.get $n))
          (then (return (i32.const 3))))
        (local.set $off (i32.add (local.get $off) (local.get $n)))
        (br $pieces)))
    (i32.const 0)))
