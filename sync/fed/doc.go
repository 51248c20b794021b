// Package fed is the server side of federated learning of the propensity models: it merges the
// visitors' clipped gradient contributions, adds Gaussian noise calibrated to a daily (ε, δ)
// budget per visitor, keeps the privacy ledger, and steps the weights into the next bundle.
//
// # What the devices send
//
// A bundle marks a propensity model as federated with models.Logistic.Fed (a target, a clip bound C,
// and a public standardisation m, s). The agent (agent/federated.go) takes one example per session:
// the features just before the session's first checkout (or first order, or at its last event when
// it has neither), labelled 1 when the session has an order: "buys in this session", scored where
// the label has not leaked into the features. Over a visitor's day it sums the log-loss gradient at
// the bundle's weights in standardised coordinates zⱼ = (xⱼ − mⱼ)/sⱼ,
//
//	g = Σ_examples (σ(w·x + b) − y)·(1, z₁, …, zₙ),
//
// and a drain sends it (wire.Batch.Updates) scaled so that everything the visitor sends in one UTC
// day, all federated models together, has an L2 norm of at most C; Count is 1 in the day's first
// update and 0 after. Only with full consent.
//
// # The round
//
// A Round gathers, for one bundle version and one day, the sum S of the updates (each batch clipped
// again to C here: the server does not trust one batch) and the sum n of the counts. Apply draws
//
//	S̃ = S + N(0, σ²·I),   ñ = n + N(0, σ²),   σ = Δ/√(2ρ),   Δ = √(C² + M),
//
// M the number of federated models (the counts are part of the query: a visitor-day moves each by
// at most 1). Without the score histograms below, Δ would be √(C² + M).
//
// # Evaluation without labels on the server
//
// The update of a visitor's day (Count 1) also carries one evaluation cell per model
// (wire.ModelUpdate.Cell): the score bin of one of the day's examples at the bundle's weights
// (wire.ScoreBins bins one logit wide) and its label. The round sums them into a histogram per
// model, 2·wire.ScoreBins counts (label × bin), and noises it in the same Gaussian query as the
// sums and counts: a visitor-day moves one bin by 1, so the sensitivity becomes Δ = √(C² + 2M)
// (5.196 instead of 5.099 at C = 5, M = 1: 1.9 % more noise on the gradients) and the round's ρ,
// the day's charge, is unchanged. The noisy histogram (Report.Models[i].Scores) is
// post-processing from there on: an AUC by the trapezoid over bins, a reliability curve and an
// expected calibration error of the serving weights, on that day's visitors, none of whom the
// serving weights were fitted on (sync/server's dashboard shows them per bundle version). If ñ is below the minimum cohort k (default 50) the model is left as it is; otherwise,
// in standardised coordinates β (β₀ the intercept at the centre m, βⱼ = wⱼ·sⱼ),
//
//	v ← μ·v + S̃/ñ + λ·(0, β₁…βₙ),   β ← β − η·v,
//
// (heavy-ball momentum μ = 0.5, η = 1, λ = 1e-4 by default), folded back to raw units for the
// bundle. Everything after the noise is post-processing and costs no privacy.
//
// # The accountant
//
// Privacy is counted in zero-concentrated DP (Bun & Steinke 2016): the Gaussian mechanism above is
// ρ-zCDP with ρ = Δ²/(2σ²); rounds compose by adding their ρ; ρ-zCDP implies (ε, δ)-DP for
// ε = ρ + 2√(ρ·ln(1/δ)). The budget per visitor per day (ε, δ), default (1, 10⁻⁶), is turned into
// ρ_day = (√(ln(1/δ) + ε) − √(ln(1/δ)))² (0.01747 at the defaults, hence σ = 5.35·Δ); each round
// is charged ρ_day/RoundsPerDay to its day, as if every visitor of the day were in it with the full
// sensitivity, and a round that would take the day past ρ_day is refused (ErrBudget) before any
// noise is drawn. The neighbouring relation is one visitor's whole day of data (add or remove).
// Across days the ledger composes too: a visitor present on d days has spent d·ρ_day, reported by
// Accountant.Total as an (ε, δ) pair (60 days at the defaults: ε ≈ 8.7 at δ = 10⁻⁶).
//
// # Threat model
//
// This is central differential privacy with a trusted aggregator: the sync server sees each batch's
// clipped update before the noise is added, so the guarantee holds against everyone who sees the
// published bundles (site operators, other visitors, anyone downloading a bundle), not against the
// server's operator. No identifier travels with a batch, and batches carry the day, not the time,
// but a server that logs batches with their network origin could link them. Secure aggregation or
// noise added on the device (distributed DP) would remove the trust; neither is built. The per-day
// bound relies on the agent's own bookkeeping (FedState.Spent in the visitor's profile): a visitor
// who clears their storage, or a tampered device, can send more than one day's worth, which weakens
// only that visitor's own protection. The noise comes from a ChaCha8 source seeded by crypto/rand
// (NewNoise); the floating-point attacks on textbook samplers (Mironov 2012) are not addressed.
//
// # The held-back check
//
// The server sees no label, so a step is judged on gradients: with Config.CheckHeldBack, a Round
// also gathers a held-back share of the day's updates (Round.AddSum with heldBack; the sync store
// keeps one batch in five apart by its id), noised with the same σ, and keeps a model's step
// β → β' only when the held-back noisy count reaches k and the first-order change of the held-back
// mean log loss, (S̃_H/ñ_H)·(β' − β), is at most Tolerance (2) standard errors of its noise,
// Tolerance·σ·‖β' − β‖/ñ_H. The split costs no privacy: a visitor-day's updates divided between
// the shares still have a joint norm of at most C and one count, so the query's sensitivity is Δ.
// It checks the step's direction to first order, not its length.
//
// # On the sync server
//
// sync/store sums the updates in the ingest transaction (after the server's CheckUpdates against
// the serving bundle) and keeps the ledger; sync/server runs one round per retraining on the most
// recent complete day, charging the store's ledger before the noise is drawn (its Trainer and
// Accountant are made per round; the store's ledger is the one that counts, across restarts and
// nodes; momentum is therefore not carried from one round to the next).
//
// # Not built yet
//
// Targets whose label resolves after the session (buy_14d, email_14d: the device would have to
// keep the example for 14 days), computing the standardisation privately (today it is public
// input, set from data the server already holds), and carrying the optimiser's momentum across
// the server's rounds.
package fed
