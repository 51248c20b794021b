// Package train fits, on the server, every model kind that a Presage bundle carries (see package
// models): calibrated logistic regressions for the propensity scores, an item-to-item neighbour table
// for recommendations, a low-rank category-appetence model, the BG/NBD and Gamma-Gamma customer-value
// models, and k-means personas. Each fit returns the bundle's own struct, ready to be put in a
// models.Bundle, so that what was evaluated here is exactly what the device scores.
//
// The package does no I/O: data come in as arguments and models go out as values. Randomness comes
// only from an explicit, seeded *rand.Rand (math/rand/v2), so a fit is a pure function of its inputs
// and seed; fits that run in parallel split work so that the result does not depend on scheduling.
// Long fits take a context.Context for cancellation and accept an optional progress callback
// func(done, total int), which is never called concurrently with itself.
//
// Errors start with "train: ".
package train
