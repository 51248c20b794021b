// Package models holds the bundle that Presage ships to devices (see bundle.go) and the pure
// scoring math of every model in it: logistic propensity, item-to-item neighbours, low-rank
// category appetence, BG/NBD and Gamma-Gamma customer value, and the predicates of segments and
// campaign targeting.
//
// The package is linked into the agent's WebAssembly module, so it follows the module's rules: no
// I/O, no clock, no randomness, standard library only (and not fmt, reflect, strconv, sort,
// encoding/*, os, time or crypto/*). Scoring functions take their outputs first and reuse them
// (dst []T, like gonum), and allocate nothing per call once their buffers have grown.
//
// Every result is bit-identical on amd64, arm64 and wasm: transcendental functions come from
// internal/detmath, every floating-point product that meets an addition is written float64(x*y)
// so that no compiler may fuse it into a multiply-add, and sums run in a fixed order. Integer
// kernels (neighbour weights, appetence dot products) are exact by construction.
//
// A bundle must pass [Bundle.Validate] before anything here indexes into it; after that, no index
// taken from the bundle can be out of range.
package models
