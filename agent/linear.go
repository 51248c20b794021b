package agent

import (
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/models"
)

// The propensity models a bundle trains on the agent's own features read the features in order
// (their columns are 0, 1, 2, …). Scored one by one, each walks the features through its column
// table with a bounds check per weight; in WebAssembly that was the largest part of an event's
// evaluation. Scored four at a time in one pass, with their weights widened and interleaved once
// when the bundle is loaded, the features are read once. Each model's sum is the same sum in the
// same order as models.Logistic.Logit's, so the scores are bit for bit the same.

// linearModels is the one-pass kernel's share of a bundle's propensity models.
type linearModels struct {
	models []int     // the propensity models it scores, in groups of four
	n      int       // their number of weights (= features, in order)
	bias   []float64 // per group, four biases (0 past the last model)
	w      []float64 // per group, per feature, four weights (0 past the last model)
	own    []bool    // per propensity model: scored here
}

// compileLinear picks the linear models (no trees) whose columns are the identity and whose weight
// count is the first such model's, and packs their weights.
func compileLinear(b *models.Bundle, cols [][]uint16) linearModels {
	l := linearModels{n: -1, own: make([]bool, len(b.Propensity))}
	for m := range b.Propensity {
		lr := &b.Propensity[m]
		if lr.Trees != nil || len(lr.Weights) > int(NumFeatures) || !isIdentity(cols[m], len(lr.Weights)) {
			continue
		}
		if l.n < 0 {
			l.n = len(lr.Weights)
		}
		if len(lr.Weights) == l.n {
			l.models = append(l.models, m)
			l.own[m] = true
		}
	}
	groups := (len(l.models) + 3) / 4
	l.bias = make([]float64, 4*groups)
	l.w = make([]float64, 4*groups*max(l.n, 0))
	for j, m := range l.models {
		g, lane := j/4, j%4
		l.bias[4*g+lane] = float64(b.Propensity[m].Bias)
		block := l.w[4*g*l.n:]
		for i, w := range b.Propensity[m].Weights {
			block[4*i+lane] = float64(w)
		}
	}
	return l
}

// isIdentity says whether the first n columns are 0, 1, …, n−1.
func isIdentity(cols []uint16, n int) bool {
	if len(cols) < n {
		return false
	}
	for i := range n {
		if int(cols[i]) != i {
			return false
		}
	}
	return true
}

// score sets scores[m] = σ(logit) for every model of l, from the feature vector x.
func (l *linearModels) score(scores []float64, x *Vector) {
	for g := 0; 4*g < len(l.models); g++ {
		s := [4]float64(l.bias[4*g : 4*g+4])
		dot4(&s, l.w[4*g*l.n:4*(g+1)*l.n], x[:l.n])
		for lane, m := range l.models[4*g : min(4*g+4, len(l.models))] {
			scores[m] = detmath.Sigmoid(s[lane])
		}
	}
}

// dot4 adds to s[j] the products w[4i+j]·x[i] for x[i] ≠ 0, in order of i. The explicit float64 conversions
// keep each product rounded on its own (no fused multiply-add), as in models.Logistic.
func dot4(s *[4]float64, w, x []float64) {
	s0, s1, s2, s3 := s[0], s[1], s[2], s[3]
	w = w[:4*len(x)]
	for i, xi := range x {
		// Most features are 0 (one-hot groups, session counts). w·0 is ±0 (weights are finite:
		// models.Validate), and adding it leaves a sum as it is but for the sign of a zero sum,
		// which σ does not see.
		if xi == 0 {
			continue
		}
		q := w[4*i : 4*i+4 : 4*i+4]
		s0 += float64(q[0] * xi)
		s1 += float64(q[1] * xi)
		s2 += float64(q[2] * xi)
		s3 += float64(q[3] * xi)
	}
	*s = [4]float64{s0, s1, s2, s3}
}
