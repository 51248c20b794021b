package train

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// synthLogistic draws n rows of features on very different scales, one constant, and labels from
// a known raw-unit logistic model.
func synthLogistic(n int, seed uint64) (*mat.Dense, []float64, []float64, float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	w := []float64{1.5, -0.2, 0.003, 0, 0.8}
	bias := -1.0
	X := mat.NewDense(n, len(w), nil)
	y := make([]float64, n)
	for i := range n {
		row := X.RawRowView(i)
		row[0] = rng.NormFloat64()
		row[1] = 100 + 10*rng.NormFloat64()
		row[2] = 1000 * rng.Float64()
		row[3] = 7 // constant
		if rng.Float64() < 0.3 {
			row[4] = 1
		}
		z := bias
		for j, v := range row {
			z += w[j] * v
		}
		if rng.Float64() < sigmoid(z+20) { // +20 cancels the mean of −0.2·x1
			y[i] = 1
		}
	}
	return X, y, w, bias + 20
}

func TestFitLogisticRecoversWeights(t *testing.T) {
	X, y, w, bias := synthLogistic(50000, 1)
	names := []string{"a", "b", "c", "const", "d"}
	tests := []struct {
		name string
		opt  LogisticOptions
		tol  float64 // on standardised coefficients
	}{
		{"unregularised", LogisticOptions{L2: -1}, 0.06},
		{"default-ridge", LogisticOptions{}, 0.06},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rep, err := FitLogistic(context.Background(), X, y, names, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Converged {
				t.Errorf("not converged: %s", rep.Status)
			}
			if !slices.Equal(m.Features, []uint16{0, 1, 2, 3, 4}) {
				t.Errorf("features %v", m.Features)
			}
			sd := []float64{1, 10, 1000 / math.Sqrt(12), 0, math.Sqrt(0.21)}
			for j := range w {
				if sd[j] == 0 {
					if m.Weights[j] != 0 {
						t.Errorf("constant column weight %g", m.Weights[j])
					}
					continue
				}
				if d := math.Abs(float64(m.Weights[j])-w[j]) * sd[j]; d > tt.tol {
					t.Errorf("w[%d] = %g, want %g (standardised error %g)", j, m.Weights[j], w[j], d)
				}
			}
			if math.Abs(float64(m.Bias)-bias) > 0.5 {
				t.Errorf("bias %g, want %g", m.Bias, bias)
			}
			if !slices.Equal(rep.Constant, []int{3}) {
				t.Errorf("constant columns %v", rep.Constant)
			}
			if rep.Float32Error > 1e-5 {
				t.Errorf("float32 storage error %g", rep.Float32Error)
			}
			if !(rep.TrainLogLoss > 0.3 && rep.TrainLogLoss < 0.7) {
				t.Errorf("train log loss %g", rep.TrainLogLoss)
			}
		})
	}
}

func TestFitLogisticFoldIsExact(t *testing.T) {
	X, y, _, _ := synthLogistic(20000, 2)
	n, d := X.Dims()
	tests := []struct {
		name string
		opt  LogisticOptions
	}{
		{"plain", LogisticOptions{}},
		{"calibrated", LogisticOptions{Calibration: 0.25, Rand: rand.New(rand.NewPCG(7, 7))}},
		{"weighted-calibrated", LogisticOptions{Balanced: true, Calibration: 0.3, L2: 0.1}},
		{"class-weights", LogisticOptions{ClassWeight: [2]float64{1, 5}, Calibration: 0.2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := fitLogistic(context.Background(), X, y, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			for i := range n {
				x := X.RawRowView(i)[:d]
				worst = math.Max(worst, math.Abs(f.stdProb(x)-sigmoid(f.rawLogit(x))))
			}
			if worst > 1e-9 {
				t.Errorf("folded model differs from standardised one by %g", worst)
			}
			if tt.opt.Calibration > 0 {
				// Calibrated: mean predicted probability on the hold-out matches its base rate.
				mp, my := 0.0, 0.0
				for _, i := range f.holdout {
					mp += sigmoid(f.rawLogit(X.RawRowView(i)))
					my += y[i]
				}
				if e := math.Abs(mp-my) / float64(len(f.holdout)); e > 0.01 {
					t.Errorf("calibration-in-the-large off by %g", e)
				}
			}
		})
	}
}

func TestFitLogisticDeterministic(t *testing.T) {
	X, y, _, _ := synthLogistic(5000, 3)
	names := []string{"a", "b", "c", "d", "e"}
	fit := func() ([]float32, float32) {
		m, _, err := FitLogistic(context.Background(), X, y, names,
			LogisticOptions{Calibration: 0.2, Rand: rand.New(rand.NewPCG(11, 12))})
		if err != nil {
			t.Fatal(err)
		}
		return m.Weights, m.Bias
	}
	w1, b1 := fit()
	w2, b2 := fit()
	if !slices.Equal(w1, w2) || b1 != b2 {
		t.Errorf("two fits with one seed differ: %v %g / %v %g", w1, b1, w2, b2)
	}
}

func TestFitLogisticErrors(t *testing.T) {
	X := mat.NewDense(3, 2, []float64{1, 2, 3, 4, 5, 6})
	nan := mat.NewDense(3, 2, []float64{1, 2, math.NaN(), 4, 5, 6})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bigX, bigY, _, _ := synthLogistic(2000, 4)
	tests := []struct {
		name  string
		ctx   context.Context
		X     *mat.Dense
		y     []float64
		names []string
		opt   LogisticOptions
	}{
		{"names", context.Background(), X, []float64{0, 1, 0}, []string{"a"}, LogisticOptions{}},
		{"labels-length", context.Background(), X, []float64{0, 1}, []string{"a", "b"}, LogisticOptions{}},
		{"label-range", context.Background(), X, []float64{0, 2, 0}, []string{"a", "b"}, LogisticOptions{}},
		{"nan", context.Background(), nan, []float64{0, 1, 0}, []string{"a", "b"}, LogisticOptions{}},
		{"calibration-share", context.Background(), X, []float64{0, 1, 0}, []string{"a", "b"}, LogisticOptions{Calibration: 1}},
		{"balanced-one-class", context.Background(), X, []float64{0, 0, 0}, []string{"a", "b"}, LogisticOptions{Balanced: true}},
		{"cancelled", cancelled, bigX, bigY, []string{"a", "b", "c", "d", "e"}, LogisticOptions{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := FitLogistic(tt.ctx, tt.X, tt.y, tt.names, tt.opt); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestFitLogisticRows(t *testing.T) {
	X, y, _, _ := synthLogistic(3000, 6)
	rows := make([][]float64, 3000)
	for i := range rows {
		rows[i] = X.RawRowView(i)
	}
	names := []string{"a", "b", "c", "d", "e"}
	m1, _, err1 := FitLogistic(context.Background(), X, y, names, LogisticOptions{})
	m2, _, err2 := FitLogisticRows(context.Background(), rows, y, names, LogisticOptions{})
	if err1 != nil || err2 != nil || !slices.Equal(m1.Weights, m2.Weights) || m1.Bias != m2.Bias {
		t.Errorf("rows and matrix fits differ: %v %v", err1, err2)
	}
	if _, _, err := FitLogisticRows(context.Background(), [][]float64{{1}}, []float64{1}, names, LogisticOptions{}); err == nil {
		t.Error("short row accepted")
	}
}

func TestFitLogisticAllConstant(t *testing.T) {
	X := mat.NewDense(4, 2, []float64{1, 5, 1, 5, 1, 5, 1, 5})
	y := []float64{0, 1, 1, 1}
	m, rep, err := FitLogistic(context.Background(), X, y, []string{"a", "b"}, LogisticOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Weights[0] != 0 || m.Weights[1] != 0 || math.Abs(float64(m.Bias)-math.Log(3)) > 1e-5 {
		t.Errorf("got %v %g, want zero weights and bias log 3", m.Weights, m.Bias)
	}
	if len(rep.Constant) != 2 {
		t.Errorf("constant %v", rep.Constant)
	}
}

func TestFitLogisticProgress(t *testing.T) {
	X, y, _, _ := synthLogistic(2000, 5)
	calls, last := 0, -1
	_, rep, err := FitLogistic(context.Background(), X, y, []string{"a", "b", "c", "d", "e"},
		LogisticOptions{MaxIterations: 50, Progress: func(done, total int) {
			calls++
			if done < last || total != 50 {
				t.Errorf("progress %d/%d after %d", done, total, last)
			}
			last = done
		}})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 || calls > rep.Iterations+1 {
		t.Errorf("%d progress calls for %d iterations", calls, rep.Iterations)
	}
}
