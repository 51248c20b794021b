package train

import (
	"cmp"
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/presage-dev/presage/models"
)

// Similarity chooses the item-to-item similarity of FitNeighbours.
type Similarity uint8

const (
	// Cosine is the shrunk cosine c_ij / (√(n_i·n_j) + Shrink): cosine divides out both items'
	// popularity, and the shrink term discounts pairs supported by few baskets. With Alpha set it is
	// the asymmetric cosine c_ij / (n_i^α·n_j^(1−α) + Shrink) of i's neighbour j: α = 0.5 is the
	// cosine, α = 1 the shrunk confidence c_ij / (n_i + Shrink) ≈ P(j | i).
	Cosine Similarity = iota
	// Lift is c_ij·N / (n_i·n_j), how much more often i and j meet than if independent, kept only
	// for pairs with at least MinSupport co-occurrences (lift alone is noisiest on rare pairs).
	Lift
)

// NeighbourOptions tune FitNeighbours. The zero value is shrunk cosine with Shrink 10, MinSupport 2,
// baskets of more than 100 distinct items ignored for pairs, and a popularity list of 100 items.
type NeighbourOptions struct {
	Similarity Similarity
	Shrink     float64 // Cosine's shrink; 0 means 10, negative means none
	// Alpha is Cosine's exponent of the listing item's count, in (0, 1]; 0 means 0.5 (the
	// symmetric cosine). Larger values let more popular neighbours through: 1 is the confidence
	// P(j | i) of association rules, which ranks i's neighbours by how often they come with i.
	Alpha float64
	// InverseSize weighs each basket by 1/|b| in c_ij and n_i (and Lift's N), so that a large
	// basket, which pairs everything with everything, counts as much as a small one in all; the
	// MinSupport threshold still counts baskets.
	InverseSize bool
	// Weights, if not nil, holds one weight per basket (len(baskets) of them, each finite and ≥ 0),
	// multiplied into the basket's contribution to c_ij and n_i (and Lift's N), on top of
	// InverseSize's 1/|b|: a time decay, say, so that recent baskets weigh more. A basket of weight
	// 0 counts for popularity only. MinSupport still counts baskets, and the popularity list is not
	// weighed.
	Weights    []float64
	MinSupport int // pairs seen together in fewer baskets are dropped; 0 means 2
	MaxBasket  int // baskets with more distinct items count for popularity only; 0 means 100
	Popular    int // length of the popularity list; 0 means 100, negative means every item seen
	Workers    int // parallel workers; 0 means GOMAXPROCS. The result does not depend on it.

	Progress func(done, total int) // items done out of nItems
}

// FitNeighbours builds the item-to-item neighbour table of the "bought/viewed together" recommender
// from baskets (orders or sessions, each a list of item indices in [0, nItems); repeats within a
// basket count once), and the popularity list used for cold start.
//
// Model: item-based collaborative filtering (Sarwar, Karypis, Konstan & Riedl 2001, "Item-based
// collaborative filtering recommendation algorithms", WWW'01; Linden, Smith & York 2003, "Amazon.com
// recommendations: item-to-item collaborative filtering", IEEE Internet Computing 7(1)). With n_i the
// number of baskets holding i and c_ij the number holding both, the similarity is the shrunk cosine
// c_ij/(√(n_i n_j) + h), i.e. ⟨x_i,x_j⟩/(‖x_i‖‖x_j‖ + h) on binary basket vectors (the ItemKNN
// baseline of Ferrari Dacrema, Cremonesi & Jannach 2019, "Are we really making much progress?",
// RecSys'19), or the lift c_ij·N/(n_i n_j) with a minimum support (Agrawal, Imieliński & Swami 1993,
// "Mining association rules between sets of items in large databases", SIGMOD'93). Raw counts would
// only echo popularity; both divide it out. There is no loss: it is a counting estimator.
//
// Two knobs trade how much popularity comes through against how specific the neighbours are; they
// are meant to be chosen on held-out data. Alpha makes the cosine asymmetric, c_ij/(n_i^α n_j^(1−α) + h)
// (Aiolli 2013, "Efficient top-N recommendation for very large scale binary rated datasets",
// RecSys'13; at α = 1 it is the conditional-probability similarity of Deshpande & Karypis 2004,
// "Item-based top-N recommendation algorithms", ACM TOIS 22(1)); InverseSize weighs each basket by
// 1/|b|, as Deshpande & Karypis normalise customers' rows, so that the few very large
// (wholesale) baskets do not make every pair in them look related. Weights weighs baskets as the
// caller wishes, e.g. by an exponential time decay 2^(−age/half-life) so that the table follows
// what is bought now (seasonal ranges, new lines) more than what was bought a year ago.
//
// Each item keeps its K most similar items (ties broken by the smaller index), quantised to uint8
// with one Scale over the whole table; a listed neighbour never quantises below 1, so that every
// listed item has a positive weight. The layout is models.Neighbours': Index holds nItems×K
// little-endian uint16 (0xFFFF pads short lists), Weight nItems×K bytes (0 for padding).
//
// The work is sparse: an inverted index item → baskets, and for each item one pass over its baskets
// with a dense counter of nItems integers per worker. Time is Σ_b |b|², memory O(Σ_b |b| + nItems·K).
// popular lists item indices by basket count, most popular first (ties: smaller index).
func FitNeighbours(ctx context.Context, baskets [][]int, nItems, K int, opt NeighbourOptions) (*models.Neighbours, []uint16, error) {
	if nItems < 1 || nItems > math.MaxUint16 {
		return nil, nil, errors.New("train: neighbours: nItems must be in [1, 65535] (0xFFFF pads)")
	}
	if K < 1 || K > math.MaxUint16 {
		return nil, nil, errors.New("train: neighbours: K must be in [1, 65535]")
	}
	alpha := opt.Alpha
	switch {
	case alpha == 0:
		alpha = 0.5
	case !(alpha > 0 && alpha <= 1):
		return nil, nil, errors.New("train: neighbours: Alpha must be in (0, 1]")
	}
	shrink := opt.Shrink
	switch {
	case shrink == 0:
		shrink = 10
	case shrink < 0:
		shrink = 0
	}
	minSup := opt.MinSupport
	if minSup <= 0 {
		minSup = 2
	}
	maxBasket := opt.MaxBasket
	if maxBasket <= 0 {
		maxBasket = 100
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if opt.Weights != nil {
		if len(opt.Weights) != len(baskets) {
			return nil, nil, errors.New("train: neighbours: Weights must hold one weight per basket")
		}
		for _, w := range opt.Weights {
			if !(w >= 0 && w <= math.MaxFloat64) {
				return nil, nil, errors.New("train: neighbours: Weights must be finite and ≥ 0")
			}
		}
	}

	// Deduplicate baskets into one flat array; count popularity over all of them and basket
	// support n_i over the baskets used for pairs.
	pop := make([]int, nItems)
	support := make([]int32, nItems)
	n := make([]float64, nItems) // n_i: support, or Σ 1/|b| over i's baskets with InverseSize
	var flat []int32
	var bWeight []float64 // per basket used for pairs
	bStart := []int{0}
	var buf []int
	for bi, b := range baskets {
		buf = append(buf[:0], b...)
		slices.Sort(buf)
		buf = slices.Compact(buf)
		if len(buf) > 0 && (buf[0] < 0 || buf[len(buf)-1] >= nItems) {
			return nil, nil, errors.New("train: neighbours: item index out of range in basket " + strconv.Itoa(bi))
		}
		for _, it := range buf {
			pop[it]++
		}
		if len(buf) < 2 || len(buf) > maxBasket || (opt.Weights != nil && opt.Weights[bi] == 0) {
			continue
		}
		w := 1.0
		if opt.InverseSize {
			w = 1 / float64(len(buf))
		}
		if opt.Weights != nil {
			w *= opt.Weights[bi]
		}
		for _, it := range buf {
			flat = append(flat, int32(it))
			support[it]++
			n[it] += w
		}
		bStart = append(bStart, len(flat))
		bWeight = append(bWeight, w)
	}
	nBaskets := len(bStart) - 1
	total := 0.0 // N: baskets used for pairs, or their total weight
	for _, w := range bWeight {
		total += w
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	// Inverted index: for each item, the baskets holding it.
	iStart := make([]int, nItems+1)
	for i := range nItems {
		iStart[i+1] = iStart[i] + int(support[i])
	}
	inv := make([]int32, len(flat))
	fill := slices.Clone(iStart[:nItems])
	for b := range nBaskets {
		for _, it := range flat[bStart[b]:bStart[b+1]] {
			inv[fill[it]] = int32(b)
			fill[it]++
		}
	}

	sims := make([]float64, nItems*K)
	idx := make([]int32, nItems*K)
	for k := range idx {
		idx[k] = -1
	}
	type cand struct {
		j int32
		s float64
	}
	const chunk = 64
	var next atomic.Int64
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range min(workers, (nItems+chunk-1)/chunk) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acc := make([]int32, nItems)    // baskets holding i and j
			wacc := make([]float64, nItems) // their weight: c_ij
			var touched []int32
			var cands []cand
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= nItems || ctx.Err() != nil {
					return
				}
				hi := min(lo+chunk, nItems)
				for i := lo; i < hi; i++ {
					touched = touched[:0]
					for _, b := range inv[iStart[i]:iStart[i+1]] {
						w := bWeight[b]
						for _, j := range flat[bStart[b]:bStart[b+1]] {
							if int(j) == i {
								continue
							}
							if acc[j] == 0 {
								touched = append(touched, j)
							}
							acc[j]++
							wacc[j] += w
						}
					}
					cands = cands[:0]
					ni := n[i]
					for _, j := range touched {
						cnt, c := acc[j], wacc[j]
						acc[j], wacc[j] = 0, 0
						if int(cnt) < minSup {
							continue
						}
						nj := n[j]
						var s float64
						switch {
						case opt.Similarity == Lift:
							s = c * total / (ni * nj)
						case alpha == 0.5:
							s = c / (math.Sqrt(ni*nj) + shrink)
						default:
							s = c / (math.Pow(ni, alpha)*math.Pow(nj, 1-alpha) + shrink)
						}
						cands = append(cands, cand{j, s})
					}
					slices.SortFunc(cands, func(a, b cand) int {
						if a.s != b.s {
							return cmp.Compare(b.s, a.s)
						}
						return cmp.Compare(a.j, b.j)
					})
					for k, c := range cands[:min(K, len(cands))] {
						sims[i*K+k] = c.s
						idx[i*K+k] = c.j
					}
				}
				if opt.Progress != nil {
					mu.Lock()
					done += hi - lo
					opt.Progress(done, nItems)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	nb := QuantiseNeighbours(idx, sims, K)

	order := make([]int, 0, nItems)
	for i, p := range pop {
		if p > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(pop[b], pop[a]) })
	np := opt.Popular
	if np == 0 {
		np = 100
	}
	if np > 0 && len(order) > np {
		order = order[:np]
	}
	popular := make([]uint16, len(order))
	for k, i := range order {
		popular[k] = uint16(i)
	}
	return nb, popular, nil
}

// QuantiseNeighbours packs ranked neighbour lists into a table: idx holds items×K neighbour
// indices (K per item, best first, −1 for padding) and sims their similarities (≥ 0). Similarities
// are quantised to uint8 with one Scale over the whole table (the largest maps to 255), and a listed
// neighbour never quantises below 1, so that every listed item has a positive weight.
func QuantiseNeighbours(idx []int32, sims []float64, K int) *models.Neighbours {
	nItems := len(idx) / K
	maxSim := 0.0
	for _, s := range sims {
		maxSim = math.Max(maxSim, s)
	}
	scale := float32(maxSim / 255)
	nb := &models.Neighbours{K: uint16(K), Index: make([]byte, 2*nItems*K),
		Weight: make([]byte, nItems*K), Scale: scale}
	for k, j := range idx {
		u := uint16(0xFFFF)
		if j >= 0 {
			u = uint16(j)
			q := math.Round(sims[k] / float64(scale))
			nb.Weight[k] = byte(math.Max(1, math.Min(255, q)))
		}
		nb.Index[2*k] = byte(u)
		nb.Index[2*k+1] = byte(u >> 8)
	}
	return nb
}

// neighbourList decodes item i's neighbours from the table: item indices and similarities.
func neighbourList(nb *models.Neighbours, i int) ([]int, []float64) {
	K := int(nb.K)
	var js []int
	var ss []float64
	for k := range K {
		p := i*K + k
		u := uint16(nb.Index[2*p]) | uint16(nb.Index[2*p+1])<<8
		if u == 0xFFFF {
			break
		}
		js = append(js, int(u))
		ss = append(ss, float64(nb.Weight[p])*float64(nb.Scale))
	}
	return js, ss
}
