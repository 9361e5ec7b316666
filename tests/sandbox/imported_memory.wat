;; Malicious: imports its memory (the host would have to provide one) → module-forbidden-import.
(module
  (import "capsule_v1" "memory" (memory 1 1))
  (export "memory" (memory 0))
  (func (export "capsule_run") (result i32) (i32.const 0)))
