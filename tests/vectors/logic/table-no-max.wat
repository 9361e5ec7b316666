;; A table without a maximum → module-table-too-large.
(module
  (memory (export "memory") 1 1)
  (table 1 funcref)
  (func (export "capsule_run") (result i32) (i32.const 0)))
