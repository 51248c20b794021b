package sim

import (
	"math"
	"slices"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
)

// sessionFeatures computes, for session k of v, the features a propensity model could see at the
// session's decision point (before its first checkout): the visitor's history and the session so
// far. The channel is read from the truth (the agent classifies it), the rest from the events.
func sessionFeatures(v *Visitor, k int, cut func(Session) int) []float64 {
	s := v.Sessions[k]
	// History.
	var purchases, sessions int
	var lastTime int64
	cart := 0
	var cartTime int64
	signed := false
	for _, e := range v.Events[:s.Start] {
		switch e.Type {
		case wire.EventArrival:
			sessions++
		case wire.EventPurchase:
			purchases++
			cart = 0
		case wire.EventAddToCart:
			cart++
			cartTime = e.Time
		case wire.EventRemoveFromCart:
			cart = max(cart-1, 0)
		case wire.EventSignUp:
			signed = true
		}
		lastTime = e.Time
	}
	pending := cart > 0 && s.Time-cartTime < cartLife
	recency := 0.0
	if sessions > 0 {
		recency = math.Log1p(float64(s.Time-lastTime) / float64(day))
	}
	// This session, up to the decision point.
	var pages, products, adds, removes, cats, searches, cartPage int
	var dwell float64
	for _, e := range v.Events[s.Start:cut(s)] {
		switch e.Type {
		case wire.EventPageView:
			pages++
			dwell += float64(e.DwellMs) / 1000
			if e.Page == wire.PageCart {
				cartPage = 1
			}
		case wire.EventProductView:
			products++
		case wire.EventAddToCart:
			adds++
		case wire.EventRemoveFromCart:
			removes++
		case wire.EventCategoryView:
			cats++
		case wire.EventSearch:
			searches++
		}
	}
	h := (s.Time % day) / hour
	f := []float64{
		1,
		b2f(sessions > 0), recency, b2f(purchases > 0), math.Log1p(float64(purchases)), b2f(pending), b2f(signed),
		math.Log1p(float64(pages)), math.Log1p(float64(products)), b2f(adds > 0), math.Log1p(float64(adds)),
		b2f(removes > 0), math.Log1p(float64(cats)), b2f(searches > 0), float64(cartPage), math.Log1p(dwell),
		b2f(pages == 1),
		b2f(h >= 19 && h < 23), b2f(h < 6),
		b2f(s.Device == wire.DeviceMobile), b2f(s.Device == wire.DeviceTablet),
	}
	for c := wire.ChannelBrandSearch; c < wire.NumChannels; c++ {
		f = append(f, b2f(s.Channel == c))
	}
	return f
}

// fitLogistic fits an L2-regularised logistic regression by Newton's method.
func fitLogistic(x [][]float64, y []bool, l2 float64) []float64 {
	d := len(x[0])
	w := make([]float64, d)
	for range 25 {
		g := make([]float64, d)
		h := make([][]float64, d)
		for i := range h {
			h[i] = make([]float64, d+1)
			h[i][i] = l2
			g[i] = l2 * w[i]
		}
		for i, xi := range x {
			z := 0.0
			for j, v := range xi {
				z += w[j] * v
			}
			p := sigmoid(z)
			r := p - b2f(y[i])
			q := p * (1 - p)
			for j, vj := range xi {
				if vj == 0 {
					continue
				}
				g[j] += r * vj
				for k, vk := range xi {
					h[j][k] += q * vj * vk
				}
			}
		}
		for j := range d {
			h[j][d] = g[j]
		}
		step := solve(h)
		change := 0.0
		for j := range w {
			w[j] -= step[j]
			change = max(change, math.Abs(step[j]))
		}
		if change < 1e-6 {
			break
		}
	}
	return w
}

// solve solves the augmented system a (n × n+1) by Gaussian elimination with partial pivoting.
func solve(a [][]float64) []float64 {
	n := len(a)
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k <= n; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := a[r][n]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x
}

// auc is the area under the ROC curve of scores against labels (ties counted half).
func auc(score []float64, y []bool) float64 {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case score[a] < score[b]:
			return -1
		case score[a] > score[b]:
			return 1
		}
		return 0
	})
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && score[idx[j]] == score[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean 1-based rank of the tie group
		for k := i; k < j; k++ {
			if y[idx[k]] {
				pos++
				rankSum += mid
			}
		}
		i = j
	}
	neg = float64(len(y)) - pos
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// rows turns the sessions of visitors into feature rows and labels.
func rows(vs []Visitor, cut func(Session) int) ([][]float64, []bool) {
	var x [][]float64
	var y []bool
	for i := range vs {
		for k := range vs[i].Sessions {
			x = append(x, sessionFeatures(&vs[i], k, cut))
			y = append(y, vs[i].Sessions[k].Converted)
		}
	}
	return x, y
}

func predict(w []float64, x [][]float64) []float64 {
	out := make([]float64, len(x))
	for i, xi := range x {
		z := 0.0
		for j, v := range xi {
			z += w[j] * v
		}
		out[i] = z
	}
	return out
}

// TestLearnable checks that "buys in this session" is learnable from observable behaviour, but
// not trivially: a logistic model on the features available before checkout should land near an
// AUC of 0.85–0.92, and the true probability P (which a model cannot see) should do better.
func TestLearnable(t *testing.T) {
	s, err := New(Config{Seed: 42, Visitors: 8000})
	if err != nil {
		t.Fatal(err)
	}
	vs := s.All()
	var pTrue []float64
	for i := range vs[4000:] {
		for _, ss := range vs[4000+i].Sessions {
			pTrue = append(pTrue, ss.P)
		}
	}
	cuts := []struct {
		name   string
		cut    func(Session) int
		lo, hi float64
	}{
		// The fair latest point: everything before the checkout starts.
		{"before checkout", func(s Session) int { return s.Checkout }, 0.85, 0.94},
		// Half-way there: a score used to act while the visitor is still browsing.
		{"half-way", func(s Session) int { return s.Start + (s.Checkout-s.Start+1)/2 }, 0.75, 0.92},
	}
	for _, c := range cuts {
		t.Run(c.name, func(t *testing.T) {
			xtr, ytr := rows(vs[:4000], c.cut)
			xte, yte := rows(vs[4000:], c.cut)
			w := fitLogistic(xtr, ytr, 1)
			got := auc(predict(w, xte), yte)
			t.Logf("logistic AUC %.3f on %d test sessions (the truth's P: %.3f)", got, len(yte), auc(pTrue, yte))
			if got < c.lo || got > c.hi {
				t.Errorf("logistic AUC = %.3f, want within [%g, %g]", got, c.lo, c.hi)
			}
		})
	}
}
