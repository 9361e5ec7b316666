;; Malicious: the loop is in the start function, which wabt would run inside Instantiate,
;; unmetered. The sandbox runs it metered instead.
(module
  (memory (export "memory") 1 1)
  (func $spin (loop $forever (br $forever)))
  (start $spin)
  (func (export "capsule_run") (result i32) (i32.const 0)))
