;; Malicious: a capsule_v1 name that the ABI does not define → module-forbidden-import.
(module
  (import "capsule_v1" "open_file" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32) (i32.const 0)))
