package models

import "github.com/presage-dev/presage/internal/detmath"

// NoColumn in a column map marks a model feature the caller does not have: it contributes 0.
const NoColumn = 0xFFFF

// Columns fills dst with the column map of m for Logit: dst[i] = pos[m.Features[i]], where pos maps
// each index of Bundle.Features to its position in the caller's feature vector (NoColumn if absent).
// Compute it once per bundle. It reuses dst's storage when large enough.
func (m *Logistic) Columns(dst []uint16, pos []uint16) []uint16 {
	dst = grow(dst, len(m.Features))
	for i, f := range m.Features {
		c := uint16(NoColumn)
		if int(f) < len(pos) {
			c = pos[f]
		}
		dst[i] = c
	}
	return dst
}

// Logit returns Bias + Σᵢ Weights[i]·x[cols[i]] (+ the trees' sum): the log-odds of the model for
// the feature vector x. cols maps the model's i-th feature to its position in x (see Columns); a
// column that is NoColumn or beyond x, or a missing entry of cols, contributes 0. The sum runs in
// index order with every product rounded before it is added, so the result is bit-identical on every
// platform.
func (m *Logistic) Logit(x []float64, cols []uint16) float64 {
	if m.Trees != nil {
		return m.linear(x, cols) + m.Trees.Logit(x, cols)
	}
	return m.linear(x, cols)
}

// linear is the linear part of Logit.
func (m *Logistic) linear(x []float64, cols []uint16) float64 {
	w := m.Weights
	if len(cols) < len(w) {
		w = w[:len(cols)]
	}
	cols = cols[:len(w)]
	sum := float64(m.Bias)
	i := 0
	// Unrolled by four; the additions stay in index order.
	for ; i+4 <= len(w); i += 4 {
		c0, c1, c2, c3 := int(cols[i]), int(cols[i+1]), int(cols[i+2]), int(cols[i+3])
		if c0 < len(x) {
			sum += float64(float64(w[i]) * x[c0])
		}
		if c1 < len(x) {
			sum += float64(float64(w[i+1]) * x[c1])
		}
		if c2 < len(x) {
			sum += float64(float64(w[i+2]) * x[c2])
		}
		if c3 < len(x) {
			sum += float64(float64(w[i+3]) * x[c3])
		}
	}
	for ; i < len(w); i++ {
		if c := int(cols[i]); c < len(x) {
			sum += float64(float64(w[i]) * x[c])
		}
	}
	return sum
}

// Score returns the calibrated probability σ(Logit(x, cols)).
func (m *Logistic) Score(x []float64, cols []uint16) float64 {
	return detmath.Sigmoid(m.Logit(x, cols))
}

// Contributions sets dst[i] to Weights[i]·x[cols[i]], the share of feature i in the logit (0 for
// a missing column), for "why this score" explanations; Logit is Bias plus their sum in order, plus
// the trees' sum when the model has trees (which this does not apportion).
// It reuses dst's storage when large enough.
func (m *Logistic) Contributions(dst []float64, x []float64, cols []uint16) []float64 {
	dst = grow(dst, len(m.Weights))
	for i, w := range m.Weights {
		dst[i] = 0
		if i < len(cols) {
			if c := int(cols[i]); c < len(x) {
				dst[i] = float64(float64(w) * x[c])
			}
		}
	}
	return dst
}

// grow returns s resliced to length n, reallocating only when its capacity is too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
