// Package modbuild builds the generic Presage module (./wasm, no bundle inside) from source, for
// tests everywhere in the repository.
//
// It is the one place that knows how the module is built because the build flags are part of the
// product, not a detail of each test: -buildmode=c-shared makes it a reactor (the ABI's exports with
// no main loop), -trimpath and -ldflags='-s -w' keep file paths and debug sections out of what every
// visitor downloads, -gcflags=runtime=-l builds the Go runtime without inlining (its line and frame
// tables halve and compress far better: 35–43 KB brotli less; see RATIONALE.md), and GOWASM=satconv,signext picks the WebAssembly features every target host has
// (they make the module smaller and faster). A test that built the module with other flags would test
// another module: different size, different instructions, possibly different behaviour.
//
// One build per process: [Build] runs the go command once and keeps the bytes, so that all the tests of
// a test binary share them. Setting PRESAGE_TEST_WASM to a prebuilt module's path skips the build
// (CI builds once and runs many packages' tests against the same file).
package modbuild
