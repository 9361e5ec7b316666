;; Refused feature: SIMD → module-feature-refused.
(module
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32)
    (i32x4.extract_lane 0 (v128.const i32x4 0 0 0 0))))
