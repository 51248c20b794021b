//go:build wasip1

package main

import (
	"unsafe"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
)

func main() {} // a reactor: the host calls _initialize, then the exports

// abiVersion changes when the exports change incompatibly.
const abiVersion = 1

// maxInput bounds a single input (a bundle is the largest): the module never grows its memory for
// an input past it. Loading a bundle holds the input, a copy and the decoded tables at once, so 4 MiB
// stays well inside a host's default 32 MiB ceiling (16 MiB did not: measured by the module fuzzers).
const maxInput = 4 << 20

// embeddedCap is the room for a bundle compiled into the module by `presage build`, which writes a data
// segment over this zeroed array: "PSGB", a little-endian uint32 length, then the signed envelope.
const embeddedCap = 2 << 20

var (
	embedded [embeddedCap]byte
	ag       = agent.New()
	input    = make([]byte, 64<<10)
	output   = make([]byte, 0, 64<<10)
	booted   bool
)

//go:wasmexport presage_abi
func presageABI() int32 { return abiVersion }

//go:wasmexport presage_input
func presageInput(n int32) (ptr int32) {
	defer func() {
		if recover() != nil {
			ptr = 0
		}
	}()
	if n < 0 || n > maxInput {
		return 0
	}
	if int(n) > len(input) {
		// Grow by doubling: a host that asks for slightly more each time must not leave a trail of
		// buffers for the GC to find.
		size := len(input)
		for size < int(n) {
			size *= 2
		}
		input = nil
		input = make([]byte, min(size, maxInput))
	}
	return int32(uintptr(unsafe.Pointer(&input[0])))
}

//go:wasmexport presage_output
func presageOutput() int32 {
	if cap(output) == 0 {
		return 0
	}
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(output))))
}

//go:wasmexport presage_call
func presageCall(op int32, n int32) (length int32) {
	defer func() {
		if p := recover(); p != nil {
			output = append(output[:0], internalError...)
			length = int32(len(output))
		}
	}()
	boot()
	if n < 0 || int(n) > len(input) {
		n = 0
		op = -1 // refused below as an unknown operation rather than reading past the buffer
	}
	output = ag.Call(wire.Op(uint32(op)), input[:n], output[:0])
	return int32(len(output))
}

//go:wasmexport presage_embedded
func presageEmbedded() int32 { return int32(uintptr(unsafe.Pointer(&embedded[0]))) }

//go:wasmexport presage_embedded_cap
func presageEmbeddedCap() int32 { return embeddedCap }

// boot loads the compiled-in bundle on the first call. It was verified when it was embedded; a module
// without one waits for OpLoadBundle.
func boot() {
	if booted {
		return
	}
	booted = true
	if string(embedded[:4]) != "PSGB" {
		return
	}
	n := uint32(embedded[4]) | uint32(embedded[5])<<8 | uint32(embedded[6])<<16 | uint32(embedded[7])<<24
	if n > embeddedCap-8 {
		return
	}
	_ = ag.LoadBundleNoCopy(embedded[8 : 8+n])
}

// internalError is a pre-encoded Reply{Err: {Code: CodeInternal}}: a panic path must not depend on the
// code that panicked.
var internalError = []byte{0xa1, 0x01, 0xa2, 0x01, byte(wire.CodeInternal), 0x02, 0x65, 'p', 'a', 'n', 'i', 'c'}
