package fed

import (
	"errors"
	"math"
	"strconv"
	"sync"
)

// ErrBudget is returned when a round would spend more privacy than a visitor's daily budget allows;
// nothing is spent and no noise is drawn.
const ErrBudget Error = "fed: the round would exceed the daily privacy budget"

// RhoFor is the zCDP parameter ρ whose conversion to (ε, δ)-DP (see Epsilon) is exactly ε: the
// positive root of ρ + 2√(ρ·ln(1/δ)) = ε, ρ = (√(ln(1/δ) + ε) − √(ln(1/δ)))².
// It panics unless ε > 0 and 0 < δ < 1.
func RhoFor(epsilon, delta float64) float64 {
	checkEpsDelta(epsilon, delta)
	l := math.Log(1 / delta)
	r := math.Sqrt(l+epsilon) - math.Sqrt(l)
	return r * r
}

// Epsilon converts ρ-zCDP to (ε, δ)-DP: ε = ρ + 2√(ρ·ln(1/δ)) (Bun & Steinke 2016, "Concentrated
// Differential Privacy: Simplifications, Extensions, and Lower Bounds", TCC, Proposition 1.3).
func Epsilon(rho, delta float64) float64 {
	if rho <= 0 {
		return 0
	}
	return rho + 2*math.Sqrt(rho*math.Log(1/delta))
}

// GaussianRho is the zCDP of the Gaussian mechanism of noise sd σ on a query of L2 sensitivity Δ:
// ρ = Δ²/(2σ²) (Bun & Steinke 2016, Proposition 1.6). Rounds compose by adding their ρ (Lemma 1.7).
func GaussianRho(sensitivity, sigma float64) float64 {
	return sensitivity * sensitivity / (2 * sigma * sigma)
}

// GaussianSigma is the noise sd σ that makes the Gaussian mechanism on a query of L2 sensitivity Δ
// satisfy ρ-zCDP: σ = Δ/√(2ρ).
func GaussianSigma(sensitivity, rho float64) float64 {
	return sensitivity / math.Sqrt(2*rho)
}

// ClassicSigma is the textbook calibration σ = Δ·√(2·ln(1.25/δ))/ε of the Gaussian mechanism for
// (ε, δ)-DP (Dwork & Roth 2014, The Algorithmic Foundations of Differential Privacy, Theorem A.1;
// valid for ε < 1). The accountant does not use it: it is the reference the zCDP calibration is
// compared with (for one round at ε = 1 they differ by about 1 %).
func ClassicSigma(epsilon, delta, sensitivity float64) float64 {
	checkEpsDelta(epsilon, delta)
	return sensitivity * math.Sqrt(2*math.Log(1.25/delta)) / epsilon
}

func checkEpsDelta(epsilon, delta float64) {
	if !(epsilon > 0) || math.IsInf(epsilon, 0) || !(delta > 0 && delta < 1) {
		panic("fed: need ε > 0 and 0 < δ < 1, have ε = " + strconv.FormatFloat(epsilon, 'g', -1, 64) +
			", δ = " + strconv.FormatFloat(delta, 'g', -1, 64))
	}
}

// Accountant keeps the privacy each visitor-day has spent, in zCDP, and refuses a round that would
// take any visitor of a day past its (ε, δ) budget. Every round of a day is charged as if each
// visitor of that day contributed to it with the full sensitivity: Σ ρ over the day's rounds is an
// upper bound of what any visitor lost that day, whatever they sent (the device's own daily bound
// makes the true loss smaller still when a visitor's contributions are split across rounds).
//
// Days are Unix days (UTC), those of wire.Batch.Day. The budget resets every day: ε is per visitor
// per day. Over d days a visitor who contributes every day has spent at most d·ρ_day of zCDP, that
// is Epsilon(d·ρ_day, δ') for any δ': the ledger answers that too (Total).
//
// An Accountant is safe for concurrent use.
type Accountant struct {
	epsilon, delta, budget float64

	mu    sync.Mutex
	spent map[int32]float64 // ρ by day
}

// NewAccountant returns an accountant of (ε, δ) per visitor per day.
func NewAccountant(epsilon, delta float64) (*Accountant, error) {
	if !(epsilon > 0) || math.IsInf(epsilon, 0) || !(delta > 0 && delta < 1) {
		return nil, errors.New("fed: accountant: need ε > 0 and 0 < δ < 1")
	}
	return &Accountant{epsilon: epsilon, delta: delta, budget: RhoFor(epsilon, delta), spent: map[int32]float64{}}, nil
}

// Budget returns the daily ε, δ and ρ = RhoFor(ε, δ).
func (a *Accountant) Budget() (epsilon, delta, rho float64) { return a.epsilon, a.delta, a.budget }

// Spend charges ρ to day, or returns ErrBudget and charges nothing when the day would go past its
// budget (a relative slack of 1e-9 absorbs rounding, so that n rounds of budget/n fit).
func (a *Accountant) Spend(day int32, rho float64) error {
	if !(rho >= 0) || math.IsInf(rho, 0) {
		return errors.New("fed: accountant: ρ must be finite and ≥ 0")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.spent[day]+rho > a.budget*(1+1e-9) {
		return ErrBudget
	}
	a.spent[day] += rho
	return nil
}

// Spent returns the ρ day has spent and its (ε, δ) conversion with the accountant's δ.
func (a *Accountant) Spent(day int32) (rho, epsilon float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rho = a.spent[day]
	return rho, Epsilon(rho, a.delta)
}

// Total returns the ρ spent over every day in the ledger and its (ε, δ) conversion with the
// accountant's δ: the loss of a visitor who contributed on every one of those days.
func (a *Accountant) Total() (rho, epsilon float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.spent {
		rho += r
	}
	return rho, Epsilon(rho, a.delta)
}
