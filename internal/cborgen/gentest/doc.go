// Package gentest exercises every field shape cborgen supports that the wire and bundle types do
// not use (named slices, struct values, omitempty structs, all integer widths, recursion…), and
// checks the generated code against fxamacker in its tests. It is test scaffolding only.
package gentest
