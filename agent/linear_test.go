package agent

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/models"
)

// TestLinearMatchesLogit: the one-pass kernel gives every model it takes the bit-identical score
// of models.Logistic.Logit, for 1 to 9 models, and leaves the models it cannot take (trees,
// columns out of order, another weight count) to Logit.
func TestLinearMatchesLogit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ident := func(n int) []uint16 {
		c := make([]uint16, n)
		for i := range c {
			c[i] = uint16(i)
		}
		return c
	}
	for k := 1; k <= 9; k++ {
		b := &models.Bundle{}
		var cols [][]uint16
		var wantOwn []bool
		for m := range k {
			n := int(NumFeatures)
			lr := models.Logistic{Bias: float32(rng.NormFloat64())}
			c := ident(n)
			own := true
			switch {
			case m == 1: // another weight count
				n, c, own = n-3, ident(n-3), false
			case m == 4: // columns out of order
				c[0], c[1], own = 1, 0, false
			case m == 6:
				lr.Trees, own = &models.Trees{Roots: []uint16{0}, Child: []byte{0}, Feature: []uint16{0}, Value: []float32{0.25}}, false
			}
			lr.Weights = make([]float32, n)
			for i := range lr.Weights {
				lr.Weights[i] = float32(rng.NormFloat64() * 3)
			}
			b.Propensity = append(b.Propensity, lr)
			cols = append(cols, c)
			wantOwn = append(wantOwn, own)
		}
		l := compileLinear(b, cols)
		for trial := range 20 {
			var x Vector
			for i := range x {
				x[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3))
				if trial%5 == 0 && i%3 == 0 {
					x[i] = 0
				}
			}
			scores := make([]float64, k)
			l.score(scores, &x)
			for m := range k {
				if l.own[m] != wantOwn[m] {
					t.Fatalf("%d models: model %d taken by the kernel: %v, want %v", k, m, l.own[m], wantOwn[m])
				}
				if !l.own[m] {
					if scores[m] != 0 {
						t.Fatalf("%d models: the kernel wrote model %d, which it does not own", k, m)
					}
					continue
				}
				want := detmath.Sigmoid(b.Propensity[m].Logit(x[:], cols[m]))
				if math.Float64bits(scores[m]) != math.Float64bits(want) {
					t.Fatalf("%d models, model %d: kernel %v, Logit %v", k, m, scores[m], want)
				}
			}
		}
	}
}
