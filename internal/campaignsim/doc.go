// Package campaignsim holds the simulations that prove the campaign machinery's claims (issue 7,
// §4), as tests with fixed seeds that report their figures and fail when a threshold is missed:
//
//   - TestUpliftTargeting: incremental conversions per 1,000 incentives for uplift targeting, the
//     52–60 % propensity band and everyone, on the four response groups of internal/sim;
//   - TestBanditRegret: regret against the oracle of a global and a per-segment Thompson-sampling
//     bandit, through real agents, the store and learn.Reallocate, when two segments prefer
//     different variants;
//   - TestPressureNative and TestPressureModule: 10,000 simulated visitors through the native
//     agent and through the module in wazero, every exposure replayed by an independent checker
//     of the frequency caps and the pressure budget.
//
// The sample-ratio-mismatch and sequential A/A simulations live with the statistics they test
// (sync/stats: TestSampleRatio, TestSequentialAA).
//
// The package has no code of its own: it only gathers these tests, which cut across agent,
// models/train, runtime/host and sync.
package campaignsim
