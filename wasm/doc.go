//go:build wasip1

// Command wasm is the Presage WebAssembly module: GOOS=wasip1, a reactor (-buildmode=c-shared) whose
// exports are a bytes-in, bytes-out ABI around package agent. See agent/wire for the operations and
// agent.(*Agent).Call for the contract; main.go only moves bytes and never lets a panic escape.
package main
