// Package detmath provides elementary functions that return bit-identical results on every
// platform Presage runs on: amd64, arm64 and GOOS=wasip1 GOARCH=wasm.
//
// Package math is not enough for that. On amd64 and arm64, math.Exp (and on amd64 math.Log) are
// written in assembly, while wasm uses the pure-Go code, so the same input can round differently.
// And the Go specification lets a compiler fuse x*y + z into one fused multiply-add, which arm64 (and
// amd64 with GOAMD64=v3) do, so even the pure-Go code can round differently on different machines.
//
// The functions here are ports of Go's pure-Go implementations (themselves derived from FreeBSD's
// msun; see LICENSE-GO and the notices in each file) with every product that could meet an addition
// written float64(a*b): an explicit conversion rounds, and the specification forbids fusing across
// it. Only exact operations of package math are used (Sqrt, Floor, Abs, bit conversions).
//
// The package allocates nothing, does no I/O and keeps no state.
package detmath
