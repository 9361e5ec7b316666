;; Malicious: declares 65536 pages (4 GiB) as its maximum, far above the 64 MiB cap.
(module
  (memory (export "memory") 1 65536)
  (func (export "capsule_run") (result i32) (i32.const 0)))
