// Package campaignsim holds the simulations that prove the campaign machinery's claims (issue 7,
// §4). `presage simulate campaigns` runs them and prints their figures against the goals; the
// tests run them with fixed seeds and fail when a goal is missed:
//
//   - Targeting: incremental conversions per 1,000 incentives for uplift targeting, the 52–60 %
//     propensity band and everyone, on the four response groups of internal/sim
//     (TestUpliftTargeting; TestUpliftAllocationInAgent does the same through real agents);
//   - Peek: A/A experiments looked at every 100 visitors, the always-valid sequential test's false
//     positives against naive peeking's (TestSequentialAA, TestSequentialPower);
//   - SRM: the sample-ratio-mismatch check's rate under A/A and its power on a 52/48 split
//     (TestSampleRatio);
//   - BanditRegret: regret against the oracle of a global and a per-segment Thompson-sampling
//     bandit, through real agents, the store and learn.Reallocate, when two segments prefer
//     different variants (TestBanditRegret);
//   - Pressure: simulated visitors through the native agent and through the module in wazero,
//     every exposure replayed by an independent checker (CheckCaps) of the frequency caps and the
//     pressure budget (TestPressureNative, TestPressureModule).
package campaignsim
