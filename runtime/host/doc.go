// Package host runs the Presage WebAssembly module (see wasm/) in Go with wazero, for servers and
// edges that want the same bytes the browser runs rather than the native agent package.
//
// A [Host] compiles the module once and keeps a pool of instances, one per concurrent visitor:
// a Go-compiled module is single-threaded. A [Session] holds one instance between [Host.Acquire] and
// [Session.Release]; its methods mirror the module's operations (agent/wire.Op) and [Session.Call]
// exposes the raw bytes-in, bytes-out ABI. [Host.Handle] does a whole request in one call.
//
// # Costs
//
//   - Compiling takes one to three seconds; the compilation cache (on by default, see
//     [Config.WithCompilationCacheDir]) brings a later New down to tens of milliseconds.
//   - A new instance takes a few milliseconds (the Go runtime starts) and 5–10 MiB. The pool
//     creates instances on demand up to [Config.WithPoolSize] and reuses them.
//   - A call costs the operation's work under wazero plus about a microsecond of ABI: the request is
//     written into the module's input buffer, whose address is cached, and the reply decoded in place.
//   - Calls are interruptible by default, so that a deadline holds even if the module loops. The host
//     rewrites the module once so that it checks a stop flag at every function entry and loop
//     header (a load and a branch, one call into Go every 1,024 checks): within the benchmarks'
//     noise of uninterruptible calls, where wazero's own checks cost 3–5× on every call of a
//     Go-compiled module (see guard.go and [Config.WithInterruptibleCalls]).
//
// # Bundles
//
// [Host.LoadBundle] verifies a bundle's ed25519 signature against the keys given to
// [Config.WithTrustedKeys] (none by default: every bundle is refused), then swaps it in without
// stopping anything: each instance loads it the next time it is acquired, so a session sees one
// bundle throughout.
//
// # Failures
//
// The module answers bad input with error replies, returned as *wire.Error; the session stays
// usable. An instance that traps, exits, overruns its deadline or breaks the ABI is closed and never
// reused: the call returns [ErrTrap] or [ErrDeadline], and the pool creates a replacement on demand.
// The module runs with real clocks and crypto/rand (wazero's defaults are fake ones), no file system,
// no arguments and no environment.
package host
