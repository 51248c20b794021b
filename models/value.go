package models

import (
	"math"

	"github.com/presage-dev/presage/internal/detmath"
)

// Customer-value models, evaluated on the visitor's own history:
//
//	x    number of repeat purchases (purchases after the first), a whole number ≥ 0
//	t_x  time of the last purchase, measured from the first
//	T    the customer's age: time from the first purchase to now (t_x ≤ T)
//	t    a horizon: how far ahead purchases are counted
//
// Times are in model units of UnitDays days (7 by default: weeks, as in the CDNOW papers); see Units.
//
// BG/NBD: Fader, P.S., Hardie, B.G.S. & Lee, K.L. (2005), "Counting Your Customers" the Easy Way: An
// Alternative to the Pareto/NBD Model, Marketing Science 24(2):275–284; P(alive) from Fader, Hardie &
// Lee (2008), Computing P(alive) Using the BG/NBD Model (brucehardie.com/notes/021). Gamma-Gamma:
// Fader, P.S. & Hardie, B.G.S. (2013), The Gamma-Gamma Model of Monetary Value (brucehardie.com/notes/025).
//
// Inputs are sanitised rather than trusted: x is floored and clamped to [0, maxCount], times are
// clamped to [0, maxTime] with t_x ≤ T, and NaN counts as 0, so that no NaN or Inf comes out of a
// valid model (one that passed Validate, which bounds the parameters to [1e-9, 1e9]) whatever
// the visitor's history.

const (
	maxCount = 1e7 // repeat purchases; far beyond any customer, small enough that r+x stays exact
	maxTime  = 1e7 // units; about 190,000 years in weeks

	// Validate keeps every parameter in [minParam, maxParam] (q > 1 too), a range that holds any
	// fitted model and within which no intermediate result can overflow.
	minParam = 1e-9
	maxParam = 1e9

	maxSpend = 1e200 // mean spend per purchase, in any currency
)

// DefaultUnitDays is the model time unit when UnitDays is 0: a week.
const DefaultUnitDays = 7

// Units converts a duration in days to model units.
func (v *Value) Units(days float64) float64 {
	u := v.UnitDays
	if u == 0 {
		u = DefaultUnitDays
	}
	return days / u
}

func clampTime(t float64) float64 {
	if !(t > 0) { // also NaN
		return 0
	}
	return math.Min(t, maxTime)
}

// history sanitises (x, t_x, T).
func history(x, tx, T float64) (float64, float64, float64) {
	if !(x > 0) {
		x = 0
	}
	x = math.Floor(math.Min(x, maxCount))
	T = clampTime(T)
	tx = math.Min(clampTime(tx), T)
	return x, tx, T
}

// Alive returns P(alive | x, t_x, T), the probability that a customer with this history has not
// dropped out (Fader, Hardie & Lee 2008, note 021; it is the reciprocal of the denominator of
// eq. 10 of the 2005 paper):
//
//	P(alive) = 1 / (1 + δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^{r+x})
//
// A customer without repeat purchases is alive with probability 1 under BG/NBD: dropping out
// happens only right after a purchase. It is computed as σ(−ln D) with
// ln D = ln(a/(b+x−1)) + (r+x)·log1p((T−t_x)/(α+t_x)), which neither overflows nor cancels.
func (v *Value) Alive(x, tx, T float64) float64 {
	x, tx, T = history(x, tx, T)
	if x == 0 {
		return 1
	}
	return detmath.Sigmoid(-v.logOdds(x, tx, T))
}

// logOdds returns ln(a/(b+x−1)) + (r+x)·ln((α+T)/(α+t_x)) for x ≥ 1: the log of the δ term of
// the P(alive) denominator.
func (v *Value) logOdds(x, tx, T float64) float64 {
	ratio := detmath.Log1p((T - tx) / (v.Alpha + tx))
	return detmath.Log(v.A/(v.B+x-1)) + float64((v.R+x)*ratio)
}

// Expected returns E[X(t)], the expected number of repeat purchases in (0, t] of a customer drawn
// from the population (Fader, Hardie & Lee 2005, eq. 9):
//
//	E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))]
//
// It is the conditional expectation for x = t_x = T = 0, and computed the same way.
func (v *Value) Expected(t float64) float64 {
	return v.expectedGiven(clampTime(t), 0, 0)
}

// ConditionalExpected returns E[Y(t) | x, t_x, T], the expected number of purchases in (T, T+t]
// of a customer with history (x, t_x, T) (Fader, Hardie & Lee 2005, eq. 10):
//
//	E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^{r+x} · ₂F₁(r+x, b+x; a+b+x−1; z)]
//	                      / (1 + δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^{r+x}),   z = t/(α+T+t).
//
// The denominator is 1/P(alive). For the numerator, Euler's transformation ₂F₁(a₁, b₁; c₁; z) =
// (1−z)^{c₁−a₁−b₁} ₂F₁(c₁−a₁, c₁−b₁; c₁; z) turns the bracket into
//
//	1 − (1−z)^{a−1} · ₂F₁(a+b−1−r, a−1; a+b+x−1; z)
//
// whose series converges faster, cannot overflow for large x, and, written with
// L = ln(1−z) = −log1p(t/(α+T)) and detmath.HypTail, becomes
//
//	(a+b+x−1)/(a−1) · [...] = −(a+b+x−1)·expm1((a−1)L)/(a−1) − e^{(a−1)L} · HypTail(a+b−1−r, a−1, a+b+x−1, z)
//
// which stays finite and accurate through a = 1 (the removable singularity of the formula) and
// a+b+x−1 = 0. a < 1 is fine: the expectation over a finite horizon exists for every a > 0.
func (v *Value) ConditionalExpected(t, x, tx, T float64) float64 {
	x, tx, T = history(x, tx, T)
	e := v.expectedGiven(clampTime(t), x, T)
	if x == 0 {
		return e
	}
	return float64(e * detmath.Sigmoid(-v.logOdds(x, tx, T)))
}

// expectedGiven returns the numerator of eq. 10 (the expectation for a customer known alive at T).
func (v *Value) expectedGiven(t, x, T float64) float64 {
	if t == 0 {
		return 0
	}
	r, alpha, a, b := v.R, v.Alpha, v.A, v.B
	u := t / (alpha + T)
	z := t / (alpha + T + t)
	L := -detmath.Log1p(u) // ln(1−z) without cancellation
	B := a - 1
	C := a + b + x - 1
	BL := float64(B * L)
	var head float64 // −expm1(B·L)/B, → −L as B → 0
	if B == 0 {
		head = -L
	} else {
		head = -detmath.Expm1(BL) / B
	}
	tail := detmath.HypTail(a+b-1-r, B, C, z)
	// A customer alive at T buys at most as a Poisson customer who never drops out: E ≤ E[λ|x,T]·t
	// = (r+x)·t/(α+T). That bound clamps rounding, and replaces the series where it cannot be
	// summed (z within 1e-4 of 1 with a very large a, i.e. hardly any dropout: the bound's regime).
	ub := float64((r + x) * u)
	if isNaN(tail) || math.IsInf(tail, 0) {
		return ub
	}
	e := float64(C*head) - float64(detmath.Exp(BL)*tail)
	switch {
	case !(e > 0): // rounding at tiny t
		return 0
	case e > ub:
		return ub
	}
	return e
}

func isNaN(f float64) bool { return f != f }

// ExpectedSpend returns the expected mean spend per purchase of a customer with x repeat purchases
// of mean value mbar, under Gamma-Gamma (Fader & Hardie 2013, eq. 5):
//
//	E[M | p, q, γ, m̄, x] = (p·(γ + x·m̄)) / (p·x + q − 1)
//	                     = (q−1)/(px+q−1) · pγ/(q−1) + px/(px+q−1) · m̄
//
// a weighted mean of the population mean pγ/(q−1) and the customer's own mean. With x = 0 (or no
// Gamma-Gamma parameters) it is the population mean (0 without parameters). A negative or NaN
// mbar counts as 0.
func (v *Value) ExpectedSpend(x, mbar float64) float64 {
	if !(v.P > 0 && v.Q > 1 && v.Gamma > 0) {
		return 0
	}
	x, _, _ = history(x, 0, 0)
	if !(mbar > 0) {
		mbar = 0
	}
	mbar = math.Min(mbar, maxSpend)
	p := v.P
	return float64(p*(v.Gamma+float64(x*mbar))) / (float64(p*x) + v.Q - 1)
}

// Estimate is a customer's value summary over the model's horizon.
type Estimate struct {
	Alive     float64 // P(alive)
	Purchases float64 // expected purchases over Horizon
	Spend     float64 // expected spend per purchase
	Value     float64 // Purchases × Spend
}

// Estimate evaluates the whole model for a customer with x repeat purchases, the last t_x and the
// first T units ago, and a mean spend mbar per repeat purchase: P(alive), E[Y(Horizon)], the
// Gamma-Gamma spend (mbar itself when the model has no Gamma-Gamma part) and their product.
func (v *Value) Estimate(x, tx, T, mbar float64) Estimate {
	e := Estimate{Alive: v.Alive(x, tx, T), Purchases: v.ConditionalExpected(v.Horizon, x, tx, T)}
	if v.P > 0 {
		e.Spend = v.ExpectedSpend(x, mbar)
	} else if mbar > 0 {
		e.Spend = math.Min(mbar, maxSpend)
	}
	e.Value = float64(e.Purchases * e.Spend)
	return e
}
