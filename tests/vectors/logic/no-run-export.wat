;; No `capsule_run` export → module-bad-exports.
(module
  (memory (export "memory") 1 1)
  (func (export "run") (result i32) (i32.const 0)))
