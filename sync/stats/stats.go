package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// Arm is one variant's aggregate: the visitors it was decided for and those who converted.
type Arm struct {
	Name        string
	Visitors    int64
	Conversions int64
	Revenue     float64
	// Revenue's second moments over Units independent units (a device's learning batch): for each
	// unit's revenue y and visitors n, RevenueSq = Σy², VisitorsSq = Σn², RevenueVisitors = Σy·n.
	// With them DiffRevenue has a variance; Units 0 means they are unknown.
	Units                                  int64
	RevenueSq, VisitorsSq, RevenueVisitors float64
}

// Validate refuses aggregates no counting could produce.
func (a Arm) Validate() error {
	switch {
	case a.Visitors < 0 || a.Conversions < 0:
		return fmt.Errorf("stats: arm %q: negative count", a.Name)
	case a.Conversions > a.Visitors:
		return fmt.Errorf("stats: arm %q: %d conversions from %d visitors", a.Name, a.Conversions, a.Visitors)
	case math.IsNaN(a.Revenue) || math.IsInf(a.Revenue, 0):
		return fmt.Errorf("stats: arm %q: revenue %v", a.Name, a.Revenue)
	}
	return nil
}

// Rate is the conversion rate (0 without visitors).
func (a Arm) Rate() float64 {
	if a.Visitors == 0 {
		return 0
	}
	return float64(a.Conversions) / float64(a.Visitors)
}

// RevenuePerVisitor is the revenue per visitor (0 without visitors).
func (a Arm) RevenuePerVisitor() float64 {
	if a.Visitors == 0 {
		return 0
	}
	return a.Revenue / float64(a.Visitors)
}

// Beta is a Beta(Alpha, Beta) posterior of a conversion rate.
type Beta struct{ Alpha, Beta float64 }

// Uniform is the Beta(1, 1) prior: every rate equally likely before any data.
var Uniform = Beta{1, 1}

// Posterior is the posterior of a's conversion rate under prior.
func Posterior(a Arm, prior Beta) Beta {
	return Beta{prior.Alpha + float64(a.Conversions), prior.Beta + float64(a.Visitors-a.Conversions)}
}

// Mean is the posterior mean.
func (b Beta) Mean() float64 { return b.Alpha / (b.Alpha + b.Beta) }

// Interval is the equal-tailed credible interval holding the rate with probability level.
func (b Beta) Interval(level float64) (lo, hi float64) {
	d := distuv.Beta{Alpha: b.Alpha, Beta: b.Beta}
	tail := (1 - level) / 2
	return d.Quantile(tail), d.Quantile(1 - tail)
}

// nodes is the Gauss–Legendre order of the one-dimensional integrals below, taken over the central
// 1 − 1e-12 of the integrating posterior, where all of its mass is however many visitors it saw.
const nodes = 256

// over integrates f against b's density.
func (b Beta) over(f func(x float64) float64) float64 {
	d := distuv.Beta{Alpha: b.Alpha, Beta: b.Beta}
	lo, hi := d.Quantile(5e-13), d.Quantile(1-5e-13)
	return quad.Fixed(func(x float64) float64 { return d.Prob(x) * f(x) }, lo, hi, nodes, nil, 0)
}

// ProbBeats is P(rate of b > rate of a): the chance that b beats a.
func ProbBeats(b, a Beta) float64 {
	p := b.over(func(x float64) float64 { return mathext.RegIncBeta(a.Alpha, a.Beta, x) })
	return clamp01(p)
}

// ExpectedLoss is E[max(rate of a − rate of b, 0)]: the conversion rate given up, on average, by
// choosing b if a is in fact better. A variant is safe to ship when its loss is below a threshold
// of care (say 0.1 % points) whatever its chance to beat.
func ExpectedLoss(b, a Beta) float64 {
	ma := a.Mean()
	loss := b.over(func(y float64) float64 {
		// ∫_y^1 (x − y) f_a(x) dx = E[X; X > y] − y P(X > y), with E[X; X > y] = m_a (1 − I_y(α+1, β)).
		return ma*(1-mathext.RegIncBeta(a.Alpha+1, a.Beta, y)) - y*(1-mathext.RegIncBeta(a.Alpha, a.Beta, y))
	})
	return math.Max(loss, 0)
}

// Diff is an estimate of rate(treatment) − rate(control) with its interval and p-value.
type Diff struct {
	Estimate float64 // absolute difference of conversion rates
	Lo, Hi   float64 // interval at the level asked for
	P        float64 // two-sided p-value of "no difference"
	Relative float64 // Estimate / rate(control); 0 when control has no conversion
	SE       float64 // the estimate's standard error, where it is one (DiffRevenue)
}

// DiffProportions is the fixed-horizon comparison of two rates: a Wald interval on the difference
// (unpooled standard error) and the pooled two-proportion z-test. Valid once, at a horizon fixed in
// advance; for results looked at continuously use a Sequential test.
func DiffProportions(treatment, control Arm, level float64) (Diff, error) {
	if err := checkPair(treatment, control, level); err != nil {
		return Diff{}, err
	}
	pt, pc := treatment.Rate(), control.Rate()
	nt, nc := float64(treatment.Visitors), float64(control.Visitors)
	d := Diff{Estimate: pt - pc, Relative: relative(pt, pc)}
	se := math.Sqrt(pt*(1-pt)/nt + pc*(1-pc)/nc)
	z := distuv.UnitNormal.Quantile(1 - (1-level)/2)
	d.Lo, d.Hi = d.Estimate-z*se, d.Estimate+z*se
	pool := float64(treatment.Conversions+control.Conversions) / (nt + nc)
	if sp := math.Sqrt(pool * (1 - pool) * (1/nt + 1/nc)); sp > 0 {
		d.P = 2 * distuv.UnitNormal.Survival(math.Abs(d.Estimate)/sp)
	} else {
		d.P = 1 // both rates 0 or both 1: no evidence of a difference
	}
	return d, nil
}

func checkPair(treatment, control Arm, level float64) error {
	if !(level > 0 && level < 1) {
		return fmt.Errorf("stats: level %v not in (0, 1)", level)
	}
	if err := errors.Join(treatment.Validate(), control.Validate()); err != nil {
		return err
	}
	if treatment.Visitors == 0 || control.Visitors == 0 {
		return fmt.Errorf("stats: %q or %q has no visitors", treatment.Name, control.Name)
	}
	return nil
}

func relative(pt, pc float64) float64 {
	if pc == 0 {
		return 0
	}
	return (pt - pc) / pc
}

// SampleRatio is the sample-ratio-mismatch check: Pearson's χ² of the visitors observed per variant
// against the split the campaign asked for (weights, any scale). A small p-value (the server flags
// p < 0.001) means the assignment or the counting is broken and no other result can be trusted.
func SampleRatio(observed []int64, weights []float64) (chi2, p float64, err error) {
	if len(observed) != len(weights) || len(observed) < 2 {
		return 0, 0, fmt.Errorf("stats: %d counts for %d weights; need two or more of each", len(observed), len(weights))
	}
	var n, w float64
	for i, o := range observed {
		if o < 0 || !(weights[i] > 0) || math.IsInf(weights[i], 0) {
			return 0, 0, fmt.Errorf("stats: variant %d: count %d, weight %v", i, o, weights[i])
		}
		n += float64(o)
		w += weights[i]
	}
	if n == 0 {
		return 0, 1, nil
	}
	for i, o := range observed {
		e := n * weights[i] / w
		chi2 += (float64(o) - e) * (float64(o) - e) / e
	}
	return chi2, distuv.ChiSquared{K: float64(len(observed) - 1)}.Survival(chi2), nil
}

// SRMThreshold is the p-value under which a sample ratio mismatch is reported.
const SRMThreshold = 0.001

// Holm adjusts p-values for the number of comparisons (Holm–Bonferroni, step-down): the family-wise
// error rate of an A/B/n or multivariate test stays at the nominal level, less conservatively than
// Bonferroni. The adjusted values are in the order of p.
func Holm(p []float64) []float64 {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	adj := make([]float64, m)
	running := 0.0
	for rank, i := range order {
		running = math.Max(running, math.Min(1, float64(m-rank)*p[i]))
		adj[i] = running
	}
	return adj
}

func clamp01(v float64) float64 { return math.Min(1, math.Max(0, v)) }

// Result is one variant against the control, with every statistic the dashboard shows side by side.
type Result struct {
	Arm          Arm
	Rate         float64    // conversion rate
	Credible     [2]float64 // credible interval of the rate (uniform prior)
	ProbBeats    float64    // chance to beat the control
	ExpectedLoss float64    // rate given up by choosing it if the control is better
	Fixed        Diff       // fixed-horizon difference; P adjusted for the number of variants (Holm)
}

// Compare reports each variant against control at level (e.g. 0.95).
func Compare(control Arm, variants []Arm, level float64) ([]Result, error) {
	out := make([]Result, len(variants))
	for i, v := range variants {
		r, err := compare(v, control, level)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	adjust(out)
	return out, nil
}

// compare is one variant against control, its p-value not yet adjusted.
func compare(v, control Arm, level float64) (Result, error) {
	d, err := DiffProportions(v, control, level)
	if err != nil {
		return Result{}, err
	}
	pv, pc := Posterior(v, Uniform), Posterior(control, Uniform)
	lo, hi := pv.Interval(level)
	return Result{Arm: v, Rate: v.Rate(), Credible: [2]float64{lo, hi}, ProbBeats: ProbBeats(pv, pc),
		ExpectedLoss: ExpectedLoss(pv, pc), Fixed: d}, nil
}

// adjust replaces the p-values of a family of results by their Holm adjustment.
func adjust(rs []Result) {
	ps := make([]float64, len(rs))
	for i := range rs {
		ps[i] = rs[i].Fixed.P
	}
	for i, p := range Holm(ps) {
		rs[i].Fixed.P = p
	}
}
