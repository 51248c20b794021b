package models

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/presage-dev/presage/internal/minicbor"
)

// twoTrees: tree 0 splits feature 0 at 2.5 (left leaf 1, right splits feature 1 at 0: leaves 10 and
// 20); tree 1 is a single leaf worth 0.5.
func twoTrees() *Trees {
	return &Trees{
		Roots:   []uint16{0, 5},
		Child:   []byte{1, 0, 1, 0, 0, 0},
		Feature: []uint16{0, 0, 1, 0, 0, 0},
		Value:   []float32{2.5, 1, 0, 10, 20, 0.5},
	}
}

func TestTreesLogit(t *testing.T) {
	tr := twoTrees()
	cols := []uint16{0, 1}
	tests := []struct {
		name string
		x    []float64
		cols []uint16
		want float64
	}{
		{"left leaf", []float64{1, 5}, cols, 1.5},
		{"right, then left", []float64{3, -1}, cols, 10.5},
		{"right, then right", []float64{3, 0}, cols, 20.5},
		{"threshold goes right", []float64{2.5, 1}, cols, 20.5},
		// float32(2.4999999999) rounds to 2.5: the device compares float32 values, as the trainer did.
		{"float32 rounding", []float64{2.4999999999, 1}, cols, 20.5},
		{"missing feature reads 0", []float64{3}, cols, 20.5},
		{"no column", []float64{3, -1}, []uint16{0, NoColumn}, 20.5},
		{"short cols", []float64{3, -1}, []uint16{0}, 20.5},
		{"no x", nil, nil, 1.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tr.Logit(tc.x, tc.cols); got != tc.want {
				t.Errorf("Logit = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("in a logistic model", func(t *testing.T) {
		m := &Logistic{Name: "m", Features: []uint16{0, 1}, Weights: []float32{0.25, 0}, Bias: -1, Trees: tr}
		if got, want := m.Logit([]float64{3, 0}, cols), -1+0.75+20.5; got != want {
			t.Errorf("Logit = %v, want %v", got, want)
		}
		// A trees-only model still reads every feature: the weights do not cut the columns short.
		m.Weights = []float32{0, 0}
		if got := m.Logit([]float64{1, 0}, cols); got != -1+1.5 {
			t.Errorf("trees-only Logit = %v", got)
		}
	})
}

func TestTreesValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(tr *Trees)
		nfeat int
		want  string // "" for valid
	}{
		{"valid", func(*Trees) {}, 2, ""},
		{"no trees", func(tr *Trees) { tr.Roots = nil }, 2, "no trees"},
		{"no nodes", func(tr *Trees) { *tr = Trees{Roots: []uint16{0}} }, 2, "no trees"},
		{"short children", func(tr *Trees) { tr.Child = tr.Child[:5] }, 2, "differ in number"},
		{"short features", func(tr *Trees) { tr.Feature = tr.Feature[:5] }, 2, "differ in number"},
		{"first root not 0", func(tr *Trees) { tr.Roots[0] = 1 }, 2, "does not start at node 0"},
		{"roots not increasing", func(tr *Trees) { tr.Roots = []uint16{0, 5, 5} }, 2, "t[0].trees: roots not increasing"},
		{"root out of range", func(tr *Trees) { tr.Roots[1] = 9 }, 2, "t[0].trees: roots not increasing inside the nodes"},
		{"root at the end", func(tr *Trees) { tr.Roots[1] = 6 }, 2, "t[0].trees: roots not increasing"},
		{"child leaves its tree", func(tr *Trees) { tr.Child[2] = 2 }, 2, "t[0].trees.nodes[2]: children outside"},
		{"child into the next tree", func(tr *Trees) { tr.Child[0] = 4 }, 2, "t[0].trees.nodes[0]: children outside"},
		{"last node splits", func(tr *Trees) { tr.Child[5] = 1 }, 2, "t[0].trees.nodes[5]: children outside"},
		{"feature out of range", func(tr *Trees) { tr.Feature[2] = 2 }, 2, "t[0].trees.nodes[2]: feature index out of range"},
		{"leaf feature ignored", func(tr *Trees) { tr.Feature[1] = 99 }, 2, ""},
		{"NaN threshold", func(tr *Trees) { tr.Value[0] = float32(math.NaN()) }, 2, "t[0].trees.nodes[0]: value not finite"},
		{"infinite leaf", func(tr *Trees) { tr.Value[5] = float32(math.Inf(-1)) }, 2, "t[0].trees.nodes[5]: value not finite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := twoTrees()
			tc.edit(tr)
			err := tr.validate("t", 0, tc.nfeat)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBadBundle)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestBundleTabular: tabular models are validated like propensity models, their trees included, and
// a bundle without them encodes as before (the field is omitted).
func TestBundleTabular(t *testing.T) {
	base := func() *Bundle {
		return &Bundle{Format: FormatVersion, Version: 1, Features: []string{"a", "b=x"},
			Tabular: []Logistic{{Name: "m", Features: []uint16{0, 1}, Weights: []float32{0, 0}, Trees: twoTrees()}}}
	}
	tests := []struct {
		name string
		edit func(b *Bundle)
		want string
	}{
		{"valid", func(*Bundle) {}, ""},
		{"empty name", func(b *Bundle) { b.Tabular[0].Name = "" }, "tabular[0].name: empty name"},
		{"duplicate name", func(b *Bundle) { b.Tabular = append(b.Tabular, b.Tabular[0]) }, "tabular[1].name: duplicate name"},
		{"weights for features", func(b *Bundle) { b.Tabular[0].Weights = nil }, "tabular[0].weights: 0 weights for 2 features"},
		{"feature out of range", func(b *Bundle) { b.Tabular[0].Features[1] = 2 }, "tabular[0].features[1]: feature 2 out of range"},
		{"NaN bias", func(b *Bundle) { b.Tabular[0].Bias = float32(math.NaN()) }, "tabular[0].bias: not finite"},
		{"bad trees", func(b *Bundle) { b.Tabular[0].Trees.Feature[0] = 2 }, "tabular[0].trees.nodes[0]: feature index"},
		{"bad trees in a propensity model", func(b *Bundle) {
			b.Propensity = []Logistic{{Name: "p", Features: []uint16{0}, Weights: []float32{1}, Trees: twoTrees()}}
		}, "propensity[0].trees.nodes[2]: feature index"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := base()
			tc.edit(b)
			checkValidate(t, b, tc.want) // uplift_test.go
		})
	}
	t.Run("optional fields", func(t *testing.T) {
		// A model without trees and a bundle without tabular models encode as before these fields.
		m := Logistic{Name: "p", Features: []uint16{0}, Weights: []float32{1}}
		var e minicbor.Encoder
		m.EncodeCBOR(&e)
		want := "\xa3\x01\x61p\x02\x81\x00\x03\x81\xfa\x3f\x80\x00\x00"
		if got := string(e.Bytes()); got != want {
			t.Errorf("encoding %x, want %x", got, want)
		}
		b := &Bundle{Format: FormatVersion, Version: 1}
		if got := b.Encode(); string(got) != "\xa2\x01\x01\x02\x01" {
			t.Errorf("empty bundle encodes to %x", got)
		}
	})
}

// FuzzTrees: any trees either fail validation or score every input without panicking, in a
// bounded number of steps, to a finite logit.
func FuzzTrees(f *testing.F) {
	enc := func(tr *Trees) []byte {
		var e minicbor.Encoder
		tr.EncodeCBOR(&e)
		return e.Bytes()
	}
	f.Add(enc(twoTrees()), uint8(2), 3.0, 0.0)
	f.Add(enc(&Trees{Roots: []uint16{0}, Child: []byte{0}, Feature: []uint16{0}, Value: []float32{1}}), uint8(0), 0.0, 0.0)
	f.Add(enc(&Trees{Roots: []uint16{0}, Child: []byte{1, 0, 0}, Feature: []uint16{0, 0, 0}, Value: []float32{0, 1, 2}}), uint8(1), -1.0, 1e300)
	f.Add([]byte{0xa0}, uint8(1), 0.0, 0.0)
	f.Fuzz(func(t *testing.T, data []byte, nfeat uint8, x0, x1 float64) {
		var tr Trees
		var d minicbor.Decoder
		d.Reset(data, minicbor.BundleLimits)
		tr.DecodeCBOR(&d)
		if d.Finish() != nil {
			return
		}
		if tr.validate("t", 0, int(nfeat)) != nil {
			return
		}
		cols := make([]uint16, nfeat)
		for i := range cols {
			cols[i] = uint16(i % 2)
		}
		z := tr.Logit([]float64{x0, x1}, cols)
		if math.IsNaN(z) || math.IsInf(z, 0) {
			t.Fatalf("logit %v", z)
		}
	})
}
