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
	score   []float32 // per item, plus the sink of padding: Σ weight × quantised similarity; zero between calls
	touched []int32   // the cells' items in visiting order, each score's first appearance at least
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

// ItemSet is a set of item indices, a bit per item of the catalogue.
type ItemSet []uint64

// Reset returns the empty set for a catalogue of n items, reusing s's storage.
func (s ItemSet) Reset(n int) ItemSet {
	words := (n + 63) / 64
	if cap(s) < words {
		return make(ItemSet, words)
	}
	s = s[:words]
	clear(s)
	return s
}

// Add adds item, which must be in the catalogue.
func (s ItemSet) Add(item int) { s[item>>6] |= 1 << (item & 63) }

// Has reports whether item is in the set; an item outside the catalogue is not.
func (s ItemSet) Has(item int) bool { return item>>6 < len(s) && s[item>>6]&(1<<(item&63)) != 0 }

// NeighbourTable is a Neighbours table packed for Recommend: one uint32 per cell, the neighbour's
// index << 8 | its quantised similarity, padding pointing to a sink past the last item with similarity
// 0. One load per neighbour instead of three: under wazero the scatter over neighbour lists is most
// of what a recommendation costs. Build it once per bundle.
type NeighbourTable struct {
	cells []uint32
	k     int
	items int
	scale float32
}

// Table packs n for Recommend.
func (n *Neighbours) Table() *NeighbourTable {
	items, k := n.Items(), int(n.K)
	t := &NeighbourTable{cells: make([]uint32, items*k), k: k, items: items, scale: n.Scale}
	for i := range t.cells {
		nb, w := int(n.Index[2*i])|int(n.Index[2*i+1])<<8, n.Weight[i]
		if nb >= items { // padding (0xFFFF), or an index Validate would have refused
			nb, w = items, 0
		}
		t.cells[i] = uint32(nb)<<8 | uint32(w)
	}
	return t
}

// Recommend appends to dst the k best items for a visitor whose recent items are recent: each
// candidate scores Σ weight × similarity over the recent items whose neighbour lists contain it.
// Candidates in exclude (already seen, in the cart, bought: the caller's rule; the recent items
// themselves are not excluded unless exclude has them) and candidates with a score ≤ 0 are dropped.
// The result is sorted by decreasing score, ties broken by the lower item index.
// Recent items out of range or with a weight that is not a finite number are ignored; exclude may be
// nil (nothing excluded).
//
// Scores are float32 sums accumulated in the order of recent and of each neighbour list, so they are
// bit-identical everywhere. With scratch reused, nothing is allocated once dst and
// scratch have grown. A popularity fallback for short lists is the caller's job.
func (t *NeighbourTable) Recommend(dst []Candidate, recent []Weighted, exclude ItemSet, k int, scratch *RecScratch) []Candidate {
	if k <= 0 || t.items == 0 || len(recent) == 0 {
		return dst
	}
	s := scratch
	if s == nil {
		s = new(RecScratch)
	}
	if len(s.score) != t.items+1 {
		s.score = make([]float32, t.items+1)
	}
	if need := len(recent) * t.k; len(s.touched) < need {
		s.touched = make([]int32, need)
	}
	score, touched := s.score[:t.items+1], s.touched

	// Scatter. An item is listed in touched when its score is 0 before the addition: at its first
	// appearance, and again only if its sum came back to 0; selection reads each score once and
	// clears it, so a repeat is skipped there, and the scratch is all zero again at the end.
	cnt := 0
	for _, r := range recent {
		if r.Item < 0 || r.Item >= t.items || r.Weight-r.Weight != 0 || r.Weight == 0 {
			continue
		}
		rw := float32(r.Weight)
		for _, c := range t.cells[r.Item*t.k : (r.Item+1)*t.k] {
			nb := c >> 8
			if score[nb] == 0 {
				touched[cnt] = int32(nb)
				cnt++
			}
			score[nb] += float32(rw * float32(c&0xff))
		}
	}

	// Select the best k: insertion into a sorted tail of dst, k is small.
	base := len(dst)
	scale := float64(t.scale)
	for _, t32 := range touched[:cnt] {
		it := int(t32)
		sc := float64(score[it]) * scale
		score[it] = 0
		if !(sc > 0) || it == t.items {
			continue
		}
		out := dst[base:]
		full := len(out) == k
		if full && !better(sc, it, out[k-1].Score, out[k-1].Item) {
			continue
		}
		if exclude.Has(it) {
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
