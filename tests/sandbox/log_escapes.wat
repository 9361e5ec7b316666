;; Malicious logs: terminal escape sequences, controls, C1 CSI, a bidi override, invalid UTF-8, a
;; 3000-byte line and an out-of-range level. The host must strip, cap and clamp them.
(module
  (import "capsule_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0)
    "\1b[31mred\1b[0m plain\09tab\0d\0abell\07 \1b]0;evil title\07after \c2\9b31m c1 \e2\80\ae bidi")
  (data (i32.const 200) "\ff\fe\00ok")
  (func (export "capsule_run") (result i32)
    (call $log (i32.const 0) (i32.const 0) (i32.const 76))
    (call $log (i32.const 7) (i32.const 200) (i32.const 5))
    (memory.fill (i32.const 1000) (i32.const 0x41) (i32.const 3000))
    (call $log (i32.const 1) (i32.const 1000) (i32.const 3000))
    (i32.const 0)))
