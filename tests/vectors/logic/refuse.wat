;; The logic refuses: capsule_run returns 3 → refused-by-logic.
(module
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32) (i32.const 3)))
