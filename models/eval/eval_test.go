package eval

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestAUC(t *testing.T) {
	tests := []struct {
		name   string
		scores []float64
		labels []float64
		want   float64
	}{
		{"perfect", []float64{0.1, 0.2, 0.8, 0.9}, []float64{0, 0, 1, 1}, 1},
		{"reversed", []float64{0.9, 0.8, 0.2, 0.1}, []float64{0, 0, 1, 1}, 0},
		{"sklearn-example", []float64{0.1, 0.4, 0.35, 0.8}, []float64{0, 0, 1, 1}, 0.75},
		{"all-tied", []float64{0.3, 0.3, 0.3, 0.3, 0.3}, []float64{1, 0, 1, 0, 0}, 0.5},
		// pos {0.5, 0.7} vs neg {0.5, 0.2}: ½ + 1 + 1 + 1 of 4 pairs.
		{"tie-across-classes", []float64{0.5, 0.5, 0.2, 0.7}, []float64{1, 0, 0, 1}, 0.875},
		// Scores need not be probabilities. pos {10, 2, −1} vs neg {−3, 2}: 1+1+1+½+1+0 of 6.
		{"raw-scores", []float64{-3, 10, 2, 2, -1}, []float64{0, 1, 1, 0, 1}, 4.5 / 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AUC(tt.scores, tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tt.want, 1e-12) {
				t.Errorf("AUC = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInputErrors(t *testing.T) {
	tests := []struct {
		name           string
		scores, labels []float64
		want           string
	}{
		{"length", []float64{0.1}, []float64{0, 1}, "1 scores for 2 labels"},
		{"empty", nil, nil, "no rows"},
		{"label-2", []float64{0.1, 0.2}, []float64{0, 2}, "label 1 is 2"},
		{"nan", []float64{math.NaN(), 0.2}, []float64{0, 1}, "score 0 is not finite"},
		{"one-class", []float64{0.1, 0.2}, []float64{1, 1}, "one class"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AUC(tt.scores, tt.labels)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "eval: ") {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := LogLoss([]float64{1.5}, []float64{1}); err == nil {
		t.Error("LogLoss accepted a score of 1.5")
	}
}

func TestProbabilityScores(t *testing.T) {
	tests := []struct {
		name          string
		probs, labels []float64
		logLoss       float64
		brier         float64
	}{
		{"confident-right", []float64{0.9, 0.1}, []float64{1, 0}, -math.Log(0.9), 0.01},
		{"coin", []float64{0.5, 0.5, 0.5}, []float64{1, 0, 0}, math.Ln2, 0.25},
		{"mixed", []float64{0.9, 0.2}, []float64{1, 0}, -(math.Log(0.9) + math.Log(0.8)) / 2, 0.025},
		// Clipped at 1e-15: large but finite.
		{"certain-wrong", []float64{0, 1}, []float64{1, 1}, -math.Log(1e-15) / 2, 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ll, err := LogLoss(tt.probs, tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			br, err := Brier(tt.probs, tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			if !near(ll, tt.logLoss, 1e-9) || !near(br, tt.brier, 1e-12) {
				t.Errorf("log loss %v brier %v, want %v %v", ll, br, tt.logLoss, tt.brier)
			}
		})
	}
}

func TestReliability(t *testing.T) {
	tests := []struct {
		name          string
		probs, labels []float64
		bins          int
		ece           float64
		counts        map[int]int
	}{
		// Bin 0: 0.05 vs 0 (1 row); bin 1: 0.15 vs 0.5 (2 rows); bin 9: 0.95 vs 1 (1 row).
		{"hand", []float64{0.05, 0.15, 0.15, 0.95}, []float64{0, 0, 1, 1}, 10, 0.05/4 + 0.35*2/4 + 0.05/4,
			map[int]int{0: 1, 1: 2, 9: 1}},
		{"one-in-last-bin", []float64{1, 0}, []float64{1, 0}, 4, 0, map[int]int{0: 1, 3: 1}},
		{"calibrated", []float64{0.25, 0.25, 0.25, 0.25}, []float64{1, 0, 0, 0}, 2, 0, map[int]int{0: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bins, ece, err := Reliability(tt.probs, tt.labels, tt.bins)
			if err != nil {
				t.Fatal(err)
			}
			if !near(ece, tt.ece, 1e-12) {
				t.Errorf("ECE = %v, want %v", ece, tt.ece)
			}
			for b, bin := range bins {
				if bin.Count != tt.counts[b] {
					t.Errorf("bin %d count %d, want %d", b, bin.Count, tt.counts[b])
				}
			}
		})
	}
}

func TestGainLiftAtK(t *testing.T) {
	tests := []struct {
		name           string
		scores, labels []float64
		gain           []Point
		k              int
		prec, rec      float64
		lift2          []float64 // cumulative lift at depths ½ and 1
	}{
		{"distinct", []float64{4, 3, 2, 1}, []float64{1, 0, 1, 0},
			[]Point{{0, 0}, {0.25, 0.5}, {0.5, 0.5}, {0.75, 1}, {1, 1}}, 1, 1, 0.5, []float64{1, 1}},
		{"distinct-k2", []float64{4, 3, 2, 1}, []float64{1, 1, 0, 0},
			[]Point{{0, 0}, {0.25, 0.5}, {0.5, 1}, {0.75, 1}, {1, 1}}, 2, 1, 1, []float64{2, 1}},
		// All tied: a random order, so the top k holds the base rate in expectation.
		{"all-tied", []float64{1, 1, 1, 1}, []float64{1, 0, 1, 0},
			[]Point{{0, 0}, {1, 1}}, 1, 0.5, 0.25, []float64{1, 1}},
		// The top two tie with one positive: k = 1 takes half of it.
		{"tie-at-top", []float64{5, 5, 1, 0}, []float64{1, 0, 1, 0},
			[]Point{{0, 0}, {0.5, 0.5}, {0.75, 1}, {1, 1}}, 1, 0.5, 0.25, []float64{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Gain(tt.scores, tt.labels)
			if err != nil {
				t.Fatal(err)
			}
			if len(g) != len(tt.gain) {
				t.Fatalf("gain %v, want %v", g, tt.gain)
			}
			for i := range g {
				if !near(g[i].X, tt.gain[i].X, 1e-12) || !near(g[i].Y, tt.gain[i].Y, 1e-12) {
					t.Fatalf("gain %v, want %v", g, tt.gain)
				}
			}
			p, r, err := PrecisionRecallAtK(tt.scores, tt.labels, tt.k)
			if err != nil {
				t.Fatal(err)
			}
			if !near(p, tt.prec, 1e-12) || !near(r, tt.rec, 1e-12) {
				t.Errorf("P@%d %v R@%d %v, want %v %v", tt.k, p, tt.k, r, tt.prec, tt.rec)
			}
			lt, err := Lift(tt.scores, tt.labels, 2)
			if err != nil {
				t.Fatal(err)
			}
			for i, row := range lt {
				if !near(row.CumLift, tt.lift2[i], 1e-12) {
					t.Errorf("lift at %v = %v, want %v", row.Depth, row.CumLift, tt.lift2[i])
				}
			}
		})
	}
}

func TestROC(t *testing.T) {
	got, err := ROC([]float64{0.9, 0.8, 0.7, 0.6}, []float64{1, 0, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{{0, 0}, {0, 0.5}, {0.5, 0.5}, {0.5, 1}, {1, 1}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ROC %v, want %v", got, want)
		}
	}
}

// gainAtW, which the bootstrap uses, agrees with the interpolated gain curve, with ties and weights.
func TestGainAtMatchesCurve(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	n := 300
	s, y, w := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		s[i] = float64(rng.IntN(20)) // many ties
		if rng.Float64() < 0.1+0.04*s[i] {
			y[i] = 1
		}
		w[i] = float64(rng.IntN(3))
	}
	order := ascending(s)
	c := curve(s, y, w, order, false)
	for _, d := range []float64{0.001, 0.05, 0.1, 0.33, 0.5, 0.99, 1} {
		if a, b := gainAtW(s, y, w, order, d), interpolate(c, d); !near(a, b, 1e-12) {
			t.Errorf("depth %v: gainAtW %v, curve %v", d, a, b)
		}
	}
}

func TestRanked(t *testing.T) {
	tests := []struct {
		name             string
		ranked, relevant []int
		k                int
		hit, ndcg        float64
		prec, rec        float64
	}{
		{"third", []int{5, 3, 9}, []int{9, 1}, 10, 1, (1 / math.Log2(4)) / (1 + 1/math.Log2(3)), 0.1, 0.5},
		{"cut-off", []int{5, 3, 9}, []int{9, 1}, 2, 0, 0, 0, 0},
		{"first", []int{1, 2}, []int{1}, 10, 1, 1, 0.1, 1},
		{"both-on-top", []int{1, 9, 4}, []int{9, 1}, 3, 1, 1, 2.0 / 3, 1},
		{"none-relevant", []int{1, 2}, nil, 10, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := PrecisionRecallAt(tt.ranked, tt.relevant, tt.k)
			if h := HitAt(tt.ranked, tt.relevant, tt.k); h != tt.hit {
				t.Errorf("hit %v, want %v", h, tt.hit)
			}
			if g := NDCGAt(tt.ranked, tt.relevant, tt.k); !near(g, tt.ndcg, 1e-12) {
				t.Errorf("NDCG %v, want %v", g, tt.ndcg)
			}
			if !near(p, tt.prec, 1e-12) || !near(r, tt.rec, 1e-12) {
				t.Errorf("P %v R %v, want %v %v", p, r, tt.prec, tt.rec)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		q, want float64
	}{{0, 1}, {0.25, 1.75}, {0.5, 2.5}, {1, 4}}
	for _, tt := range tests {
		if got := quantile([]float64{1, 2, 3, 4}, tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestBootstrap(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	v := make([]float64, 1000)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	a, err := BootstrapMean(v, BootstrapOptions{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := BootstrapMean(v, BootstrapOptions{Seed: 7})
	c, _ := BootstrapMean(v, BootstrapOptions{Seed: 8})
	if a != b {
		t.Errorf("same seed, different intervals: %+v %+v", a, b)
	}
	if a == c {
		t.Error("different seeds, same interval")
	}
	// The standard error of a mean of 1,000 N(0,1) draws is 0.0316: a 95 % interval ≈ ±0.062.
	if !(a.Lo < a.Estimate && a.Estimate < a.Hi) || !near(a.Hi-a.Lo, 2*1.96/math.Sqrt(1000), 0.015) {
		t.Errorf("interval %+v", a)
	}
	none, _ := BootstrapMean(v, BootstrapOptions{Reps: -1})
	js, err := json.Marshal(none)
	if err != nil || !strings.Contains(string(js), `"lo":null`) {
		t.Errorf("no replicates: %s, %v", js, err)
	}
	if _, err := Bootstrap(0, BootstrapOptions{}, func([]float64) float64 { return 0 }); err == nil {
		t.Error("bootstrap of nothing accepted")
	}
	if _, err := BootstrapMean(v, BootstrapOptions{Level: 1.5}); err == nil {
		t.Error("level 1.5 accepted")
	}
}

func TestBinary(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := 2000
	s, y := make([]float64, n), make([]float64, n)
	for i := range n {
		s[i] = rng.Float64()
		if rng.Float64() < s[i] { // calibrated by construction
			y[i] = 1
		}
	}
	rep, err := Binary(s, y, BinaryOptions{Bootstrap: BootstrapOptions{Reps: 200}})
	if err != nil {
		t.Fatal(err)
	}
	auc, _ := AUC(s, y)
	if rep.AUC.Estimate != auc || !(rep.AUC.Lo < auc && auc < rep.AUC.Hi) {
		t.Errorf("AUC %+v, direct %v", rep.AUC, auc)
	}
	// Uniform calibrated scores: AUC ∫2s(2s−s²)ds = 5/6 in expectation, ECE small, Brier 1/6.
	if !near(auc, 5.0/6, 0.03) || rep.ECE == nil || rep.ECE.Estimate > 0.05 || !near(rep.Brier.Estimate, 1.0/6, 0.01) {
		t.Errorf("AUC %v ECE %+v Brier %+v", auc, rep.ECE, rep.Brier)
	}
	if len(rep.Lift) != 10 || len(rep.Reliability) != 10 || len(rep.AtK) != 4 || rep.AtK[2].K != 200 {
		t.Errorf("lift %d, reliability %d, at k %+v", len(rep.Lift), len(rep.Reliability), rep.AtK)
	}
	p, r, _ := PrecisionRecallAtK(s, y, 200)
	if !near(rep.AtK[2].Precision.Estimate, p, 1e-12) || !near(rep.AtK[2].Recall.Estimate, r, 1e-12) {
		t.Errorf("at 10%%: %+v, direct %v %v", rep.AtK[2], p, r)
	}
	if !near(rep.TopDecile.Estimate, rep.Lift[0].CumLift, 1e-12) {
		t.Errorf("top decile %v, lift table %v", rep.TopDecile.Estimate, rep.Lift[0].CumLift)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Error(err)
	}
	// Raw scores: no probability metrics.
	for i := range s {
		s[i] = 10 * (s[i] - 0.5)
	}
	rep, err = Binary(s, y, BinaryOptions{Bootstrap: BootstrapOptions{Reps: -1}})
	if err != nil || rep.LogLoss != nil || rep.Reliability != nil || rep.AUC.Estimate != auc {
		t.Errorf("raw scores: %v, %+v", err, rep)
	}
}
