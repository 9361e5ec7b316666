;; wat2wasm --enable-threads. A shared memory (threads) → module-feature-refused.
(module
  (memory (export "memory") 1 1 shared)
  (func (export "capsule_run") (result i32) (i32.const 0)))
