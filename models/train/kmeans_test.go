package train

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func blobs(n int, centres [][]float64, sd float64, seed uint64) (*mat.Dense, []int) {
	rng := rand.New(rand.NewPCG(seed, 8))
	d := len(centres[0])
	X := mat.NewDense(n, d, nil)
	truth := make([]int, n)
	for i := range n {
		c := rng.IntN(len(centres))
		truth[i] = c
		for j := range d {
			X.Set(i, j, centres[c][j]+sd*rng.NormFloat64())
		}
	}
	return X, truth
}

func TestKMeans(t *testing.T) {
	centres := [][]float64{{0, 0}, {10, 0}, {0, 10}, {10, 10}}
	X, truth := blobs(2000, centres, 1, 1)
	tests := []struct {
		name string
		k    int
	}{{"four", 4}, {"one", 1}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := KMeans(context.Background(), X, tt.k, rand.New(rand.NewPCG(1, 2)), KMeansOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Converged {
				t.Error("not converged")
			}
			if tt.k == 4 {
				// Clusters match the blobs up to relabelling.
				m := map[[2]int]bool{}
				for i, c := range res.Assign {
					m[[2]int{truth[i], c}] = true
				}
				if len(m) != 4 {
					t.Errorf("%d (truth, cluster) pairs, want 4", len(m))
				}
			}
			res2, _ := KMeans(context.Background(), X, tt.k, rand.New(rand.NewPCG(1, 2)), KMeansOptions{})
			if !slices.Equal(res.Assign, res2.Assign) || !mat.Equal(res.Centroids, res2.Centroids) {
				t.Error("not deterministic for a seed")
			}
		})
	}
	dup := mat.NewDense(5, 1, []float64{1, 1, 1, 1, 2})
	res, err := KMeans(context.Background(), dup, 3, rand.New(rand.NewPCG(1, 2)), KMeansOptions{})
	if err != nil || res.Inertia != 0 {
		t.Errorf("duplicates: inertia %g, err %v", res.Inertia, err)
	}
	if _, err := KMeans(context.Background(), dup, 6, rand.New(rand.NewPCG(1, 2)), KMeansOptions{}); err == nil {
		t.Error("k > rows accepted")
	}
}
