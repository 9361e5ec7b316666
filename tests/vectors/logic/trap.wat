;; The logic traps (`unreachable`) → sandbox-trap.
(module
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32) (unreachable)))
