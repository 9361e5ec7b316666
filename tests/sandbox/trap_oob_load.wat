;; Traps: a load outside linear memory → sandbox-trap (never a host crash).
(module
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32) (i32.load (i32.const 0xFFFFFFFC))))
