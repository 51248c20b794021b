package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

type nbEntry struct {
	item int
	w    uint8
}

// makeNeighbours builds a table of items×k from per-item lists (missing slots are padding).
func makeNeighbours(items, k int, scale float32, lists map[int][]nbEntry) *Neighbours {
	n := &Neighbours{K: uint16(k), Index: make([]byte, 2*items*k), Weight: make([]byte, items*k), Scale: scale}
	for i := range items * k {
		n.Index[2*i], n.Index[2*i+1] = 0xFF, 0xFF
	}
	for it, l := range lists {
		for j, e := range l {
			c := it*k + j
			n.Index[2*c], n.Index[2*c+1] = byte(e.item), byte(e.item>>8)
			n.Weight[c] = e.w
		}
	}
	return n
}

func TestNeighboursAccess(t *testing.T) {
	n := makeNeighbours(4, 3, 0.5, map[int][]nbEntry{0: {{1, 10}, {300 % 4, 4}}, 2: {{0, 2}}})
	if got := n.Items(); got != 4 {
		t.Errorf("Items = %d", got)
	}
	if nb, s := n.Neighbour(0, 0); nb != 1 || s != 5 {
		t.Errorf("Neighbour(0,0) = %d, %v", nb, s)
	}
	for _, c := range [][2]int{{0, 2}, {1, 0}, {-1, 0}, {4, 0}, {0, 3}, {0, -1}} {
		if nb, _ := n.Neighbour(c[0], c[1]); nb != -1 {
			t.Errorf("Neighbour(%d,%d) = %d, want -1", c[0], c[1], nb)
		}
	}
	if got := n.Similar(nil, 0); !equal(got, []Candidate{{1, 5}, {0, 2}}) {
		t.Errorf("Similar(0) = %v", got)
	}
	if got := n.Similar(nil, 7); len(got) != 0 {
		t.Errorf("Similar(7) = %v", got)
	}
	if (&Neighbours{}).Items() != 0 {
		t.Error("K=0 table has items")
	}
}

func TestRecommend(t *testing.T) {
	// Item 0 neighbours 1 (sim 10), 2 (sim 10), 3 (sim 5); item 4 neighbours 3 (sim 10), 5 (sim 1).
	n := makeNeighbours(8, 3, 0.1, map[int][]nbEntry{
		0: {{1, 10}, {2, 10}, {3, 5}},
		4: {{3, 10}, {5, 1}},
		6: {{0, 0}, {7, 3}}, // a zero similarity is no evidence
	})
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-7 } // Scale is a float32
	tests := []struct {
		name    string
		recent  []Weighted
		exclude []int
		k       int
		want    []Candidate
	}{
		{"one item, ties by index", []Weighted{{0, 1}}, nil, 5, []Candidate{{1, 1}, {2, 1}, {3, 0.5}}},
		{"sums over recent items", []Weighted{{0, 1}, {4, 2}}, nil, 5, []Candidate{{3, 2.5}, {1, 1}, {2, 1}, {5, 0.2}}},
		{"k cuts", []Weighted{{0, 1}, {4, 2}}, nil, 2, []Candidate{{3, 2.5}, {1, 1}}},
		{"exclude", []Weighted{{0, 1}, {4, 2}}, []int{3, 1}, 2, []Candidate{{2, 1}, {5, 0.2}}},
		{"weights scale", []Weighted{{0, 0.5}}, nil, 1, []Candidate{{1, 0.5}}},
		{"negative weight drops", []Weighted{{0, 1}, {4, -1}}, nil, 5, []Candidate{{1, 1}, {2, 1}}},
		{"ignored recent items", []Weighted{{-1, 1}, {8, 1}, {0, math.NaN()}, {0, 0}}, nil, 5, nil},
		{"padding and zero similarity", []Weighted{{6, 1}}, nil, 5, []Candidate{{7, 0.3}}},
		{"no neighbours", []Weighted{{1, 1}}, nil, 5, nil},
		{"k = 0", []Weighted{{0, 1}}, nil, 0, nil},
	}
	var s RecScratch
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := setOf(8, func(it int) bool { return slices.Contains(tc.exclude, it) })
			got := n.Table().Recommend(nil, tc.recent, ex, tc.k, &s)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].Item != tc.want[i].Item || !near(got[i].Score, tc.want[i].Score) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	t.Run("appends and leaves the scratch clean", func(t *testing.T) {
		dst := []Candidate{{99, 9}}
		got := n.Table().Recommend(dst, []Weighted{{0, 1}}, nil, 1, &s)
		if len(got) != 2 || got[0] != (Candidate{99, 9}) || got[1].Item != 1 {
			t.Errorf("got %v", got)
		}
		for i, v := range s.score {
			if v != 0 {
				t.Fatalf("scratch not reset at %d", i)
			}
		}
		if got := n.Table().Recommend(nil, []Weighted{{0, 1}}, nil, 3, nil); len(got) != 3 {
			t.Errorf("nil scratch: %v", got)
		}
	})
	t.Run("an item outside the set's catalogue is not excluded", func(t *testing.T) {
		got := n.Table().Recommend(nil, []Weighted{{0, 1}}, ItemSet{}, 1, &s)
		if len(got) != 1 || got[0].Item != 1 {
			t.Errorf("got %v", got)
		}
	})
}

// naiveRecommend is the specification: dense scores, full sort.
func naiveRecommend(n *Neighbours, recent []Weighted, exclude func(int) bool, k int) []Candidate {
	items := n.Items()
	score := make([]float64, items)
	seen := make([]bool, items)
	for _, r := range recent {
		if r.Item < 0 || r.Item >= items || math.IsNaN(r.Weight) || math.IsInf(r.Weight, 0) {
			continue
		}
		for j := 0; j < int(n.K); j++ {
			if nb, _ := n.Neighbour(r.Item, j); nb >= 0 && n.Weight[r.Item*int(n.K)+j] != 0 {
				score[nb] += r.Weight * float64(n.Weight[r.Item*int(n.K)+j])
				seen[nb] = true
			}
		}
	}
	var all []Candidate
	for it := range score {
		if s := score[it] * float64(n.Scale); seen[it] && s > 0 && !exclude(it) {
			all = append(all, Candidate{it, s})
		}
	}
	slices.SortFunc(all, func(a, b Candidate) int {
		switch {
		case better(a.Score, a.Item, b.Score, b.Item):
			return -1
		case better(b.Score, b.Item, a.Score, a.Item):
			return 1
		}
		return 0
	})
	return all[:min(k, len(all))]
}

func randNeighbours(r *rand.Rand, items, k int) *Neighbours {
	lists := map[int][]nbEntry{}
	for it := range items {
		m := r.IntN(k + 1)
		for range m {
			lists[it] = append(lists[it], nbEntry{r.IntN(items), uint8(r.IntN(256))})
		}
	}
	return makeNeighbours(items, k, 1.0/255, lists)
}

func TestRecommendAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var s RecScratch
	for trial := range 200 {
		items := 1 + r.IntN(300)
		n := randNeighbours(r, items, 1+r.IntN(12))
		var recent []Weighted
		for range r.IntN(25) {
			recent = append(recent, Weighted{r.IntN(items + 2), float64(r.IntN(5)) * 0.5})
		}
		ex := func(it int) bool { return it%7 == 3 }
		k := r.IntN(15)
		got := n.Table().Recommend(nil, recent, setOf(items, ex), k, &s)
		want := naiveRecommend(n, recent, ex, k)
		if len(got) != len(want) {
			t.Fatalf("trial %d: got %v, want %v", trial, got, want)
		}
		for i := range got {
			// Weights are multiples of 0.5 and similarities integers: the sums are exact in both.
			if got[i] != want[i] {
				t.Fatalf("trial %d: got %v, want %v", trial, got, want)
			}
		}
	}
}

func TestRecommendNoAllocation(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	n := randNeighbours(r, 1000, 20)
	recent := make([]Weighted, 20)
	for i := range recent {
		recent[i] = Weighted{r.IntN(1000), 1 - float64(i)*0.04}
	}
	var s RecScratch
	tb := n.Table()
	dst := tb.Recommend(nil, recent, nil, 6, &s)
	ex := setOf(1000, func(it int) bool { return it%2 == 0 })
	if a := testing.AllocsPerRun(100, func() { dst = tb.Recommend(dst[:0], recent, ex, 6, &s) }); a != 0 {
		t.Errorf("Recommend allocates %v times per call", a)
	}
}

func BenchmarkRecommend(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	n := randNeighbours(r, 1000, 20)
	recent := make([]Weighted, 20)
	for i := range recent {
		recent[i] = Weighted{r.IntN(1000), 1 - float64(i)*0.04}
	}
	var s RecScratch
	tb := n.Table()
	dst := make([]Candidate, 0, 8)
	ex := setOf(1000, func(it int) bool { return it == recent[0].Item })
	for b.Loop() {
		dst = tb.Recommend(dst[:0], recent, ex, 6, &s)
	}
}

// setOf is the set of the items of a catalogue of n for which in is true.
func setOf(n int, in func(int) bool) ItemSet {
	s := ItemSet(nil).Reset(n)
	for i := range n {
		if in(i) {
			s.Add(i)
		}
	}
	return s
}

func TestItemSet(t *testing.T) {
	s := ItemSet(nil).Reset(130)
	s.Add(0)
	s.Add(129)
	for _, c := range []struct {
		item int
		want bool
	}{{0, true}, {1, false}, {129, true}, {128, false}, {192, false}, {1 << 20, false}} {
		if got := s.Has(c.item); got != c.want {
			t.Errorf("Has(%d) = %v", c.item, got)
		}
	}
	if r := s.Reset(130); r.Has(0) || r.Has(129) || len(r) != 3 {
		t.Errorf("Reset kept %v", r)
	}
	if r := s.Reset(1000); len(r) != 16 {
		t.Errorf("Reset(1000) has %d words", len(r))
	}
}
