// Package wire holds the messages that cross the module's ABI and the sync wire: requests, replies,
// events, answers, learning batches. It is a leaf that every side shares (the module, the Go host,
// the sync server, tests), and it holds no logic beyond enum helpers.
//
// Every message is CBOR with small integer keys. Inside the module the codec is internal/minicbor
// (generated, reflect-free: a few KB), on servers and tools fxamacker/cbor through internal/cborx;
// the two give identical bytes for these types, which a differential test checks.
package wire
