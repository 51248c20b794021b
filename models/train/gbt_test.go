package train

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/eval"
)

// interactionData draws rows whose label depends on an interaction (x0 > 0.5 and x1 > 0.5, or
// x2 = 1) that no linear model captures, plus a noise column.
func interactionData(n int, seed uint64) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	X := mat.NewDense(n, 4, nil)
	y := make([]float64, n)
	for i := range n {
		x0, x1, x2, x3 := rng.Float64(), rng.Float64(), float64(rng.IntN(2)), rng.NormFloat64()
		X.SetRow(i, []float64{x0, x1, x2, x3})
		z := -2.0
		if x0 > 0.5 && x1 > 0.5 {
			z += 3
		}
		z += 1.5 * x2
		if rng.Float64() < sigmoid(z) {
			y[i] = 1
		}
	}
	return X, y
}

func TestFitGBT(t *testing.T) {
	ctx := context.Background()
	X, y := interactionData(4000, 1)
	Xt, yt := interactionData(2000, 2)
	names := []string{"x0", "x1", "x2", "noise"}
	m, rep, err := FitGBT(ctx, X, y, names, GBTOptions{Name: "gbt", Trees: 60, Depth: 3, Calibration: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	b := &models.Bundle{Format: models.FormatVersion, Version: 1, Features: names, Tabular: []models.Logistic{m}}
	if err := b.Validate(); err != nil {
		t.Fatalf("the fitted trees do not validate: %v", err)
	}
	if rep.Trees != 60 || rep.Nodes != len(m.Trees.Value) || rep.TrainRows != 3200 || rep.HoldoutRows != 800 {
		t.Errorf("report %+v", rep)
	}
	if len(m.Weights) != len(m.Features) || m.Weights[0] != 0 {
		t.Errorf("weights %v for features %v", m.Weights, m.Features)
	}
	probs := func(m *models.Logistic) []float64 {
		n, _ := Xt.Dims()
		cols := make([]uint16, len(m.Features))
		for k, f := range m.Features {
			cols[k] = f
		}
		p := make([]float64, n)
		for i := range n {
			p[i] = sigmoid(m.Logit(Xt.RawRowView(i), cols))
		}
		return p
	}
	gAUC, _ := eval.AUC(probs(&m), yt)
	lr, _, err := FitLogistic(ctx, X, y, names, LogisticOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lAUC, _ := eval.AUC(probs(&lr), yt)
	t.Logf("held-out AUC: gbt %.4f, logistic %.4f; holdout log loss %.4f; %d nodes", gAUC, lAUC, rep.HoldoutLogLoss, rep.Nodes)
	if gAUC < lAUC+0.02 || gAUC < 0.75 {
		t.Errorf("trees AUC %.4f do not capture the interaction (logistic %.4f)", gAUC, lAUC)
	}
	if rep.Gain[3] > 0.25*rep.Gain[0] {
		t.Errorf("the noise column gains %v against x0's %v", rep.Gain[3], rep.Gain[0])
	}

	t.Run("deterministic", func(t *testing.T) {
		m2, _, err := FitGBT(ctx, X, y, names, GBTOptions{Name: "gbt", Trees: 60, Depth: 3, Calibration: 0.2})
		if err != nil {
			t.Fatal(err)
		}
		b2 := &models.Bundle{Format: models.FormatVersion, Version: 1, Features: names, Tabular: []models.Logistic{m2}}
		if string(b.Encode()) != string(b2.Encode()) {
			t.Error("two fits with the same seed differ")
		}
	})
	t.Run("early stopping keeps the best round", func(t *testing.T) {
		_, rep, err := FitGBT(ctx, X, y, names, GBTOptions{Trees: 400, Depth: 4, LearningRate: 0.3, Calibration: 0.25, EarlyStop: 10})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Trees >= 400 || rep.Trees == 0 {
			t.Errorf("kept %d of 400 trees", rep.Trees)
		}
	})
	t.Run("subsample", func(t *testing.T) {
		m3, _, err := FitGBT(ctx, X, y, names, GBTOptions{Trees: 40, Subsample: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		if a, _ := eval.AUC(probs(&m3), yt); a < 0.75 {
			t.Errorf("AUC %.4f with half the rows per tree", a)
		}
	})
}

// TestGBTFloat32Thresholds: a value that differs from a threshold only beyond float32 precision
// takes the same branch in training and on the device, because both compare float32 values.
func TestGBTFloat32Thresholds(t *testing.T) {
	n := 400
	X := mat.NewDense(n, 1, nil)
	y := make([]float64, n)
	for i := range n {
		v := 1 + float64(i%2)*1e-9 // 1 and 1+1e-9 are one float32
		if i >= n/2 {
			v = 2
			y[i] = 1
		}
		X.Set(i, 0, v)
	}
	m, _, err := FitGBT(context.Background(), X, y, []string{"x"}, GBTOptions{Trees: 5, Depth: 1, MinLeaf: 5})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range m.Trees.Value[:1] {
		if v != 2 {
			t.Errorf("threshold %v, want the float32 value 2", v)
		}
	}
	lo := m.Logit([]float64{1}, []uint16{0})
	if got := m.Logit([]float64{1 + 1e-9}, []uint16{0}); got != lo {
		t.Errorf("1 and 1+1e-9 score %v and %v", lo, got)
	}
}

func TestFitGBTErrors(t *testing.T) {
	X, y := interactionData(200, 3)
	one := make([]float64, 200)
	nan := mat.DenseCopyOf(X)
	nan.Set(5, 1, math.NaN())
	tests := []struct {
		name string
		X    *mat.Dense
		y    []float64
		opt  GBTOptions
		want string
	}{
		{"one class", X, one, GBTOptions{}, "one class"},
		{"soft label", X, append([]float64{0.5}, y[1:]...), GBTOptions{}, "not 0 or 1 at row 0"},
		{"NaN", nan, y, GBTOptions{}, "row 5"},
		{"deep", X, y, GBTOptions{Depth: 7}, "depth 7"},
		{"bins", X, y, GBTOptions{Bins: 1}, "bins"},
		{"calibration", X, y, GBTOptions{Calibration: 1}, "calibration"},
		{"too many nodes", X, y, GBTOptions{Trees: 1000, Depth: 6}, "nodes"},
		{"too few rows", X, y, GBTOptions{MinLeaf: 150}, "too few"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := FitGBT(context.Background(), tc.X, tc.y, []string{"a", "b", "c", "d"}, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "train: gbt: ") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, _, err := FitGBT(ctx, X, y, []string{"a", "b", "c", "d"}, GBTOptions{}); err != context.Canceled {
			t.Fatalf("error %v", err)
		}
	})
}

func TestBinCuts(t *testing.T) {
	tests := []struct {
		name   string
		values []float32
		bins   int
		want   []float32
	}{
		{"few values: one bin each", []float32{3, 1, 2, 1, 3}, 255, []float32{2, 3}},
		{"constant", []float32{4, 4, 4}, 255, []float32{}},
		{"quantiles", []float32{1, 2, 3, 4, 5, 6, 7, 8}, 4, []float32{3, 5, 7}},
		{"a frequent value keeps its neighbours apart", []float32{1, 1, 1, 1, 1, 1, 2, 3}, 2, []float32{2}},
		{"at most bins-1 cuts", []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 2, []float32{6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := binCuts(tc.values, tc.bins)
			if len(got) != len(tc.want) {
				t.Fatalf("cuts %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("cuts %v, want %v", got, tc.want)
				}
			}
			for _, v := range tc.values {
				b := binOf(got, v)
				if (b > 0 && got[b-1] > v) || (b < len(got) && got[b] <= v) {
					t.Errorf("value %v in bin %d of %v", v, b, got)
				}
			}
		})
	}
}
