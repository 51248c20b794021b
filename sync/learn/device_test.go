package learn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/train"
	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/store"
)

// coocWorld is a catalogue of 60 items in 12 groups of 5: a session sees items of one group
// (and, one time in ten, a stray item), so an item's true neighbours are its group.
func coocWorld(sessions int, seed uint64) (items []string, pairs []store.PairCount) {
	const n = 60
	for i := range n {
		items = append(items, "sku-"+string(rune('A'+i/26))+string(rune('a'+i%26)))
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	count := map[[2]uint32]int64{}
	for range sessions {
		g := rng.IntN(12)
		seen := []int{g*5 + rng.IntN(5), g*5 + rng.IntN(5)}
		if rng.IntN(10) == 0 {
			seen = append(seen, rng.IntN(n))
		}
		for i := range seen {
			for j := i + 1; j < len(seen); j++ {
				a, b := agent.ItemHash(items[seen[i]]), agent.ItemHash(items[seen[j]])
				if a != b {
					count[[2]uint32{min(a, b), max(a, b)}]++
				}
			}
		}
	}
	for p, c := range count {
		pairs = append(pairs, store.PairCount{A: p[0], B: p[1], Batches: c})
	}
	return items, pairs
}

// scrambled is a neighbour table over n items listing, for each item, K unrelated items.
func scrambled(n, K int) *models.Neighbours {
	nb := &models.Neighbours{K: uint16(K), Index: make([]byte, 2*n*K), Weight: make([]byte, n*K), Scale: 0.01}
	for i := range n {
		for k := range K {
			j := (i + 17 + 7*k) % n
			nb.Index[2*(i*K+k)], nb.Weight[i*K+k] = byte(j), 100
		}
	}
	return nb
}

func TestNeighboursFromPairs(t *testing.T) {
	items, pairs := coocWorld(20000, 1)
	ev := learn.MapPairs(items, pairs)
	nb := learn.NeighboursFromPairs(ev, len(items), 4, 10, nil)
	for i := range items {
		for k := range 4 {
			j, s := nb.Neighbour(i, k)
			if j/5 != i/5 || s <= 0 {
				t.Fatalf("item %d: neighbour %d is %d (similarity %g), want one of its group", i, k, j, s)
			}
		}
	}
	_, heldPairs := coocWorld(5000, 2)
	held := learn.MapPairs(items, heldPairs)
	got, n := learn.HitRate(nb, held)
	base, _ := learn.HitRate(scrambled(len(items), 4), held)
	t.Logf("held-back hit rate: rebuilt %.3f, scrambled %.3f, over %d co-occurrences", got, base, n)
	if got < 0.75 || base > 0.2 { // a stray item in 10 % of sessions: the ceiling is about 0.83
		t.Errorf("hit rates %.3f (rebuilt), %.3f (scrambled)", got, base)
	}
}

func TestRetrainNeighbours(t *testing.T) {
	items, train := coocWorld(20000, 1)
	_, held := coocWorld(5000, 2)
	b := &models.Bundle{Items: items, Neighbours: scrambled(len(items), 4)}
	nb, st := learn.RetrainNeighbours(b, train, held, learn.DeviceConfig{})
	if nb == nil || st.Outcome != learn.DeviceReplaced || st.New <= st.Current {
		t.Fatalf("%+v", st)
	}
	// Contradicting held-back evidence: held-back sessions pair items across groups, as the
	// scrambled table does.
	var contra []store.PairCount
	for i := range items {
		for k := range 4 {
			j := (i + 17 + 7*k) % len(items)
			a, c := agent.ItemHash(items[i]), agent.ItemHash(items[j])
			contra = append(contra, store.PairCount{A: min(a, c), B: max(a, c), Batches: 60})
		}
	}
	if nb, st := learn.RetrainNeighbours(b, train, contra, learn.DeviceConfig{}); nb != nil || st.Outcome != learn.DeviceRefused {
		t.Errorf("contradicted: %+v", st)
	}
	if nb, st := learn.RetrainNeighbours(b, train[:5], held, learn.DeviceConfig{}); nb != nil || st.Outcome != learn.DeviceKept {
		t.Errorf("little evidence: %+v", st)
	}
}

// customers simulates BG/NBD and Gamma-Gamma customers observed for T ∈ [26, 78] weeks (CDNOW's
// published parameters: Fader, Hardie & Lee 2005, r 0.243, α 4.414, a 0.793, b 2.426; Fader &
// Hardie 2013, p 6.25, q 3.74, γ 15.44).
func customers(n int, seed uint64) (cs []train.Customer, spend []float64) {
	return customersOf(n, seed, 0.243, 4.414, 0.793, 2.426)
}

func customersOf(n int, seed uint64, r, alpha, a, b float64) (cs []train.Customer, spend []float64) {
	src := rand.NewPCG(seed, 77)
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: r, Beta: alpha, Src: src}
	drop := distuv.Beta{Alpha: a, Beta: b, Src: src}
	nu := distuv.Gamma{Alpha: 3.74, Beta: 15.44, Src: src}
	for range n {
		T := 26 + 52*rng.Float64()
		l, p, v := lam.Rand(), drop.Rand(), nu.Rand()
		z := distuv.Gamma{Alpha: 6.25, Beta: v, Src: src}
		t, x, tx, sum := 0.0, 0.0, 0.0, z.Rand()
		orders := 1.0
		for {
			t += rng.ExpFloat64() / l
			if t > T {
				break
			}
			x, tx = x+1, t
			sum += z.Rand()
			orders++
			if rng.Float64() < p {
				break
			}
		}
		cs = append(cs, train.Customer{X: x, Tx: tx, T: T})
		spend = append(spend, sum/orders) // the device's mean order value, first order included
	}
	return cs, spend
}

// histogram bins customers as devices do.
func histogram(cs []train.Customer, spend []float64) []store.CellCount {
	count := map[uint32]int64{}
	for i, c := range cs {
		count[wire.CustomerCell(c.X, c.Tx, c.T, spend[i])]++
	}
	var out []store.CellCount
	for cell, n := range count {
		out = append(out, store.CellCount{Cell: cell, Batches: n})
	}
	return out
}

func TestFitHistogramRecoversCentralFit(t *testing.T) {
	cs, spend := customers(20000, 1)
	x := make([]float64, len(cs))
	for i, c := range cs {
		x[i] = c.X
	}
	central, err := train.FitValue(cs, spend, train.ValueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int64{1, 50} {
		cells := histogram(cs, spend)
		h := learn.MakeHistogram(cells, k)
		v, err := learn.FitHistogram(h, central)
		if err != nil {
			t.Fatalf("k %d: %v", k, err)
		}
		rel := func(a, b float64) float64 { return math.Abs(a-b) / b }
		t.Logf("k %d: %d device cells, %d BG/NBD and %d Gamma-Gamma cells used, %d of %d customers", k, len(cells), len(h.BG), len(h.GGX), h.Total, len(cs))
		t.Logf("  central   r %.3f α %.3f a %.3f b %.3f  p %.2f q %.2f γ %.2f", central.R, central.Alpha, central.A, central.B, central.P, central.Q, central.Gamma)
		t.Logf("  histogram r %.3f α %.3f a %.3f b %.3f  p %.2f q %.2f γ %.2f", v.R, v.Alpha, v.A, v.B, v.P, v.Q, v.Gamma)
		e52c, e52h := central.Expected(52), v.Expected(52)
		sc, sh := central.ExpectedSpend(2, 40), v.ExpectedSpend(2, 40)
		t.Logf("  E[X(52)] %.3f vs %.3f (%.1f %%); E[spend | x 2, m̄ 40] %.2f vs %.2f (%.1f %%)",
			e52c, e52h, 100*rel(e52h, e52c), sc, sh, 100*rel(sh, sc))
		if rel(e52h, e52c) > 0.1 || rel(v.R/v.Alpha, central.R/central.Alpha) > 0.15 || rel(v.A/(v.A+v.B), central.A/(central.A+central.B)) > 0.15 || rel(sh, sc) > 0.1 {
			t.Errorf("k %d: the histogram fit is far from the central fit", k)
		}
	}
}

func TestRetrainValue(t *testing.T) {
	cs, spend := customers(6000, 3)
	hcs, hspend := customers(2000, 4)
	trainCells, heldCells := histogram(cs, spend), histogram(hcs, hspend)
	// A serving model far from the truth: it is replaced.
	b := &models.Bundle{Value: &models.Value{R: 2, Alpha: 2, A: 0.1, B: 5, P: 6, Q: 4, Gamma: 15, Horizon: 52, UnitDays: 7}}
	v, st := learn.RetrainValue(b, trainCells, heldCells, learn.DeviceConfig{})
	t.Logf("%+v", st)
	if v == nil || st.Outcome != learn.DeviceReplaced || st.New < st.Current {
		t.Fatalf("%+v", st)
	}
	// The serving model is the central fit of the held-back population; training summaries come
	// from a population that buys and leaves much faster: the refit is refused.
	central, err := train.FitValue(hcs, hspend, train.ValueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b.Value = central
	fcs, fspend := customersOf(6000, 5, 1, 6, 0.4, 4) // ~0.17 orders a week, dropping out half as often
	fast := histogram(fcs, fspend)
	if v, st := learn.RetrainValue(b, fast, heldCells, learn.DeviceConfig{}); v != nil || st.Outcome != learn.DeviceRefused {
		t.Errorf("contradicted: %+v", st)
	} else {
		t.Logf("%+v", st)
	}
	if v, st := learn.RetrainValue(b, trainCells[:2], heldCells, learn.DeviceConfig{}); v != nil || st.Outcome != learn.DeviceKept {
		t.Errorf("little evidence: %+v", st)
	}
}
