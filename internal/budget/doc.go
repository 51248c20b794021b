// Package budget measures the foundation's budgets on the bundle the issue names: 1,000 items × 20
// neighbours, 1,000 categories × rank-32 factors and 3 propensity models, trained on simulated
// traffic. It holds benchmarks only (make bench): one event end to end natively and through the
// module in wazero, the same without the appetence pass, a pooled acquire + profile load, and the
// module's size with that bundle compiled in (reported as metrics, in bytes).
package budget
