package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestQuantizeInt8(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	normal := make([]float64, 1000)
	for i := range normal {
		normal[i] = rng.NormFloat64()
	}
	wide := make([]float64, 1000)
	for i := range wide {
		wide[i] = (rng.Float64()*2 - 1) * 1e6
	}
	tests := []struct {
		name string
		x    []float64
	}{
		{"normal", normal},
		{"wide", wide},
		{"zeros", make([]float64, 7)},
		{"one", []float64{-3.25}},
		{"negative", []float64{-1, -2, -0.5}},
		{"tiny", []float64{1e-30, -2e-30, 3e-31}},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, s, err := QuantizeInt8(tt.x)
			if err != nil {
				t.Fatal(err)
			}
			if len(q) != len(tt.x) {
				t.Fatalf("len %d, want %d", len(q), len(tt.x))
			}
			m := maxAbs(tt.x)
			if m > 0 && math.Abs(float64(s)-m/127) > 1e-6*m/127 {
				t.Errorf("scale %g, want %g", s, m/127)
			}
			back := DequantizeInt8(q, s)
			bound := float64(s)/2 + 1e-6*m
			for i, v := range tt.x {
				if int8(q[i]) == -128 {
					t.Fatalf("code -128 used")
				}
				if e := math.Abs(v - back[i]); e > bound {
					t.Fatalf("x[%d]=%g back %g: error %g > bound %g", i, v, back[i], e, bound)
				}
			}
		})
	}
	if _, _, err := QuantizeInt8([]float64{1, math.NaN()}); err == nil {
		t.Error("NaN accepted")
	}
	if _, _, err := QuantizeInt8([]float64{math.Inf(-1)}); err == nil {
		t.Error("Inf accepted")
	}
}

func TestQuantizeInt4(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	normal := make([]float64, 4000)
	for i := range normal {
		normal[i] = rng.NormFloat64()
	}
	for _, tt := range []struct {
		name string
		x    []float64
	}{{"normal", normal}, {"zeros", make([]float64, 5)}, {"one", []float64{-3.25}}, {"empty", nil}} {
		t.Run(tt.name, func(t *testing.T) {
			q, s, err := QuantizeInt4(tt.x)
			if err != nil {
				t.Fatal(err)
			}
			if len(q) != len(tt.x) {
				t.Fatalf("len %d, want %d", len(q), len(tt.x))
			}
			m := maxAbs(tt.x)
			if m == 0 {
				if s != 0 {
					t.Fatalf("scale %g for all zeros", s)
				}
				return
			}
			// The chosen scale never does worse than the max-scaled code (k = 64).
			mse := func(q []byte, s float32) float64 {
				e := 0.0
				for i, v := range DequantizeInt8(q, s) {
					e += (tt.x[i] - v) * (tt.x[i] - v)
				}
				return e
			}
			maxS := float32(m / 7)
			if got, base := mse(q, s), mse(quantizeClamp(nil, tt.x, maxS, 7), maxS); got > base*(1+1e-9)+1e-9*m*m {
				t.Errorf("squared error %g, the max-scaled code has %g", got, base)
			}
			for i, c := range q {
				if v := int8(c); v < -7 || v > 7 {
					t.Fatalf("code %d at %d outside [-7, 7]", v, i)
				}
			}
		})
	}
	if _, _, err := QuantizeInt4([]float64{math.NaN()}); err == nil {
		t.Error("NaN accepted")
	}
}

func TestQuantizeUint8(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	u := make([]float64, 1000)
	for i := range u {
		u[i] = rng.ExpFloat64()
	}
	tests := []struct {
		name string
		x    []float64
	}{
		{"exp", u},
		{"zeros", make([]float64, 3)},
		{"one", []float64{0.7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, s, err := QuantizeUint8(tt.x)
			if err != nil {
				t.Fatal(err)
			}
			m := 0.0
			for _, v := range tt.x {
				m = math.Max(m, v)
			}
			back := DequantizeUint8(q, s)
			bound := float64(s)/2 + 1e-6*m
			for i, v := range tt.x {
				if e := math.Abs(v - back[i]); e > bound {
					t.Fatalf("x[%d]=%g back %g: error %g > bound %g", i, v, back[i], e, bound)
				}
			}
			if m > 0 && slicesMax(q) != 255 {
				t.Errorf("max code %d, want 255", slicesMax(q))
			}
		})
	}
	for _, bad := range [][]float64{{-1e-9}, {math.NaN()}, {math.Inf(1)}} {
		if _, _, err := QuantizeUint8(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func slicesMax(b []byte) byte {
	m := byte(0)
	for _, v := range b {
		m = max(m, v)
	}
	return m
}

func maxAbs(x []float64) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}
