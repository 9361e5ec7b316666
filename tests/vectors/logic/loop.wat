;; The logic never returns → sandbox-instruction-limit (small --max-instructions) or
;; sandbox-time-limit (huge --max-instructions, small --max-time-ms).
(module
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))
