;; A memory without a maximum → module-memory-unbounded.
(module
  (memory (export "memory") 1)
  (func (export "capsule_run") (result i32) (i32.const 0)))
