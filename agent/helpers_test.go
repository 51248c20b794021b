package agent_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
)

// Times, Unix milliseconds. t0 is 2026-01-05 00:00 UTC, a Monday.
const (
	t0     = int64(1767571200000)
	sec    = int64(1000)
	minute = 60 * sec
	hour   = 60 * minute
	day    = 24 * hour
	week   = 7 * day
)

var inf = math.Inf(1)

// Indices of the hand-built bundle's tables, so that tests can name what they look at.
const (
	mBuy   = iota // propensity "buy": a few session and history features
	mBand         // propensity "band": σ(−0.5 + 0.25·session_products): 2 views 0.50, 3 views 0.56, 4 views 0.62
	mEmail        // propensity "email"
)

const (
	segPersuadable         = iota // band score in [0.52, 0.60]: the tyre retailer's band
	segCustomer                   // stage new, loyal, at risk or lapsed
	segNonCustomer                // Not segment "customer"
	segPersuadableProspect        // segment of a segment: persuadable and prospect or lead
	segAliveLoyal                 // loyal and P(alive) ≥ 0.5
	segShoeLover                  // appetence for "shoes" ≥ 0.5
	segEngaged                    // feature session_products ≥ 3
)

var handSegmentNames = []string{"persuadable", "customer", "non_customer", "persuadable_prospect", "alive_loyal", "shoe_lover", "engaged"}

// handCategories are the hand bundle's categories; item i is in category i%4.
var handCategories = []string{"shoes", "bags", "hats", "socks"}

const handItems = 12

func itemID(i int) string { return fmt.Sprintf("sku-%02d", i) }

// The CDNOW BG/NBD and Gamma-Gamma parameters (Fader, Hardie & Lee 2005; Fader & Hardie 2013).
var cdnow = models.Value{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426, P: 6.25, Q: 3.74, Gamma: 15.44, Horizon: 52, UnitDays: 7}

func stages(ss ...wire.Stage) uint8 {
	var m uint8
	for _, s := range ss {
		m |= 1 << s
	}
	return m
}

// handBundle builds a small valid bundle whose every number is known, so that tests can compute the
// expected answers by hand:
//   - 12 items "sku-00".."sku-11", item i in category i%4; Popular is 11, 10, …, 0;
//   - neighbours K=3: item i → i+1, i+2, i+3 (mod 12) with similarity 1, 0.5, 0.25, except item 11
//     whose list is [0 (similarity 1), padding, padding];
//   - logistic models "buy", "band", "email" (see mBuy etc.);
//   - appetence of rank 4 with identity factors (see handAppetence): a visitor whose only affinity
//     is w on category c has appetence ≈ σ(w − 1) for c and σ(−1) for the others;
//   - the CDNOW value model, weeks, a 52-week horizon;
//   - the segments listed by segPersuadable etc.; one banner campaign with variants A and B;
//   - consent defaults to full, brand words "presage" and "DemoShop".
//
// mods edit the bundle before it is returned; every call returns a fresh bundle.
func handBundle(mods ...func(*models.Bundle)) *models.Bundle {
	b := &models.Bundle{Format: models.FormatVersion, Version: 100, Created: t0/1000 - 86400, Site: "hand-shop",
		Brand:    []string{"presage", "DemoShop"},
		Settings: &models.Settings{DefaultConsent: uint8(wire.ConsentFull)}}
	b.Features = []string{"session_products", "session_cart_adds", "cart_value", "frequency", "channel_email", "lead",
		"email_arrivals", "monetary"}
	f := func(name string) uint16 {
		for i, n := range b.Features {
			if n == name {
				return uint16(i)
			}
		}
		panic("no feature " + name)
	}
	b.Categories = append([]string(nil), handCategories...)
	for i := range handItems {
		b.Items = append(b.Items, itemID(i))
		b.ItemCategory = append(b.ItemCategory, uint16(i%len(handCategories)))
		b.Popular = append(b.Popular, uint16(handItems-1-i))
	}
	nb := &models.Neighbours{K: 3, Scale: 1.0 / 200, Index: make([]byte, 2*3*handItems), Weight: make([]byte, 3*handItems)}
	for i := range handItems {
		for j := range 3 {
			cell := i*3 + j
			nbr, w := (i+j+1)%handItems, byte(200>>j)
			if i == handItems-1 && j > 0 {
				nbr, w = 0xFFFF, 0
			}
			nb.Index[2*cell], nb.Index[2*cell+1] = byte(nbr), byte(nbr>>8)
			nb.Weight[cell] = w
		}
	}
	b.Neighbours = nb
	b.Propensity = []models.Logistic{
		mBuy: {Name: "buy", Bias: -3,
			Features: []uint16{f("session_products"), f("session_cart_adds"), f("cart_value"), f("frequency"), f("channel_email"), f("lead")},
			Weights:  []float32{0.3, 0.8, 0.01, 0.5, 0.7, 0.4}},
		mBand:  {Name: "band", Bias: -0.5, Features: []uint16{f("session_products")}, Weights: []float32{0.25}},
		mEmail: {Name: "email", Bias: -2, Features: []uint16{f("channel_email"), f("email_arrivals")}, Weights: []float32{1.5, 0.5}},
	}
	b.Appetence = handAppetence()
	v := cdnow
	b.Value = &v
	b.Segments = []models.Segment{
		segPersuadable: {Name: handSegmentNames[segPersuadable], When: []models.Predicate{{Kind: models.PredScore, Ref: mBand, Lo: 0.52, Hi: 0.60}}},
		segCustomer: {Name: handSegmentNames[segCustomer], When: []models.Predicate{{Kind: models.PredStage,
			Stages: stages(wire.StageNew, wire.StageLoyal, wire.StageAtRisk, wire.StageLapsed)}}},
		segNonCustomer: {Name: handSegmentNames[segNonCustomer], When: []models.Predicate{{Kind: models.PredSegment, Ref: segCustomer, Lo: 1, Hi: 1, Not: true}}},
		segPersuadableProspect: {Name: handSegmentNames[segPersuadableProspect], When: []models.Predicate{
			{Kind: models.PredSegment, Ref: segPersuadable, Lo: 1, Hi: 1},
			{Kind: models.PredStage, Stages: stages(wire.StageProspect, wire.StageLead)}}},
		segAliveLoyal: {Name: handSegmentNames[segAliveLoyal], When: []models.Predicate{
			{Kind: models.PredStage, Stages: stages(wire.StageLoyal)},
			{Kind: models.PredValue, Ref: 0, Lo: 0.5, Hi: inf}}},
		segShoeLover: {Name: handSegmentNames[segShoeLover], When: []models.Predicate{{Kind: models.PredAppetence, Ref: 0, Lo: 0.5, Hi: 1}}},
		segEngaged:   {Name: handSegmentNames[segEngaged], When: []models.Predicate{{Kind: models.PredFeature, Ref: f("session_products"), Lo: 3, Hi: inf}}},
	}
	b.Campaigns = []models.Campaign{{ID: "banner-a", Slot: "banner", Support: "banner", Priority: 1,
		Variants: []models.Variant{{ID: "A", Weight: 1, Content: "a"}, {ID: "B", Weight: 1, Content: "b"}}}}
	for _, m := range mods {
		m(b)
	}
	return b
}

// withCampaigns replaces the hand bundle's campaigns (and sets the pressure budget, nil for none).
func withCampaigns(p *models.Pressure, cs ...models.Campaign) func(*models.Bundle) {
	return func(b *models.Bundle) { b.Campaigns, b.Pressure = cs, p }
}

// simpleCampaign is a campaign on slot with one variant "v" and the given caps.
func simpleCampaign(id, slot string, prio int32, caps *models.Caps) models.Campaign {
	return models.Campaign{ID: id, Slot: slot, Priority: prio, Caps: caps,
		Variants: []models.Variant{{ID: "v", Weight: 1, Content: id}}}
}

// newAgent returns an agent serving b (which must be valid) with a new visitor drawn from seed 1.
func newAgent(t testing.TB, b *models.Bundle) *agent.Agent {
	t.Helper()
	a := agent.New()
	if err := a.SetBundle(b, t0); err != nil {
		t.Fatalf("SetBundle: %v", err)
	}
	a.Start(nil, 1)
	return a
}

// step handles one request at now with events evs (their Time left 0: now) and no slot.
func step(t testing.TB, a *agent.Agent, now int64, evs ...wire.Event) *wire.Answer {
	t.Helper()
	return stepSlots(t, a, now, nil, evs...)
}

// stepSlots handles one request asking for decisions on slots. The answer is owned by the agent.
func stepSlots(t testing.TB, a *agent.Agent, now int64, slots []string, evs ...wire.Event) *wire.Answer {
	t.Helper()
	ans, err := a.Handle(&wire.Request{Now: now, Seed: uint64(now), Events: evs, Slots: slots})
	if err != nil {
		t.Fatalf("Handle at %d: %v", now, err)
	}
	return ans
}

// Event builders.
func arrive(ch wire.Channel) wire.Event { return wire.Event{Type: wire.EventArrival, Channel: ch} }
func pv(p wire.PageType) wire.Event     { return wire.Event{Type: wire.EventPageView, Page: p} }
func pvDwell(p wire.PageType, dwellMs uint32) wire.Event {
	return wire.Event{Type: wire.EventPageView, Page: p, DwellMs: dwellMs}
}
func view(item, cat string) wire.Event {
	return wire.Event{Type: wire.EventProductView, Item: item, Category: cat}
}
func catView(cat string) wire.Event { return wire.Event{Type: wire.EventCategoryView, Category: cat} }
func addCart(item, cat string, price float64, qty uint32) wire.Event {
	return wire.Event{Type: wire.EventAddToCart, Item: item, Category: cat, Value: price, Quantity: qty}
}
func removeCart(item string) wire.Event {
	return wire.Event{Type: wire.EventRemoveFromCart, Item: item}
}
func buy(value float64, lines ...wire.Line) wire.Event {
	return wire.Event{Type: wire.EventPurchase, Value: value, Lines: lines}
}
func signUp() wire.Event                { return wire.Event{Type: wire.EventSignUp} }
func consent(c wire.Consent) wire.Event { return wire.Event{Type: wire.EventConsent, Consent: c} }

// enc encodes a request as a host would.
func enc(req *wire.Request) []byte { return minicbor.Marshal(nil, req) }

// call runs op through the byte ABI and decodes the reply; the raw reply bytes are returned too.
func call(t testing.TB, a *agent.Agent, op wire.Op, in []byte) (*wire.Reply, []byte) {
	t.Helper()
	out := a.Call(op, in, nil)
	var r wire.Reply
	if err := minicbor.Unmarshal(out, &r, minicbor.DefaultLimits); err != nil {
		t.Fatalf("op %d: reply does not decode: %v (% x)", op, err, out)
	}
	if r.Err != nil && r.Err.Code == wire.CodeInternal {
		t.Fatalf("op %d: internal error (a recovered panic): %s", op, r.Err.Message)
	}
	return &r, out
}

// callOK is call that fails the test on an error reply.
func callOK(t testing.TB, a *agent.Agent, op wire.Op, in []byte) *wire.Reply {
	t.Helper()
	r, _ := call(t, a, op, in)
	if r.Err != nil {
		t.Fatalf("op %d: %v", op, r.Err)
	}
	return r
}

// callCode is call that expects an error reply with code.
func callCode(t testing.TB, a *agent.Agent, op wire.Op, in []byte, code wire.Code) *wire.Reply {
	t.Helper()
	r, _ := call(t, a, op, in)
	if r.Err == nil {
		t.Fatalf("op %d: succeeded, want error code %d (%s)", op, code, code)
	}
	if r.Err.Code != code {
		t.Fatalf("op %d: error %v (code %d), want code %d (%s)", op, r.Err, r.Err.Code, code, code)
	}
	return r
}

// envelope wraps a bundle as LoadBundle expects (unsigned: the host checks signatures).
func envelope(b *models.Bundle) []byte {
	e := models.Envelope{Payload: b.Encode()}
	return e.Encode()
}

// cloneBundle returns a deep copy of b (through its canonical encoding), to edit a shared bundle.
func cloneBundle(t testing.TB, b *models.Bundle) *models.Bundle {
	t.Helper()
	c, err := models.Decode(b.Encode())
	if err != nil {
		t.Fatalf("clone: %v", err)
	}
	return c
}

// The demo bundle, trained once per test binary on 1,500 simulated visitors (about 0.4 s).
var (
	demoOnce   sync.Once
	demoB      *models.Bundle
	demoErr    error
	demoConfig = demo.Config{Visitors: 1500, Seed: 7}
)

// demoBundle returns the shared trained bundle. Do not modify it (see cloneBundle).
func demoBundle(t testing.TB) *models.Bundle {
	t.Helper()
	demoOnce.Do(func() { demoB, _, demoErr = demo.Train(context.Background(), demoConfig) })
	if demoErr != nil {
		t.Fatalf("demo.Train: %v", demoErr)
	}
	return demoB
}

// slotsOf lists the distinct slots of b's campaigns, in bundle order.
func slotsOf(b *models.Bundle) []string {
	var out []string
	for _, c := range b.Campaigns {
		seen := false
		for _, s := range out {
			seen = seen || s == c.Slot
		}
		if !seen {
			out = append(out, c.Slot)
		}
	}
	return out
}

// runHeavyVisitor plays a heavy, returning visitor from start: 50 visits three to four days apart
// through every channel and device, six product views each over the bundle's items and 40
// categories (most of them unknown to the bundle), two cart adds a visit, an order every fifth
// visit (10 in all), a full cart left at the end, and every slot of the bundle asked for on every
// page. It returns the time of the last event.
func runHeavyVisitor(t testing.TB, a *agent.Agent, b *models.Bundle, start int64) int64 {
	t.Helper()
	now := start
	slots := slotsOf(b)
	if len(slots) > agent.MaxSlots {
		slots = slots[:agent.MaxSlots]
	}
	nItems := len(b.Items)
	for v := range 50 {
		now += 3*day + int64(v%7)*hour
		do := func(evs ...wire.Event) {
			t.Helper()
			now += 45 * sec
			stepSlots(t, a, now, slots, evs...)
		}
		do(wire.Event{Type: wire.EventArrival, Channel: wire.Channel(1 + v%7), Device: wire.Device(1 + v%3)}, pv(wire.PageHome))
		for p := range 6 {
			i := (v*7 + p*3) % nItems
			item, cat := b.Items[i], fmt.Sprintf("extra-category-%02d", (v*5+p)%40)
			if p%2 == 0 {
				cat = b.Categories[int(b.ItemCategory[i])]
			} else {
				item = fmt.Sprintf("extra-sku-%03d", (v*6+p)%100) // not in the bundle: kept by hash all the same
			}
			do(pvDwell(wire.PageProduct, 30000), view(item, cat))
		}
		do(catView(b.Categories[v%len(b.Categories)]), wire.Event{Type: wire.EventSearch, Query: "running shoes"})
		var lines []wire.Line
		for c := range 2 {
			i := (v*11 + c*5) % nItems
			do(pvDwell(wire.PageProduct, 20000), addCart(b.Items[i], b.Categories[int(b.ItemCategory[i])], 19.5+float64(c), uint32(1+c)))
			lines = append(lines, wire.Line{Item: b.Items[i], Category: b.Categories[int(b.ItemCategory[i])], Price: 19.5 + float64(c), Quantity: uint32(1 + c)})
		}
		lines = append(lines, wire.Line{Item: fmt.Sprintf("extra-sku-%03d", v), Price: 5})
		for c := range 20 { // a wholesale basket: more distinct purchases in all than the profile keeps
			lines = append(lines, wire.Line{Item: fmt.Sprintf("bulk-sku-%03d", v/5*20+c), Price: 1})
		}
		if v%5 == 4 {
			do(pv(wire.PageCheckout), wire.Event{Type: wire.EventCheckout})
			do(buy(0, lines...))
		}
		if v == 49 { // leave a full cart behind: more lines than the cart keeps
			var adds []wire.Event
			for c := range agent.MaxCart + 5 {
				adds = append(adds, addCart(fmt.Sprintf("cart-sku-%02d", c), b.Categories[c%len(b.Categories)], 1000+float64(c), 3))
			}
			do(adds...)
		}
	}
	return now
}

// finite reports whether every float of the answer is finite.
func answerFinite(ans *wire.Answer) error {
	bad := func(v float32) bool { return v != v || math.IsInf(float64(v), 0) }
	for _, s := range ans.Scores {
		if bad(s.Value) || s.Value < 0 || s.Value > 1 {
			return fmt.Errorf("score %s = %v", s.Model, s.Value)
		}
	}
	for _, c := range ans.Appetence {
		if bad(c.Value) || c.Value < 0 || c.Value > 1 {
			return fmt.Errorf("appetence %s = %v", c.Category, c.Value)
		}
	}
	for _, r := range ans.Recs {
		if bad(r.Score) {
			return fmt.Errorf("rec %s score %v", r.Item, r.Score)
		}
	}
	if v := ans.Value; v != nil {
		if bad(v.Alive) || bad(v.Purchases) || bad(v.Spend) || bad(v.Value) || v.Alive < 0 || v.Alive > 1 {
			return fmt.Errorf("value %+v", *v)
		}
	}
	return nil
}

// vectorFinite reports the first non-finite feature.
func vectorFinite(x *agent.Vector) error {
	for i, v := range x {
		if v != v || math.IsInf(v, 0) {
			return fmt.Errorf("feature %s = %v", agent.FeatureNames[i], v)
		}
	}
	return nil
}

// feature returns the value of the named feature in x.
func feature(t testing.TB, x *agent.Vector, name string) float64 {
	t.Helper()
	f, ok := agent.FeatureByName(name)
	if !ok {
		t.Fatalf("no feature %q", name)
	}
	return x[f]
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// handAppetenceLambda is the ridge of the hand appetence model, in int8 units: small against FᵀF =
// 10⁴·I, so that the fold-in of an affinity w on category c is u ≈ w·e_c/100.
const handAppetenceLambda = 1

// handAppetence is a rank-4 appetence model over the 4 hand categories with identity factors
// (F[c] = 100·e_c): the ridge fold-in of affinities a is u = F^T a/(10⁴+λ), the preference for c is
// F[c]·u = 10⁴·a_c/(10⁴+λ), so a visitor whose only affinity is w on c has appetence
// σ(w·10⁴/(10⁴+λ) − 1) for c and σ(−1) for every other category.
func handAppetence() *models.Appetence {
	const R = 4
	app := &models.Appetence{Rank: R, Factors: make([]byte, R*len(handCategories)), Scale: 0.01, Slope: 1, Intercept: -1,
		Top: 2, Lambda: handAppetenceLambda}
	for c := range handCategories {
		app.Factors[c*R+c] = 100
	}
	return app
}

// handAppetenceOf is the appetence the hand model gives a category whose affinity is w, the others
// being 0.
func handAppetenceOf(w float64) float64 { return sigmoid(w*1e4/(1e4+handAppetenceLambda) - 1) }
