;; Malicious: memory not exported → module-bad-exports.
(module
  (memory 1 1)
  (func (export "capsule_run") (result i32) (i32.const 0)))
