package train

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// synthBaskets draws baskets from a catalogue with a steep (Zipf) popularity curve plus one
// best-seller (item nItems−1) in 80 % of baskets, and nPairs planted complementary pairs (2k, 2k+1):
// 5 % of baskets hold a pair, 10 % hold one planted item without its partner. Raw co-occurrence
// counts then make the best-seller every planted item's top neighbour; a similarity must not.
// Planted items sit in the Zipf tail.
func synthBaskets(nItems, nBaskets, nPairs int, seed uint64) [][]int {
	rng := rand.New(rand.NewPCG(seed, 1))
	cum := make([]float64, nItems)
	s := 0.0
	for i := range nItems {
		s += 1 / math.Pow(float64(i+1), 1.1) // Zipf over a shuffled order
		cum[i] = s
	}
	perm := rng.Perm(nItems)
	// Planted items take the Zipf tail, so that their partner is their strongest association.
	slices.SortStableFunc(perm, func(a, b int) int { return cmp.Compare(b2i(a < 2*nPairs), b2i(b < 2*nPairs)) })
	draw := func() int {
		k, _ := slices.BinarySearch(cum, rng.Float64()*s)
		return perm[min(k, nItems-1)]
	}
	out := make([][]int, nBaskets)
	for b := range out {
		n := 1 + rng.IntN(4)
		basket := make([]int, 0, n+3)
		for range n {
			basket = append(basket, draw())
		}
		if rng.Float64() < 0.8 {
			basket = append(basket, nItems-1)
		}
		switch u := rng.Float64(); {
		case u < 0.05:
			k := rng.IntN(nPairs)
			basket = append(basket, 2*k, 2*k+1)
		case u < 0.15:
			basket = append(basket, rng.IntN(2*nPairs))
		}
		out[b] = basket
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rawTop returns the item that co-occurs most often with i (ties: smaller index).
func rawTop(baskets [][]int, i int) int {
	c := map[int]int{}
	for _, b := range baskets {
		u := slices.Compact(slices.Sorted(slices.Values(b)))
		if slices.Contains(u, i) {
			for _, j := range u {
				if j != i {
					c[j]++
				}
			}
		}
	}
	best, bc := -1, 0
	for j, n := range c {
		if n > bc || (n == bc && j < best) {
			best, bc = j, n
		}
	}
	return best
}

func TestFitNeighboursFindsPlantedPairs(t *testing.T) {
	const nItems, nPairs = 2000, 100
	baskets := synthBaskets(nItems, 100000, nPairs, 1)
	// The test is only meaningful if raw counts fail it.
	echo := 0
	for i := range 20 {
		if rawTop(baskets, i) == nItems-1 {
			echo++
		}
	}
	if echo < 15 {
		t.Fatalf("synthetic data too easy: raw counts put the best-seller first for only %d of 20 items", echo)
	}
	tests := []struct {
		name string
		opt  NeighbourOptions
	}{
		{"cosine", NeighbourOptions{}},
		{"lift", NeighbourOptions{Similarity: Lift, MinSupport: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nb, popular, err := FitNeighbours(context.Background(), baskets, nItems, 10, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			miss := 0
			for i := range 2 * nPairs {
				js, _ := neighbourList(nb, i)
				if len(js) == 0 || js[0] != i^1 {
					miss++
					t.Logf("item %d: neighbours %v", i, js[:min(3, len(js))])
				}
			}
			if miss > 0 {
				t.Errorf("%d of %d planted items do not have their partner first", miss, 2*nPairs)
			}
			if len(popular) != 100 {
				t.Errorf("popular has %d items", len(popular))
			}
		})
	}
}

func TestFitNeighboursLayout(t *testing.T) {
	// Items 300 and 301 (indices above 255 test the little-endian order) always together; 5 with
	// 300 twice; 7 alone.
	baskets := [][]int{{300, 301}, {301, 300, 300}, {300, 301, 5}, {5, 300}, {7}, {7, 7}}
	nb, popular, err := FitNeighbours(context.Background(), baskets, 400, 3, NeighbourOptions{Shrink: -1, MinSupport: 1})
	if err != nil {
		t.Fatal(err)
	}
	if nb.K != 3 || len(nb.Index) != 400*3*2 || len(nb.Weight) != 400*3 {
		t.Fatalf("K %d, %d index bytes, %d weight bytes", nb.K, len(nb.Index), len(nb.Weight))
	}
	// 300: n=4; 301: n=3, c=3 → 3/√12; 5: n=2, c=2 → 2/√8.
	want300 := []int{301, 5}
	js, ss := neighbourList(nb, 300)
	if !slices.Equal(js, want300) {
		t.Fatalf("neighbours of 300: %v, want %v", js, want300)
	}
	if p := 300*3 + 0; nb.Index[2*p] != byte(301&0xFF) || nb.Index[2*p+1] != byte(301>>8) {
		t.Errorf("index bytes %x %x are not little-endian 301", nb.Index[2*p], nb.Index[2*p+1])
	}
	if p := 300*3 + 2; nb.Index[2*p] != 0xFF || nb.Index[2*p+1] != 0xFF || nb.Weight[p] != 0 {
		t.Errorf("padding not 0xFFFF/0")
	}
	if math.Abs(ss[0]-3/math.Sqrt(12)) > float64(nb.Scale)/2+1e-9 || math.Abs(ss[1]-2/math.Sqrt(8)) > float64(nb.Scale)/2+1e-9 {
		t.Errorf("similarities %v", ss)
	}
	if js, _ := neighbourList(nb, 7); len(js) != 0 {
		t.Errorf("item 7 has neighbours %v", js)
	}
	if !slices.Equal(popular, []uint16{300, 301, 5, 7}) {
		t.Errorf("popular %v", popular)
	}
}

func TestFitNeighboursDeterministic(t *testing.T) {
	baskets := synthBaskets(3000, 30000, 50, 2)
	var first []byte
	for _, w := range []int{1, 3, 8} {
		last := 0
		nb, _, err := FitNeighbours(context.Background(), baskets, 3000, 8, NeighbourOptions{Workers: w,
			Progress: func(done, total int) {
				if done <= last || total != 3000 {
					t.Errorf("progress %d/%d after %d", done, total, last)
				}
				last = done
			}})
		if err != nil {
			t.Fatal(err)
		}
		if last != 3000 {
			t.Errorf("progress ended at %d", last)
		}
		all := append(slices.Clone(nb.Index), nb.Weight...)
		if first == nil {
			first = all
		} else if !bytes.Equal(first, all) {
			t.Errorf("workers=%d gives a different table", w)
		}
	}
}

func TestFitNeighboursErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		baskets [][]int
		n, k    int
	}{
		{"out-of-range", context.Background(), [][]int{{1, 10}}, 10, 2},
		{"negative", context.Background(), [][]int{{-1, 2}}, 10, 2},
		{"too-many-items", context.Background(), nil, 65536, 2},
		{"k-zero", context.Background(), nil, 10, 0},
		{"cancelled", cancelled, [][]int{{1, 2}}, 10, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := FitNeighbours(tt.ctx, tt.baskets, tt.n, tt.k, NeighbourOptions{}); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestFitNeighboursAlpha(t *testing.T) {
	// As in TestFitNeighboursLayout: n_300 = 4, n_301 = 3, n_5 = 2; c(300,301) = 3, c(300,5) = 2.
	baskets := [][]int{{300, 301}, {301, 300, 300}, {300, 301, 5}, {5, 300}, {7}, {7, 7}}
	nb, _, err := FitNeighbours(context.Background(), baskets, 400, 3, NeighbourOptions{Shrink: -1, MinSupport: 1, Alpha: 1})
	if err != nil {
		t.Fatal(err)
	}
	// α = 1: the confidence c_ij / n_i, so the similarity is no longer symmetric.
	for _, c := range []struct {
		i, j int
		want float64
	}{{300, 301, 3.0 / 4}, {300, 5, 2.0 / 4}, {301, 300, 3.0 / 3}, {5, 300, 2.0 / 2}, {5, 301, 1.0 / 2}} {
		js, ss := neighbourList(nb, c.i)
		k := slices.Index(js, c.j)
		if k < 0 {
			t.Errorf("%d is not a neighbour of %d: %v", c.j, c.i, js)
			continue
		}
		if math.Abs(ss[k]-c.want) > float64(nb.Scale)/2+1e-9 {
			t.Errorf("sim(%d→%d) = %g, want %g", c.i, c.j, ss[k], c.want)
		}
	}
	for _, a := range []float64{-0.5, 1.5, math.NaN()} {
		if _, _, err := FitNeighbours(context.Background(), baskets, 400, 3, NeighbourOptions{Alpha: a}); err == nil {
			t.Errorf("Alpha %g accepted", a)
		}
	}
}

// Alpha moves the best-seller (in 80 % of baskets) up the planted items' lists: below the partner
// with the symmetric cosine, above it at α = 1, where the similarity is the confidence P(j | i)
// (0.8 for the best-seller, about 1/3 for the partner) and echoes popularity.
func TestFitNeighboursAlphaLetsPopularityIn(t *testing.T) {
	const nItems, nPairs = 2000, 100
	baskets := synthBaskets(nItems, 100000, nPairs, 3)
	rankSum := map[float64]int{} // Σ over planted items of the best-seller's rank (K when not listed)
	partnerFirst := map[float64]int{}
	alphas := []float64{0.5, 0.75, 1}
	for _, a := range alphas {
		nb, _, err := FitNeighbours(context.Background(), baskets, nItems, 5, NeighbourOptions{Alpha: a})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 * nPairs {
			js, _ := neighbourList(nb, i)
			r := slices.Index(js, nItems-1)
			if r < 0 {
				r = 5
			}
			rankSum[a] += r
			if len(js) > 0 && js[0] == i^1 {
				partnerFirst[a]++
			}
		}
	}
	t.Logf("best-seller's rank summed over planted items %v; partner first %v", rankSum, partnerFirst)
	for k := 1; k < len(alphas); k++ {
		if rankSum[alphas[k]] >= rankSum[alphas[k-1]] {
			t.Errorf("the best-seller does not move up from α %g to %g: %v", alphas[k-1], alphas[k], rankSum)
		}
	}
	if partnerFirst[0.5] != 2*nPairs || partnerFirst[1] != 0 {
		t.Errorf("partner first for %d planted items at α 0.5, %d at α 1 (want %d and 0)", partnerFirst[0.5], partnerFirst[1], 2*nPairs)
	}
}

func TestFitNeighboursInverseSize(t *testing.T) {
	// 0 and 1 meet in 3 baskets of two items; 0 and 2 in 4 baskets of 50 items, the other 48 a
	// different filler each time (support 1: no pair). Counting baskets, 2 is 0's closest item
	// (4/√(7·4) > 3/√(7·3)); weighing baskets by 1/|b|, 1 is.
	var baskets [][]int
	for range 3 {
		baskets = append(baskets, []int{0, 1})
	}
	filler := 10
	for range 4 {
		b := []int{0, 2}
		for range 48 {
			b = append(b, filler)
			filler++
		}
		baskets = append(baskets, b)
	}
	for _, c := range []struct {
		inv  bool
		want int
	}{{false, 2}, {true, 1}} {
		nb, _, err := FitNeighbours(context.Background(), baskets, filler, 2, NeighbourOptions{Shrink: -1, InverseSize: c.inv})
		if err != nil {
			t.Fatal(err)
		}
		if js, _ := neighbourList(nb, 0); len(js) != 2 || js[0] != c.want {
			t.Errorf("InverseSize %v: neighbours of 0 %v, want %d first", c.inv, js, c.want)
		}
	}
}

func TestFitNeighboursWeights(t *testing.T) {
	// 0 and 1 meet in 3 baskets, 0 and 2 in 4. Unweighted, 2 is 0's closest item (4/√(7·4) >
	// 3/√(7·3)); with the four {0, 2} baskets weighing 0.25 each (old orders under a time decay),
	// c_02 = 1, n_0 = 4, n_2 = 1 and 1 is (3/√(4·3) > 1/√(4·1)); at weight 0 they count for
	// popularity only.
	var baskets [][]int
	for range 3 {
		baskets = append(baskets, []int{0, 1})
	}
	for range 4 {
		baskets = append(baskets, []int{0, 2})
	}
	weights := func(w float64) []float64 { return []float64{1, 1, 1, w, w, w, w} }
	opt := NeighbourOptions{Shrink: -1, MinSupport: 1}
	plain, _, err := FitNeighbours(context.Background(), baskets, 3, 2, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		w    float64
		want []int
	}{{1, []int{2, 1}}, {0.25, []int{1, 2}}, {0, []int{1}}} {
		o := opt
		o.Weights = weights(c.w)
		nb, popular, err := FitNeighbours(context.Background(), baskets, 3, 2, o)
		if err != nil {
			t.Fatal(err)
		}
		if js, _ := neighbourList(nb, 0); !slices.Equal(js, c.want) {
			t.Errorf("weight %g: neighbours of 0 %v, want %v", c.w, js, c.want)
		}
		if !slices.Equal(popular, []uint16{0, 2, 1}) {
			t.Errorf("weight %g: popular %v, want basket counts [0 2 1]", c.w, popular)
		}
		if c.w == 1 && (!bytes.Equal(nb.Index, plain.Index) || !bytes.Equal(nb.Weight, plain.Weight)) {
			t.Error("weights of 1 give a different table from no weights")
		}
	}
	for _, w := range [][]float64{{1, 1}, weights(-1), weights(math.NaN()), weights(math.Inf(1))} {
		o := opt
		o.Weights = w
		if _, _, err := FitNeighbours(context.Background(), baskets, 3, 2, o); err == nil {
			t.Errorf("Weights %v accepted", w)
		}
	}
}
