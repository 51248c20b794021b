// Package cborx holds the one fxamacker/cbor configuration that Presage's host, server and tools
// use. EncMode writes exactly the bytes internal/minicbor writes for the wire and bundle types, so
// that a bundle signed on the server and a reply produced in the wasm module are the same bytes
// whichever codec made them. DecMode is hardened for untrusted input (learning batches from
// browsers, replies from a module fed by a web page) and accepts a superset of what minicbor
// accepts, decoding it to the same values. Both claims are tested differentially and fuzzed.
package cborx
