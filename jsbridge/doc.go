// Package jsbridge embeds and serves presage.js, the script tag that runs the Presage module in
// browsers, and presage.mjs, the same code as an ES module for bundlers.
//
// A site integrator pastes one tag and marks up a few elements:
//
//	<script src="https://sync.example/presage.js" data-site="shop-1" async></script>
//	<body data-presage-page="product" data-presage-product="sku-1" data-presage-category="shoes" data-presage-price="59.90">
//	<div data-presage-slot="banner">
//	  <template data-presage-variant="new-season"><a href="/new">{content}</a></template>
//	  <template data-presage-default><a href="/sale">Sale</a></template>
//	</div>
//
// The script loads presage.wasm (the module, with its bundle compiled in) through a WASI shim of a
// few dozen lines (src/module.js: exactly the ten imports a Go wasip1 reactor has), collects
// first-party signals, asks the module for scores, segments, the
// life-cycle stage, recommendations and slot decisions, renders the slots from their templates,
// keeps the profile in localStorage, and sends only the module's aggregated learning batches to the
// sync server. Where the profile is stored, the module's decoded bytes are kept in Cache Storage
// too, and later pages compile them from there rather than decode the HTTP cache's brotli again. Its sources are in src/ (readable, commented); the committed presage.js and
// presage.mjs are their minified build (build.mjs, esbuild), kept under 6 KB brotli by a test.
//
// # Consent
//
// Levels are those of agent/wire: "denied" (the tag stays inert: no module download, no storage,
// no request; slots show their default template; a denial given later erases the stored profile at
// once and stops all requests), "local" (the profile is kept in this browser, no learning leaves
// it; the module is kept in Cache Storage, which a later denial or forget deletes) and "full"
// (aggregated learning is sent). With no level given, the bundle's default applies.
// The Global Privacy Control signal caps the level at "local".
//
// # Invariants
//
//   - No cookie is read or written, and no identifier leaves the device: requests to the sync
//     server carry no credentials and no referrer, and their only body is a wire.Batch.
//   - The page never waits for the tag: the script is async, templates are inert until decided,
//     and a slot not decided within the timeout shows its default and is never changed afterwards.
//   - A failure of the module (download, compilation, a trap) disables the tag with one console
//     report; the page keeps working.
//
// README.md is the integrator's guide (attributes, markup, API). The browser tests run all of this
// in headless Chromium (browser_test.go is their harness), including the conformance corpus through
// the same shim, byte for byte, and measure it (TestBrowserMetrics).
package jsbridge
