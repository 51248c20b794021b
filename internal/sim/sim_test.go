package sim

import (
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
)

// population is a shared 10,000-visitor run: generating it once keeps the rate tests fast.
var population = sync.OnceValues(func() (*Sim, []Visitor) {
	s, err := New(Config{Seed: 2024, Visitors: 10000})
	if err != nil {
		panic(err)
	}
	return s, s.All()
})

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; empty: valid
	}{
		{"zero is the default", Config{}, ""},
		{"small", Config{Items: 5, Categories: 5, Days: 1, HoldoutDays: -1}, ""},
		{"negative visitors", Config{Visitors: -1}, "Visitors"},
		{"negative items", Config{Items: -3}, "Items"},
		{"too many items", Config{Items: maxItems + 1}, "Items"},
		{"fewer items than categories", Config{Items: 10, Categories: 20}, "at least Categories"},
		{"negative days", Config{Days: -1}, "Days"},
		{"long holdout", Config{HoldoutDays: maxDays + 1}, "HoldoutDays"},
		{"negative start", Config{Start: -5}, "Start"},
		{"raw share above one", Config{RawArrivals: 1.5}, "RawArrivals"},
		{"special day outside", Config{Days: 10, HoldoutDays: 5, SpecialDays: []int{15}}, "special day"},
		{"special day inside", Config{Days: 10, HoldoutDays: 5, SpecialDays: []int{14}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("New accepted %+v", tt.cfg)
			case err != nil && (!strings.HasPrefix(err.Error(), "sim: ") || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %q: want prefix \"sim: \" and %q", err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := DefaultConfig()
	if c.Visitors != 10000 || c.Items != 1000 || c.Categories != 24 || c.Days != 90 || c.HoldoutDays != 28 ||
		c.Start != DefaultStart || c.Brand != "acme" || c.RawArrivals != 0.25 || c.Uplift == nil {
		t.Errorf("DefaultConfig() = %+v", c)
	}
	if weekday(DefaultStart) != 1 {
		t.Errorf("DefaultStart is not a Monday: weekday %d", weekday(DefaultStart))
	}
	if c := (Config{HoldoutDays: -1, RawArrivals: -1}).withDefaults(); c.HoldoutDays != 0 || c.RawArrivals != 0 {
		t.Errorf("negative values should mean none: %+v", c)
	}
}

func TestDeterminism(t *testing.T) {
	cfg := Config{Seed: 99, Visitors: 300}
	a, _ := New(cfg)
	b, _ := New(cfg)
	all := a.All() // in parallel
	var seq []Visitor
	for _, v := range b.Visitors(300) {
		seq = append(seq, v)
	}
	t.Run("parallel equals sequential", func(t *testing.T) {
		if !reflect.DeepEqual(all, seq) {
			t.Fatal("All and Visitors differ")
		}
	})
	t.Run("visitor alone", func(t *testing.T) {
		c, _ := New(cfg)
		for _, i := range []int{299, 17, 0, 150} {
			if v := c.Visitor(i); !reflect.DeepEqual(v, seq[i]) {
				t.Fatalf("visitor %d generated alone differs", i)
			}
		}
	})
	t.Run("catalogue", func(t *testing.T) {
		if !reflect.DeepEqual(a.Catalogue(), b.Catalogue()) {
			t.Fatal("catalogues differ")
		}
	})
	t.Run("other seed", func(t *testing.T) {
		c, _ := New(Config{Seed: 100, Visitors: 300})
		same := 0
		for i := range 20 {
			if reflect.DeepEqual(c.Visitor(i).Events, seq[i].Events) {
				same++
			}
		}
		if same > 0 {
			t.Fatalf("%d of 20 visitors identical under another seed", same)
		}
	})
	t.Run("early stop", func(t *testing.T) {
		n := 0
		for range a.Visitors(100) {
			n++
			if n == 3 {
				break
			}
		}
		if n != 3 {
			t.Fatalf("iterated %d", n)
		}
	})
}

func TestCatalogue(t *testing.T) {
	tests := []struct {
		items, cats int
	}{{1, 1}, {10, 4}, {1000, 24}, {5000, 60}}
	for _, tt := range tests {
		t.Run(pad(tt.items, 0)+"x"+pad(tt.cats, 0), func(t *testing.T) {
			s, err := New(Config{Seed: 3, Items: tt.items, Categories: tt.cats})
			if err != nil {
				t.Fatal(err)
			}
			c := s.Catalogue()
			if len(c.Items) != tt.items || len(c.Categories) != tt.cats {
				t.Fatalf("sizes %d, %d", len(c.Items), len(c.Categories))
			}
			pop, w := 0.0, 0.0
			for i, it := range c.Items {
				if it.Index != i || it.ID != "sku-"+pad(i, 5) || it.Price <= 0 || it.Popularity <= 0 {
					t.Fatalf("bad item %+v", it)
				}
				if got, ok := c.Item(it.ID); !ok || got.Index != i {
					t.Fatalf("Item(%q) = %v, %v", it.ID, got.Index, ok)
				}
				if c.CategoryOf(it.ID) != c.Categories[it.Category].ID {
					t.Fatalf("CategoryOf(%q)", it.ID)
				}
				pop += it.Popularity
			}
			for i, cat := range c.Categories {
				want := "cat-" + pad(i, 4)
				if i < len(catWords) {
					want = catWords[i].id
				}
				if cat.ID != want || len(cat.Items) == 0 || cat.MedianPrice <= 0 {
					t.Fatalf("bad category %d: %q, %d items", i, cat.ID, len(cat.Items))
				}
				if got, ok := c.Category(cat.ID); !ok || got.Index != i {
					t.Fatalf("Category(%q)", cat.ID)
				}
				for _, o := range cat.Companions {
					if o == i || !contains(c.Categories[o].Companions, i) {
						t.Fatalf("companions of %q are not symmetric", cat.ID)
					}
				}
				w += cat.Weight
			}
			if math.Abs(pop-1) > 1e-9 || math.Abs(w-1) > 1e-9 {
				t.Fatalf("popularity sums to %g, weights to %g", pop, w)
			}
			if _, ok := c.Item("sku-x"); ok {
				t.Fatal("unknown item found")
			}
		})
	}
	t.Run("companions", func(t *testing.T) {
		s, _ := New(Config{Items: 100, Categories: 4})
		cams, _ := s.Catalogue().Category("cameras")
		if len(cams.Companions) != 1 || s.Catalogue().Categories[cams.Companions[0]].ID != "memory-cards" {
			t.Fatalf("cameras' companions: %v", cams.Companions)
		}
	})
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// checkVisitor verifies the invariants of one visitor's events and sessions.
func checkVisitor(t *testing.T, s *Sim, v *Visitor) {
	t.Helper()
	cfg := s.Config()
	last := int64(math.MinInt64)
	for part, evs := range [][]wire.Event{v.Events, v.Holdout} {
		sessions := v.Sessions
		if part == 1 {
			sessions = v.HoldoutSessions
		}
		next := 0
		for k, ss := range sessions {
			if ss.Start != next || ss.End <= ss.Start || ss.End > len(evs) || ss.Checkout < ss.Start || ss.Checkout > ss.End {
				t.Fatalf("visitor %d session %d: bad bounds %+v (events %d)", v.Index, k, ss, len(evs))
			}
			next = ss.End
			if part == 0 && (ss.Time < cfg.Start || ss.Time >= v.End) || part == 1 && ss.Time < v.End {
				t.Fatalf("visitor %d session %d: start %d outside its period", v.Index, k, ss.Time)
			}
			if evs[ss.Start].Type != wire.EventArrival || evs[ss.Start].Time != ss.Time || evs[ss.Start].Device == 0 {
				t.Fatalf("visitor %d session %d does not open with an arrival: %+v", v.Index, k, evs[ss.Start])
			}
			if ss.Checkout < ss.End && evs[ss.Checkout].Type != wire.EventCheckout {
				t.Fatalf("visitor %d session %d: Checkout index is not a checkout", v.Index, k)
			}
			if !(ss.P > 0 && ss.P < 1) {
				t.Fatalf("visitor %d session %d: P = %g", v.Index, k, ss.P)
			}
			bought := 0.0
			purchases := 0
			for i, e := range evs[ss.Start:ss.End] {
				if i > 0 && e.Type == wire.EventArrival {
					t.Fatalf("visitor %d session %d: arrival inside the session", v.Index, k)
				}
				if e.Type == wire.EventPurchase {
					purchases++
					bought += e.Value
				}
				if e.Type == wire.EventCheckout && ss.Start+i < ss.Checkout {
					t.Fatalf("visitor %d session %d: checkout before Checkout", v.Index, k)
				}
			}
			if ss.Converted != (purchases == 1) || purchases > 1 || math.Abs(bought-ss.Revenue) > 1e-9 {
				t.Fatalf("visitor %d session %d: converted %v, %d purchases of %g, revenue %g", v.Index, k, ss.Converted, purchases, bought, ss.Revenue)
			}
		}
		if next != len(evs) {
			t.Fatalf("visitor %d: sessions cover %d of %d events", v.Index, next, len(evs))
		}
		for i, e := range evs {
			if !e.Type.Valid() {
				t.Fatalf("visitor %d event %d: invalid type %d", v.Index, i, e.Type)
			}
			if e.Time <= last {
				t.Fatalf("visitor %d event %d: time %d not after %d", v.Index, i, e.Time, last)
			}
			last = e.Time
			switch e.Type {
			case wire.EventProductView, wire.EventAddToCart:
				if e.Item == "" || e.Category == "" || e.Value <= 0 || s.Catalogue().CategoryOf(e.Item) != e.Category {
					t.Fatalf("visitor %d event %d: bad product event %+v", v.Index, i, e)
				}
				if e.Type == wire.EventAddToCart && e.Quantity == 0 {
					t.Fatalf("visitor %d event %d: no quantity", v.Index, i)
				}
			case wire.EventCategoryView:
				if _, ok := s.Catalogue().Category(e.Category); !ok {
					t.Fatalf("visitor %d event %d: unknown category %q", v.Index, i, e.Category)
				}
			case wire.EventSearch:
				if e.Query == "" {
					t.Fatalf("visitor %d event %d: empty query", v.Index, i)
				}
			case wire.EventPurchase:
				if len(e.Lines) == 0 || e.Value <= 0 {
					t.Fatalf("visitor %d event %d: bad purchase %+v", v.Index, i, e)
				}
				sum := 0.0
				for _, l := range e.Lines {
					if l.Item == "" || l.Price <= 0 || l.Quantity == 0 {
						t.Fatalf("visitor %d event %d: bad line %+v", v.Index, i, l)
					}
					sum += l.Price * float64(l.Quantity)
				}
				if math.Abs(sum-e.Value) > 0.005 {
					t.Fatalf("visitor %d event %d: total %g, lines %g", v.Index, i, e.Value, sum)
				}
			case wire.EventPageView:
				if int(e.Page) >= int(wire.NumPageTypes) {
					t.Fatalf("visitor %d event %d: bad page %d", v.Index, i, e.Page)
				}
			case wire.EventArrival:
				if e.Channel >= wire.NumChannels || e.Device >= wire.NumDevices {
					t.Fatalf("visitor %d event %d: bad arrival %+v", v.Index, i, e)
				}
			}
		}
	}
	n, h := 0, 0
	for _, ss := range v.Sessions {
		n += int(b2f(ss.Converted))
	}
	for _, ss := range v.HoldoutSessions {
		h += int(b2f(ss.Converted))
	}
	if n != v.Truth.Purchases || h != v.Truth.HoldoutPurchases {
		t.Fatalf("visitor %d: truth counts %d+%d purchases, sessions %d+%d", v.Index, v.Truth.Purchases, v.Truth.HoldoutPurchases, n, h)
	}
	if v.Truth.DiedAt != 0 && v.Truth.Alive != (v.Truth.DiedAt >= v.End) {
		t.Fatalf("visitor %d: alive %v but died at %d", v.Index, v.Truth.Alive, v.Truth.DiedAt)
	}
	if len(v.Truth.Favourites) == 0 || !(v.Truth.Propensity > 0 && v.Truth.Propensity < 1) {
		t.Fatalf("visitor %d: bad truth %+v", v.Index, v.Truth)
	}
}

func TestEventsValid(t *testing.T) {
	configs := []struct {
		name string
		cfg  Config
	}{
		{"default", Config{Seed: 5}},
		{"tiny catalogue", Config{Seed: 6, Items: 3, Categories: 2, Days: 20, HoldoutDays: -1}},
		{"large catalogue", Config{Seed: 7, Items: 20000, Categories: 120}},
		{"all raw arrivals", Config{Seed: 8, RawArrivals: 1, SpecialDays: []int{3, 50, 100}}},
	}
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range s.Visitors(1500) {
				checkVisitor(t, s, &v)
			}
		})
	}
	t.Run("shared population", func(t *testing.T) {
		s, vs := population()
		for i := range vs {
			checkVisitor(t, s, &vs[i])
		}
	})
}

// TestRates checks that the population's headline rates sit in plausible bands for a shop.
func TestRates(t *testing.T) {
	_, vs := population()
	st := Measure(vs)
	t.Logf("\n%s", st)
	band := func(name string, got, lo, hi float64) {
		t.Helper()
		if got < lo || got > hi {
			t.Errorf("%s = %.4f, want within [%g, %g]", name, got, lo, hi)
		}
	}
	band("conversion per session", st.ConversionRate(), 0.02, 0.06)
	band("buyers per visitor", ratio(st.Buyers, st.Visitors), 0.04, 0.15)
	band("repeat buyers per buyer", ratio(st.RepeatBuyers, st.Buyers), 0.15, 0.45)
	band("sessions per visitor", ratio(st.Sessions, st.Visitors), 2, 6)
	band("events per visitor", ratio(st.Events, st.Visitors), 20, 80)
	band("bounce rate", ratio(st.Bounces, st.Sessions), 0.15, 0.45)
	band("cart-add sessions", ratio(st.CartSessions, st.Sessions), 0.06, 0.25)
	for c := wire.ChannelDirect; c < wire.NumChannels; c++ {
		band("share of "+channelNames[c], ratio(st.Channels[c], st.Sessions), 0.02, 0.4)
	}
	band("holdout buyers", ratio(st.HoldoutBuyers, st.Visitors), 0.01, 0.15)

	// Every event type the agent understands but consent and clicks shows up.
	var seen [256]int
	raw := 0
	for i := range vs {
		for _, e := range vs[i].Events {
			seen[e.Type]++
			if e.Type == wire.EventArrival && e.Channel == wire.ChannelUnknown {
				raw++
			}
		}
	}
	for ty := wire.EventPageView; ty <= wire.EventArrival; ty++ {
		if seen[ty] == 0 {
			t.Errorf("no event of type %d", ty)
		}
	}
	band("raw arrivals", ratio(raw, seen[wire.EventArrival]), 0.2, 0.3)
}

// TestSignal checks the relations a propensity model is meant to learn, and that the truth's
// probabilities are calibrated.
func TestSignal(t *testing.T) {
	_, vs := population()
	type rate struct{ n, conv int }
	var cart, noCart, first, customer rate
	var byChannel [wire.NumChannels]rate
	var byDevice [wire.NumDevices]rate
	sumP, sessions, conv := 0.0, 0, 0
	var byArch [NumArchetypes]rate
	for i := range vs {
		v := &vs[i]
		bought := 0
		for _, ss := range v.Sessions {
			added := false
			for _, e := range v.Events[ss.Start:ss.Checkout] {
				added = added || e.Type == wire.EventAddToCart
			}
			c := int(b2f(ss.Converted))
			r := &noCart
			if added {
				r = &cart
			}
			r.n++
			r.conv += c
			r = &first
			if bought > 0 {
				r = &customer
			}
			r.n++
			r.conv += c
			byChannel[ss.Channel].n++
			byChannel[ss.Channel].conv += c
			byDevice[ss.Device].n++
			byDevice[ss.Device].conv += c
			byArch[v.Archetype].n++
			byArch[v.Archetype].conv += c
			bought += c
			sumP += ss.P
			sessions++
			conv += c
		}
	}
	cr := func(r rate) float64 { return ratio(r.conv, r.n) }
	t.Logf("cart %.3f no cart %.3f; first %.3f customer %.3f; email %.3f brand %.3f social %.3f; desktop %.3f mobile %.3f",
		cr(cart), cr(noCart), cr(first), cr(customer), cr(byChannel[wire.ChannelEmail]), cr(byChannel[wire.ChannelBrandSearch]),
		cr(byChannel[wire.ChannelSocial]), cr(byDevice[wire.DeviceDesktop]), cr(byDevice[wire.DeviceMobile]))
	for a := range NumArchetypes {
		t.Logf("%-15s conversion %.4f over %d sessions", Archetype(a), cr(byArch[a]), byArch[a].n)
	}
	checks := []struct {
		name       string
		more, less float64
		factor     float64
	}{
		{"cart add vs none", cr(cart), cr(noCart), 5},
		{"customer vs first purchase", cr(customer), cr(first), 2},
		{"email vs social", cr(byChannel[wire.ChannelEmail]), cr(byChannel[wire.ChannelSocial]), 3},
		{"brand search vs social", cr(byChannel[wire.ChannelBrandSearch]), cr(byChannel[wire.ChannelSocial]), 3},
		{"desktop vs mobile", cr(byDevice[wire.DeviceDesktop]), cr(byDevice[wire.DeviceMobile]), 1.2},
		{"loyal vs window shopper", cr(byArch[ArchetypeLoyal]), cr(byArch[ArchetypeWindowShopper]), 5},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.more < c.factor*c.less {
				t.Errorf("conversion %.4f is not %g× %.4f", c.more, c.factor, c.less)
			}
		})
	}
	t.Run("calibrated truth", func(t *testing.T) {
		// P is the exact probability of conversion: its sum predicts the count, within
		// sampling noise (a few standard deviations of a sum of Bernoullis).
		sd := math.Sqrt(sumP)
		if math.Abs(float64(conv)-sumP) > 4*sd {
			t.Errorf("%d conversions, the truth expects %.0f ± %.0f", conv, sumP, sd)
		}
	})
}

func TestHoldoutAndAlive(t *testing.T) {
	_, vs := population()
	var aliveRepeat, deadRepeat, alive, dead int
	var holdAlive, holdDead int
	for i := range vs {
		v := &vs[i]
		if v.Truth.Purchases == 0 {
			continue
		}
		if v.Truth.Alive {
			alive++
			holdAlive += v.Truth.HoldoutPurchases
			aliveRepeat += v.Truth.Purchases - 1
		} else {
			dead++
			holdDead += v.Truth.HoldoutPurchases
			deadRepeat += v.Truth.Purchases - 1
		}
	}
	t.Logf("customers alive %d (holdout purchases %d), dead %d (holdout purchases %d)", alive, holdAlive, dead, holdDead)
	if dead == 0 || alive == 0 {
		t.Fatalf("alive %d, dead %d: both should occur", alive, dead)
	}
	if holdDead != 0 {
		t.Errorf("customers dead at the end of observation bought %d times in the holdout", holdDead)
	}
	if holdAlive == 0 {
		t.Error("no holdout purchases")
	}
}

func TestSummary(t *testing.T) {
	_, vs := population()
	sum := Summary(vs)
	st := Measure(vs)
	if len(sum) != st.Buyers {
		t.Fatalf("%d summaries for %d buyers", len(sum), st.Buyers)
	}
	repeat := 0
	for _, c := range sum {
		v := &vs[c.Visitor]
		if c.X != v.Truth.Purchases-1 {
			t.Fatalf("visitor %d: x = %d, purchases %d", c.Visitor, c.X, v.Truth.Purchases)
		}
		if c.T <= 0 || c.T > float64(90)/7+1e-9 || c.TX < 0 || c.TX > c.T || (c.X == 0) != (c.TX == 0) {
			t.Fatalf("visitor %d: bad times %+v", c.Visitor, c)
		}
		if (c.X > 0) != (c.MeanSpend > 0) || c.FirstSpend <= 0 {
			t.Fatalf("visitor %d: bad spend %+v", c.Visitor, c)
		}
		if c.HoldoutPurchases != v.Truth.HoldoutPurchases || c.Alive != v.Truth.Alive {
			t.Fatalf("visitor %d: truth not carried", c.Visitor)
		}
		if c.X > 0 {
			repeat++
		}
	}
	if repeat != st.RepeatBuyers {
		t.Fatalf("%d with x > 0, %d repeat buyers", repeat, st.RepeatBuyers)
	}
	t.Run("one visitor", func(t *testing.T) {
		v := Visitor{Index: 4, End: 10 * week, Events: []wire.Event{
			{Type: wire.EventPurchase, Time: 2 * week, Value: 10},
			{Type: wire.EventPageView, Time: 3 * week},
			{Type: wire.EventPurchase, Time: 4 * week, Value: 30},
			{Type: wire.EventPurchase, Time: 6 * week, Value: 50},
		}}
		c, ok := Summarize(&v)
		want := CustomerSummary{Visitor: 4, X: 2, TX: 4, T: 8, MeanSpend: 40, FirstSpend: 10}
		if !ok || c != want {
			t.Fatalf("Summarize = %+v, %v; want %+v", c, ok, want)
		}
		if _, ok := Summarize(&Visitor{}); ok {
			t.Fatal("a visitor without purchases is a customer")
		}
	})
}

// campaign shows "promo" to every other session, "b" to a third of the shown, and holds out the rest.
type campaign struct {
	mu    sync.Mutex
	calls int
}

func (c *campaign) Respond(visitor int, history []wire.Event) Exposure {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	last := history[len(history)-1]
	if history[len(history)-2].Type != wire.EventArrival && last.Type != wire.EventPageView &&
		history[len(history)-3].Type != wire.EventArrival {
		panic("history does not end with the session's landing page")
	}
	switch (visitor + len(history)) % 4 {
	case 0, 1:
		return Exposure{Campaign: "promo", Variant: "a"}
	case 2:
		return Exposure{Campaign: "promo", Holdout: true}
	}
	return Exposure{}
}

func TestResponder(t *testing.T) {
	resp := &campaign{}
	cfg := Config{Seed: 11, Visitors: 6000, Responder: resp}
	s, _ := New(cfg)
	vs := s.All()
	sessions, clicks := 0, 0
	type tally struct{ n, conv int }
	var shown, control [NumArchetypes]tally
	for i := range vs {
		v := &vs[i]
		checkVisitor(t, s, v)
		for _, ss := range v.Sessions {
			sessions++
			for _, e := range v.Events[ss.Start:ss.End] {
				if e.Type == wire.EventClick {
					clicks++
					if !ss.Exposure.Shown() || e.Campaign != "promo" || e.Variant != "a" {
						t.Fatalf("click without exposure: %+v", e)
					}
				}
			}
			u := DefaultUplift(v.Archetype, ss.Exposure)
			switch {
			case ss.Exposure.Shown():
				if (u > 0) != (ss.Uplift > 0) || (u < 0) != (ss.Uplift < 0) {
					t.Fatalf("archetype %v: uplift %g against effect %g", v.Archetype, ss.Uplift, u)
				}
				shown[v.Archetype].n++
				shown[v.Archetype].conv += int(b2f(ss.Converted))
			default:
				if ss.Uplift != 0 {
					t.Fatalf("uplift %g without exposure", ss.Uplift)
				}
				if ss.Exposure.Holdout {
					control[v.Archetype].n++
					control[v.Archetype].conv += int(b2f(ss.Converted))
				}
			}
		}
	}
	if resp.calls != sessions+countHoldoutSessions(vs) {
		t.Errorf("responder called %d times for %d sessions", resp.calls, sessions+countHoldoutSessions(vs))
	}
	if clicks == 0 {
		t.Error("no clicks")
	}
	d := ArchetypeDealHunter
	t.Logf("deal hunters: shown %d/%d, control %d/%d", shown[d].conv, shown[d].n, control[d].conv, control[d].n)
	if ratio(shown[d].conv, shown[d].n) <= ratio(control[d].conv, control[d].n) {
		t.Error("the campaign did not lift deal hunters")
	}
	t.Run("deterministic", func(t *testing.T) {
		s2, _ := New(Config{Seed: 11, Visitors: 6000, Responder: &campaign{}})
		for _, i := range []int{0, 123, 5999} {
			if !reflect.DeepEqual(s2.Visitor(i), vs[i]) {
				t.Fatalf("visitor %d differs", i)
			}
		}
	})
}

func countHoldoutSessions(vs []Visitor) int {
	n := 0
	for i := range vs {
		n += len(vs[i].HoldoutSessions)
	}
	return n
}

func TestSpecialDays(t *testing.T) {
	days := []int{20, 21}
	s, _ := New(Config{Seed: 12, Visitors: 4000, SpecialDays: days})
	var per [118]int
	for _, v := range s.Visitors(4000) {
		for _, ss := range v.Sessions {
			per[(ss.Time-DefaultStart)/day]++
		}
	}
	// Compare with the same weekdays one and two weeks later.
	special := per[20] + per[21]
	usual := (per[27] + per[28] + per[34] + per[35]) / 2
	t.Logf("sessions on special days %d, usual %d", special, usual)
	if float64(special) < 1.2*float64(usual) {
		t.Errorf("special days drew %d sessions against %d", special, usual)
	}
}

func TestArchetypeNames(t *testing.T) {
	seen := map[string]bool{}
	total := 0.0
	for a := range NumArchetypes {
		name := Archetype(a).String()
		if name == "" || name == "unknown" || seen[name] {
			t.Errorf("archetype %d: name %q", a, name)
		}
		seen[name] = true
		total += archetypes[a].share
	}
	if Archetype(200).String() != "unknown" {
		t.Error("out-of-range archetype")
	}
	if math.Abs(total-1) > 1e-9 {
		t.Errorf("archetype shares sum to %g", total)
	}
}
