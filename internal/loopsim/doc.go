// Package loopsim closes Presage's learning loop against a running sync server, over HTTP, with
// simulated visitors whose truth is known: it is what `presage simulate loop` runs (Run: a bandit
// campaign; RunFederated: federated rounds of a propensity model, see fedloop.go).
//
// One run is a number of rounds. In each round, visitors arrive and get a decision for the banner
// slot of a bandit campaign (three variants by default) from the bundle the server serves: most
// through the native agent (package agent), a share through the real module in wazero
// (runtime/host). A visitor buys with the true conversion rate of the variant shown (the ground
// truth), then drains its learning batch, which is posted to POST /v1/batches with retries. After
// the round, the server is asked to retrain (POST /v1/admin/retrain) and the next round runs on the
// bundle it publishes. The run reports, per round, the share of visitors shown the best variant and
// the cumulative regret against the oracle (always the best variant), and at the end compares the
// counts the agents sent with the server's report (GET /v1/admin/reports).
//
// # Invariants
//
//   - Nothing is forgotten before it is acknowledged: a batch is retried (exponential backoff,
//     bounded attempts and time) until the server answers 204, so that a server killed mid-run and
//     restarted loses nothing; the server's idempotence (batch ids) keeps retries and deliberate
//     resends from being counted twice.
//   - Every loop is bounded in count and time, and traffic goes only to a loopback address.
//   - Round r of R is dated day today−R+r (Unix days): the server's retraining trains on the days
//     before today and holds today back, so each round is one simulated day of evidence, and R is
//     at most MaxRounds (the retraining window) on a server whose clock is real. The federated
//     loop (RunFederated, fedloop.go) moves the clock of a server it runs itself (StartLocal) one
//     day per round, so that its k rounds are k days, each with its own privacy budget.
//   - Randomness is seeded (Config.Seed) except batch ids, which take a fresh nonce per run so that
//     two runs against one server never collide.
package loopsim
