;; Malicious: 5000 log lines. The host passes 1000, then one notice, then drops the rest.
(module
  (import "capsule_v1" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1 1)
  (data (i32.const 0) "spam")
  (func (export "capsule_run") (result i32)
    (local $i i32)
    (loop $again
      (call $log (i32.const 0) (i32.const 0) (i32.const 4))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 5000))))
    (i32.const 0)))
