;; Guest for the host-call micro-benchmarks (bench/micro/host_call_bench.cc). It makes
;; manifest_size() calls of clock_now_ms (the cheapest host call: one round trip, 8 bytes back),
;; then copies every payload chunk to the output in pieces of up to 64 KiB, as the bundled
;; template does. The host picks the workload: a manifest of N bytes = N calls; chunks = bytes.
(module
  (import "capsule_v1" "manifest_size" (func $manifest_size (result i32)))
  (import "capsule_v1" "clock_now_ms" (func $clock_now_ms (result i64)))
  (import "capsule_v1" "chunk_count" (func $chunk_count (result i32)))
  (import "capsule_v1" "chunk_size" (func $chunk_size (param i32) (result i32)))
  (import "capsule_v1" "chunk_read" (func $chunk_read (param i32 i32 i32 i32) (result i32)))
  (import "capsule_v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 2 2)
  (func (export "capsule_run") (result i32)
    (local $calls i32) (local $count i32) (local $i i32) (local $size i32) (local $off i32)
    (local $n i32)
    (local.set $calls (call $manifest_size))
    (block $calls_done
      (loop $clock
        (br_if $calls_done (i32.le_s (local.get $calls) (i32.const 0)))
        (drop (call $clock_now_ms))
        (local.set $calls (i32.sub (local.get $calls) (i32.const 1)))
        (br $clock)))
    (local.set $count (call $chunk_count))
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $size (call $chunk_size (local.get $i)))
        (local.set $off (i32.const 0))
        (block $chunk_done
          (loop $pieces
            (br_if $chunk_done (i32.ge_u (local.get $off) (local.get $size)))
            (local.set $n (call $chunk_read (local.get $i) (local.get $off)
                                            (i32.const 0) (i32.const 65536)))
            (if (i32.le_s (local.get $n) (i32.const 0)) (then (return (i32.const 6))))
            (if (i32.ne (call $output_write (i32.const 0) (local.get $n)) (local.get $n))
              (then (return (i32.const 7))))
            (local.set $off (i32.add (local.get $off) (local.get $n)))
            (br $pieces)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $chunks)))
    (i32.const 0)))
