package sim

import (
	"math"
	"math/rand/v2"
)

// Stream keys: the catalogue and each visitor draw from their own PCG stream, derived from the seed
// and the key, so that no part of the simulation shifts when another part changes.
const (
	keyCatalogue = 0x63617461_6c6f6775 // "catalogu"
	keyVisitor   = 0x76697369_746f7273 // "visitors"
)

// mix64 is SplitMix64's finaliser: it spreads consecutive indexes over the whole state space, so
// that neighbouring visitors' streams are unrelated.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newRand returns the random stream of one part of the simulation.
func newRand(seed, key, index uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix64(seed^key), mix64(index^mix64(key))))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func clamp(x, lo, hi float64) float64 { return max(lo, min(hi, x)) }

// gammaRand draws from Gamma(shape, 1) by Marsaglia and Tsang's method.
func gammaRand(r *rand.Rand, shape float64) float64 {
	if shape < 1 {
		// Boost: Gamma(a) = Gamma(a+1) · U^(1/a).
		return gammaRand(r, shape+1) * math.Pow(r.Float64(), 1/shape)
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}

// betaRand draws from Beta(a, b).
func betaRand(r *rand.Rand, a, b float64) float64 {
	x := gammaRand(r, a)
	y := gammaRand(r, b)
	if x+y == 0 {
		return 0.5
	}
	return x / (x + y)
}

// pick returns the index drawn from cumulative weights cum (last element the total).
func pick(r *rand.Rand, cum []float64) int {
	u := r.Float64() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cum[m] <= u {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// cumulate turns weights into cumulative weights, in place.
func cumulate(w []float64) []float64 {
	s := 0.0
	for i, x := range w {
		s += x
		w[i] = s
	}
	return w
}

// geometric draws a count ≥ 0 with the given mean (a geometric distribution: the heavy tail of
// page counts and basket sizes).
func geometric(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	p := 1 / (1 + mean)
	u := r.Float64()
	if u == 0 {
		return 0
	}
	return int(math.Log(u) / math.Log(1-p))
}
