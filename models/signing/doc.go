// Package signing signs and verifies Presage bundles with ed25519.
//
// A bundle travels as a models.Envelope: the bundle's canonical CBOR (the payload), the id of the
// signing key and an ed25519 signature over models.SignedPrefix || payload. The prefix keeps a bundle
// signature from ever being valid for anything else signed with the same key. Verification happens in
// hosts (this package, or WebCrypto's Ed25519 in browsers); the wasm module does not link crypto,
// which would cost it about 100 KB compressed (see RATIONALE.md).
package signing
