package models

// Weighted is an item index with a weight: a visitor's recent item and how much it counts (the
// caller decides, e.g. by recency and by kind: viewed, in the cart, bought).
type Weighted struct {
	Item   int
	Weight float64
}

// Candidate is a recommended item index with its score: Σ weight × similarity over the recent items
// it neighbours.
type Candidate struct {
	Item  int
	Score float64
}

// RecScratch holds the buffers Recommend reuses between calls. The zero value is ready; it grows to
// the catalogue size on first use and then allocates nothing. It is not safe for concurrent use.
type RecScratch struct {
	score   []float64 // per item, plus a sink for padding: accumulated Σ weight × quantised similarity
	mark    []uint8   // per item, plus the sink (always 1): already listed in touched
	touched []int32   // items with a score, to select from and to reset
}

// Items returns the number of items the table covers.
func (n *Neighbours) Items() int {
	if n.K == 0 {
		return 0
	}
	return len(n.Weight) / int(n.K)
}

// Neighbour returns the j-th neighbour of item and its similarity (Weight×Scale), or -1 when that
// slot is padding or either index is out of range.
func (n *Neighbours) Neighbour(item, j int) (nb int, similarity float64) {
	k := int(n.K)
	if item < 0 || item >= n.Items() || j < 0 || j >= k {
		return -1, 0
	}
	cell := item*k + j
	nb = int(n.Index[2*cell]) | int(n.Index[2*cell+1])<<8
	if nb == noNeighbour || nb >= n.Items() {
		return -1, 0
	}
	return nb, float64(float64(n.Weight[cell]) * float64(n.Scale))
}

// Similar appends the neighbours of item to dst in table order (most similar first, as trained),
// skipping padding, with their similarity as Score. An item out of range has none.
func (n *Neighbours) Similar(dst []Candidate, item int) []Candidate {
	for j := 0; j < int(n.K); j++ {
		if nb, s := n.Neighbour(item, j); nb >= 0 {
			dst = append(dst, Candidate{Item: nb, Score: s})
		}
	}
	return dst
}

// Recommend appends to dst the k best items for a visitor whose recent items are recent: each
// candidate scores Σ weight × similarity over the recent items whose neighbour lists contain it.
// Candidates for which exclude returns true (already seen, in the cart, bought: the caller's rule;
// the recent items themselves are not excluded unless exclude says so) and candidates with a score
// ≤ 0 are dropped. The result is sorted by decreasing score, ties broken by the lower item index.
// Recent items out of range or with a NaN weight are ignored; exclude may be nil.
//
// Scores are accumulated in the order of recent and of each neighbour list, so they are
// bit-identical everywhere. exclude is called at most once per candidate, and only for candidates
// good enough to enter the current top k. With scratch reused, nothing is allocated once dst and
// scratch have grown. A popularity fallback for short lists is the caller's job.
func (n *Neighbours) Recommend(dst []Candidate, recent []Weighted, exclude func(item int) bool, k int, scratch *RecScratch) []Candidate {
	items := n.Items()
	if k <= 0 || items == 0 || len(recent) == 0 {
		return dst
	}
	s := scratch
	if s == nil {
		s = new(RecScratch)
	}
	if len(s.score) != items+1 {
		s.score = make([]float64, items+1)
		s.mark = make([]uint8, items+1)
		s.mark[items] = 1 // the sink is never a candidate
	}
	K := int(n.K)
	if need := len(recent)*K + 1; len(s.touched) < need {
		s.touched = make([]int32, need)
	}
	score, mark, touched := s.score[:items+1], s.mark[:items+1], s.touched

	// Accumulate with as few data-dependent branches as possible (Go's wasm backend sends taken
	// branches through a dispatch table; this is 15 % faster under wazero than skipping padding
	// and tracking "first seen" with ifs): padding (0xFFFF) goes to a sink slot, every neighbour is
	// written to touched and the count advances only when its mark was clear. A zero similarity
	// adds 0 and leaves a zero score, dropped below.
	cnt := 0
	for _, r := range recent {
		if r.Item < 0 || r.Item >= items || r.Weight != r.Weight || r.Weight == 0 {
			continue
		}
		base := r.Item * K
		idx := n.Index[2*base : 2*(base+K)]
		wts := n.Weight[base : base+K]
		rw := r.Weight
		for j := 1; j < len(idx); j += 2 {
			nb := int(idx[j-1]) | int(idx[j])<<8
			if nb >= items {
				nb = items // padding goes to the sink
			}
			w := wts[j>>1]
			touched[cnt] = int32(nb)
			cnt += int(1 - mark[nb])
			mark[nb] = 1
			score[nb] += float64(rw * float64(w))
		}
	}
	score[items] = 0

	// Select the best k: insertion into a sorted tail of dst, k is small.
	base := len(dst)
	scale := float64(n.Scale)
	for _, t := range touched[:cnt] {
		it := int(t)
		sc := float64(score[it] * scale)
		score[it], mark[it] = 0, 0
		if !(sc > 0) {
			continue
		}
		out := dst[base:]
		full := len(out) == k
		if full && !better(sc, it, out[k-1].Score, out[k-1].Item) {
			continue
		}
		if exclude != nil && exclude(it) {
			continue
		}
		if !full {
			dst = append(dst, Candidate{})
			out = dst[base:]
		}
		i := len(out) - 1
		for i > 0 && better(sc, it, out[i-1].Score, out[i-1].Item) {
			out[i] = out[i-1]
			i--
		}
		out[i] = Candidate{Item: it, Score: sc}
	}
	return dst
}

// better orders candidates: higher score first, then lower item index.
func better(s1 float64, i1 int, s2 float64, i2 int) bool {
	return s1 > s2 || (s1 == s2 && i1 < i2)
}
