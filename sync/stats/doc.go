// Package stats is the statistics the sync server reports on campaigns, computed from aggregates
// only (visitors and conversions per variant, never a visitor's own data): Bayesian posteriors with
// the chance to beat control and the expected loss, frequentist intervals and p-values, the
// sample-ratio-mismatch check, sequential tests with always-valid p-values and intervals (so that
// watching a dashboard does not inflate false positives), and Holm's correction for A/B/n tests.
//
// Bayesian and frequentist results are shown side by side on purpose: marketers read the first
// ("92 % chance to beat control"), statisticians audit the second, and the sequential test is the one
// to act on when results are looked at continuously.
package stats
