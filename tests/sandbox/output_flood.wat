;; Malicious: writes 64 KiB blocks forever, more than any content → sandbox-output-limit.
(module
  (import "capsule_v1" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32)
    (loop $flood
      (br_if $flood (i32.eq (call $output_write (i32.const 0) (i32.const 65536))
                            (i32.const 65536))))
    (i32.const 9)))
