;; Malicious: capsule_run takes a parameter → module-bad-exports.
(module
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (param i32) (result i32) (local.get 0)))
