;; Malicious: never returns. Stopped by the instruction budget, or by the wall clock when the
;; budget is huge.
(module
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
