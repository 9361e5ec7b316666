;; Malicious: a memory without a maximum can grow without bound → module-memory-unbounded.
(module
  (memory (export "memory") 1)
  (func (export "capsule_run") (result i32)
    (loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (i32.const 0)))
