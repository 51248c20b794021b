package stats

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// ErrNoMoments is returned when an arm's revenue has no second moments (Units < 2): its variance
// cannot be estimated.
var ErrNoMoments = errors.New("stats: revenue without its second moments")

// RevenueVariance is the variance of RevenuePerVisitor, a ratio of sums over units (each device's
// batch, which may count several visitors' exposures and orders): by the delta method for a ratio
// estimator (Cochran, "Sampling Techniques", 3rd ed. 1977, §6.4), with R = Σy/Σn,
//
//	var(R) ≈ m/(m−1) · Σ(y − R·n)² / (Σn)²,   Σ(y − R·n)² = Σy² − 2R·Σy·n + R²·Σn²,
//
// over m units. Units rather than visitors carry the variance because a unit's exposures and
// revenue are not independent of one another.
func (a Arm) RevenueVariance() (float64, error) {
	if a.Units < 2 || a.Visitors <= 0 {
		return 0, fmt.Errorf("%w: arm %q has %d units and %d visitors", ErrNoMoments, a.Name, a.Units, a.Visitors)
	}
	for _, v := range []float64{a.RevenueSq, a.VisitorsSq, a.RevenueVisitors} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return 0, fmt.Errorf("stats: arm %q: revenue moment %v", a.Name, v)
		}
	}
	r, n, m := a.RevenuePerVisitor(), float64(a.Visitors), float64(a.Units)
	ss := a.RevenueSq - 2*r*a.RevenueVisitors + r*r*a.VisitorsSq
	return m / (m - 1) * math.Max(ss, 0) / (n * n), nil
}

// DiffRevenue is the fixed-horizon comparison of revenue per visitor: a Wald interval on the
// difference and the z-test of "no difference", each arm's variance from RevenueVariance. Diff.SE
// is the difference's standard error, so that ProbPositive gives the chance to beat the control.
// Revenue is skewed (most visitors buy nothing, a few buy much): the normal approximation needs
// hundreds of units per arm, which a campaign worth reading has.
func DiffRevenue(treatment, control Arm, level float64) (Diff, error) {
	if err := checkPair(treatment, control, level); err != nil {
		return Diff{}, err
	}
	vt, err := treatment.RevenueVariance()
	if err != nil {
		return Diff{}, err
	}
	vc, err := control.RevenueVariance()
	if err != nil {
		return Diff{}, err
	}
	rt, rc := treatment.RevenuePerVisitor(), control.RevenuePerVisitor()
	d := Diff{Estimate: rt - rc, Relative: relative(rt, rc), SE: math.Sqrt(vt + vc)}
	z := distuv.UnitNormal.Quantile(1 - (1-level)/2)
	d.Lo, d.Hi = d.Estimate-z*d.SE, d.Estimate+z*d.SE
	switch {
	case d.SE > 0:
		d.P = 2 * distuv.UnitNormal.Survival(math.Abs(d.Estimate)/d.SE)
	case d.Estimate == 0:
		d.P = 1
	}
	return d, nil
}

// ProbPositive is the chance that the true difference is above 0: Φ(Estimate / SE), the posterior
// under a flat prior and the normal approximation; 0.5 without a standard error.
func (d Diff) ProbPositive() float64 {
	if !(d.SE > 0) {
		return 0.5
	}
	return distuv.UnitNormal.CDF(d.Estimate / d.SE)
}
