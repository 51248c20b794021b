// Package server is the sync server: agents' learning batches in, the signed bundle out, and the
// admin API in between (issue 4). `presage serve` runs it; the store is package sync/store.
//
// # Endpoints
//
// The router is the list in New; openapi.json (served at /v1/openapi.json) documents every route,
// and a test keeps the two equal.
//
//   - POST /v1/batches: a CBOR agent/wire.Batch. Decoded with internal/cborx's hardened mode and
//     checked with store.CheckBatch (400), body bounded (413), rate-limited per client address
//     (429), allowed origins only (403). Answered 204 only once durable.
//   - GET /v1/bundle?site=S: the current signed bundle, strong ETag, 304, Cache-Control: a CDN can
//     carry it. GET /v1/presage.js, /v1/presage.mjs and (when the server has the module)
//     /v1/presage.wasm: the script tag and the module, served by package jsbridge.
//   - /v1/admin/...: campaigns, bundle versions (upload, publish, rollback), publication history,
//     reports with the k-anonymity threshold, retraining, the privacy ledger of federated
//     learning (GET /v1/admin/privacy). JSON, bearer token (401 without).
//   - /healthz, /readyz, /metrics (Prometheus).
//   - /dashboard: HTML for people, not part of the JSON API (so not in openapi.json): campaigns
//     with credible intervals, bandit allocation per published version, model versions, segment
//     sizes, ingest health; inline SVG, no JavaScript. Admin token as a bearer token or, once, in
//     the login form or ?token=, which starts a session cookie (see dashboard.go).
//
// # Group commit
//
// A batch is acknowledged only when the transaction that counted it is durable. Committing each
// batch alone would cost one fsync per batch (a lone batch takes 0.7 ms from request to 204 on the
// project's machine, so about 1,400 batches/s from one sequential client);
// instead handlers hand their decoded batch to a committer goroutine and wait. The committer
// takes everything that queued up while it was committing — one batch at low load, up to
// Config.MaxGroup under load — counts the group in one transaction, and answers each handler.
// There is no timer: latency at low load is one commit, and fsyncs per second stay bounded by
// the commit time whatever the load. Retries are idempotent: the store keeps the ids of batches
// counted within the retry window (Config.DedupDays) and counts each id once, also when a
// retry and its original are in the same group or reach two nodes at once.
//
// # Federated learning
//
// A batch's model updates (wire.Batch.Updates) are kept only when gathered under the bundle the
// site serves, checked and clipped against it (fed.CheckUpdates), and summed by the store in the
// transaction that counts the batch. Each retraining runs one noisy round for the serving bundle's
// federated models on the most recent complete day (fedround.go): k-anonymity on raw batches, the
// day's privacy charged to the store's ledger before the noise is drawn (a round past the budget is
// refused and the serving weights stay), and the step checked on the held-back fifth of the
// updates. RetrainReport.Fed says what it did.
//
// # Device summaries
//
// A batch's co-occurrence pairs and customer-summary cell (wire.Batch.Pairs, Customer) are counted
// per day and share by the store in the same transaction. Each retraining rebuilds the serving
// bundle's neighbour table from the pairs of its window listed by at least k batches, and refits
// its value model from the last complete week's histogram made k-anonymous by coarsening; each
// replaces the serving model only when not worse on the held-back fifth (devicelearn.go,
// sync/learn cooc.go and clv.go). RetrainReport.Device says what they did.
//
// # Privacy
//
// The server sets no cookie on visitors (the dashboard's session cookie is an admin's), and stores
// and logs neither client addresses nor user agents. The rate limiter keys its buckets by a keyed
// hash of the address (a /64 for IPv6), in memory only. Reports leave out every cell to which fewer
// than Config.KAnonymity batches contributed.
//
// # Invariants
//
//   - A 204 on POST /v1/batches means the batch is counted exactly once and survives a crash of
//     the process or of the machine (SQLite synchronous=FULL; PostgreSQL synchronous_commit).
//   - Shutdown answers every batch it has received before it returns: acknowledged batches are
//     durable, none is lost silently.
//   - A device never receives a bundle older than one already published for its site: publishing
//     an older version re-signs its content under a new version (Config.SigningKey).
package server
