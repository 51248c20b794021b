;; spin.wat with a SIMD instruction in its loop, which the deadline guard (guard.go) does not rewrite:
;; it tests that the host falls back to wazero's own checks and still interrupts the call. Compiled to
;; spinsimd.wasm with `wat2wasm spinsimd.wat` (wabt).
(module
  (memory (export "memory") 2)
  (global $booted (mut i32) (i32.const 0))
  (func (export "_initialize"))
  (func (export "presage_abi") (result i32) i32.const 1)
  (func (export "presage_input") (param i32) (result i32) i32.const 1024)
  (func (export "presage_call") (param i32 i32) (result i32)
    global.get $booted
    if
      (loop $forever
        v128.const i32x4 0 0 0 0
        drop
        (br $forever))
    end
    i32.const 1
    global.set $booted
    i32.const 0)
  (func (export "presage_output") (result i32) i32.const 0))
