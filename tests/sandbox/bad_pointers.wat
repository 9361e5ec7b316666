;; Malicious pointers: every host call below must answer CAPSULE_E_BOUNDS (-1) without trapping
;; and without touching memory. Returns 0 when all did, else the failing step.
(module
  (import "capsule_v1" "manifest_read" (func $manifest_read (param i32 i32 i32) (result i32)))
  (import "capsule_v1" "terms_read" (func $terms_read (param i32 i32 i32) (result i32)))
  (import "capsule_v1" "chunk_read" (func $chunk_read (param i32 i32 i32 i32) (result i32)))
  (import "capsule_v1" "preview_read" (func $preview_read (param i32 i32 i32) (result i32)))
  (import "capsule_v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (import "capsule_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32)
    ;; 0xFFFFFFF0 + 0x20 wraps around in 32 bits
    (if (i32.ne (call $output_write (i32.const 0xFFFFFFF0) (i32.const 0x20)) (i32.const -1))
      (then (return (i32.const 1))))
    ;; a buffer straddling the end of memory
    (if (i32.ne (call $manifest_read (i32.const 0) (i32.const 65532) (i32.const 8)) (i32.const -1))
      (then (return (i32.const 2))))
    ;; len = 0xFFFFFFFF
    (if (i32.ne (call $terms_read (i32.const 0) (i32.const 0) (i32.const -1)) (i32.const -1))
      (then (return (i32.const 3))))
    (if (i32.ne (call $chunk_read (i32.const 0) (i32.const 0) (i32.const 0xFFFFFFF0)
                                  (i32.const 0x20)) (i32.const -1))
      (then (return (i32.const 4))))
    (if (i32.ne (call $preview_read (i32.const 0) (i32.const 65536) (i32.const 1)) (i32.const -1))
      (then (return (i32.const 5))))
    (if (i32.ne (call $output_write (i32.const 1) (i32.const 65536)) (i32.const -1))
      (then (return (i32.const 6))))
    ;; in bounds: ending exactly at the end of memory, and an empty range at the very end
    (if (i32.lt_s (call $manifest_read (i32.const 0) (i32.const 65520) (i32.const 16)) (i32.const 0))
      (then (return (i32.const 7))))
    (if (i32.ne (call $output_write (i32.const 65536) (i32.const 0)) (i32.const 0))
      (then (return (i32.const 8))))
    ;; log has no result: a bad range is ignored
    (call $log (i32.const 0) (i32.const 0xFFFFFFF0) (i32.const 0x20))
    (i32.const 0)))
