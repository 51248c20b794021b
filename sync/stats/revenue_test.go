package stats

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// units sums per-unit revenue y and visitors n into an arm.
func units(name string, y []float64, n []int64) Arm {
	a := Arm{Name: name, Units: int64(len(y))}
	for i := range y {
		a.Visitors += n[i]
		a.Revenue += y[i]
		a.RevenueSq += y[i] * y[i]
		a.VisitorsSq += float64(n[i] * n[i])
		a.RevenueVisitors += y[i] * float64(n[i])
	}
	return a
}

// With one visitor per unit the ratio is a mean, and its variance the textbook s²/m.
func TestRevenueVarianceOfAMean(t *testing.T) {
	y := []float64{0, 0, 12, 0, 40, 0, 0, 7.5}
	a := units("a", y, []int64{1, 1, 1, 1, 1, 1, 1, 1})
	var mean, ss float64
	for _, v := range y {
		mean += v / 8
	}
	for _, v := range y {
		ss += (v - mean) * (v - mean)
	}
	got, err := a.RevenueVariance()
	if want := ss / 7 / 8; err != nil || math.Abs(got-want) > 1e-12 {
		t.Errorf("variance %v (%v), want s²/m = %v", got, err, want)
	}
	if _, err := units("b", y[:1], []int64{1}).RevenueVariance(); !errors.Is(err, ErrNoMoments) {
		t.Errorf("one unit: %v, want ErrNoMoments", err)
	}
	if _, err := DiffRevenue(a, Arm{Name: "old", Visitors: 100, Revenue: 50}, 0.95); !errors.Is(err, ErrNoMoments) {
		t.Errorf("a control without moments: %v, want ErrNoMoments", err)
	}
}

// simulatedArm draws m devices' batches: 1 to 3 visitors each, each buying with probability p an
// order of lognormal value (median 40, heavy right tail) times lift.
func simulatedArm(r *rand.Rand, name string, m int, p, lift float64) Arm {
	y, n := make([]float64, m), make([]int64, m)
	for i := range m {
		n[i] = 1 + r.Int64N(3)
		for range n[i] {
			if r.Float64() < p {
				y[i] += lift * math.Exp(math.Log(40)+0.8*r.NormFloat64())
			}
		}
	}
	return units(name, y, n)
}

// TestDiffRevenueCoverage: over 2,000 A/A experiments of 1,500 devices per arm (clustered
// visitors, skewed order values), the 95 % interval of the revenue difference covers 0 in 95 % of
// them (within 3 standard errors of the simulation); and a 50 % lift in order value is found in
// most of 500 experiments.
func TestDiffRevenueCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	const runs = 2000
	covered := 0
	for range runs {
		d, err := DiffRevenue(simulatedArm(r, "b", 1500, 0.05, 1), simulatedArm(r, "a", 1500, 0.05, 1), 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if d.Lo <= 0 && 0 <= d.Hi {
			covered++
		}
		if (d.P < 0.05) == (d.Lo <= 0 && 0 <= d.Hi) {
			t.Fatalf("p %v disagrees with the interval [%v, %v]", d.P, d.Lo, d.Hi)
		}
	}
	rate := float64(covered) / runs
	se := math.Sqrt(0.95 * 0.05 / runs)
	t.Logf("A/A: the 95 %% interval covered 0 in %d of %d experiments (%.1f %%)", covered, runs, 100*rate)
	if math.Abs(rate-0.95) > 3*se {
		t.Errorf("coverage %.3f, want 0.95 ± %.3f", rate, 3*se)
	}
	found, beats := 0, 0.0
	for range 500 {
		d, err := DiffRevenue(simulatedArm(r, "b", 1500, 0.05, 1.5), simulatedArm(r, "a", 1500, 0.05, 1), 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if d.P < 0.05 && d.Estimate > 0 {
			found++
		}
		beats += d.ProbPositive() / 500
	}
	t.Logf("order value +50 %%: found in %d of 500 experiments; mean chance to beat the control %.2f", found, beats)
	if found < 250 || beats < 0.8 {
		t.Errorf("a 50 %% lift found in %d of 500 (chance to beat %.2f)", found, beats)
	}
}
