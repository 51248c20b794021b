// Package agent is Presage's on-device brain: it keeps one visitor's profile (cold history and the
// hot session), turns first-party events into features, scores every model of the bundle, places the
// visitor in segments and in the life cycle, recommends items, decides what each slot of the page
// shows, and keeps a small learning buffer of what happened to be synced later, aggregated.
//
// The same code runs natively (tests, training replay, Go hosts) and inside the WebAssembly module
// (package wasm is a thin shell around [Agent.Call]); a replayed event stream gives byte-identical
// answers in both.
//
// # Invariants
//
//   - No I/O, no clock, no randomness of its own: each request carries the host's time (Unix ms) and
//     random bits ([wire.Request].Now and Seed).
//   - Bounded: the profile keeps capped lists and decayed counters, so its encoding stays under 4 KB
//     (a first-party cookie at the edge) whatever the visitor does; a request is bounded too.
//   - Untrusted input never panics: requests are validated whole before anything changes, saved
//     profiles are sanitised after decoding, and [Agent.Call] recovers from any bug into an error reply.
//   - Deterministic arithmetic: non-linear functions come from internal/detmath, integer kernels where
//     the data are quantised, so native amd64, arm64 and wasm agree to the bit.
//
// # Features
//
// The feature set is fixed by this package (see [FeatureNames]); bundles refer to features by name, so
// a trainer that replays events through this package computes exactly the features served.
package agent
