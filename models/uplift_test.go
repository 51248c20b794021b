package models

import (
	"math"
	"strings"
	"testing"

	"github.com/presage-dev/presage/internal/detmath"
)

// upliftBundle is a bundle with one tabular model and one uplift model whose treated arm has trees.
func upliftBundle() *Bundle {
	return &Bundle{Format: FormatVersion, Version: 1, Features: []string{"a", "b=x"},
		Tabular: []Logistic{{Name: "p", Features: []uint16{0}, Weights: []float32{1}}},
		Uplift: []Uplift{{Name: "u",
			Treated: Logistic{Features: []uint16{0, 1}, Weights: []float32{0.5, 1}, Bias: -1, Trees: twoTrees()},
			Control: Logistic{Features: []uint16{1}, Weights: []float32{-2}, Bias: 0.25}}}}
}

// checkValidate checks that b is valid and round-trips through the codec when want is empty, and
// otherwise that its validation error contains want.
func checkValidate(t *testing.T, b *Bundle, want string) {
	t.Helper()
	err := b.Validate()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v, want one containing %q", err, want)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Encode()) != string(b.Encode()) {
		t.Fatal("the bundle does not round-trip")
	}
}

// TestBundleUplift: malformed uplift models are refused with an error naming the field, and a valid
// one round-trips.
func TestBundleUplift(t *testing.T) {
	tests := []struct {
		name string
		edit func(b *Bundle)
		want string
	}{
		{"valid", func(*Bundle) {}, ""},
		{"control without features is a constant", func(b *Bundle) { b.Uplift[0].Control = Logistic{Bias: -3} }, ""},
		{"empty name", func(b *Bundle) { b.Uplift[0].Name = "" }, "uplift[0].name: empty name"},
		{"duplicate name", func(b *Bundle) { b.Uplift = append(b.Uplift, b.Uplift[0]) }, "uplift[1].name: duplicate name"},
		{"name of a tabular model", func(b *Bundle) { b.Uplift[0].Name = "p" }, "uplift[0].name: name of tabular[0]"},
		{"named arm", func(b *Bundle) { b.Uplift[0].Control.Name = "c" }, "uplift[0].control.name: not empty"},
		{"weights for features", func(b *Bundle) { b.Uplift[0].Control.Weights = nil }, "uplift[0].control.weights: 0 weights for 1 features"},
		{"feature out of range", func(b *Bundle) { b.Uplift[0].Treated.Features[1] = 2 }, "uplift[0].treated.features[1]: feature 2 out of range"},
		{"infinite weight", func(b *Bundle) { b.Uplift[0].Control.Weights[0] = float32(math.Inf(1)) }, "uplift[0].control.weights[0]: not finite"},
		{"NaN bias", func(b *Bundle) { b.Uplift[0].Treated.Bias = float32(math.NaN()) }, "uplift[0].treated.bias: not finite"},
		{"bad tree node", func(b *Bundle) { b.Uplift[0].Treated.Trees.Feature[0] = 2 }, "uplift[0].treated.trees.nodes[0]: feature index"},
		{"bad trees", func(b *Bundle) { b.Uplift[0].Treated.Trees.Roots = nil }, "uplift[0].treated.trees: no trees"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := upliftBundle()
			tc.edit(b)
			checkValidate(t, b, tc.want)
		})
	}
	t.Run("absent field", func(t *testing.T) {
		// A bundle without uplift models encodes as before the field existed.
		b := &Bundle{Format: FormatVersion, Version: 1}
		if got := b.Encode(); string(got) != "\xa2\x01\x01\x02\x01" {
			t.Errorf("empty bundle encodes to %x", got)
		}
	})
}

// TestUpliftValue: the uplift is the difference of the arms' probabilities, each arm reading x by
// bundle feature.
func TestUpliftValue(t *testing.T) {
	u := upliftBundle().Uplift[0]
	for _, x := range [][]float64{{0, 0}, {1, 0}, {0, 1}, {3, 1}, {-2, 1}} {
		treated := -1 + 0.5*x[0] + x[1] + u.Treated.Trees.Logit(x, u.Treated.Features)
		control := 0.25 - 2*x[1]
		want := detmath.Sigmoid(treated) - detmath.Sigmoid(control)
		if got := u.Value(x); got != want {
			t.Errorf("Value(%v) = %v, want %v", x, got, want)
		}
		if got := u.Value(x); got < -1 || got > 1 {
			t.Errorf("Value(%v) = %v outside [−1, 1]", x, got)
		}
	}
}

func TestShowIncentive(t *testing.T) {
	tests := []struct {
		name               string
		uplift, value, cos float64
		want               bool
		margin             float64
	}{
		{"pays", 0.08, 40, 2, true, 1.2},
		{"does not pay", 0.04, 40, 2, false, -0.4},
		{"break-even is not shown", 0.05, 40, 2, false, 0},
		{"free incentive, positive uplift", 0.001, 40, 0, true, 0.04},
		{"free incentive, no uplift", 0, 40, 0, false, 0},
		{"do-not-disturb", -0.2, 40, 0, false, -8},
		{"negative uplift and a cost", -0.1, 40, 1, false, -5},
		{"no value", 0.5, 0, 0, false, 0},
		{"negative value", -0.5, -10, 0, false, 5},
		{"NaN uplift", math.NaN(), 40, 1, false, math.NaN()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShowIncentive(tc.uplift, tc.value, tc.cos); got != tc.want {
				t.Errorf("ShowIncentive(%v, %v, %v) = %v, want %v", tc.uplift, tc.value, tc.cos, got, tc.want)
			}
			m := IncrementalMargin(tc.uplift, tc.value, tc.cos)
			if !(math.Abs(m-tc.margin) < 1e-12 || math.IsNaN(m) && math.IsNaN(tc.margin)) {
				t.Errorf("IncrementalMargin = %v, want %v", m, tc.margin)
			}
		})
	}
}
