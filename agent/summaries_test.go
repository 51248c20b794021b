package agent_test

import (
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
)

// A visitor's batches carry each co-occurrence pair of its sessions once a day, at most
// wire.MaxPairs a day, smaller hash first; the customer summary once a week; nothing without
// full consent.
func TestSummariesBounds(t *testing.T) {
	const day = 86400 * 1000
	a := newAgent(t, handBundle())
	cat := handCategories[0]
	evs := []wire.Event{arrive(wire.ChannelDirect)}
	for i := range 6 { // 6 items: 15 pairs, more than a day's bound
		evs = append(evs, view(itemID(i), cat))
	}
	step(t, a, t0, evs...)
	sent := map[[2]uint32]int{}
	count := func(b *wire.Batch) int {
		for i := 0; i < len(b.Pairs); i += 2 {
			if b.Pairs[i] >= b.Pairs[i+1] {
				t.Fatalf("pair %d: %d ≥ %d", i/2, b.Pairs[i], b.Pairs[i+1])
			}
			if i > 0 && b.Pairs[i-2] > b.Pairs[i] {
				t.Fatalf("pairs not sorted: %v", b.Pairs)
			}
			sent[[2]uint32{b.Pairs[i], b.Pairs[i+1]}]++
		}
		return len(b.Pairs) / 2
	}
	if n := count(a.Drain(t0+1000, 1)); n != wire.MaxPairs {
		t.Fatalf("first drain: %d pairs, want %d", n, wire.MaxPairs)
	}
	// The most recent pair goes first: the last two items viewed.
	x, y := agent.ItemHash(itemID(4)), agent.ItemHash(itemID(5))
	if sent[[2]uint32{min(x, y), max(x, y)}] != 1 {
		t.Errorf("the last two items' pair was not sent")
	}
	if n := count(a.Drain(t0+2000, 2)); n != 0 {
		t.Errorf("same day: %d more pairs", n)
	}
	// The next day, the same session's remaining pairs go, and none twice in one day.
	step(t, a, t0+day+60_000, view(itemID(6), cat))
	count(a.Drain(t0+day+61_000, 3))
	for p, n := range sent {
		if n > 2 {
			t.Errorf("pair %v sent %d times in two days", p, n)
		}
	}
	// Customer summary: once a week, only for a customer.
	step(t, a, t0+day+120_000, buy(50, wire.Line{Item: itemID(1), Category: cat, Price: 50}))
	b1, b2 := a.Drain(t0+day+130_000, 4), a.Drain(t0+2*day, 5)
	if b1.Customer == 0 && b2.Customer == 0 {
		t.Fatalf("no customer summary")
	}
	if b1.Customer != 0 && b2.Customer != 0 {
		t.Errorf("two customer summaries in one week")
	}
	if b := a.Drain(t0+9*day, 6); b.Customer == 0 {
		t.Errorf("no customer summary a week later")
	} else if x, _, _, _, ok := wire.CustomerBins(b.Customer); !ok || x != 0 {
		t.Errorf("customer cell %#x: x bin %d, ok %v", b.Customer, x, ok)
	}
	// Without full consent, nothing.
	step(t, a, t0+20*day, consent(wire.ConsentLocal), arrive(wire.ChannelDirect), view(itemID(1), cat), view(itemID(2), cat))
	if b := a.Drain(t0+20*day+1000, 7); len(b.Pairs) != 0 || b.Customer != 0 {
		t.Errorf("local consent: %d pair hashes, customer %#x", len(b.Pairs), b.Customer)
	}
}
