// Package store keeps what the sync server knows: learning aggregates per campaign × variant ×
// segment (per bundle version and day), the ids of batches already counted, campaigns, every
// signed bundle version with its publication history, a few settings, and for federated learning
// the devices' model updates summed per bundle version × day × model × share, with the privacy
// ledger (fed.go).
//
// Two backends implement [Store] with one schema (migrations/, embedded, applied at Open) and one
// implementation over database/sql: SQLite through modernc.org/sqlite (pure Go, one file in a data
// folder, WAL, fsync at every commit) by default, and PostgreSQL through pgx for several server
// nodes sharing a database. The same test suite runs against both.
//
// # Invariants
//
//   - Ingest is exactly-once per batch id, model updates included: a batch whose id is stored is acknowledged and not
//     counted, whether the retry comes in a later call, in the same call, or on another node.
//   - Ingest returns only when its transaction is durable.
//   - Nothing identifies a visitor or a client: batches carry none, and rows keep no time finer
//     than the day.
//   - A bundle's envelope is stored byte for byte as signed.
package store
