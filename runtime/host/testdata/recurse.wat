;; A module that speaks the Presage ABI and, in every call but the first (the host's boot call, which
;; gets an empty reply), recurses through calls alone, with no loop: $fork(n) calls $fork(n-1) twice,
;; 2^64 calls in all, so the call never returns. It tests that the deadline guard (guard.go) checks
;; function entries as well as loop headers. Compiled to recurse.wasm with `wat2wasm recurse.wat` (wabt).
(module
  ;; Every Go wasip1 module imports sched_yield; the deadline guard (guard.go) calls it.
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (memory (export "memory") 2)
  (global $booted (mut i32) (i32.const 0))
  (func $fork (param $n i64)
    local.get $n
    i64.eqz
    if
      return
    end
    local.get $n
    i64.const 1
    i64.sub
    call $fork
    local.get $n
    i64.const 1
    i64.sub
    call $fork)
  (func (export "_initialize"))
  (func (export "presage_abi") (result i32) i32.const 1)
  (func (export "presage_input") (param i32) (result i32) i32.const 1024)
  (func (export "presage_call") (param i32 i32) (result i32)
    global.get $booted
    if
      i64.const 64
      call $fork
    end
    i32.const 1
    global.set $booted
    i32.const 0)
  (func (export "presage_output") (result i32) i32.const 0))
