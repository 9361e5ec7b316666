;; Malicious: a table of 1,000,000 elements (cap 10,000) → module-table-too-large.
(module
  (memory (export "memory") 1 1)
  (table 1000000 1000000 funcref)
  (func (export "capsule_run") (result i32) (i32.const 0)))
