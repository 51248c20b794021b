package agent_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
)

func scoreOf(t *testing.T, ans *wire.Answer, model string) float64 {
	t.Helper()
	for _, s := range ans.Scores {
		if s.Model == model {
			return float64(s.Value)
		}
	}
	t.Fatalf("no score %q in %v", model, ans.Scores)
	return 0
}

// Scores are σ(logit) of the bundle's logistic models, computed here by hand from the events.
func TestScoresByHand(t *testing.T) {
	for _, tc := range []struct {
		name string
		evs  []wire.Event
		// feature values the events give: products, cart adds, cart value, frequency, email, lead
		products, adds, value, freq, email, lead float64
	}{
		{"nothing", []wire.Event{arrive(wire.ChannelDirect)}, 0, 0, 0, 0, 0, 0},
		{"browsing by email", []wire.Event{arrive(wire.ChannelEmail), view(itemID(1), "bags"), view(itemID(2), "hats")}, 2, 0, 0, 0, 1, 0},
		{"cart and lead", []wire.Event{arrive(wire.ChannelDirect), view(itemID(1), "bags"), addCart(itemID(1), "bags", 25, 2), signUp()}, 1, 1, 50, 0, 0, 1},
		{"customer", []wire.Event{arrive(wire.ChannelEmail), buy(80), view(itemID(3), "socks"), view(itemID(4), "shoes"), view(itemID(5), "bags"),
			addCart(itemID(6), "hats", 19.99, 3)}, 3, 1, float64(float32(19.99)) * 3, 1, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t, handBundle())
			ans := step(t, a, T, tc.evs...)
			zBuy := -3 + 0.3*tc.products + 0.8*tc.adds + float64(float32(0.01))*tc.value + 0.5*tc.freq + 0.7*tc.email + 0.4*tc.lead
			zBand := -0.5 + 0.25*tc.products
			zEmail := -2 + 1.5*tc.email + 0.5*tc.email // one email arrival, not decayed yet
			for _, m := range []struct {
				name string
				z    float64
			}{{"buy", zBuy}, {"band", zBand}, {"email", zEmail}} {
				if got, want := scoreOf(t, ans, m.name), sigmoid(m.z); !near(got, want, 2e-6) {
					t.Errorf("%s = %v, want σ(%v) = %v", m.name, got, m.z, want)
				}
			}
			if len(ans.Scores) != 3 || ans.Scores[0].Model != "buy" || ans.Scores[2].Model != "email" {
				t.Errorf("scores not in bundle order: %v", ans.Scores)
			}
		})
	}
}

// Explain's drivers are the strongest contributions (weight × feature) to each score.
func TestDrivers(t *testing.T) {
	a := newAgent(t, handBundle())
	step(t, a, T, arrive(wire.ChannelEmail), view(itemID(1), "bags"), addCart(itemID(1), "bags", 100, 2))
	var got []wire.Driver
	for _, d := range a.Explain().Drivers {
		if d.Model == "buy" {
			got = append(got, d)
		}
	}
	// buy: products 1×0.3, adds 1×0.8, value 200×0.01 = 2, email 0.7: the top three are value, adds, email.
	want := []string{"cart_value", "session_cart_adds", "channel_email"}
	if len(got) != 3 {
		t.Fatalf("drivers %v", got)
	}
	for i, d := range got {
		if d.Feature != want[i] {
			t.Fatalf("drivers %v, want features %v", got, want)
		}
	}
	if !near(float64(got[0].Contribution), 2, 1e-5) {
		t.Errorf("cart_value contribution %v, want 2", got[0].Contribution)
	}
}

// Segments: a score band (the persuadable 0.52–0.60), stage predicates, Not, a segment of a
// segment, a feature band, an appetence band and a value band.
func TestSegments(t *testing.T) {
	views := func(n int) []wire.Event {
		evs := []wire.Event{arrive(wire.ChannelDirect)}
		for i := range n {
			evs = append(evs, view(itemID(i), "socks"))
		}
		return evs
	}
	for _, tc := range []struct {
		name string
		evs  []wire.Event
		want []int
	}{
		// band = σ(−0.5 + 0.25·products): 2 → 0.50, 3 → 0.562, 4 → 0.622.
		{"two product views: below the band", views(2), []int{segNonCustomer}},
		{"three product views: in the band", views(3), []int{segPersuadable, segNonCustomer, segPersuadableProspect, segEngaged}},
		{"four product views: above the band", views(4), []int{segNonCustomer, segEngaged}},
		{"customer in the band", append(views(3), buy(10)), []int{segPersuadable, segCustomer, segEngaged}},
		{"shoe lover", []wire.Event{arrive(wire.ChannelDirect), addCart(itemID(0), "shoes", 5, 1)}, []int{segNonCustomer, segShoeLover}},
		{"one shoe view is not enough", []wire.Event{arrive(wire.ChannelDirect), catView("shoes")}, []int{segNonCustomer}},
		{"loyal and alive", []wire.Event{arrive(wire.ChannelDirect), buy(10), buy(10), buy(10)}, []int{segCustomer, segAliveLoyal}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t, handBundle())
			ans := step(t, a, T, tc.evs...)
			var want []string
			for _, s := range tc.want {
				want = append(want, handSegmentNames[s])
			}
			if !slices.Equal(ans.Segments, want) {
				t.Fatalf("segments %v, want %v (band score %v, stage %v)", ans.Segments, want, scoreOf(t, ans, "band"), ans.Stage)
			}
		})
	}
}

// Visitors move between segments as their scores move.
func TestSegmentsMove(t *testing.T) {
	a := newAgent(t, handBundle())
	var path []bool
	step(t, a, T, arrive(wire.ChannelDirect))
	for i := range 5 {
		ans := step(t, a, T+int64(i+1)*sec, view(itemID(i), "socks"))
		path = append(path, hasSegment(ans, "persuadable"))
	}
	if !slices.Equal(path, []bool{false, false, true, false, false}) {
		t.Fatalf("persuadable after 1..5 views: %v", path)
	}
}

func recItems(ans *wire.Answer) []string {
	var out []string
	for _, r := range ans.Recs {
		out = append(out, r.Item)
	}
	return out
}

// Recommendations follow the neighbour table, exclude what was seen this session, is in the cart or
// was bought, and fall back to the popularity list.
func TestRecommendations(t *testing.T) {
	s := itemID
	for _, tc := range []struct {
		name    string
		steps   []at
		maxRecs uint8
		want    []string
	}{
		// Nothing unless asked: a page without recommendations pays nothing for them.
		{"none unless asked", []at{{0, []wire.Event{arrive(wire.ChannelDirect), view(s(0), "shoes")}}}, 0, nil},
		// A new visitor: the popularity list, 11 first.
		{"cold start", []at{{0, []wire.Event{arrive(wire.ChannelDirect)}}}, 6, []string{s(11), s(10), s(9), s(8), s(7), s(6)}},
		{"max recs from the request", []at{{0, []wire.Event{arrive(wire.ChannelDirect)}}}, 3, []string{s(11), s(10), s(9)}},
		// Viewing 0: its neighbours 1, 2, 3 by similarity, then popular items, never 0 itself.
		{"item in view", []at{{0, []wire.Event{arrive(wire.ChannelDirect), view(s(0), "shoes")}}}, 6,
			[]string{s(1), s(2), s(3), s(11), s(10), s(9)}},
		// Seen this session: 0 and 1; candidates from 1 (in view, ×2) and 0 (×0.85): 2 (2·1 + 0.85·0.5),
		// 3 (2·0.5 + 0.85·0.25), 4 (2·0.25).
		{"seen this session", []at{{0, []wire.Event{arrive(wire.ChannelDirect), view(s(0), "shoes"), view(s(1), "bags")}}}, 6,
			[]string{s(2), s(3), s(4), s(11), s(10), s(9)}},
		{"in the cart", []at{{0, []wire.Event{arrive(wire.ChannelDirect), view(s(0), "shoes"), addCart(s(2), "hats", 1, 1)}}}, 4,
			[]string{s(1), s(3), s(4), s(5)}},
		{"bought in an earlier session", []at{{0, []wire.Event{arrive(wire.ChannelDirect), buy(10, wire.Line{Item: s(1)}, wire.Line{Item: s(11)})}},
			{day, []wire.Event{arrive(wire.ChannelDirect), view(s(0), "shoes")}}}, 5,
			[]string{s(2), s(3), s(4), s(10), s(9)}}, // 4 comes from the bought 1 (weight 0.5)
		// Every remembered purchase votes, not only the 8 newest: 0, the oldest of 9, brings 1
		// (0.5·1, plus 0.5·0.25 from 10), 2 (0.5·0.5) and 3 (0.5·0.25); the others' neighbours are
		// all bought.
		{"every remembered purchase votes", []at{{0, []wire.Event{arrive(wire.ChannelDirect), buy(10, wire.Line{Item: s(0)})}},
			{day, []wire.Event{arrive(wire.ChannelDirect), buy(10, wire.Line{Item: s(4)}, wire.Line{Item: s(5)}, wire.Line{Item: s(6)},
				wire.Line{Item: s(7)}, wire.Line{Item: s(8)}, wire.Line{Item: s(9)}, wire.Line{Item: s(10)}, wire.Line{Item: s(11)})}},
			{2 * day, []wire.Event{arrive(wire.ChannelDirect)}}}, 3,
			[]string{s(1), s(2), s(3)}},
		// A purchase stays excluded long after it stops voting: 1, bought before 25 items unknown to
		// the bundle, is still not shown (the profile remembers agent.MaxBought purchases).
		{"an old purchase is still excluded", []at{{0, []wire.Event{arrive(wire.ChannelDirect), buy(10, wire.Line{Item: s(1)})}},
			{day, []wire.Event{arrive(wire.ChannelDirect), buy(10, otherLines(25)...)}},
			{2 * day, []wire.Event{arrive(wire.ChannelDirect), view(s(0), "shoes")}}}, 5,
			[]string{s(2), s(3), s(4), s(11), s(10)}},
		// Item 11 has one neighbour (0) and padding: the rest comes from the popularity list.
		{"padding", []at{{0, []wire.Event{arrive(wire.ChannelDirect), view(s(11), "socks")}}}, 3, []string{s(0), s(10), s(9)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t, handBundle())
			var ans *wire.Answer
			for _, st := range tc.steps {
				var err error
				ans, err = a.Handle(&wire.Request{Now: T + st.dt, Events: st.evs, MaxRecs: tc.maxRecs})
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := recItems(ans); !slices.Equal(got, tc.want) {
				t.Fatalf("recs %v, want %v", got, tc.want)
			}
			for i := 1; i < len(ans.Recs); i++ {
				if ans.Recs[i].Score > ans.Recs[i-1].Score {
					t.Fatalf("recs not best first: %v", ans.Recs)
				}
			}
		})
	}
	// A bundle may make recommendations the default for requests that do not ask.
	b := handBundle()
	b.Settings.MaxRecs = 2
	ans, err := newAgent(t, b).Handle(&wire.Request{Now: T, Events: []wire.Event{arrive(wire.ChannelDirect)}})
	if err != nil || !slices.Equal(recItems(ans), []string{s(11), s(10)}) {
		t.Errorf("bundle default of 2: recs %v (%v)", recItems(ans), err)
	}
}

// otherLines are n order lines of items the bundle does not know.
func otherLines(n int) []wire.Line {
	l := make([]wire.Line, n)
	for i := range l {
		l[i].Item = fmt.Sprintf("other-sku-%02d", i)
	}
	return l
}

// The value model (P(alive), expected purchases and spend) answers for customers only, and its
// numbers are the BG/NBD and Gamma-Gamma formulas of the CDNOW parameters.
func TestCustomerValue(t *testing.T) {
	a := newAgent(t, handBundle())
	if ans := step(t, a, T, arrive(wire.ChannelDirect), view(itemID(1), "bags")); ans.Value != nil {
		t.Fatalf("a prospect has a value: %+v", *ans.Value)
	}
	ans := step(t, a, T+minute, buy(30))
	if ans.Value == nil || ans.Value.Alive != 1 {
		t.Fatalf("after the first order: %+v, want P(alive) 1", ans.Value)
	}
	v := cdnow
	// Without repeat purchases the spend is the customer's own order value.
	if got := float64(ans.Value.Spend); !near(got, 30, 1e-4) {
		t.Errorf("spend %v after one order of 30", got)
	}
	step(t, a, T+3*week, arrive(wire.ChannelDirect), buy(50))
	step(t, a, T+5*week, arrive(wire.ChannelDirect), buy(70))
	ans = step(t, a, T+9*week, arrive(wire.ChannelDirect))
	// Measured from the first order, one minute after T; the customer's age in whole days (62).
	x, tx, Tw := 2.0, 5.0-1.0/(7*24*60), 62.0/7
	alive := 1 / (1 + v.A/(v.B+x-1)*math.Pow((v.Alpha+Tw)/(v.Alpha+tx), v.R+x))
	mbar := (30 + 50 + 70) / 3.0
	spend := v.P * (v.Gamma + x*mbar) / (v.P*x + v.Q - 1)
	purchases := v.ConditionalExpected(v.Horizon, x, tx, Tw)
	got := ans.Value
	if got == nil {
		t.Fatal("no value for a customer")
	}
	if !near(float64(got.Alive), alive, 1e-5) {
		t.Errorf("P(alive) %v, want %v", got.Alive, alive)
	}
	if !near(float64(got.Spend), spend, 1e-3) {
		t.Errorf("spend %v, want %v", got.Spend, spend)
	}
	if !near(float64(got.Purchases), purchases, 1e-5) || !(purchases > 0) {
		t.Errorf("expected purchases %v, want %v", got.Purchases, purchases)
	}
	if !near(float64(got.Value), purchases*spend, 1e-3) {
		t.Errorf("value %v, want %v", got.Value, purchases*spend)
	}
	// The value is kept for the day's next events, and follows the next day and the next order; a
	// kept value is the value a fresh agent computes.
	kept := *got // the answer is the agent's, overwritten by the next step (62 days of age until T+9 weeks+1 minute)
	later := step(t, a, T+9*week+minute/2, view(itemID(1), "bags")).Value
	if *later != kept {
		t.Errorf("later the same day: %+v, want %+v", *later, kept)
	}
	fresh := newAgent(t, handBundle())
	if err := fresh.LoadProfile(a.SaveProfile(nil), 1); err != nil {
		t.Fatal(err)
	}
	if v := step(t, fresh, T+9*week+minute/2, view(itemID(1), "bags")).Value; *v != kept {
		t.Errorf("a fresh agent the same day: %+v, want %+v", *v, kept)
	}
	if next := step(t, a, T+9*week+day, view(itemID(1), "bags")).Value; next.Alive >= kept.Alive || next.Purchases >= kept.Purchases {
		t.Errorf("a day later: %+v, want P(alive) and purchases below %+v", *next, kept)
	}
	if bought := step(t, a, T+9*week+day+minute, buy(90)).Value; !(bought.Alive > kept.Alive) || bought.Spend == kept.Spend {
		t.Errorf("after an order: %+v, want P(alive) above and another spend than %+v", *bought, kept)
	}
	// Without a value model, no value at all.
	a2 := newAgent(t, handBundle(withoutValue))
	if ans := step(t, a2, T, arrive(wire.ChannelDirect), buy(10), buy(20)); ans.Value != nil {
		t.Fatalf("value without a value model: %+v", *ans.Value)
	}
}

// Appetence: the category the visitor likes comes first, with the model's probability.
func TestAppetence(t *testing.T) {
	a := newAgent(t, handBundle())
	if ans := step(t, a, T, arrive(wire.ChannelDirect)); len(ans.Appetence) != 0 {
		t.Fatalf("appetence without affinities: %v", ans.Appetence)
	}
	ans := step(t, a, T+sec, addCart(itemID(2), "hats", 5, 1), catView("hats"))
	if len(ans.Appetence) != 2 { // Top = 2
		t.Fatalf("appetence %v, want the top 2", ans.Appetence)
	}
	if ans.Appetence[0].Category != "hats" || !near(float64(ans.Appetence[0].Value), handAppetenceOf(2.5), 1e-4) {
		t.Errorf("first %+v, want hats at %v", ans.Appetence[0], handAppetenceOf(2.5))
	}
	if ans.Appetence[1].Category != "shoes" || !near(float64(ans.Appetence[1].Value), handAppetenceOf(0), 1e-4) {
		t.Errorf("second %+v, want shoes (lowest index of the rest) at σ(−1)", ans.Appetence[1])
	}
	// Without an appetence model: nothing, and the rest still works.
	a2 := newAgent(t, handBundle(func(b *models.Bundle) {
		b.Appetence = nil
		b.Segments[segShoeLover].When = []models.Predicate{{Kind: models.PredStage, Stages: 1}}
	}))
	if ans := step(t, a2, T, arrive(wire.ChannelDirect), addCart(itemID(2), "hats", 5, 1)); len(ans.Appetence) != 0 || len(ans.Scores) != 3 {
		t.Fatalf("without appetence: %v, %v", ans.Appetence, ans.Scores)
	}
}
