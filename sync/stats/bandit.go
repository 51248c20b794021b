package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// ThompsonWeights is the traffic split of a Thompson-sampling bandit, batched: the probability that
// each arm has the best conversion rate under the posteriors. The server ships these as the variants'
// weights in the next bundle, and agents keep hashing visitors into variants by weight, so a visitor
// keeps their variant for the life of a bundle and across hosts, and no visitor-level data is needed.
//
// floor (0 for none) is the least share an arm keeps, so that a bandit can still notice a change;
// the weights sum to 1. Each probability is ∫ f_i(x) Π_{j≠i} F_j(x) dx, integrated numerically:
// deterministic, unlike sampling.
func ThompsonWeights(arms []Beta, floor float64) ([]float64, error) {
	k := len(arms)
	if k == 0 {
		return nil, fmt.Errorf("stats: no arms")
	}
	if !(floor >= 0 && floor*float64(k) < 1) {
		return nil, fmt.Errorf("stats: floor %v for %d arms", floor, k)
	}
	for i, a := range arms {
		if !(a.Alpha > 0 && a.Beta > 0) || math.IsInf(a.Alpha+a.Beta, 0) {
			return nil, fmt.Errorf("stats: arm %d: Beta(%v, %v)", i, a.Alpha, a.Beta)
		}
	}
	w := make([]float64, k)
	total := 0.0
	for i, a := range arms {
		d := distuv.Beta{Alpha: a.Alpha, Beta: a.Beta}
		lo, hi := d.Quantile(5e-13), d.Quantile(1-5e-13)
		w[i] = quad.Fixed(func(x float64) float64 {
			p := d.Prob(x)
			for j, b := range arms {
				if j != i {
					p *= mathext.RegIncBeta(b.Alpha, b.Beta, x)
				}
			}
			return p
		}, lo, hi, nodes, nil, 0)
		w[i] = math.Max(w[i], 0)
		total += w[i]
	}
	for i := range w {
		if total > 0 {
			w[i] /= total
		} else {
			w[i] = 1 / float64(k)
		}
		w[i] = floor + (1-floor*float64(k))*w[i]
	}
	return w, nil
}
