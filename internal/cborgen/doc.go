// Command cborgen writes EncodeCBOR and DecodeCBOR methods (see internal/minicbor) for struct
// types, driven by the same `cbor:"N,keyasint[,omitempty]"` tags that fxamacker/cbor reads, so that
// minicbor and cborx.EncMode write identical bytes for the same value.
//
// What it writes is a table per type (a minicbor.Struct: field offsets, keys, kinds and
// omitempty) and two one-line methods that hand the table to minicbor's interpreter, rather than
// code per field: in the wasm module the tables are about a tenth of the size of the code.
//
// It is run by go generate from a package directory:
//
//	//go:generate go run ../../internal/cborgen -type Event,Request
//
// and reads that package's non-test, non-generated Go files. Output goes to <GOFILE>_cbor.go (the
// file holding the directive, minus ".go"), or to -output.
//
// Supported field types: bool, int8…int64, int, uint8…uint64, uint, float32, float64, string and
// named types of those declared in the package; slices of all of those ([]byte and slices of
// other uint8 types are byte strings, as fxamacker writes them); listed structs by value, by
// pointer and in slices. Keys are integers in 0..63 (the decoder detects duplicates with one
// 64-bit set). Anything else is refused with a message naming the field.
package main
