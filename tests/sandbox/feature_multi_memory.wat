;; wat2wasm: --enable-multi-memory
;; Refused feature: two memories → module-feature-refused.
(module
  (memory (export "memory") 1 1)
  (memory 1 1)
  (func (export "capsule_run") (result i32) (i32.const 0)))
