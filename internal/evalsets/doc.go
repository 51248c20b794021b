// Package evalsets reproduces, on the public datasets in ../shared/datasets, the published figures
// that Presage's models should match or beat, and writes each run as a report (internal/report):
//
//   - CDNOW: BG/NBD and Gamma-Gamma parameters of Fader, Hardie & Lee (2005) and Fader & Hardie
//     (2013) from the raw transaction log, and the holdout comparison;
//   - Online Retail: item-to-item recommendations, leave-last-basket-out, against popularity, and
//     BG/NBD with P(alive);
//   - Groceries: the 150 two-item association rules at support 0.006 and confidence 0.25.
//
// Each run returns Checks, the published targets with the measured value, so that `make eval-…`
// and the tests fail when a target is missed. The datasets are read where they are and never
// copied into the repository.
package evalsets
