;; wat2wasm: --enable-exceptions
;; Refused feature: exception handling → module-feature-refused.
(module
  (memory (export "memory") 1 1)
  (tag $oops)
  (func (export "capsule_run") (result i32) (throw $oops)))
