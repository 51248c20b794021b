// Package minicbor is a small CBOR (RFC 8949) codec for the subset Presage's wire and bundle types
// use: integers, floats, booleans, null, text and byte strings, arrays, and maps with small
// integer keys. It uses no reflection and imports only math, unicode/utf8 and unsafe, because it is
// linked into the agent's wasm module, where fxamacker/cbor would double the download (wasm-notes
// §1). Structs are encoded and decoded by one interpreter (table.go) over tables that
// internal/cborgen generates from the types' declarations.
//
// The encoder writes the deterministic form cborx.EncMode writes, byte for byte. The decoder is
// strict: no indefinite lengths, tags, undefined or other simple values, invalid UTF-8, inexact
// floats, duplicate or non-integer struct keys; whatever it accepts, cborx.DecMode accepts too
// and decodes to the same value (the differential tests and fuzz targets in internal/cborx check
// both claims).
package minicbor
