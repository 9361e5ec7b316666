;; Malicious: grows its table at run time. table.grow belongs to reference types, which the
;; sandbox refuses → module-feature-refused (the module never runs).
(module
  (memory (export "memory") 1 1)
  (table 1 10 funcref)
  (func (export "capsule_run") (result i32)
    (loop $grow
      (br_if $grow (i32.ne (table.grow 0 (ref.null func) (i32.const 1)) (i32.const -1))))
    (i32.const 0)))
