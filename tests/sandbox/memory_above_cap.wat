;; Malicious: a maximum one page above the default 64 MiB cap (1025 pages).
(module
  (memory (export "memory") 1 1025)
  (func (export "capsule_run") (result i32) (i32.const 0)))
