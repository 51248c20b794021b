package evalsets

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/train"
)

// synthRetail draws customers with 1 to 8 orders of 1 to 16 items from 60, with groups of items
// bought together and re-orders of earlier items, so that profiles overflow the agent's 20
// purchase voters and re-bought items move.
func synthRetail(seed uint64) *retailData { return synthRetailSized(seed, 60, 8, 16) }

// synthRetailSized is synthRetail with 150 customers of 1 to maxOrders orders of 1 to maxLines
// items from nItems.
func synthRetailSized(seed uint64, nItems, maxOrders, maxLines int) *retailData {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := &retailData{}
	for i := range nItems {
		d.codes = append(d.codes, fmt.Sprintf("%05d", 10000+i))
	}
	for c := range 150 {
		var invs []invoice
		for o := range 1 + rng.IntN(maxOrders) {
			var items []int
			for range 1 + rng.IntN(maxLines) {
				var it int
				switch u := rng.Float64(); {
				case u < 0.3 && len(invs) > 0: // a re-order
					prev := invs[rng.IntN(len(invs))].items
					it = prev[rng.IntN(len(prev))]
				case u < 0.6 && len(items) > 0: // a companion of an item in the basket
					it = (items[len(items)-1]/5*5 + rng.IntN(5)) % nItems
				default:
					it = rng.IntN(rng.IntN(nItems) + 1) // skewed towards small indices
				}
				if !slices.Contains(items, it) {
					items = append(items, it)
				}
			}
			invs = append(invs, invoice{no: fmt.Sprintf("%d-%d", c, o), items: items})
		}
		d.customers = append(d.customers, invs)
	}
	return d
}

// TestAgentMirror checks that the evaluation scores what the agent shows: customers' past orders
// replayed as purchases through the real agent, serving a bundle that carries the trained table
// and popularity list, must get exactly the lists the evaluation's recommenders compute from
// splitOrders, on a page with nothing in view (next order) and on the page of the first showable
// item of the held-out order (in session). The small catalogue overflows the 20 purchase voters; the
// large one the 200 remembered purchases.
func TestAgentMirror(t *testing.T) {
	for _, tc := range []struct {
		name     string
		d        *retailData
		overflow int // customers must buy more distinct items than this
	}{
		{"60 items", synthRetail(1), agentVoters},
		{"1,000 items", synthRetailSized(1, 1000, 40, 48), agentBought},
	} {
		t.Run(tc.name, func(t *testing.T) { agentMirror(t, tc.d, tc.overflow) })
	}
}

// agentMirror replays d's customers through the agent and compares lists; more than 20 of them
// must have bought more than beyond distinct items.
func agentMirror(t *testing.T, d *retailData, beyond int) {
	sp := splitOrders(d, 1)
	nItems := len(d.codes)
	nb, popular, err := train.FitNeighbours(context.Background(), sp.train, nItems, 5, train.NeighbourOptions{Alpha: 1, MinSupport: 1, Popular: -1})
	if err != nil {
		t.Fatal(err)
	}
	const now = int64(1767571200000)
	b := &models.Bundle{Format: models.FormatVersion, Version: 1, Created: now/1000 - 86400, Site: "retail-mirror",
		Items: d.codes, ItemCategory: make([]uint16, nItems), Categories: []string{"gifts"}, Popular: popular, Neighbours: nb, Settings: &models.Settings{DefaultConsent: uint8(wire.ConsentFull)}}
	rec := neighbourRecommender(nb, popular, nItems)
	const k = 10
	agentRecs := func(a *agent.Agent, at int64, ev wire.Event) []int {
		t.Helper()
		ans, err := a.Handle(&wire.Request{Now: at, Seed: uint64(at), Events: []wire.Event{ev}, MaxRecs: k})
		if err != nil {
			t.Fatal(err)
		}
		var l []int
		for _, r := range ans.Recs {
			l = append(l, slices.Index(d.codes, r.Item))
		}
		return l
	}
	var next, session, overflow int
	for c, invs := range d.customers {
		if len(invs) < 2 {
			continue
		}
		hist := invs[:len(invs)-1]
		a := agent.New()
		if err := a.SetBundle(b, now); err != nil {
			t.Fatal(err)
		}
		a.Start(nil, uint64(c+1))
		at := now
		distinct := map[int]bool{}
		for _, v := range hist {
			ev := wire.Event{Type: wire.EventPurchase, Value: 1}
			for _, it := range v.items {
				ev.Lines = append(ev.Lines, wire.Line{Item: d.codes[it]})
				distinct[it] = true
			}
			if _, err := a.Handle(&wire.Request{Now: at, Seed: uint64(at), Events: []wire.Event{ev}}); err != nil {
				t.Fatal(err)
			}
			at += 3 * 86400 * 1000
		}
		if len(distinct) > beyond {
			overflow++
		}
		// The users of this customer, if evaluated, are the next ones of sp.next and sp.session.
		bought := remembered(hist, agentBought)
		showable := 0
		for _, it := range invs[len(invs)-1].items {
			if !slices.Contains(bought, it) {
				showable++
			}
		}
		if showable >= 1 {
			u := sp.next[next]
			next++
			want := rec(u, k, nil)
			got := agentRecs(a, at, wire.Event{Type: wire.EventPageView, Page: wire.PageHome})
			if !slices.Equal(got, want) {
				t.Errorf("customer %d, next order: agent shows %v, the evaluation scores %v", c, got, want)
			}
		}
		if showable >= 2 {
			u := sp.session[session]
			session++
			want := rec(u, k, nil)
			got := agentRecs(a, at+60000, wire.Event{Type: wire.EventProductView, Item: d.codes[u.recent[0].Item]})
			if !slices.Equal(got, want) {
				t.Errorf("customer %d, in session: agent shows %v, the evaluation scores %v", c, got, want)
			}
		}
	}
	if next != len(sp.next) || session != len(sp.session) {
		t.Fatalf("matched %d/%d next-order and %d/%d in-session users", next, len(sp.next), session, len(sp.session))
	}
	t.Logf("%d next-order and %d in-session lists identical; %d customers bought more than %d distinct items", next, session, overflow, beyond)
	if next < 50 || session < 30 || overflow < 20 {
		t.Errorf("the synthetic data exercises too little: %d, %d, %d", next, session, overflow)
	}
}

// TestSplitOrders checks that no held-out order trains: the training orders are all but each
// customer's last back orders (never a customer's only order), and every target is an item of the
// held-out order.
func TestSplitOrders(t *testing.T) {
	d := synthRetail(2)
	for _, back := range []int{1, 2} {
		sp := splitOrders(d, back)
		want, evaluated := 0, 0
		for _, invs := range d.customers {
			want += len(invs) - min(back, len(invs)-1)
			if len(invs) > back {
				evaluated++
			}
		}
		if len(sp.train) != want {
			t.Errorf("back %d: %d training orders, want %d", back, len(sp.train), want)
		}
		if len(sp.again) != evaluated || len(sp.next)+sp.noTarget != evaluated || len(sp.newOnly)+sp.noNew != evaluated {
			t.Errorf("back %d: %d customers evaluated; again %d, next %d + %d, new-only %d + %d", back, evaluated,
				len(sp.again), len(sp.next), sp.noTarget, len(sp.newOnly), sp.noNew)
		}
		for _, u := range sp.next {
			if len(u.recent) > agentVoters || len(u.exclude) > agentBought {
				t.Errorf("back %d: %d items vote, %d excluded", back, len(u.recent), len(u.exclude))
			}
			for _, it := range u.target {
				if slices.Contains(u.exclude, it) {
					t.Errorf("back %d: target %d is excluded", back, it)
				}
			}
		}
	}
}

// TestRemembered follows agent/profile.go: capacity distinct purchases at most (20 here, the
// agent's previous memory), a re-bought item moves to the newest place, the oldest goes first.
func TestRemembered(t *testing.T) {
	var first, second invoice
	for i := range 15 {
		first.items = append(first.items, i)
	}
	second.items = []int{3, 20, 21, 22, 23, 24, 25}
	got := remembered([]invoice{first, second}, prevBought)
	want := []int{1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 3, 20, 21, 22, 23, 24, 25}
	if !slices.Equal(got, want) {
		t.Errorf("remembered %v, want %v", got, want)
	}
}

// TestDecay checks the time decay's weights: one per training order, in the order of train, 1 for
// the newest training order and halving every half-life back; none without a half-life.
func TestDecay(t *testing.T) {
	d := &retailData{codes: []string{"10000", "10001"}, customers: [][]invoice{
		{{at: "2011-01-01 10:00:00", items: []int{0}}, {at: "2011-01-31 10:00:00", items: []int{1}}, {at: "2011-03-02 10:00", items: []int{0, 1}}},
		{{at: "2011-02-15 10:00:00", items: []int{1}}},
	}}
	sp := splitOrders(d, 1) // trains on the first customer's first two orders and the other's only one
	if sp.decay(0) != nil {
		t.Error("weights without a half-life")
	}
	got := sp.decay(15)
	want := []float64{0.125, 0.5, 1} // 45 days before 2011-02-15, 15 days before, 2011-02-15
	if len(got) != len(sp.train) || len(got) != len(want) {
		t.Fatalf("%d weights for %d training orders, want %d", len(got), len(sp.train), len(want))
	}
	for k := range want {
		if math.Abs(got[k]-want[k]) > 1e-12 {
			t.Errorf("weights %v, want %v", got, want)
			break
		}
	}
}
