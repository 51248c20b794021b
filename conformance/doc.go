// Package conformance holds the byte-level contract of the Presage module and checks every host
// against it.
//
// The module (wasm/) is a thin shell around agent.(*Agent).Call, and it runs in many hosts: natively
// in Go, in wazero (runtime/host), in browsers and in edge workers through a WASI shim. They must all
// give the same bytes for the same calls, or a visitor's profile saved by one host would be read
// differently by another. The corpus in testdata/vectors pins those bytes: a replay that differs
// anywhere is a bug in the module, the host or the shim, not a matter of tolerance.
//
//	go test ./conformance -run TestConformance          # replay natively and in wazero
//	go test ./conformance -run TestConformance -update  # regenerate the vectors from the native agent
//	go test ./conformance -run TestConformance -update -retrain  # and retrain the bundle too
//
// Regenerate when the agent's answers change on purpose, and review the diff: the readable JSON of
// each call shows what changed. The bundle is committed rather than retrained on each run because
// training's floating point may differ between platforms; the vectors only need one bundle.
//
// # Corpus
//
// testdata/vectors holds:
//
//   - bundle.cbor: a signed bundle envelope (models.Envelope) trained by internal/demo on simulated
//     traffic with [CorpusConfig];
//   - test.key and test.pub: the key that signed it. It is a TEST-ONLY key, derived from a published
//     seed ([TestKey]): anyone can sign with it, so nothing may ever trust it outside tests;
//   - one JSON file per vector.
//
// # Vector format (spec 1)
//
// A vector file is one JSON document:
//
//	{
//	  "spec": 1,
//	  "name": "visit-brand-search",
//	  "description": "what the calls exercise",
//	  "calls": [
//	    {"op": 2, "op_name": "load_bundle", "request_hex": "a301…", "reply_hex": "a0", "request": {…}, "reply": {}},
//	    {"op": 5, "op_name": "handle", "request_hex": "a3011b…", "reply_hex": "a103a8…", "request": {…}, "reply": {…}},
//	    …
//	  ]
//	}
//
// op is an agent/wire.Op, an unsigned 32-bit number (vectors include unknown operations up to
// 4294967295). request_hex is the exact input of the call (lower-case hex, possibly empty) and
// reply_hex the exact reply expected: a CBOR wire.Reply, an error reply included. request and reply
// are the same bytes decoded to JSON for people (Go field names of agent/wire; fields the CBOR omits
// are omitted; a profile is shown decoded; a bundle envelope is summarised): they are informative
// only, and a runner must ignore them. So is op_name. Unknown fields may be added within spec 1;
// a change in meaning bumps spec, and a runner refuses a spec it does not know.
//
// Every vector starts from a FRESH module instance, with no bundle compiled in, and its first call
// is an OpLoadBundle of the corpus bundle: a runner needs nothing but the vector file and the module.
// Vectors do not depend on the host's clock or randomness: every time and seed is in the requests.
//
// # Replaying a vector (any host, e.g. JavaScript)
//
// For each vector: instantiate the generic module (built as internal/modbuild does) with WASI
// preview 1 imports, call its _initialize export once, then for each call in order:
//
//	req   = hexToBytes(call.request_hex)
//	ptr   = presage_input(req.length)        // 0 means refused: a failure of the runner
//	new Uint8Array(memory.buffer, ptr, req.length).set(req)
//	n     = presage_call(call.op | 0, req.length)   // i32: ops above 2^31-1 become negative, as in Go
//	out   = presage_output()
//	reply = new Uint8Array(memory.buffer, out, n)  // read memory.buffer again: memory may have grown
//	compare reply with hexToBytes(call.reply_hex), byte for byte
//
// A trap, an exit or a difference fails the vector; report the call's index, op and both replies.
// Nothing of the WASI environment matters (arguments, environment variables, files): the module reads
// none of it, and its clock and random imports do not influence any reply.
//
// In Go, [Load] reads a corpus and [Replay] replays one vector through any call function:
// agent.(*Agent).Call natively, runtime/host's Session.Call for the module. The tests also fuzz the
// module under wazero (fuzz_test.go): single calls on a long-lived instance, the raw exports with any
// sizes, and the native agent against the module on any input.
package conformance
