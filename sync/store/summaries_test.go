package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/sync/store"
)

// sumBatch is batch n with pairs (1,2) and, for even n, (2,3), and customer cell 5 for n%3 == 0.
func sumBatch(n int, day int32) *wire.Batch {
	b := batch(n)
	b.Day = day
	b.Pairs = []uint32{1, 2}
	if n%2 == 0 {
		b.Pairs = append(b.Pairs, 2, 3, 1, 2) // (1,2) listed twice: counts once
	}
	if n%3 == 0 {
		b.Customer = wire.CustomerCell(1, 3, 10, 40)
	}
	return b
}

// TestSummariesExactlyOnce: pairs and customer cells are counted once per batch, in the
// transaction that counts it, however it is retried; per share; and the k threshold drops
// pairs and cells with fewer batches.
func TestSummariesExactlyOnce(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var all []*wire.Batch
		for n := range 60 {
			all = append(all, sumBatch(n, today-int32(n%2)))
		}
		ingestConcurrently(t, s, 4, overlapping(all))
		if fresh, err := s.Ingest(ctx, all[:3]); err != nil || fmt.Sprint(fresh) != "[false false false]" {
			t.Fatalf("retry: fresh %v, err %v", fresh, err)
		}
		want := map[bool][3]int64{}
		for _, b := range all {
			h := store.HeldBack(b.ID)
			w := want[h]
			w[0]++
			if len(b.Pairs) > 2 {
				w[1]++
			}
			if b.Customer != 0 {
				w[2]++
			}
			want[h] = w
		}
		for _, held := range []bool{false, true} {
			q := store.SummaryQuery{Site: "shop", From: today - 1, To: today, HeldBack: held, K: 1}
			pairs, err := s.Pairs(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			w := want[held]
			wp := []store.PairCount{{A: 1, B: 2, Batches: w[0]}, {A: 2, B: 3, Batches: w[1]}}
			if !reflect.DeepEqual(pairs, wp) {
				t.Errorf("held %v: pairs %+v, want %+v", held, pairs, wp)
			}
			cells, err := s.CustomerCells(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if wc := []store.CellCount{{Cell: wire.CustomerCell(1, 3, 10, 40), Batches: w[2]}}; !reflect.DeepEqual(cells, wc) {
				t.Errorf("held %v: cells %+v, want %+v", held, cells, wc)
			}
			// k-anonymity: the pair (2,3) and the cell are under k = w[0].
			q.K = w[0]
			if pairs, _ := s.Pairs(ctx, q); len(pairs) != 1 || pairs[0].B != 2 {
				t.Errorf("held %v, k %d: pairs %+v", held, q.K, pairs)
			}
			if cells, _ := s.CustomerCells(ctx, q); len(cells) != 0 {
				t.Errorf("held %v, k %d: cells %+v", held, q.K, cells)
			}
		}
		q := store.SummaryQuery{Site: "shop", From: today, To: today, K: 1}
		if pairs, _ := s.Pairs(ctx, q); len(pairs) == 0 || pairs[0].Batches >= want[false][0] {
			t.Errorf("one day: %+v", pairs)
		}
		q.Site = "other"
		if pairs, _ := s.Pairs(ctx, q); len(pairs) != 0 {
			t.Errorf("another site: %+v", pairs)
		}
	})
}

func TestCheckSummaries(t *testing.T) {
	for name, tc := range map[string]struct {
		pairs []uint32
		cell  uint32
	}{
		"odd":       {pairs: []uint32{1}},
		"unordered": {pairs: []uint32{2, 1}},
		"equal":     {pairs: []uint32{2, 2}},
		"too many":  {pairs: make([]uint32, 2*wire.MaxPairs+2)},
		"bad cell":  {cell: 0xFFFFFFFF},
		"tx > T":    {cell: wire.CustomerCell(1, 50, 3, 10)},
	} {
		t.Run(name, func(t *testing.T) {
			for i := 1; i < len(tc.pairs) && tc.pairs[0] == 0; i += 2 {
				tc.pairs[i-1], tc.pairs[i] = uint32(i), uint32(i+1)
			}
			b := batch(1)
			b.Pairs, b.Customer = tc.pairs, tc.cell
			if err := store.CheckBatch(b, today, 7); !errors.Is(err, store.ErrBadBatch) {
				t.Errorf("CheckBatch = %v, want ErrBadBatch", err)
			}
		})
	}
	b := batch(1)
	b.Pairs, b.Customer = []uint32{1, 2, 3, 4}, wire.CustomerCell(2, 5, 30, 80)
	if err := store.CheckBatch(b, today, 7); err != nil {
		t.Errorf("valid: %v", err)
	}
}

// overlapping splits all into overlapping calls of 15 batches for four workers, each call also
// repeating its first batch.
func overlapping(all []*wire.Batch) func(w int) [][]*wire.Batch {
	return func(w int) [][]*wire.Batch {
		var calls [][]*wire.Batch
		for lo := w * 5; lo < len(all); lo += 10 {
			call := all[lo:min(lo+15, len(all))]
			calls = append(calls, append(call[:len(call):len(call)], call[0]))
		}
		return calls
	}
}
