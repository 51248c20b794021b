package learn_test

import (
	"context"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/train"
	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/store"
)

// TestNeighboursFromSimulatedDevices runs simulated visitors through the agent, drains each after
// every session, as a host would, and rebuilds the neighbour table from the pairs their batches
// carry (at most wire.MaxPairs a visitor a day, pairs under k = 50 left out). It compares the
// table with the central one (models/train.FitNeighbours on every session's viewed items) by the
// hit rate of fresh visitors' session co-occurrences.
func TestNeighboursFromSimulatedDevices(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 20,000 visitors")
	}
	s, err := sim.New(sim.Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cat := s.Catalogue()
	b := &models.Bundle{Format: models.FormatVersion, Version: 1, Site: "sim",
		Settings: &models.Settings{DefaultConsent: uint8(wire.ConsentFull)}}
	index := map[string]int{}
	for _, c := range cat.Categories {
		b.Categories = append(b.Categories, c.ID)
	}
	for i, it := range cat.Items {
		index[it.ID] = i
		b.Items = append(b.Items, it.ID)
		for c, cc := range cat.Categories {
			if cc.ID == cat.CategoryOf(it.ID) {
				b.ItemCategory = append(b.ItemCategory, uint16(c))
			}
		}
	}
	const K = 10
	b.Neighbours, _, err = train.FitNeighbours(context.Background(), [][]int{{0, 1}}, len(b.Items), K, train.NeighbourOptions{MinSupport: 1})
	if err != nil {
		t.Fatal(err)
	}
	// baskets are a visitor's sessions' distinct viewed or carted items, as catalogue indices.
	baskets := func(v sim.Visitor) (out [][]int) {
		for _, ss := range v.Sessions {
			seen := map[int]bool{}
			var bk []int
			for _, e := range v.Events[ss.Start:ss.End] {
				if i, ok := index[e.Item]; ok && !seen[i] && (e.Type == wire.EventProductView || e.Type == wire.EventAddToCart) {
					seen[i] = true
					bk = append(bk, i)
				}
			}
			out = append(out, bk)
		}
		return out
	}
	const n, k = 20000, 50
	var central [][]int
	count := map[[2]uint32]int64{}
	for _, v := range s.Visitors(n) {
		central = append(central, baskets(v)...)
		a := agent.New()
		if err := a.SetBundle(b, v.Events[0].Time); err != nil {
			t.Fatal(err)
		}
		a.Start(nil, uint64(v.Index))
		for _, ss := range v.Sessions {
			evs := v.Events[ss.Start:ss.End]
			for lo := 0; lo < len(evs); lo += 64 {
				part := evs[lo:min(lo+64, len(evs))]
				if _, err := a.Handle(&wire.Request{Now: part[len(part)-1].Time, Events: part}); err != nil {
					t.Fatal(err)
				}
			}
			bt := a.Drain(evs[len(evs)-1].Time+1, uint64(ss.Start))
			for i := 0; i < len(bt.Pairs); i += 2 {
				count[[2]uint32{bt.Pairs[i], bt.Pairs[i+1]}]++
			}
		}
	}
	full, _, err := train.FitNeighbours(context.Background(), central, len(b.Items), K, train.NeighbourOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// device is the table from the pairs sent at least k times, with prev's lists for items
	// without any.
	var sent int64
	for _, c := range count {
		sent += c
	}
	device := func(k int64, prev *models.Neighbours) (*models.Neighbours, int, int64) {
		var pairs []store.PairCount
		for p, c := range count {
			if c >= k {
				pairs = append(pairs, store.PairCount{A: p[0], B: p[1], Batches: c})
			}
		}
		ev := learn.MapPairs(b.Items, pairs)
		return learn.NeighboursFromPairs(ev, len(b.Items), K, 10, prev), len(pairs), ev.Total
	}
	// Held out: the session co-occurrences of 5,000 other visitors.
	held := map[[2]uint32]int64{}
	for i := n; i < n+5000; i++ {
		for _, bk := range baskets(s.Visitor(i)) {
			for x := range bk {
				for y := x + 1; y < len(bk); y++ {
					hx, hy := agent.ItemHash(b.Items[bk[x]]), agent.ItemHash(b.Items[bk[y]])
					held[[2]uint32{min(hx, hy), max(hx, hy)}]++
				}
			}
		}
	}
	var heldPairs []store.PairCount
	for p, c := range held {
		heldPairs = append(heldPairs, store.PairCount{A: p[0], B: p[1], Batches: c})
	}
	hev := learn.MapPairs(b.Items, heldPairs)
	hc, nh := learn.HitRate(full, hev)
	t.Logf("%d visitors sent %d pairs (%d distinct); central table (all session baskets): held-back hit rate %.3f over %d co-occurrences",
		n, sent, len(count), hc, nh)
	for _, k := range []int64{1, 10, 50} {
		nb, distinct, used := device(k, nil)
		hd, _ := learn.HitRate(nb, hev)
		nbf, _, _ := device(k, full)
		hf, _ := learn.HitRate(nbf, hev)
		t.Logf("k = %d: %d pairs (%d counts) used; hit rate %.3f alone, %.3f with short lists completed from the central table", k, distinct, used, hd, hf)
		if k == 1 && hd < 0.8*hc {
			t.Errorf("k 1: device-pair neighbours hit %.3f, under 80 %% of the central table's %.3f", hd, hc)
		}
	}
}
