// Package learn turns the learning agents sent into the next bundle. Today: the traffic split of
// bandit campaigns, from their conversions per variant (batched Thompson sampling). The merge of
// federated model updates, co-occurrences and customer summaries, and the retraining scheduler that
// evaluates a candidate before publishing it, come next (issue 4, section 2).
//
// It works on aggregates only (store.ReportCell: campaign × variant × segment counts, already cut at
// the k-anonymity threshold), and returns a new bundle for the server to sign and publish: the agents
// keep hashing visitors into variants by weight, so a visitor keeps their variant for the life of a
// bundle, on every host, and no visitor-level data is ever needed.
package learn
