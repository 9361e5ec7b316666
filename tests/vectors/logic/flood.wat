;; The logic writes 64 KiB blocks forever, more than content + preview + 64 KiB
;; → sandbox-output-limit.
(module
  (import "capsule_v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32)
    (loop $flood
      (br_if $flood (i32.eq (call $output_write (i32.const 0) (i32.const 65536))
                            (i32.const 65536))))
    (i32.const 0)))
