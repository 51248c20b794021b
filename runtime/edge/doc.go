// Package edge is net/http middleware that runs the Presage module (through runtime/host) in front
// of an origin, as a CDN edge worker does: it personalises each HTML page before it reaches the
// browser, with the very module the browser runs.
//
// For each request it selects ([Config.Match]: GET or HEAD of a page by default), the middleware
//
//  1. reads the visitor's profile from a first-party cookie whose integrity is checked with
//     HMAC-SHA256 (any of [Config.Keys] verifies, the first signs, so keys rotate without logging
//     anyone out); a missing, tampered or unreadable cookie starts a new visitor, never an error;
//  2. runs the request's events (arrival, page view: [Config.Events]) through one pooled module
//     instance, and releases the instance before the origin is called, so that a slow origin never
//     holds one;
//  3. tells the origin what was decided, as request headers (Presage-Decision-<Slot>:
//     campaign/variant, Presage-Stage, Presage-Segments), after removing any such header the client
//     sent;
//  4. rewrites the origin's HTML as it streams, token by token with golang.org/x/net/html's
//     tokenizer (so a slot inside a script or a comment is left alone): the elements marked
//     data-presage-slot="<slot>" get the decided variant's content, and optionally an inline JSON
//     block carries every decision for the page's own script ([Config.InlineJSON]). Only an
//     incomplete token, or a script or style element until its end tag, is held back between the
//     origin's writes; the page is never held whole;
//  5. stores the saved profile back in the cookie (≤ [Config.MaxCookieBytes]; see [Edge] for what
//     happens when it would not fit), or deletes it when the visitor denied consent;
//  6. hands the visitor's learning batch (OpDrain: aggregated counts, no identifier) to a bounded
//     queue that a background goroutine posts to the sync server; what the queue cannot take is
//     counted in [Metrics] (also served by [Edge.MetricsHandler]), never dropped silently.
//
// Anything that goes wrong in the module (a trap, a deadline, an exhausted pool) serves the page
// unpersonalised and counts the error: personalisation is an enhancement, never a reason for an
// error page.
//
// # Costs
//
// Per personalised page, the module's three calls (load profile, handle, save profile; a fourth,
// drain, with a sync server) and the rewriting, which costs in proportion to the page's tags (the
// tokenizer parses every start tag's attributes). Decisions run before the origin is called, so they
// add to the time to first byte; measured in examples/edge-proxy (BenchmarkProxy). runtime/host's
// interruptible calls (its default) cost the module's part little: they bound every call by
// [Config.CallTimeout], which also bounds the wait for an instance.
package edge
