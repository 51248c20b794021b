package stats

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// monteCarlo estimates P(b > a) and E[max(a − b, 0)] by sampling the posteriors.
func monteCarlo(b, a Beta, n int) (beats, loss float64) {
	src := rand.New(rand.NewPCG(7, 7))
	db, da := distuv.Beta{Alpha: b.Alpha, Beta: b.Beta, Src: src}, distuv.Beta{Alpha: a.Alpha, Beta: a.Beta, Src: src}
	for range n {
		x, y := db.Rand(), da.Rand()
		if x > y {
			beats++
		}
		loss += math.Max(y-x, 0)
	}
	return beats / float64(n), loss / float64(n)
}

func TestBayesian(t *testing.T) {
	for _, c := range []struct {
		name string
		b, a Arm
	}{
		{"no data", Arm{}, Arm{}},
		{"small", Arm{Visitors: 20, Conversions: 5}, Arm{Visitors: 25, Conversions: 3}},
		{"typical", Arm{Visitors: 4000, Conversions: 220}, Arm{Visitors: 4100, Conversions: 190}},
		{"large, close", Arm{Visitors: 200000, Conversions: 10150}, Arm{Visitors: 200000, Conversions: 10000}},
		{"b worse", Arm{Visitors: 1000, Conversions: 30}, Arm{Visitors: 1000, Conversions: 60}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pb, pa := Posterior(c.b, Uniform), Posterior(c.a, Uniform)
			beats, loss := ProbBeats(pb, pa), ExpectedLoss(pb, pa)
			mcBeats, mcLoss := monteCarlo(pb, pa, 400000)
			if !near(beats, mcBeats, 0.004) {
				t.Errorf("ProbBeats = %.4f, Monte Carlo %.4f", beats, mcBeats)
			}
			if !near(loss, mcLoss, 0.02*mcLoss+1e-5) {
				t.Errorf("ExpectedLoss = %.6f, Monte Carlo %.6f", loss, mcLoss)
			}
			if back := ProbBeats(pa, pb); !near(beats+back, 1, 1e-6) {
				t.Errorf("P(b>a) + P(a>b) = %v", beats+back)
			}
		})
	}
	if p := ProbBeats(Uniform, Uniform); !near(p, 0.5, 1e-9) {
		t.Errorf("two uniform posteriors: %v", p)
	}
	lo, hi := Posterior(Arm{Visitors: 1000, Conversions: 100}, Uniform).Interval(0.95)
	if !(lo > 0.081 && lo < 0.083 && hi > 0.119 && hi < 0.121) { // Beta(101, 901): 0.0820 to 0.1200
		t.Errorf("credible interval [%v, %v]", lo, hi)
	}
}

func TestDiffProportions(t *testing.T) {
	// 20 % of 1,000 against 15 % of 1,000: pooled z = 2.942, p = 0.00326; Wald 95 % interval 0.05 ± 0.0332 (se 0.016956).
	d, err := DiffProportions(Arm{Visitors: 1000, Conversions: 200}, Arm{Visitors: 1000, Conversions: 150}, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if !near(d.Estimate, 0.05, 1e-12) || !near(d.P, 0.00326, 2e-5) || !near(d.Hi-d.Estimate, 1.959964*0.0169558, 5e-6) ||
		!near(d.Relative, 1.0/3, 1e-12) {
		t.Errorf("got %+v", d)
	}
	for _, c := range []struct {
		name  string
		t, c  Arm
		level float64
	}{
		{"no visitors", Arm{}, Arm{Visitors: 10}, 0.95},
		{"more conversions than visitors", Arm{Visitors: 5, Conversions: 6}, Arm{Visitors: 10}, 0.95},
		{"negative", Arm{Visitors: -1}, Arm{Visitors: 10}, 0.95},
		{"level", Arm{Visitors: 10}, Arm{Visitors: 10}, 1},
		{"NaN revenue", Arm{Visitors: 10, Revenue: math.NaN()}, Arm{Visitors: 10}, 0.95},
	} {
		if _, err := DiffProportions(c.t, c.c, c.level); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if d, _ := DiffProportions(Arm{Visitors: 10}, Arm{Visitors: 10}, 0.95); d.P != 1 {
		t.Errorf("no conversions anywhere: p = %v", d.P)
	}
}

func TestSampleRatio(t *testing.T) {
	// A 52/48 split where 50/50 was asked, at 20,000 visitors: χ² = 32, caught.
	chi2, p, err := SampleRatio([]int64{10400, 9600}, []float64{1, 1})
	if err != nil || !near(chi2, 32, 1e-9) || p >= SRMThreshold {
		t.Errorf("52/48 at 20,000: χ² %v, p %v, %v", chi2, p, err)
	}
	// Its rate under A/A and its power are simulated in internal/campaignsim (TestSampleRatio).
	for _, bad := range []struct {
		o []int64
		w []float64
	}{{[]int64{1}, []float64{1}}, {[]int64{1, 2}, []float64{1}}, {[]int64{-1, 2}, []float64{1, 1}}, {[]int64{1, 2}, []float64{0, 1}}} {
		if _, _, err := SampleRatio(bad.o, bad.w); err == nil {
			t.Errorf("SampleRatio(%v, %v): no error", bad.o, bad.w)
		}
	}
}

func TestHolm(t *testing.T) {
	got := Holm([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if !near(got[i], want[i], 1e-12) {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	if got := Holm([]float64{0.9, 0.8}); got[0] != 1 || got[1] != 1 {
		t.Errorf("capped at 1: %v", got)
	}
}

func TestCompare(t *testing.T) {
	control := Arm{Name: "control", Visitors: 5000, Conversions: 250}
	res, err := Compare(control, []Arm{{Name: "b", Visitors: 5000, Conversions: 300}, {Name: "c", Visitors: 5000, Conversions: 240}}, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if !(res[0].ProbBeats > 0.95 && res[1].ProbBeats < 0.5 && res[0].ExpectedLoss < res[1].ExpectedLoss) {
		t.Errorf("b should beat control and c not: %+v", res)
	}
	raw, _ := DiffProportions(res[0].Arm, control, 0.95)
	if !(res[0].Fixed.P >= raw.P) {
		t.Errorf("adjusted p %v below raw %v", res[0].Fixed.P, raw.P)
	}
}
