// Package server will be the sync server: ingest of learning batches, storage, merge, retraining,
// signing and bundle distribution (issue 4). Until then, bundles are trained and signed by
// `presage train` and compiled into the module by `presage build`.
package server
