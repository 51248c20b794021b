package eval

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Interval is a statistic on the full sample with a bootstrap confidence interval [Lo, Hi].
// Without replicates (or when no replicate gave a finite value) Lo and Hi are NaN, written as null
// in JSON.
type Interval struct {
	Estimate float64
	Lo, Hi   float64
}

// MarshalJSON writes {"estimate":…,"lo":…,"hi":…} with null for a value that is not finite, which
// encoding/json would otherwise refuse.
func (iv Interval) MarshalJSON() ([]byte, error) {
	num := func(b []byte, v float64) []byte {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	b := append([]byte(nil), `{"estimate":`...)
	b = num(b, iv.Estimate)
	b = append(b, `,"lo":`...)
	b = num(b, iv.Lo)
	b = append(b, `,"hi":`...)
	b = num(b, iv.Hi)
	return append(b, '}'), nil
}

// BootstrapOptions tune the bootstrap. The zero value means 1,000 replicates, a 95 % interval and
// seed 1.
type BootstrapOptions struct {
	Reps  int     // replicates; 0 means 1000, negative means none
	Level float64 // coverage of the interval, in (0, 1); 0 means 0.95
	Seed  uint64  // the resampling stream; 0 means 1
}

func (o BootstrapOptions) norm() (BootstrapOptions, error) {
	if o.Reps == 0 {
		o.Reps = 1000
	}
	if o.Level == 0 {
		o.Level = 0.95
	}
	if !(o.Level > 0 && o.Level < 1) {
		return o, errors.New("eval: bootstrap level must be in (0, 1)")
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o, nil
}

// Bootstrap computes a statistic of n units and its percentile bootstrap interval (Efron &
// Tibshirani 1993, An Introduction to the Bootstrap, ch. 13). stat receives per-unit weights: all 1
// for the estimate, then, for each replicate, how many times each unit was drawn in a resample of n
// with replacement. Passing multiplicities instead of a resampled copy lets a statistic that sorted
// its data once (AUC, gain) evaluate every replicate in one pass.
//
// The resamples come from a PCG stream seeded with opt.Seed and are drawn in a fixed order, so the
// interval is identical on every run and machine. Replicates whose statistic is not finite (a
// resample without positives has no AUC) are left out.
func Bootstrap(n int, opt BootstrapOptions, stat func(w []float64) float64) (Interval, error) {
	if n < 1 {
		return Interval{}, errors.New("eval: bootstrap of no units")
	}
	opt, err := opt.norm()
	if err != nil {
		return Interval{}, err
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	iv := Interval{Estimate: stat(w), Lo: math.NaN(), Hi: math.NaN()}
	if opt.Reps < 0 {
		return iv, nil
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed_b007))
	vals := make([]float64, 0, opt.Reps)
	for range opt.Reps {
		clear(w)
		for range n {
			w[rng.IntN(n)]++
		}
		if v := stat(w); !math.IsNaN(v) && !math.IsInf(v, 0) {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return iv, nil
	}
	slices.Sort(vals)
	iv.Lo = quantile(vals, (1-opt.Level)/2)
	iv.Hi = quantile(vals, 1-(1-opt.Level)/2)
	return iv, nil
}

// quantile is the q-quantile of sorted values, interpolated linearly between order statistics
// (Hyndman & Fan 1996, type 7, the default of R and NumPy).
func quantile(sorted []float64, q float64) float64 {
	h := q * float64(len(sorted)-1)
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// WeightedMean is Σ wᵢvᵢ / Σ wᵢ (w nil: the plain mean): the statistic of per-unit values such as
// per-customer hits, for Bootstrap.
func WeightedMean(v, w []float64) float64 {
	var s, sw float64
	for i, x := range v {
		s += weight(w, i) * x
		sw += weight(w, i)
	}
	return s / sw
}

// BootstrapMean is the mean of per-unit values (a hit rate, an NDCG) with its bootstrap interval.
func BootstrapMean(v []float64, opt BootstrapOptions) (Interval, error) {
	return Bootstrap(len(v), opt, func(w []float64) float64 { return WeightedMean(v, w) })
}
