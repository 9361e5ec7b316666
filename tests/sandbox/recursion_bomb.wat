;; Malicious: unbounded recursion. wabt's call stack (1638 frames) ends it with a trap, not a
;; crash → sandbox-trap.
(module
  (memory (export "memory") 1 1)
  (func $down (param i32) (result i32)
    (call $down (i32.add (local.get 0) (i32.const 1))))
  (func (export "capsule_run") (result i32) (call $down (i32.const 0))))
