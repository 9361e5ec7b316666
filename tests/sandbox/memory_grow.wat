;; memory.grow past the declared maximum (2 pages) returns -1; the guest checks it. 0 = as
;; expected, else the failing step.
(module
  (memory (export "memory") 1 2)
  (func (export "capsule_run") (result i32)
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const 1)) (then (return (i32.const 1))))
    (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then (return (i32.const 2))))
    (if (i32.ne (memory.grow (i32.const 0xFFFF)) (i32.const -1)) (then (return (i32.const 3))))
    (if (i32.ne (memory.size) (i32.const 2)) (then (return (i32.const 4))))
    (i32.const 0)))
