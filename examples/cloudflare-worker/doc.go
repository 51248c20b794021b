// Package cloudflareworker holds the Go tests of the Cloudflare Worker example (src/, JavaScript):
// they run the Worker for real in workerd (the npm package pinned by package-lock.json), started on
// loopback ports with a generated capnp config, and replay the conformance corpus
// (testdata/vectors) byte for byte in workerd, in Node's built-in node:wasi and in Node with the
// Worker's own WASI shim. See README.md.
package cloudflareworker
