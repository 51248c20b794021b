package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/presage-dev/presage/internal/detmath"
)

func TestLogistic(t *testing.T) {
	m := &Logistic{Name: "buy", Features: []uint16{0, 2, 1}, Weights: []float32{0.5, -2, 0.25}, Bias: -1}
	x := []float64{2, 4, 3}
	tests := []struct {
		name string
		x    []float64
		cols []uint16
		want float64
	}{
		{"all present", x, []uint16{0, 2, 1}, -1 + 0.5*2 - 2*3 + 0.25*4},
		{"missing column", x, []uint16{0, NoColumn, 1}, -1 + 0.5*2 + 0.25*4},
		{"column beyond x", x, []uint16{0, 9, 1}, -1 + 0.5*2 + 0.25*4},
		{"short cols", x, []uint16{0}, -1 + 0.5*2},
		{"no features", nil, nil, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := m.Logit(tc.x, tc.cols); got != tc.want {
				t.Errorf("Logit = %v, want %v", got, tc.want)
			}
			if got, want := m.Score(tc.x, tc.cols), detmath.Sigmoid(tc.want); got != want {
				t.Errorf("Score = %v, want %v", got, want)
			}
		})
	}
	t.Run("columns", func(t *testing.T) {
		pos := []uint16{10, 11, NoColumn}
		got := m.Columns(nil, pos)
		if want := []uint16{10, NoColumn, 11}; !equal(got, want) {
			t.Errorf("Columns = %v, want %v", got, want)
		}
		short := m.Columns(got[:0], pos[:1])
		if want := []uint16{10, NoColumn, NoColumn}; !equal(short, want) || &short[0] != &got[0] {
			t.Errorf("Columns with a short map = %v, want %v in the same storage", short, want)
		}
	})
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLogitContributions: Bias plus the contributions, added in order, is the logit bit for bit,
// for any length (the unrolled loop and its tail).
func TestLogitContributions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 8))
	for n := 0; n < 50; n++ {
		m := &Logistic{Bias: float32(r.NormFloat64())}
		x := make([]float64, 60)
		for i := range x {
			x[i] = r.NormFloat64() * 10
		}
		cols := make([]uint16, n)
		for i := range n {
			m.Weights = append(m.Weights, float32(r.NormFloat64()))
			m.Features = append(m.Features, uint16(i))
			cols[i] = uint16(r.IntN(70)) // some beyond x
		}
		c := m.Contributions(nil, x, cols)
		sum := float64(m.Bias)
		for _, v := range c {
			sum += v
		}
		if got := m.Logit(x, cols); got != sum || math.IsNaN(got) {
			t.Fatalf("n=%d: Logit %v, Bias + Σ contributions %v", n, got, sum)
		}
	}
}

func BenchmarkLogit(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	m := &Logistic{Bias: 0.3}
	x := make([]float64, 120)
	for i := range x {
		x[i] = r.Float64()
	}
	cols := make([]uint16, 40)
	for i := range 40 {
		m.Weights = append(m.Weights, float32(r.NormFloat64()))
		m.Features = append(m.Features, uint16(i))
		cols[i] = uint16(r.IntN(len(x)))
	}
	var s float64
	for b.Loop() {
		s += m.Score(x, cols)
	}
	_ = s
}
