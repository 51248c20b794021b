package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/sync/store"
)

func updates(model string, count uint32, sum ...float32) []wire.ModelUpdate {
	return []wire.ModelUpdate{{Model: model, Sum: sum, Count: count}}
}

// fedBatch is batch n of day with a "buy" update (n, 1, −n) and, for even n, a "back" update (1, 2).
func fedBatch(n int, day int32) *wire.Batch {
	b := batch(n, cell("c", "A", 1, 0, 0))
	b.Day = day
	b.Updates = updates("buy", uint32(n%3%2), float32(n), 1, -float32(n))
	if n%2 == 0 {
		b.Updates = append(b.Updates, updates("back", 1, 1, 2)...)
	}
	return b
}

// expectUpdates sums the updates of the distinct batches bs as the store should (small integers:
// float sums are exact in any order).
func expectUpdates(bs []*wire.Batch, bundle uint64) []store.FedUpdate {
	type key struct {
		day   int32
		model string
		held  bool
	}
	sums := map[key]*store.FedUpdate{}
	var keys []key
	for _, b := range bs {
		if b.Bundle != bundle {
			continue
		}
		for _, u := range b.Updates {
			k := key{b.Day, u.Model, store.HeldBack(b.ID)}
			fu := sums[k]
			if fu == nil {
				fu = &store.FedUpdate{Day: k.day, Model: k.model, HeldBack: k.held, Sum: make([]float64, len(u.Sum))}
				sums[k] = fu
				keys = append(keys, k)
			}
			fu.Batches++
			fu.Visitors += int64(u.Count)
			for i, v := range u.Sum {
				fu.Sum[i] += float64(v)
			}
		}
	}
	var out []store.FedUpdate
	for _, day := range []int32{today - 1, today} {
		for _, model := range []string{"back", "buy"} {
			for _, held := range []bool{false, true} {
				if fu := sums[key{day, model, held}]; fu != nil {
					out = append(out, *fu)
				}
			}
		}
	}
	return out
}

// TestFedUpdatesExactlyOnce: the updates of a batch are summed once, in the transaction that
// counts it, whether it is retried in the same call, in a later one, or concurrently; per day,
// model, share and bundle version.
func TestFedUpdatesExactlyOnce(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var all []*wire.Batch
		for n := range 40 {
			all = append(all, fedBatch(n, today-int32(n%2)))
		}
		other := fedBatch(100, today) // another bundle version
		other.Bundle = 8
		all = append(all, other)
		held := 0
		for _, b := range all {
			if store.HeldBack(b.ID) {
				held++
			}
		}
		if held == 0 || held == len(all) {
			t.Fatalf("%d of %d batches held back: the test needs both shares", held, len(all))
		}
		// Overlapping calls from four goroutines, each batch also repeated within a call.
		ingestConcurrently(t, s, 4, overlapping(all))
		fresh, err := s.Ingest(ctx, all[:3])
		if err != nil || fmt.Sprint(fresh) != "[false false false]" {
			t.Fatalf("retry: fresh %v, err %v", fresh, err)
		}
		got, err := s.FedUpdates(ctx, "shop", 7, today-1, today)
		if err != nil {
			t.Fatal(err)
		}
		if want := expectUpdates(all, 7); !reflect.DeepEqual(got, want) {
			t.Errorf("updates\n got %+v\nwant %+v", got, want)
		}
		if got, _ := s.FedUpdates(ctx, "shop", 8, today-1, today); len(got) != 2 || got[1].Model != "buy" || got[1].Sum[0] != 100 {
			t.Errorf("bundle 8: %+v", got)
		}
		if got, _ := s.FedUpdates(ctx, "shop", 7, today, today); len(got) == 0 || got[0].Day != today {
			t.Errorf("one day: %+v", got)
		}
		if got, _ := s.FedUpdates(ctx, "other", 7, today-1, today); len(got) != 0 {
			t.Errorf("another site: %+v", got)
		}
		// A vector of another length than the stored sum is left out; the batch still counts.
		odd := fedBatch(200, today)
		odd.Updates = updates("buy", 1, 1, 2)
		if fresh, err := s.Ingest(ctx, []*wire.Batch{odd}); err != nil || !fresh[0] {
			t.Fatalf("odd length: %v %v", fresh, err)
		}
		if got2, _ := s.FedUpdates(ctx, "shop", 7, today-1, today); !reflect.DeepEqual(got2, got) {
			t.Errorf("an update of another length changed the sums")
		}
	})
}

func TestPrivacyLedger(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		const budget = 0.0174689
		for i, step := range []struct {
			day    int32
			rho    float64
			err    error
			rounds int64
		}{
			{today - 1, budget / 2, nil, 1},
			{today - 1, budget / 2, nil, 2},
			{today - 1, budget / 2, store.ErrBudget, 0},
			{today - 1, 1e-9, store.ErrBudget, 0},
			{today, budget * 1.5, store.ErrBudget, 0},
			{today, budget, nil, 1},
		} {
			l, err := s.ChargePrivacy(ctx, "shop", step.day, step.rho, budget)
			if !errors.Is(err, step.err) || (err == nil && (l.Rounds != step.rounds || l.Day != step.day)) {
				t.Errorf("charge %d: %+v, %v; want %d rounds, err %v", i, l, err, step.rounds, step.err)
			}
		}
		l, err := s.PrivacyLedger(ctx, "shop", today-5, today)
		if err != nil {
			t.Fatal(err)
		}
		if len(l) != 2 || l[0].Rounds != 2 || math.Abs(l[0].Rho-budget) > 1e-12 || l[1].Rounds != 1 || l[1].Day != today {
			t.Errorf("ledger %+v", l)
		}
		if l, _ := s.PrivacyLedger(ctx, "other", today-5, today); len(l) != 0 {
			t.Errorf("another site's ledger: %+v", l)
		}
		if _, err := s.ChargePrivacy(ctx, "shop", today, math.NaN(), budget); err == nil {
			t.Error("ρ = NaN charged")
		}
		// Concurrent charges of one day never pass the budget together.
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 8 {
			wg.Go(func() {
				if _, err := s.ChargePrivacy(ctx, "race", today, budget/3, budget); err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if ok != 3 {
			t.Errorf("%d concurrent charges of a third of the budget passed, want 3", ok)
		}
	})
}
