// Package wasmfile is a small, strict rewriter for the WebAssembly modules that the Go toolchain
// links (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared). It edits the data section, and adds a start
// function when it moves a table out of the data; every other byte of the module stays as it was.
//
// # Why it exists: the three post-link steps
//
// presage build turns a linked module into the shipped artefact in three steps, none of which the
// Go toolchain can do:
//
//  1. [MergeData] shrinks and speeds up the module. Go's linker starts a new data segment after
//     every run of 8 or more zero bytes, so even a minimal reactor carries about 22,000 segments.
//     Merging segments separated by small gaps (say 256 bytes, filled with zeros) leaves a handful.
//     On the test reactor (Go 1.26, wazero 1.12) that is 22,106 → 3 segments, 428 → 401 KB brotli
//     (raw size grows by the zero gaps, which compress to nothing), and wazero's instantiate time,
//     dominated by evaluating every segment, drops by about 70 % (see BenchmarkInstantiate).
//
//  2. [Embed] compiles a signed bundle into a prebuilt module without a Go toolchain. The module
//     reserves a zero-initialised array (`var slot [N]byte`, which lives in BSS and so has no data
//     segment) and reports its address through an export (presage_embedded in the ABI). Embed adds
//     one active data segment that writes the bundle there; the engine fills the slot at
//     instantiation, before the Go runtime starts. The bytes survive _initialize: Go's linker
//     emits segments only for rodata through data, makes the initial memory runtime.end + 1 MiB
//     (so BSS always lies inside it), the heap starts after runtime.end, and nothing clears BSS,
//     since fresh linear memory is zero. TestReactorEmbed checks this on a real module. The slot
//     must be a zero-valued variable that Go code never writes, and the address must be read from
//     the very module being rewritten (it moves whenever the code changes).
//
//  3. [ElideStrided] takes Go's function lookup table (findfunctab) out of the data. In WebAssembly
//     every function spans 16 of its 20-byte buckets, whose subbuckets are all zero and whose index
//     steps by one per function, so the table is long (704 KB of the Presage module's 3 MB) and
//     regular. A start function of a few dozen bytes writes it at instantiation, before any export
//     runs. Every host then takes in, hashes, validates and copies a quarter fewer bytes; brotli,
//     which had squeezed the table to almost nothing, still comes out 3–4 KB smaller.
//     presage build compares the memory each module leaves after instantiation, and refuses to ship
//     if they differ.
//
// [ExportedFuncs] and [Imports] let presage build check that a module has the expected ABI and
// imports nothing but WASI preview 1.
//
// # Invariants
//
//   - The input slice is never modified; every rewrite returns a new slice.
//   - Malformed input gives an error starting with "wasmfile: " and saying where, never a panic
//     (FuzzParse checks this). Vector counts are never trusted for allocation sizes.
//   - A rewrite either preserves the module's behaviour exactly or is refused. It refuses what it
//     cannot prove safe: passive segments, offsets other than i32.const, segments outside the
//     initial memory, overlapping segments, multiple memories, memory64, and (when a DataCount
//     section exists) code that might name segments by index (memory.init, data.drop).
//   - The DataCount section, when present, always matches the number of data segments.
//
// The parser understands the section structure of the whole module and decodes the import,
// memory, export, DataCount and data sections in full; it does not validate code (wazero or any
// other engine does that when it compiles the result).
package wasmfile
