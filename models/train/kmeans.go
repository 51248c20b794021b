package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// KMeansOptions tune KMeans.
type KMeansOptions struct {
	MaxIterations int                   // Lloyd iterations; 0 means 300
	Progress      func(done, total int) // after each iteration; total = MaxIterations
}

// KMeansResult is a k-means clustering: Centroids (k×d), the cluster of each row, the inertia
// (sum of squared distances to the assigned centroid), and how it ended.
type KMeansResult struct {
	Centroids  *mat.Dense
	Assign     []int
	Inertia    float64
	Iterations int
	Converged  bool // no assignment changed in the last iteration
}

// KMeans clusters the rows of X into k personas.
//
// Model and loss: k centroids minimising the inertia Σᵢ ‖xᵢ − μ_{c(i)}‖² by Lloyd's algorithm (Lloyd
// 1982, "Least squares quantization in PCM", IEEE Trans. Inf. Theory 28(2)), seeded by k-means++
// (Arthur & Vassilvitskii 2007, "k-means++: the advantages of careful seeding", SODA'07), which draws
// each new centre with probability proportional to its squared distance to the nearest chosen one
// and is O(log k)-competitive in expectation. An emptied cluster is re-seeded with the point farthest
// from its centroid. Scale the columns first if they are in different units. rng is the only
// source of randomness.
func KMeans(ctx context.Context, X *mat.Dense, k int, rng *rand.Rand, opt KMeansOptions) (KMeansResult, error) {
	n, d := X.Dims()
	if k < 1 || k > n {
		return KMeansResult{}, errors.New("train: kmeans: need 1 ≤ k ≤ rows")
	}
	if rng == nil {
		return KMeansResult{}, errors.New("train: kmeans: nil rng")
	}
	for i := range n {
		if !allFinite(X.RawRowView(i)) {
			return KMeansResult{}, errors.New("train: kmeans: NaN or infinite value")
		}
	}
	maxIter := opt.MaxIterations
	if maxIter <= 0 {
		maxIter = 300
	}
	C := mat.NewDense(k, d, nil)
	// k-means++ seeding.
	d2 := make([]float64, n)
	copy(C.RawRowView(0), X.RawRowView(rng.IntN(n)))
	for i := range n {
		d2[i] = sqDist(X.RawRowView(i), C.RawRowView(0))
	}
	for c := 1; c < k; c++ {
		total := floats.Sum(d2)
		pick := n - 1
		if total > 0 {
			u := rng.Float64() * total
			for i, v := range d2 {
				if u < v {
					pick = i
					break
				}
				u -= v
			}
		} else {
			pick = rng.IntN(n)
		}
		copy(C.RawRowView(c), X.RawRowView(pick))
		for i := range n {
			d2[i] = math.Min(d2[i], sqDist(X.RawRowView(i), C.RawRowView(c)))
		}
	}

	res := KMeansResult{Centroids: C, Assign: make([]int, n)}
	for i := range res.Assign {
		res.Assign[i] = -1
	}
	counts := make([]int, k)
	for it := 1; it <= maxIter; it++ {
		if err := ctx.Err(); err != nil {
			return KMeansResult{}, err
		}
		changed := 0
		res.Inertia = 0
		for i := range n {
			best, bd := 0, math.Inf(1)
			for c := range k {
				if dd := sqDist(X.RawRowView(i), C.RawRowView(c)); dd < bd {
					best, bd = c, dd
				}
			}
			if res.Assign[i] != best {
				res.Assign[i] = best
				changed++
			}
			d2[i] = bd
			res.Inertia += bd
		}
		res.Iterations = it
		if opt.Progress != nil {
			opt.Progress(it, maxIter)
		}
		if changed == 0 {
			res.Converged = true
			break
		}
		C.Zero()
		clear(counts)
		for i, c := range res.Assign {
			floats.Add(C.RawRowView(c), X.RawRowView(i))
			counts[c]++
		}
		for c := range k {
			if counts[c] == 0 {
				far := floats.MaxIdx(d2)
				copy(C.RawRowView(c), X.RawRowView(far))
				d2[far] = 0
				res.Assign[far] = -1 // force another pass
				continue
			}
			floats.Scale(1/float64(counts[c]), C.RawRowView(c))
		}
	}
	return res, nil
}

func sqDist(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		e := v - b[i]
		s += e * e
	}
	return s
}
