package learn

import (
	"cmp"
	"math"
	"slices"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/store"
)

// Neighbours from the devices' co-occurrence pairs (wire.Batch.Pairs, merged by the store).
//
// Threat model and what a device reveals: with full consent, a visitor's batch lists at most
// wire.MaxPairs pairs of item hashes a day, each pair once, drawn from the items seen together
// in one session; no identifier, no time finer than the day, no order, no count. The server (a
// trusted aggregator, as for federated learning: it sees each batch before merging) keeps only
// the number of batches per pair per day and share, and no pair listed by fewer than k batches
// over the window is used (k-anonymity, default 50): a rebuilt neighbour list can only reflect
// pairs that at least k visitor-days share. What is not protected: the aggregator sees a
// batch's pairs before they are merged (as it sees its cells), and k-anonymity on counts is no
// differential privacy — a pair's count moves by one with one visitor-day.

// PairEvidence is co-occurrence pairs mapped to catalogue indices: Count[(i, j)] for i < j.
type PairEvidence struct {
	Count map[[2]int]int64
	Total int64 // Σ Count
}

// MapPairs maps the store's pairs (item hashes) to indices of items (agent.ItemHash). Pairs of
// an item outside the catalogue, or of a hash two catalogue items share, are left out.
func MapPairs(items []string, pairs []store.PairCount) PairEvidence {
	at := make(map[uint32]int, len(items))
	for i, id := range items {
		h := agent.ItemHash(id)
		if _, dup := at[h]; dup {
			at[h] = -1
			continue
		}
		at[h] = i
	}
	ev := PairEvidence{Count: map[[2]int]int64{}}
	for _, p := range pairs {
		i, ok1 := at[p.A]
		j, ok2 := at[p.B]
		if !ok1 || !ok2 || i < 0 || j < 0 || i == j || p.Batches <= 0 {
			continue
		}
		ev.Count[[2]int{min(i, j), max(i, j)}] += p.Batches
		ev.Total += p.Batches
	}
	return ev
}

// NeighboursFromPairs builds a neighbour table over nItems items with K neighbours each from
// merged pair counts: the shrunk cosine c_ij / (√(d_i·d_j) + shrink), with d_i = Σ_j c_ij the
// item's co-occurrence degree (the pair counts stand for the baskets models/train.FitNeighbours
// counts; the degree stands for the basket count n_i, which the devices do not send). Ties go to
// the smaller index. A list shorter than K (an item with little or no evidence) is completed
// from prev's list for the item (if prev is not nil), below its own entries, re-quantised to
// the new scale; weights are quantised as FitNeighbours does (one Scale, max at 255, a listed
// neighbour never below 1).
func NeighboursFromPairs(ev PairEvidence, nItems, K int, shrink float64, prev *models.Neighbours) *models.Neighbours {
	type nb struct {
		j int
		s float64
	}
	deg := make([]float64, nItems)
	adj := make([][]nb, nItems)
	for p, c := range ev.Count {
		deg[p[0]] += float64(c)
		deg[p[1]] += float64(c)
	}
	for p, c := range ev.Count {
		i, j := p[0], p[1]
		s := float64(c) / (math.Sqrt(deg[i]*deg[j]) + shrink)
		adj[i] = append(adj[i], nb{j, s})
		adj[j] = append(adj[j], nb{i, s})
	}
	lists := make([][]nb, nItems)
	maxSim := 0.0
	for i := range nItems {
		l := adj[i]
		slices.SortFunc(l, func(a, b nb) int { return cmp.Or(cmp.Compare(b.s, a.s), cmp.Compare(a.j, b.j)) })
		l = l[:min(K, len(l))]
		if prev != nil && len(l) < K { // fill from prev, below the evidence's own neighbours
			floor := math.Inf(1)
			if len(l) > 0 {
				floor = l[len(l)-1].s
			}
			for _, c := range prev.Similar(nil, i) {
				if len(l) < K && !slices.ContainsFunc(l, func(x nb) bool { return x.j == c.Item }) {
					l = append(l, nb{c.Item, min(c.Score, floor)})
				}
			}
		}
		lists[i] = l
		for _, c := range lists[i] {
			maxSim = max(maxSim, c.s)
		}
	}
	scale := float32(maxSim / 255)
	if scale == 0 {
		scale = 1
	}
	out := &models.Neighbours{K: uint16(K), Index: make([]byte, 2*nItems*K), Weight: make([]byte, nItems*K), Scale: scale}
	for i, l := range lists {
		for k := range K {
			cell, u := i*K+k, uint16(0xFFFF)
			if k < len(l) {
				u = uint16(l[k].j)
				out.Weight[cell] = byte(max(1, min(255, math.Round(l[k].s/float64(scale)))))
			}
			out.Index[2*cell], out.Index[2*cell+1] = byte(u), byte(u>>8)
		}
	}
	return out
}

// HitRate is the share of held-back co-occurrences (weighted by their counts) that the table
// lists: (i, j) is a hit when j is among i's neighbours or i among j's.
func HitRate(nb *models.Neighbours, ev PairEvidence) (rate float64, n int64) {
	if nb == nil || ev.Total == 0 {
		return 0, ev.Total
	}
	var hits int64
	has := func(i, j int) bool {
		for k := range int(nb.K) {
			if x, _ := nb.Neighbour(i, k); x == j {
				return true
			}
		}
		return false
	}
	for p, c := range ev.Count {
		if has(p[0], p[1]) || has(p[1], p[0]) {
			hits += c
		}
	}
	return float64(hits) / float64(ev.Total), ev.Total
}
