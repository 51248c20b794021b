package stats

import (
	"fmt"
	"math"
)

// Sequential is a mixture sequential probability ratio test (mSPRT) of rate(treatment) −
// rate(control), after Johari, Pekelis and Walsh, "Always valid inference" (2017): its p-value and
// interval stay valid however often they are looked at, so a dashboard refreshed after every batch
// does not inflate false positives. The price is a wider interval than a fixed-horizon test at the
// horizon the latter would have needed.
//
// The difference is treated as normal with variance p̄(1 − p̄)(1/n_t + 1/n_c) at a pooled rate (with
// one pseudo-conversion and one pseudo-failure, so that a rate of 0 does not make it certain), and the
// alternative is a normal mixture N(0, Tau²) on the difference.
//
// Feed it the cumulative aggregates at each look, in order; the zero value is not ready: use
// NewSequential.
type Sequential struct {
	Tau2        float64 // mixing variance: about the square of the effect worth detecting
	Alpha       float64 // the error rate the interval is built for
	MinVisitors int64   // looks with fewer visitors in either arm are not tests (normal approximation)

	p      float64 // running always-valid p-value
	lo, hi float64 // running intersection of the intervals
	looks  int
}

// NewSequential returns a test with sensible defaults: a mixing standard deviation of 2 % points
// (conversion-rate effects marketing cares about), α = 0.05, 100 visitors per arm before the first look.
func NewSequential() *Sequential {
	return &Sequential{Tau2: 0.02 * 0.02, Alpha: 0.05, MinVisitors: 100, p: 1, lo: math.Inf(-1), hi: math.Inf(1)}
}

// Look updates the test with the cumulative aggregates and returns the always-valid result: the
// current estimate, the running (1 − Alpha) interval and the running p-value.
func (s *Sequential) Look(treatment, control Arm) (Diff, error) {
	if err := checkPair(treatment, control, 1-s.Alpha); err != nil {
		return Diff{}, err
	}
	if !(s.Tau2 > 0) {
		return Diff{}, fmt.Errorf("stats: mixing variance %v", s.Tau2)
	}
	pt, pc := treatment.Rate(), control.Rate()
	d := Diff{Estimate: pt - pc, Relative: relative(pt, pc), P: s.p, Lo: s.lo, Hi: s.hi}
	if treatment.Visitors < s.MinVisitors || control.Visitors < s.MinVisitors {
		return d, nil
	}
	nt, nc := float64(treatment.Visitors), float64(control.Visitors)
	pool := (float64(treatment.Conversions+control.Conversions) + 1) / (nt + nc + 2)
	v := pool * (1 - pool) * (1/nt + 1/nc)
	t2 := s.Tau2
	// Λ = N(θ̂; 0, v + τ²) / N(θ̂; 0, v), in logs.
	logLambda := 0.5*math.Log(v/(v+t2)) + d.Estimate*d.Estimate*t2/(2*v*(v+t2))
	s.p = math.Min(s.p, math.Min(1, math.Exp(-logLambda)))
	half := math.Sqrt(v * (v + t2) / t2 * (math.Log((v+t2)/v) - 2*math.Log(s.Alpha)))
	s.lo, s.hi = math.Max(s.lo, d.Estimate-half), math.Min(s.hi, d.Estimate+half)
	s.looks++
	d.P, d.Lo, d.Hi = s.p, s.lo, s.hi
	return d, nil
}

// Looks is the number of looks that were tests.
func (s *Sequential) Looks() int { return s.looks }
