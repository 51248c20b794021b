package fed_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/fed"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// The calibration of the Gaussian mechanism against known values.
func TestSigma(t *testing.T) {
	// ClassicSigma: σ = Δ·√(2 ln(1.25/δ))/ε (Dwork & Roth 2014, Theorem A.1); the values are the
	// textbook's, e.g. 4.8448 for (1, 1e-5) (√(2·ln 125000)).
	for _, tc := range []struct{ eps, delta, sens, want float64 }{
		{1, 1e-5, 1, 4.844805262605389},
		{0.5, 1e-5, 1, 9.689610525210778},
		{1, 1e-6, 1, 5.298802526850474},
		{0.1, 1e-5, 2, 96.89610525210778},
	} {
		if got := fed.ClassicSigma(tc.eps, tc.delta, tc.sens); !near(got, tc.want, 1e-12) {
			t.Errorf("ClassicSigma(%g, %g, %g) = %.12g, want %.12g", tc.eps, tc.delta, tc.sens, got, tc.want)
		}
	}
	// zCDP: ρ = (√(ln(1/δ)+ε) − √(ln(1/δ)))², σ = Δ/√(2ρ) (Bun & Steinke 2016, Propositions 1.3
	// and 1.6), worked by hand: for (1, 1e-6), ln(1e6) = 13.8155…, ρ = 0.0174689…, σ = 5.34998….
	// At ε = 1 the zCDP calibration is within 1 % of the classic one.
	for _, tc := range []struct{ eps, delta, rho, sigma float64 }{
		{1, 1e-6, 0.017468904769123432, 5.3499800619762965},
		{1, 1e-5, 0.0208199383395355, 4.900555168628412},
		{0.5, 1e-6, 0.004443844159097092, 10.607318076469435},
		{8, 1e-6, 0.9097068296901019, 0.7413687478774845},
	} {
		rho := fed.RhoFor(tc.eps, tc.delta)
		if !near(rho, tc.rho, 1e-10) {
			t.Errorf("RhoFor(%g, %g) = %.12g, want %.12g", tc.eps, tc.delta, rho, tc.rho)
		}
		if s := fed.GaussianSigma(1, rho); !near(s, tc.sigma, 1e-10) {
			t.Errorf("GaussianSigma(1, ρ(%g, %g)) = %.12g, want %.12g", tc.eps, tc.delta, s, tc.sigma)
		}
		if e := fed.Epsilon(rho, tc.delta); !near(e, tc.eps, 1e-10) {
			t.Errorf("Epsilon(RhoFor(%g, %g)) = %g", tc.eps, tc.delta, e)
		}
		if r := fed.GaussianRho(3, fed.GaussianSigma(3, rho)); !near(r, rho, 1e-12) {
			t.Errorf("GaussianRho∘GaussianSigma = %g, want %g", r, rho)
		}
	}
	if s, c := fed.GaussianSigma(1, fed.RhoFor(1, 1e-6)), fed.ClassicSigma(1, 1e-6, 1); math.Abs(s/c-1) > 0.01 {
		t.Errorf("zCDP σ %g and classic σ %g differ by more than 1 %%", s, c)
	}
}

func TestAccountant(t *testing.T) {
	acc, err := fed.NewAccountant(1, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	_, _, budget := acc.Budget()
	steps := []struct {
		name string
		day  int32
		rho  float64
		err  error
	}{
		{"quarter 1", 100, budget / 4, nil},
		{"quarter 2", 100, budget / 4, nil},
		{"quarter 3", 100, budget / 4, nil},
		{"quarter 4", 100, budget / 4, nil},
		{"fifth refused", 100, budget / 4, fed.ErrBudget},
		{"a sliver refused", 100, budget * 1e-6, fed.ErrBudget},
		{"next day fresh", 101, budget, nil},
		{"over a day's budget at once", 102, budget * 1.01, fed.ErrBudget},
		{"nothing is free", 102, 0, nil},
	}
	for _, s := range steps {
		if err := acc.Spend(s.day, s.rho); !errors.Is(err, s.err) {
			t.Errorf("%s: Spend = %v, want %v", s.name, err, s.err)
		}
	}
	if rho, eps := acc.Spent(100); !near(rho, budget, 1e-12) || !near(eps, 1, 1e-9) {
		t.Errorf("day 100 spent ρ = %g (ε %g), want %g (ε 1)", rho, eps, budget)
	}
	if rho, eps := acc.Spent(102); rho != 0 || eps != 0 {
		t.Errorf("day 102 spent ρ = %g, ε = %g after refusals, want 0", rho, eps)
	}
	// Two full days compose to 2ρ: ε(2ρ, δ) = 2ρ + 2√(2ρ·ln 1e6), between 1 and 2.
	rho, eps := acc.Total()
	if want := 2*budget + 2*math.Sqrt(2*budget*math.Log(1e6)); !near(rho, 2*budget, 1e-12) || !near(eps, want, 1e-12) || eps <= 1 || eps >= 2 {
		t.Errorf("total ρ %g ε %g, want %g and %g", rho, eps, 2*budget, want)
	}
	for _, bad := range [][2]float64{{0, 1e-6}, {1, 0}, {1, 1}, {math.Inf(1), 1e-6}, {math.NaN(), 1e-6}} {
		if _, err := fed.NewAccountant(bad[0], bad[1]); err == nil {
			t.Errorf("NewAccountant(%g, %g) accepted", bad[0], bad[1])
		}
	}
}

// testBundle has one federated model of two features (C = 2) and one model that is not federated.
func testBundle() *models.Bundle {
	return &models.Bundle{Format: models.FormatVersion, Version: 7, Site: "s", Features: []string{"a", "b"},
		Propensity: []models.Logistic{
			{Name: "other", Features: []uint16{0}, Weights: []float32{1}},
			{Name: "buy", Features: []uint16{0, 1}, Weights: []float32{0.5, -1}, Bias: 0.25,
				Fed: &models.Federated{Target: models.FedSessionOrder, Clip: 2, Mean: []float32{1, 0}, Scale: []float32{2, 4}}},
		}}
}

func batch(day int32, sum ...float32) *wire.Batch {
	return &wire.Batch{Site: "s", Bundle: 7, Day: day, Updates: []wire.ModelUpdate{{Model: "buy", Sum: sum, Count: 1}}}
}

func withCell(b *wire.Batch, cell uint32) *wire.Batch {
	b.Updates[0].Cell = cell
	return b
}

// TestScoreCells: the bins of wire.ScoreCell, read back by wire.ScoreBin.
func TestScoreCells(t *testing.T) {
	for _, c := range []struct {
		logit, y float64
		bin, yy  int
	}{{-100, 0, 0, 0}, {-7.01, 1, 0, 1}, {-7, 0, 1, 0}, {-2.5, 1, 5, 1}, {0, 0, 8, 0}, {6.99, 1, 14, 1}, {7, 0, 15, 0}, {1e9, 1, 15, 1}, {math.NaN(), 0, 0, 0}} {
		cell := wire.ScoreCell(c.logit, c.y)
		bin, y, ok := wire.ScoreBin(cell)
		lo, hi := wire.ScoreBinLogits(bin)
		if !ok || bin != c.bin || y != c.yy || (!math.IsNaN(c.logit) && (c.logit < lo || c.logit >= hi)) {
			t.Errorf("logit %g, label %g: cell %d → bin %d [%g, %g), label %d, ok %v; want bin %d, label %d", c.logit, c.y, cell, bin, lo, hi, y, ok, c.bin, c.yy)
		}
	}
	for _, cell := range []uint32{0, 2*wire.ScoreBins + 1, math.MaxUint32} {
		if _, _, ok := wire.ScoreBin(cell); ok {
			t.Errorf("cell %d read as valid", cell)
		}
	}
}

func TestRoundMerge(t *testing.T) {
	tr, err := fed.NewTrainer(fed.Config{MinCohort: 2, Epsilon: 1e9, Momentum: -1, L2: -1}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b := testBundle()
	r, err := tr.NewRound(b, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Sensitivity(); !near(got, math.Sqrt(6), 1e-12) {
		t.Errorf("sensitivity %g, want √(C²+2M) = √6", got)
	}
	adds := []struct {
		name string
		bt   *wire.Batch
		err  error
	}{
		{"within the bound", withCell(batch(10, 1, 0, 1), wire.ScoreCell(-2.5, 1)), nil},
		{"clipped by the server", withCell(batch(10, 0, 6, 8), wire.ScoreCell(-2.5, 0)), nil}, // norm 10 → (0, 1.2, 1.6)
		{"no updates", &wire.Batch{Site: "s", Bundle: 7, Day: 10}, nil},
		{"other bundle", &wire.Batch{Site: "s", Bundle: 6, Day: 10, Updates: batch(10, 1, 1, 1).Updates}, fed.ErrOtherBundle},
		{"other site", &wire.Batch{Site: "t", Bundle: 7, Day: 10, Updates: batch(10, 1, 1, 1).Updates}, fed.ErrOtherBundle},
		{"other day", batch(11, 1, 1, 1), fed.ErrOtherDay},
		{"wrong length", batch(10, 1, 1), fed.ErrBadUpdate},
		{"not finite", batch(10, 1, float32(math.NaN()), 1), fed.ErrBadUpdate},
		{"unknown model", &wire.Batch{Site: "s", Bundle: 7, Day: 10, Updates: []wire.ModelUpdate{{Model: "other", Sum: []float32{1, 1}}}}, fed.ErrBadUpdate},
		{"count above 1", &wire.Batch{Site: "s", Bundle: 7, Day: 10, Updates: []wire.ModelUpdate{{Model: "buy", Sum: []float32{1, 1, 1}, Count: 2}}}, fed.ErrBadUpdate},
		{"repeated model", &wire.Batch{Site: "s", Bundle: 7, Day: 10, Updates: append(batch(10, 0, 0, 0).Updates, batch(10, 0, 0, 0).Updates...)}, fed.ErrBadUpdate},
	}
	for _, a := range adds {
		if err := r.Add(a.bt); !errors.Is(err, a.err) {
			t.Errorf("%s: Add = %v, want %v", a.name, err, a.err)
		}
	}
	if r.Batches != 2 || r.Rejected != 8 {
		t.Errorf("%d batches merged, %d rejected; want 2 and 8", r.Batches, r.Rejected)
	}
	next, rep, err := r.Apply()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Applied || next.Version != 8 || b.Version != 7 {
		t.Fatalf("applied %v, version %d (old bundle %d)", rep.Applied, next.Version, b.Version)
	}
	// Logit −2.5 is bin 5 ([−3, −2)): one example of label 1 and one of label 0 there, nothing else.
	for i, v := range rep.Models[0].Scores {
		want := 0.0
		if i == 5 || i == wire.ScoreBins+5 {
			want = 1
		}
		if !near(v, want, 1e-3) {
			t.Errorf("score histogram[%d] = %g, want %g", i, v, want)
		}
	}
	// ε = 1e9 makes the noise negligible: mean gradient ((1,0,1) + (0,1.2,1.6))/2 = (0.5, 0.6, 1.3),
	// one step of η = 1 from β = (0.25 + 0.5·1, 0.5·2, −1·4) = (0.75, 1, −4).
	beta := []float64{0.75 - 0.5, 1 - 0.6, -4 - 1.3}
	got := fed.Standardise(&next.Propensity[1])
	for i := range beta {
		if !near(got[i], beta[i], 1e-5) {
			t.Errorf("β[%d] = %g, want %g", i, got[i], beta[i])
		}
	}
	if w := next.Propensity[1].Weights; !near(float64(w[0]), 0.4/2, 1e-5) || !near(float64(w[1]), -5.3/4, 1e-5) {
		t.Errorf("raw weights %v, want [0.2 -1.325]", w)
	}
	if o := next.Propensity[0]; o.Weights[0] != 1 || &o.Weights[0] != &b.Propensity[0].Weights[0] {
		t.Errorf("the model that is not federated changed")
	}
	if b.Propensity[1].Weights[0] != 0.5 {
		t.Errorf("the round's bundle was modified")
	}
	if err := next.Validate(); err != nil {
		t.Errorf("next bundle: %v", err)
	}
}

// Below the minimum cohort nothing moves, and the budget is spent all the same (the noisy count
// was drawn); a second round of the day is refused.
func TestRoundCohortAndBudget(t *testing.T) {
	tr, err := fed.NewTrainer(fed.Config{}, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	b := testBundle()
	r, _ := tr.NewRound(b, 20)
	for range 3 {
		if err := r.Add(batch(20, 0.1, 0.1, 0.1)); err != nil {
			t.Fatal(err)
		}
	}
	next, rep, err := r.Apply()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied || next != b || rep.Models[0].Applied {
		t.Errorf("3 contributors (noisy %.1f) moved the model", rep.Models[0].NoisyCount)
	}
	if !near(rep.DayEpsilon, 1, 1e-9) || !near(rep.Sigma, 5.3499800619762965*math.Sqrt(6), 1e-9) {
		t.Errorf("day ε %g, σ %g; want 1 and 5.35·√6", rep.DayEpsilon, rep.Sigma)
	}
	r2, _ := tr.NewRound(b, 20)
	if _, _, err := r2.Apply(); !errors.Is(err, fed.ErrBudget) {
		t.Errorf("second round of the day: %v, want ErrBudget", err)
	}
	if _, err := tr.NewRound(&models.Bundle{Version: 1}, 20); !errors.Is(err, fed.ErrNoModel) {
		t.Errorf("no federated model: %v", err)
	}
}

// A drained batch with updates, encoded by the module's codec, decodes the same through the sync
// server's hardened one (the server decodes wire.Batch strictly).
func TestBatchUpdatesOnTheWire(t *testing.T) {
	in := &wire.Batch{ID: []byte{1, 2}, Site: "s", Bundle: 7, Day: 20000,
		Updates: []wire.ModelUpdate{{Model: "buy", Sum: []float32{0.5, -1.25, 3e-8}, Count: 1}, {Model: "b", Sum: []float32{0}}}}
	var out wire.Batch
	if err := cborx.DecMode.Unmarshal(minicbor.Marshal(nil, in), &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&out, in) {
		t.Errorf("decoded %+v, want %+v", out, *in)
	}
}

// CheckUpdates checks a batch against the bundle and clips it in place, as Add would.
func TestCheckUpdates(t *testing.T) {
	b := testBundle()
	for _, tc := range []struct {
		name string
		bt   *wire.Batch
		want []float32
		err  error
	}{
		{"within the bound", batch(10, 1, 0, 1), []float32{1, 0, 1}, nil},
		{"clipped", batch(10, 0, 6, 8), []float32{0, 1.2, 1.6}, nil},
		{"wrong length", batch(10, 1, 1), nil, fed.ErrBadUpdate},
		{"unknown model", &wire.Batch{Updates: []wire.ModelUpdate{{Model: "other", Sum: []float32{1, 1}}}}, nil, fed.ErrBadUpdate},
		{"not finite", batch(10, 1, float32(math.Inf(1)), 1), nil, fed.ErrBadUpdate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fed.CheckUpdates(b, tc.bt)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			for i, w := range tc.want {
				if s := tc.bt.Updates[0].Sum; !near(float64(s[i]), float64(w), 1e-6) {
					t.Errorf("sum %v, want %v", s, tc.want)
				}
			}
		})
	}
	if err := fed.CheckUpdates(&models.Bundle{}, batch(10, 1)); !errors.Is(err, fed.ErrNoModel) {
		t.Errorf("no federated model: %v", err)
	}
}

// The held-back check: with the noise negligible, a step along the held-back gradient's descent
// is kept and one against it is refused; without held-back contributors the step is not taken.
func TestHeldBackCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		held     []float64
		heldN    float64
		applied  bool
		reason   string
		positive bool // HeldChange > 0
	}{
		{"held-back agrees", []float64{100, 0, 100}, 100, true, "", false},
		{"held-back disagrees", []float64{-100, 0, -100}, 100, false, fed.ReasonRegression, true},
		{"no held-back share", nil, 0, false, fed.ReasonHeldCohort, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := fed.NewTrainer(fed.Config{MinCohort: 2, Epsilon: 1e9, CheckHeldBack: true}, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			b := testBundle()
			r, _ := tr.NewRound(b, 10)
			if err := r.AddSum("buy", []float64{100, 0, 100}, 100, 100, false); err != nil {
				t.Fatal(err)
			}
			if tc.held != nil {
				if err := r.AddSum("buy", tc.held, tc.heldN, 100, true); err != nil {
					t.Fatal(err)
				}
			}
			next, rep, err := r.Apply()
			if err != nil {
				t.Fatal(err)
			}
			m := rep.Models[0]
			if m.Applied != tc.applied || rep.Applied != tc.applied || m.Reason != tc.reason || (m.HeldChange > 0) != tc.positive {
				t.Errorf("report %+v", m)
			}
			if !tc.applied && next != b {
				t.Errorf("a refused step changed the bundle")
			}
		})
	}
	tr, _ := fed.NewTrainer(fed.Config{}, rand.New(rand.NewPCG(1, 2)))
	r, _ := tr.NewRound(testBundle(), 10)
	for _, bad := range []struct {
		model string
		sum   []float64
	}{{"other", []float64{1, 1}}, {"buy", []float64{1, 1}}, {"buy", []float64{1, math.NaN(), 1}}} {
		if err := r.AddSum(bad.model, bad.sum, 1, 1, false); !errors.Is(err, fed.ErrBadUpdate) {
			t.Errorf("AddSum(%q, %v): %v", bad.model, bad.sum, err)
		}
	}
}
