package eval

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestUpliftHand: uplift@k and the Qini curve of a ranking worked out by hand.
func TestUpliftHand(t *testing.T) {
	// 10 rows, best first by score. Rows 0–3 (top 40 %): 2 treated who convert, 2 controls who do
	// not. Rows 4–9: treated 4, 6, 8 (one converts), controls 5, 7, 9 (two convert).
	scores := []float64{0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0}
	treated := []bool{true, false, true, false, true, false, true, false, true, false}
	labels := []float64{1, 0, 1, 0, 1, 1, 0, 1, 0, 0}
	rep, err := Uplift(scores, labels, treated, UpliftOptions{Shares: []float64{0.2, 0.4, 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		rows, treated int
		uplift        float64
	}{
		{2, 1, 1 - 0},          // rows 0, 1
		{4, 2, 1 - 0},          // rows 0–3
		{10, 5, 3.0/5 - 2.0/5}, // everyone
	}
	for i, w := range want {
		a := rep.At[i]
		if a.Rows != w.rows || a.Treated != w.treated || math.Abs(a.Uplift-w.uplift) > 1e-12 {
			t.Errorf("at %v: %+v, want rows %d treated %d uplift %v", a.Share, a, w.rows, w.treated, w.uplift)
		}
	}
	if math.Abs(rep.Overall-0.2) > 1e-12 {
		t.Errorf("overall %v, want 0.2", rep.Overall)
	}
	// Qini after 4 rows: Y_T = 2, Y_C = 0 → 2/10; at the end: 3 − 2·5/5 = 1 → 1/10.
	at := func(x float64) float64 {
		for _, p := range rep.Qini {
			if math.Abs(p.X-x) < 1e-12 {
				return p.Y
			}
		}
		t.Fatalf("no Qini point at %v", x)
		return 0
	}
	if y := at(0.4); math.Abs(y-0.2) > 1e-12 {
		t.Errorf("Qini(0.4) = %v, want 0.2", y)
	}
	if y := at(1); math.Abs(y-0.1) > 1e-12 {
		t.Errorf("Qini(1) = %v, want 0.1", y)
	}
	if math.Abs(rep.RandomArea-0.05) > 1e-12 {
		t.Errorf("random area %v, want 0.05", rep.RandomArea)
	}
	if !(rep.QiniArea > rep.RandomArea) || math.Abs(rep.QiniCoefficient-(rep.QiniArea-rep.RandomArea)) > 1e-15 {
		t.Errorf("area %v, random %v, coefficient %v", rep.QiniArea, rep.RandomArea, rep.QiniCoefficient)
	}
	if len(rep.Deciles) != 10 || rep.Deciles[0].Rows != 1 {
		t.Errorf("deciles %+v", rep.Deciles)
	}
}

// TestUpliftTies: rows of equal score enter the Qini curve together, whatever their order.
func TestUpliftTies(t *testing.T) {
	scores := []float64{1, 1, 1, 1, 0, 0, 0, 0, 0, 0}
	treated := []bool{true, false, true, false, true, false, true, false, true, false}
	labels := []float64{1, 0, 0, 0, 0, 0, 0, 1, 1, 0}
	rep, err := Uplift(scores, labels, treated, UpliftOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Qini) != 3 {
		t.Fatalf("Qini %v: want 3 points (start and two tie groups)", rep.Qini)
	}
}

// TestUpliftRanking: on a campaign with known effects, ranking by the true effect puts the Qini
// curve above random, ranking against it below, and a random ranking near the line.
func TestUpliftRanking(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	n := 20000
	effect := make([]float64, n)
	labels := make([]float64, n)
	treated := make([]bool, n)
	noise := make([]float64, n)
	for i := range n {
		base := 0.2
		effect[i] = []float64{0.3, 0, -0.15}[i%3] // persuadable, indifferent, do-not-disturb
		treated[i] = r.Float64() < 0.5
		p := base
		if treated[i] {
			p += effect[i]
		}
		if r.Float64() < p {
			labels[i] = 1
		}
		noise[i] = r.Float64()
	}
	neg := make([]float64, n)
	for i, e := range effect {
		neg[i] = -e
	}
	coef := map[string]float64{}
	for name, s := range map[string][]float64{"truth": effect, "reversed": neg, "random": noise} {
		rep, err := Uplift(s, labels, treated, UpliftOptions{})
		if err != nil {
			t.Fatal(err)
		}
		coef[name] = rep.QiniCoefficient
		if name == "truth" && !(rep.At[0].Uplift > 0.2 && rep.At[0].Uplift > 2*rep.Overall) {
			t.Errorf("truth: uplift@10 %v, overall %v", rep.At[0].Uplift, rep.Overall)
		}
	}
	if !(coef["truth"] > 0.02 && coef["reversed"] < -0.02 && math.Abs(coef["random"]) < 0.01) {
		t.Errorf("Qini coefficients %v: want truth > 0.02, reversed < −0.02, random near 0", coef)
	}
	tg := UpliftTargeting(effect, labels, treated, 10, 0.5, nil)
	if !(tg.Shown > 0.3 && tg.Shown < 0.36 && tg.Profit > tg.ProfitAll) {
		t.Errorf("targeting %+v: want the persuadable third shown and more margin than treating everyone", tg)
	}
}

func TestUpliftRefused(t *testing.T) {
	ten := make([]float64, 10)
	mixed := []bool{true, false, true, false, true, false, true, false, true, false}
	tests := []struct {
		name    string
		scores  []float64
		labels  []float64
		treated []bool
		opt     UpliftOptions
		want    string
	}{
		{"lengths", ten, ten[:9], mixed[:9], UpliftOptions{}, "scores for"},
		{"flags", ten, ten, mixed[:9], UpliftOptions{}, "treatment flags"},
		{"few rows", ten[:5], ten[:5], mixed[:5], UpliftOptions{}, "at least 10 rows"},
		{"no control", ten, ten, make([]bool, 10), UpliftOptions{}, "treated and control"},
		{"share", ten, ten, mixed, UpliftOptions{Shares: []float64{1.5}}, "not in (0, 1]"},
		{"label", ten, append([]float64{2}, ten[1:]...), mixed, UpliftOptions{}, "want 0 or 1"},
		{"NaN score", append([]float64{math.NaN()}, ten[1:]...), ten, mixed, UpliftOptions{}, "not finite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Uplift(tc.scores, tc.labels, tc.treated, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestThin(t *testing.T) {
	var pts []Point
	for i := range 1001 {
		pts = append(pts, Point{X: float64(i) / 1000, Y: float64(i)})
	}
	got := thin(pts, 11)
	if len(got) != 11 || got[0] != pts[0] || got[10] != pts[1000] || got[5].X != 0.5 {
		t.Errorf("thin: %v", got)
	}
}
