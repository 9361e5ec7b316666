;; Imports WASI's fd_write → module-forbidden-import.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1 1)
  (func (export "capsule_run") (result i32) (i32.const 0)))
