;; A module that speaks the Presage ABI and never returns from a call but the first (the host's boot
;; call, which gets an empty reply): it tests that the call timeout interrupts a runaway call and that
;; the host discards the instance. Compiled to spin.wasm with `wat2wasm spin.wat` (wabt).
(module
  ;; Every Go wasip1 module imports sched_yield; the deadline guard (guard.go) calls it.
  (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
  (memory (export "memory") 2)
  (global $booted (mut i32) (i32.const 0))
  (func (export "_initialize"))
  (func (export "presage_abi") (result i32) i32.const 1)
  (func (export "presage_input") (param i32) (result i32) i32.const 1024)
  (func (export "presage_call") (param i32 i32) (result i32)
    global.get $booted
    if
      (loop $forever (br $forever))
    end
    i32.const 1
    global.set $booted
    i32.const 0)
  (func (export "presage_output") (result i32) i32.const 0))
