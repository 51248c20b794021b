// Package learn turns the learning agents sent into the next bundle. Compile builds the campaigns
// the admin API defines into the serving bundle, resolving their predicates by name; Reallocate moves
// the traffic split of bandit campaigns toward the variants that convert best (batched Thompson
// sampling); Retrain does both and checks each move on evidence held back from it, so that the sync
// server publishes a candidate only when it changes something and does not convert worse than the
// bundle serving (sync/server: Server.Retrain and its schedule). From the devices' summaries,
// RetrainNeighbours rebuilds the neighbour table from merged co-occurrence pairs (cooc.go) and
// RetrainValue refits BG/NBD and Gamma-Gamma from the customer-summary histogram (clv.go), each
// checked on the held-back share of the batches (store.HeldBack) before it replaces the bundle's.
//
// It works on aggregates only (store.ReportCell: campaign × variant × segment counts, already cut at
// the k-anonymity threshold), and returns a new bundle for the server to sign and publish: the agents
// keep hashing visitors into variants by weight, so a visitor keeps their variant for the life of a
// bundle, on every host, and no visitor-level data is ever needed.
package learn
