// Command edge-proxy is a reverse proxy that personalises an origin's pages with the Presage module,
// as a CDN edge would: the visitor's profile lives in a first-party cookie, the decisions reach the
// origin as Presage-* request headers, and the slots of the origin's HTML (data-presage-slot) are
// filled as the page streams through. It is runtime/edge around net/http/httputil.ReverseProxy.
//
//	make wasm   # dist/presage.wasm with the demo bundle compiled in
//	PRESAGE_COOKIE_KEYS=$(openssl rand -hex 32) go run ./examples/edge-proxy -origin http://127.0.0.1:8081
//
// Flags: -listen (127.0.0.1:8080), -origin, -wasm (dist/presage.wasm), -bundle and -public-key (a
// newer signed bundle to load at start, and the key that must have signed it), -slots
// (popin,banner,carousel: the demo shop's), -sync (the sync server's base URL; empty keeps the
// learning in the cookie), -metrics (an address for the edge's counters, Prometheus text), -fast
// (non-interruptible module calls: no faster since runtime/host guards calls cheaply, and a call
// that never returns is not stopped; kept for comparison).
// PRESAGE_COOKIE_KEYS holds the cookie keys in hex, comma-separated, the signing key first; without
// it a random key is used and every profile is forgotten at restart.
package main
