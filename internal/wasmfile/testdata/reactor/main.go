//go:build wasip1

// Command reactor is a tiny Go wasip1 reactor used by the wasmfile tests. It has the two traits of the
// real Presage module that the package cares about: a zero-initialised slot in BSS whose address is
// exported (like presage_embedded), and enough initialised data for the linker to emit thousands of
// data segments.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags='-s -w' -trimpath -o r.wasm .
package main

import (
	"runtime"
	"unsafe"
)

// slot is never written by Go code: its contents come from a data segment added after linking.
var slot [65536]byte

func main() {}

//go:wasmexport slot
func slotAddr() uint32 { return uint32(uintptr(unsafe.Pointer(&slot))) }

//go:wasmexport sum
func sum(n uint32) uint32 {
	if n > uint32(len(slot)) {
		n = uint32(len(slot))
	}
	var s uint32
	for _, b := range slot[:n] {
		s += uint32(b)
	}
	return s
}

//go:wasmexport lookup
func lookup(i uint32) uint64 { return table[i%uint32(len(table))] }

//go:wasmexport word
func word(i uint32) uint32 { return uint32(words[i%uint32(len(words))][0]) }

// churn allocates about 1.5 MB and runs the garbage collector, to show that neither touches slot.
//
//go:wasmexport churn
func churn() uint32 {
	var keep [][]byte
	for i := range 1000 {
		keep = append(keep, make([]byte, 1024+i))
	}
	runtime.GC()
	return uint32(len(keep))
}
