package jsbridge_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/minicbor"
)

// answer is presage.state: the last answer of the module, as presage.js publishes it.
type answer struct {
	Stage     string                  `json:"stage"`
	Prev      string                  `json:"prev"`
	Scores    map[string]float64      `json:"scores"`
	Segments  []string                `json:"segments"`
	Recs      []struct{ Item string } `json:"recs"`
	Decisions []decision              `json:"decisions"`
	Session   int                     `json:"session"`
}

type decision struct {
	Slot, Campaign, Variant, Content string
	Holdout                          bool
}

// record subscribes to presage.js's events on the current page; what happened before the
// subscription is replayed by presage.on, so this may run after the page's first answer.
const record = `(() => { window.seen = {decision: [], segment: [], lifecycle: [], scores: [], moment: []};
  for (const k in seen) presage.on(k, d => seen[k].push(d)); return true })()`

// storedProfile reads and decodes what presage.js keeps in localStorage.
func storedProfile(t *testing.T, tb *tab) (agent.Profile, bool) {
	t.Helper()
	raw := eval[string](tb, `localStorage.getItem('presage:shop-1') || ''`)
	if raw == "" {
		return agent.Profile{}, false
	}
	var st struct {
		P string `json:"p"`
	}
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		t.Fatalf("stored value %q: %v", raw, err)
	}
	b, err := base64.StdEncoding.DecodeString(st.P)
	if err != nil {
		t.Fatal(err)
	}
	var p agent.Profile
	if err := minicbor.Unmarshal(b, &p, minicbor.DefaultLimits); err != nil {
		t.Fatalf("stored profile does not decode: %v", err)
	}
	return p, true
}

// TestBrowserVisit drives a whole visit in Chromium as a visitor would: arrival from a brand search,
// a category, two products, add to cart (a marked button), cart, checkout (the API), purchase (the
// dataLayer on the confirmation page), then away. It checks what the module captured, how scores,
// segments and stage moved, that slots show the decided variants, that recommendations leave out
// what was bought, what the learning endpoint received, and that nothing went to another origin.
func TestBrowserVisit(t *testing.T) {
	s := newShop(t)
	f := s.f
	tb := openTab(t, "")

	home := f.item(2)
	products := f.itemsIn(home.Category)
	if len(products) < 2 {
		t.Fatalf("category %s has %d items", home.Category, len(products))
	}
	bought := products[1]

	// Home, arriving from a search for the brand ("presage" is a brand word of the corpus bundle).
	// The referrer is http: a browser sends no referrer from https to an http page (the test
	// server), and the search words come from utm_term, as a browser never sees them otherwise.
	tb.navigate(s.url("/?utm_term=presage+running+shoes"), "http://www.google.com/")
	tb.waitDecided()
	logTiming(t, tb, "home")
	eval[bool](tb, record)
	first := eval[answer](tb, `presage.state`)
	// The visitor accepts full consent in the site's consent banner.
	eval[answer](tb, `presage.consent('full')`)
	p, ok := storedProfile(t, tb)
	if !ok {
		t.Fatal("no profile stored after the first page")
	}
	if p.Session == nil || wire.Channel(p.Session.Channel) != wire.ChannelBrandSearch || wire.Device(p.Session.Device) != wire.DeviceDesktop {
		t.Errorf("session %+v: want a brand-search arrival on a desktop", p.Session)
	}
	if p.Consent != uint8(wire.ConsentFull) {
		t.Errorf("profile consent %d, want full", p.Consent)
	}
	checkSlots(t, tb, "home")
	tb.screenshot("1-home")
	t.Logf("home: stage %s, segments %v, scores %v, decisions %+v", first.Stage, first.Segments, first.Scores, first.Decisions)

	var decided [][]decision // the decisions of every page, for the learning check
	pageDecisions := func() []decision {
		d := eval[[]decision](tb, `seen.decision`)
		decided = append(decided, d)
		return d
	}
	pageDecisions()

	// Category, then two products, following links as a visitor does.
	tb.click("#cat", true)
	tb.waitDecided()
	eval[bool](tb, record)
	pageDecisions()
	tb.click(fmt.Sprintf(`a[href="/p/%s"]`, products[0].ID), true)
	tb.waitDecided()
	eval[bool](tb, record)
	pageDecisions()
	time.Sleep(1200 * time.Millisecond) // the visitor reads: the next page view reports the dwell
	tb.click(fmt.Sprintf(`a[href="/p/%s"]`, bought.ID), true)
	tb.waitDecided()
	eval[bool](tb, record)
	pageDecisions()
	before := eval[answer](tb, `presage.state`)
	if p, _ := storedProfile(t, tb); p.Session == nil || p.Session.Dwell[wire.PageProduct] < 1 || p.Session.Products != 2 || p.Session.Categories != 1 {
		t.Errorf("session %+v: want 2 product views, 1 category view and a dwell of ≥ 1 s on a product page", p.Session)
	}

	// Add to cart with the marked button: presage.js reads the product from the page's markup.
	tb.click("#add", false)
	tb.wait(`seen.scores.length >= 2`)
	afterCart := eval[answer](tb, `presage.state`)
	if afterCart.Scores["buy_session"] <= before.Scores["buy_session"] {
		t.Errorf("buy_session %.4f after adding to cart, was %.4f: want it up", afterCart.Scores["buy_session"], before.Scores["buy_session"])
	}
	t.Logf("add to cart: buy_session %.4f → %.4f, segments %v → %v", before.Scores["buy_session"], afterCart.Scores["buy_session"], before.Segments, afterCart.Segments)
	if slices.Equal(afterCart.Segments, before.Segments) {
		t.Errorf("segments %v unchanged by adding to cart", afterCart.Segments)
	} else {
		type change struct{ Segments, Entered, Left []string }
		got := eval[[]change](tb, `seen.segment`)
		last := got[len(got)-1]
		var entered []string
		for _, sg := range afterCart.Segments {
			if !slices.Contains(before.Segments, sg) {
				entered = append(entered, sg)
			}
		}
		if !slices.Equal(last.Segments, afterCart.Segments) || !slices.Equal(last.Entered, entered) {
			t.Errorf("segment event %+v, want segments %v entered %v", last, afterCart.Segments, entered)
		}
	}

	tb.click("#cart", true)
	tb.waitDecided()
	eval[bool](tb, record)
	pageDecisions()
	tb.click("#checkout", true)
	tb.waitDecided()
	eval[bool](tb, record)
	pageDecisions()
	eval[answer](tb, `presage.track('begin_checkout')`)

	// Purchase: the confirmation page's dataLayer holds the order before the tag runs.
	value := 2 * bought.Price
	order := fmt.Sprintf(`{event: 'purchase', ecommerce: {transaction_id: 'T-1001', currency: 'EUR', value: %g, items: [{item_id: '%s', item_category: '%s', price: %g, quantity: 2}]}}`,
		value, bought.ID, bought.Category, bought.Price)
	tb.navigate(s.url("/thanks?order="+urlQueryEscape(order)), "")
	tb.waitDecided()
	eval[bool](tb, record)
	thanks := eval[answer](tb, `presage.state`)
	pageDecisions()
	if thanks.Stage != "new" || thanks.Prev != "prospect" {
		t.Errorf("after the purchase: stage %s (was %s), want new (was prospect)", thanks.Stage, thanks.Prev)
	}
	if life := eval[[]map[string]string](tb, `seen.lifecycle`); len(life) != 1 || life[0]["stage"] != "new" {
		t.Errorf("lifecycle events %v, want one to new", life)
	}
	// The first order is a key moment: to the page's listeners and to its dataLayer.
	if m := eval[[]map[string]string](tb, `seen.moment`); len(m) != 1 || m[0]["moment"] != "first_purchase" || m[0]["channel"] == "" {
		t.Errorf("moment events %v, want the first purchase", m)
	}
	if n := eval[int](tb, `dataLayer.filter(e => e.event == 'presage_moment' && e.moment == 'first_purchase').length`); n != 1 {
		t.Errorf("%d first-purchase moments in the dataLayer, want 1", n)
	}
	if maps(thanks.Scores, first.Scores) {
		t.Errorf("scores unchanged over the visit: %v", thanks.Scores)
	}
	t.Logf("after the purchase: stage %s, segments %v, scores %v", thanks.Stage, thanks.Segments, thanks.Scores)
	if p, _ := storedProfile(t, tb); p.Orders != 1 || math.Abs(p.Revenue-value) > 1e-9 || p.Visits != 1 {
		t.Errorf("profile: %d orders, revenue %g, %d visits; want 1, %g, 1", p.Orders, p.Revenue, p.Visits, value)
	}

	// Why this offer: the campaigns considered for each slot of this page, with their checks.
	why := eval[struct {
		Slots []struct {
			Slot, Campaign string
			Chosen         bool
			Checks         []struct{ Kind string }
		}
	}](tb, `presage.explain()`)
	if len(why.Slots) == 0 || len(why.Slots[0].Checks) == 0 || why.Slots[0].Checks[0].Kind == "" {
		t.Errorf("explain: %+v, want the campaigns considered with their checks", why)
	}
	// Recommendations leave out what was bought: the carousel of this page, and the API.
	recs := eval[[]struct{ Item string }](tb, `presage.recommend('carousel', 20)`)
	shown := eval[[]string](tb, `[...document.querySelectorAll('#carousel [data-presage-items] a')].map(a => a.dataset.presageProduct)`)
	if len(recs) == 0 || len(shown) == 0 {
		t.Errorf("no recommendations (api %d, carousel %d)", len(recs), len(shown))
	}
	for _, r := range recs {
		if r.Item == bought.ID {
			t.Errorf("recommend() offers %s, which was just bought", bought.ID)
		}
	}
	if slices.Contains(shown, bought.ID) {
		t.Errorf("the carousel shows %s, which was just bought: %v", bought.ID, shown)
	}
	checkSlots(t, tb, "thanks")
	tb.screenshot("2-thanks")

	// Leave: the learning batch goes out on pagehide.
	tb.click("#bye", true)
	deadline := time.Now().Add(5 * time.Second)
	for len(s.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	checkBatches(t, s, decided, value, []string{bought.ID, "T-1001", "visitor-secret-4711", "running"})

	// Only the shop's own origin was ever asked for anything.
	for _, u := range tb.requestsSeen() {
		if !strings.HasPrefix(u, s.url("/")) {
			t.Errorf("request to another origin: %s", u)
		}
	}
	if lines := tb.consoleLines(); len(lines) > 0 {
		t.Errorf("console: %v", lines)
	}
}

// logTiming logs presage.js's marks: from the tag's execution to the module's readiness and to the
// page's decisions.
func logTiming(t *testing.T, tb *tab, page string) {
	t.Helper()
	m := eval[map[string]float64](tb, `Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name, m.startTime]))`)
	t.Logf("%s: tag at %.0f ms, module ready +%.1f ms, decided +%.1f ms", page, m["presage:start"],
		m["presage:module"]-m["presage:start"], m["presage:decided"]-m["presage:start"])
}

func maps(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func urlQueryEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "#", "%23", " ", "%20", "'", "%27", "{", "%7B", "}", "%7D")
	return r.Replace(s)
}

// checkSlots checks that every slot shows what its decision says: the variant's content for a
// campaign, the default template otherwise.
func checkSlots(t *testing.T, tb *tab, page string) {
	t.Helper()
	type slot struct {
		Slot, Campaign, Variant, Text string
		Ready                         bool
	}
	got := eval[[]slot](tb, `[...document.querySelectorAll('[data-presage-slot]')].map(e => ({slot: e.dataset.presageSlot,
		campaign: e.dataset.presageCampaign || '', variant: e.dataset.presageVariant || '', text: e.textContent.trim(), ready: e.hasAttribute('data-presage-ready')}))`)
	decisions := eval[[]decision](tb, `seen.decision`)
	for _, s := range got {
		var d *decision
		for i := range decisions {
			if decisions[i].Slot == s.Slot {
				d = &decisions[i]
			}
		}
		switch {
		case !s.Ready:
			t.Errorf("%s: slot %s not rendered", page, s.Slot)
		case d == nil:
			t.Errorf("%s: slot %s has no decision", page, s.Slot)
		case d.Campaign != "" && !d.Holdout:
			if s.Campaign != d.Campaign || s.Variant != d.Variant || !strings.Contains(s.Text, d.Content) {
				t.Errorf("%s: slot %s shows %s/%s %q; decided %s/%s %q", page, s.Slot, s.Campaign, s.Variant, s.Text, d.Campaign, d.Variant, d.Content)
			}
		default:
			if s.Campaign != "" || strings.Contains(s.Text, "/") {
				t.Errorf("%s: slot %s shows %s/%s %q with no campaign decided (%+v)", page, s.Slot, s.Campaign, s.Variant, s.Text, *d)
			}
		}
	}
	t.Logf("%s slots: %+v", page, got)
}

// checkBatches checks what reached the learning endpoint: well-formed batches (strict decoding,
// as the server decodes them), with the aggregates the visit made, and nothing that identifies the
// visitor, their order or the page.
func checkBatches(t *testing.T, s *shop, pages [][]decision, value float64, secrets []string) {
	t.Helper()
	got := s.received()
	if len(got) == 0 {
		t.Fatal("no learning batch reached the endpoint")
	}
	var exposures, conversions uint32
	var revenue float64
	ids := map[string]bool{}
	for i, b := range got {
		for _, h := range []string{"Cookie", "Referer", "Authorization"} {
			if v := b.Header.Get(h); v != "" {
				t.Errorf("batch %d carries %s: %q", i, h, v)
			}
		}
		for _, secret := range secrets {
			if bytes.Contains(b.Body, []byte(secret)) {
				t.Errorf("batch %d contains %q", i, secret)
			}
		}
		var bt wire.Batch
		if err := cborx.DecMode.Unmarshal(b.Body, &bt); err != nil {
			t.Errorf("batch %d does not decode strictly: %v (%x)", i, err, b.Body)
			continue
		}
		if again, err := cborx.EncMode.Marshal(&bt); err != nil || !bytes.Equal(again, b.Body) {
			t.Errorf("batch %d is not in the canonical form Go writes", i)
		}
		if len(bt.ID) != 16 || ids[string(bt.ID)] {
			t.Errorf("batch %d: id %x, want 16 random bytes, new for each batch", i, bt.ID)
		}
		ids[string(bt.ID)] = true
		if bt.Site != s.f.bundle.Site || bt.Bundle != s.f.bundle.Version {
			t.Errorf("batch %d: site %q bundle %d", i, bt.Site, bt.Bundle)
		}
		for _, c := range bt.Cells {
			exposures += c.Exposures
			conversions += c.Conversions
			revenue += c.Revenue
		}
		t.Logf("batch %d: %d bytes, %+v", i, len(b.Body), bt)
	}
	// Exposures are learned while consent is full: on every page after the first (the visitor
	// accepted on the first page, after its decisions), and on the first too when the bundle's
	// default is full. The order credits each campaign decided before it, not those of the
	// confirmation page, decided after the order in the same call.
	st := s.f.bundle.Settings
	defaultFull := st != nil && wire.Consent(st.DefaultConsent) == wire.ConsentFull
	var wantExp uint32
	campaigns := map[string]bool{}
	for i, page := range pages {
		for _, d := range page {
			if d.Campaign == "" {
				continue
			}
			if i > 0 || defaultFull {
				wantExp++
			}
			if i < len(pages)-1 {
				campaigns[d.Campaign] = true
			}
		}
	}
	if exposures != wantExp {
		t.Errorf("batches count %d exposures, the pages decided %d campaigns with full consent", exposures, wantExp)
	}
	if conversions != uint32(len(campaigns)) || math.Abs(revenue-value*float64(len(campaigns))) > 1e-6 {
		t.Errorf("batches count %d conversions worth %g; want %d (campaigns decided before the order) × %g", conversions, revenue, len(campaigns), value)
	}
}

// TestBrowserLearningTimer: a page that stays open sends its learning on a timer too, not only when
// the visitor leaves.
func TestBrowserLearningTimer(t *testing.T) {
	s := newShop(t)
	s.Tag += ` data-interval="400" data-consent="full"`
	tb := openTab(t, "")
	tb.navigate(s.url("/"), "")
	tb.waitDecided()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.received()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := s.received()
	if len(got) == 0 {
		t.Fatal("no batch sent while the page stayed open")
	}
	var bt wire.Batch
	if err := cborx.DecMode.Unmarshal(got[0].Body, &bt); err != nil || len(bt.Cells) == 0 {
		t.Errorf("batch %x: %v, %d cells; want the page's exposures", got[0].Body, err, len(bt.Cells))
	}
	if eval[string](tb, `location.pathname`) != "/" {
		t.Error("the page moved")
	}
}
