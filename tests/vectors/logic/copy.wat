;; Custom logic that releases the content as it is: copies every chunk to the output (expect ok).
(module
  (import "capsule_v1" "chunk_count" (func $chunk_count (result i32)))
  (import "capsule_v1" "chunk_read" (func $chunk_read (param i32 i32 i32 i32) (result i32)))
  (import "capsule_v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32)
    (local $count i32) (local $i i32) (local $off i32) (local $n i32)
    (local.set $count (call $chunk_count))
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (local.set $off (i32.const 0))
        (block $chunk_done
          (loop $pieces
            (local.set $n (call $chunk_read (local.get $i) (local.get $off)
                                            (i32.const 0) (i32.const 4096)))
            (br_if $chunk_done (i32.eqz (local.get $n)))
            (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (i32.const 2))))
            (if (i32.ne (call $output_write (i32.const 0) (local.get $n)) (local.get $n))
              (then (return (i32.const 3))))
            (local.set $off (i32.add (local.get $off) (local.get $n)))
            (br $pieces)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $chunks)))
    (i32.const 0)))
