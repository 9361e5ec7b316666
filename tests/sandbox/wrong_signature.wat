;; Malicious: imports capsule_v1.output_write with the wrong type → module-forbidden-import.
(module
  (import "capsule_v1" "output_write" (func (param i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32) (i32.const 0)))
