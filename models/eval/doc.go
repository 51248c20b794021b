// Package eval measures how good a trained model is, on held-out data, the way a marketer will use
// it: ranking quality (AUC, lift, cumulative gain, precision and recall at k), probability quality
// (log loss, Brier score, reliability curve and expected calibration error), and recommendation
// quality (hit rate and NDCG at k), each with a bootstrap confidence interval so that a difference
// between two models can be told from noise.
//
// Scores are ranked with ties handled exactly, as the expectation over a random order of the tied
// rows: a model that gives every row the same score has AUC 0.5 and a gain curve on the diagonal,
// whatever the order of the rows. Every function is a pure function of its inputs; the bootstrap is
// seeded, so that a report is reproducible to the last digit.
//
// The package runs on the server and in tools, never in the module: it may use anything in the
// standard library. Errors start with "eval: ".
package eval
