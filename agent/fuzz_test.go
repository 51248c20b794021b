package agent_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
)

// The fuzz targets run on the demo bundle with a returning visitor's profile loaded: the state a
// production instance is in. Their seed corpora live in testdata/fuzz/<Name>/ and are rewritten by
//
//	go test ./agent -run '^TestWriteFuzzCorpus$' -args -update-fuzz-corpus

var updateCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite the seed corpora in testdata/fuzz")

var (
	fuzzOnce    sync.Once
	fuzzProfile []byte // a heavy returning visitor on the demo bundle
	fuzzEnd     int64  // the time of its last event
)

// fuzzFixture returns the demo bundle and the saved profile of a heavy returning visitor.
func fuzzFixture(t testing.TB) (*models.Bundle, []byte, int64) {
	t.Helper()
	b := demoBundle(t)
	fuzzOnce.Do(func() {
		a := newAgent(t, b)
		fuzzEnd = runHeavyVisitor(t, a, b, t0)
		fuzzProfile = a.SaveProfile(nil)
	})
	return b, fuzzProfile, fuzzEnd
}

// fuzzAgent is a fresh agent serving the demo bundle with the returning visitor loaded.
func fuzzAgent(t testing.TB) *agent.Agent {
	t.Helper()
	b, profile, _ := fuzzFixture(t)
	a := agent.New()
	if err := a.SetBundle(b, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.LoadProfile(profile, 1); err != nil {
		t.Fatal(err)
	}
	return a
}

// replyOf decodes a reply and fails on CodeInternal: a recovered panic is a bug.
func replyOf(t *testing.T, out []byte) *wire.Reply {
	t.Helper()
	var r wire.Reply
	if err := minicbor.Unmarshal(out, &r, minicbor.DefaultLimits); err != nil {
		t.Fatalf("reply does not decode: %v", err)
	}
	if r.Err != nil && r.Err.Code == wire.CodeInternal {
		t.Fatalf("internal error (a recovered panic): %s", r.Err.Message)
	}
	if results(&r) > 1 {
		t.Fatalf("reply with %d results", results(&r))
	}
	return &r
}

// stillServes checks that the agent answers a valid request with finite numbers.
func stillServes(t *testing.T, a *agent.Agent, now int64) {
	t.Helper()
	b := a.Bundle()
	req := wire.Request{Now: now, Seed: 1, Slots: slotsOf(b), Events: []wire.Event{pv(wire.PageProduct), view(b.Items[0], b.Categories[0])}}
	r := replyOf(t, a.Call(wire.OpHandle, enc(&req), nil))
	if r.Err != nil {
		t.Fatalf("a valid request is refused afterwards: %v", r.Err)
	}
	if err := answerFinite(r.Answer); err != nil {
		t.Fatal(err)
	}
	if err := vectorFinite(a.Features()); err != nil {
		t.Fatal(err)
	}
}

// FuzzCall: any operation on any bytes gives a reply, never a panic nor an internal error, and the
// agent keeps serving.
func FuzzCall(f *testing.F) {
	_, _, end := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, op byte, in []byte) {
		a := fuzzAgent(t)
		o := wire.Op(op % 10) // 0 and 9 are unknown operations
		r := replyOf(t, a.Call(o, in, nil))
		if r.Err == nil && !o.Valid() {
			t.Fatalf("unknown operation %d succeeded", o)
		}
		stillServes(t, a, end+minute)
		// Every other operation still answers on the state the call left.
		for _, op := range []wire.Op{wire.OpInfo, wire.OpSaveProfile, wire.OpExplain} {
			if r := replyOf(t, a.Call(op, nil, nil)); r.Err != nil {
				t.Fatalf("op %d: %v", op, r.Err)
			}
		}
	})
}

// FuzzLoadProfile: any bytes as a saved profile are read or refused with ErrBadProfile (a fresh
// profile started), never a panic nor an internal error; the agent keeps answering, and what it
// saves afterwards loads back to the same bytes.
func FuzzLoadProfile(f *testing.F) {
	_, _, end := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		a := fuzzAgent(t)
		if err := a.LoadProfile(data, 2); err != nil {
			if !errors.Is(err, agent.ErrBadProfile) {
				t.Fatalf("LoadProfile: %v, want ErrBadProfile", err)
			}
			if p := a.Profile(); p.Visits != 0 || p.Orders != 0 || p.Visitor == 0 {
				t.Fatalf("refused profile, but not a fresh one: %+v", p)
			}
		}
		stillServes(t, a, end+minute)
		if a.Persistent() {
			saved := a.SaveProfile(nil)
			a2 := fuzzAgent(t)
			if err := a2.LoadProfile(saved, 3); err != nil {
				t.Fatalf("the profile the agent saved does not load: %v", err)
			}
			if again := a2.SaveProfile(nil); string(again) != string(saved) {
				t.Fatalf("save → load → save changes the bytes")
			}
		}
		// The same bytes through the ABI.
		a3 := fuzzAgent(t)
		replyOf(t, a3.Call(wire.OpLoadProfile, enc(&wire.Request{Now: end, Seed: 4, Profile: data}), nil))
		stillServes(t, a3, end+minute)
	})
}

// FuzzHandleEvents: random but valid event streams keep every invariant: each request is accepted,
// every number is finite, the saved profile fits 4 KB and round-trips, and the decisions respect
// the frequency caps, the minimum gap and the pressure budget, by an independent count.
func FuzzHandleEvents(f *testing.F) {
	fuzzFixture(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, profile, end := fuzzFixture(t)
		a := agent.New()
		if err := a.SetBundle(b, 0); err != nil {
			t.Fatal(err)
		}
		g := &gen{data: data, b: b}
		now := end + hour
		if g.next()%2 == 0 {
			now = t0
			a.Start(nil, 1) // a new visitor
		} else if err := a.LoadProfile(profile, 1); err != nil {
			t.Fatal(err)
		}
		tr := newCapTracker(b)
		last := a.Profile().Last // the agent's clock: it never goes back
		for n := 0; n < 48 && !g.done(); n++ {
			req := g.request(&now)
			ans, err := a.Handle(&req)
			if err != nil {
				t.Fatalf("request %d refused: %v\n%+v", n, err, req)
			}
			if err := answerFinite(ans); err != nil {
				t.Fatalf("request %d: %v", n, err)
			}
			if err := vectorFinite(a.Features()); err != nil {
				t.Fatalf("request %d: %v", n, err)
			}
			last = max(last, req.Now)
			if err := tr.check(ans, last); err != nil {
				t.Fatalf("request %d at +%ds: %v\nprofile exposures %+v", n, (last-end)/sec, err, a.Profile().Exposures)
			}
			if err := checkExplain(b, req.Slots, ans, a.Explain()); err != nil {
				t.Fatalf("request %d: %v", n, err)
			}
			if !a.Persistent() {
				if len(a.SaveProfile(nil)) != 0 {
					t.Fatal("a profile is saved without consent")
				}
				continue
			}
			saved := a.SaveProfile(nil)
			if len(saved) > maxCookie {
				t.Fatalf("request %d: saved profile of %d bytes", n, len(saved))
			}
			if n%8 == 7 { // a round trip now and then: the agent continues from its cookie
				a2 := agent.New()
				if err := a2.SetBundle(b, 0); err != nil {
					t.Fatal(err)
				}
				if err := a2.LoadProfile(saved, 9); err != nil {
					t.Fatalf("request %d: the saved profile does not load: %v", n, err)
				}
				if string(a2.SaveProfile(nil)) != string(saved) {
					t.Fatalf("request %d: round trip changes the profile", n)
				}
				a = a2
			}
		}
		for _, c := range a.Drain(last, 5).Cells {
			if c.Revenue != c.Revenue || c.Revenue < 0 || math.IsInf(c.Revenue, 0) {
				t.Fatalf("drained cell %+v", c)
			}
		}
	})
}

// gen turns fuzz bytes into valid requests: every choice is a byte read from data (0 once it is
// used up), so the same bytes give the same stream.
type gen struct {
	data []byte
	pos  int
	b    *models.Bundle
}

func (g *gen) done() bool { return g.pos >= len(g.data) }

func (g *gen) next() int {
	if g.pos >= len(g.data) {
		return 0
	}
	g.pos++
	return int(g.data[g.pos-1])
}

func pick[T any](g *gen, xs []T) T { return xs[g.next()%len(xs)] }

var (
	genDelays  = []int64{0, sec, 20 * sec, 5 * minute, 29 * minute, 31 * minute, day, 8 * day, 100 * day, -10 * minute}
	genTZ      = []int16{0, 60, -300, 330, 840, -840}
	genValues  = []float64{0, 1, 19.99, 250, 1e9, 0.01}
	genQty     = []uint32{0, 1, 2, 10000}
	genRefs    = []string{"", "www.google.com", "t.co", "blog.example.org", "WWW.FACEBOOK.COM", "mail.google.com"}
	genMedia   = []string{"", "email", "cpc", "social", "display", "referral"}
	genTerms   = []string{"", "presage", "demoshop shoes", "cheap shoes"}
	genDwell   = []uint32{0, 999, 5000, 60000, 4000000000}
	genConsent = []wire.Consent{wire.ConsentUnset, wire.ConsentFull, wire.ConsentLocal, wire.ConsentFull, wire.ConsentDenied}
)

func (g *gen) item() string {
	if n := g.next(); n < 240 {
		return g.b.Items[n*7%len(g.b.Items)]
	}
	return "unknown-item-" + strconv.Itoa(g.next())
}

func (g *gen) category() string {
	if n := g.next(); n < 240 {
		return g.b.Categories[n%len(g.b.Categories)]
	}
	return "unknown-category-" + strconv.Itoa(g.next())
}

func (g *gen) event() wire.Event {
	e := wire.Event{Type: wire.EventType(1 + g.next()%12)}
	switch e.Type {
	case wire.EventPageView:
		e.Page, e.DwellMs, e.Device = wire.PageType(g.next()%wire.NumPageTypes), pick(g, genDwell), wire.Device(g.next()%wire.NumDevices)
	case wire.EventProductView:
		e.Item, e.Category, e.Value = g.item(), g.category(), pick(g, genValues)
	case wire.EventCategoryView:
		e.Category = g.category()
	case wire.EventSearch:
		e.Query = pick(g, genTerms)
	case wire.EventAddToCart:
		e.Item, e.Category, e.Value, e.Quantity = g.item(), g.category(), pick(g, genValues), pick(g, genQty)
	case wire.EventRemoveFromCart:
		e.Item = g.item()
	case wire.EventPurchase:
		e.Value = pick(g, genValues)
		for range g.next() % 4 {
			e.Lines = append(e.Lines, wire.Line{Item: g.item(), Category: g.category(), Price: pick(g, genValues), Quantity: pick(g, genQty)})
		}
	case wire.EventArrival:
		e.Channel, e.Device = wire.Channel(g.next()%wire.NumChannels), wire.Device(g.next()%wire.NumDevices)
		e.Referrer, e.Medium, e.Term = pick(g, genRefs), pick(g, genMedia), pick(g, genTerms)
	case wire.EventConsent:
		e.Consent = pick(g, genConsent)
	case wire.EventClick:
		e.Campaign, e.Variant = "home-banner", "new-season"
	}
	return e
}

// request builds the next request and advances *now (the host's clock, which may go back).
func (g *gen) request(now *int64) wire.Request {
	*now += pick(g, genDelays)
	req := wire.Request{Now: *now, Seed: uint64(g.pos), TZ: pick(g, genTZ), MaxRecs: uint8(g.next() % 12)}
	for range g.next() % 6 {
		req.Events = append(req.Events, g.event())
	}
	slots := slotsOf(g.b)
	mask := g.next()
	for i, s := range slots {
		if mask&(1<<i) != 0 {
			req.Slots = append(req.Slots, s)
		}
	}
	return req
}

// capTracker counts shown decisions independently of the agent and checks them against the
// bundle's caps and pressure budget.
type capTracker struct {
	b        *models.Bundle
	campaign map[string]*models.Campaign
	counts   map[string]int // campaign/kind/period → shown
	last     map[string]int64
}

func newCapTracker(b *models.Bundle) *capTracker {
	tr := &capTracker{b: b, campaign: map[string]*models.Campaign{}, counts: map[string]int{}, last: map[string]int64{}}
	for i := range b.Campaigns {
		tr.campaign[b.Campaigns[i].ID] = &b.Campaigns[i]
	}
	return tr
}

func (tr *capTracker) check(ans *wire.Answer, now int64) error {
	dayN, weekN := floorDiv(now, day), floorDiv(now, week)
	for _, d := range ans.Decisions {
		if d.Campaign == "" || d.Holdout {
			continue
		}
		c := tr.campaign[d.Campaign]
		if c == nil {
			return fmt.Errorf("unknown campaign %q decided", d.Campaign)
		}
		if c.Slot != d.Slot {
			return fmt.Errorf("campaign %s of slot %s shown in slot %s", c.ID, c.Slot, d.Slot)
		}
		if c.Start != 0 && now/1000 < c.Start || c.End != 0 && now/1000 >= c.End {
			return fmt.Errorf("campaign %s shown out of its schedule", c.ID)
		}
		if caps := c.Caps; caps != nil {
			if l, ok := tr.last[c.ID]; ok && caps.MinGapSec > 0 && now-l < int64(caps.MinGapSec)*1000 {
				return fmt.Errorf("campaign %s shown %d s after the last time, minimum gap %d s", c.ID, (now-l)/1000, caps.MinGapSec)
			}
			for _, k := range []struct {
				kind   string
				period int64
				cap    uint16
			}{{"session", int64(ans.Session), caps.PerSession}, {"day", dayN, caps.PerDay}, {"week", weekN, caps.PerWeek}} {
				key := fmt.Sprint(c.ID, "/", k.kind, "/", k.period)
				tr.counts[key]++
				if k.cap > 0 && tr.counts[key] > int(k.cap) {
					return fmt.Errorf("campaign %s shown %d times in one %s, cap %d", c.ID, tr.counts[key], k.kind, k.cap)
				}
			}
		}
		tr.last[c.ID] = now
		if pr := tr.b.Pressure; pr != nil {
			for _, k := range []struct {
				kind   string
				period int64
				cap    uint16
			}{{"session", int64(ans.Session), pr.PerSession}, {"day", dayN, pr.PerDay}} {
				key := fmt.Sprint("pressure/", k.kind, "/", k.period)
				tr.counts[key]++
				if k.cap > 0 && tr.counts[key] > int(k.cap) {
					return fmt.Errorf("%d campaigns shown in one %s, pressure budget %d", tr.counts[key], k.kind, k.cap)
				}
			}
		}
	}
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// TestWriteFuzzCorpus writes the seed corpora (valid requests of every operation, valid profiles,
// edge cases) when run with -update-fuzz-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-fuzz-corpus to rewrite testdata/fuzz")
	}
	b, profile, end := fuzzFixture(t)
	item, cat := b.Items[3], b.Categories[b.ItemCategory[3]]
	newer := handBundle(func(hb *models.Bundle) { hb.Version = b.Version + 1 })
	handle := func(evs ...wire.Event) []byte {
		return enc(&wire.Request{Now: end + minute, Seed: 7, TZ: 60, Slots: slotsOf(b), Events: evs})
	}
	call := map[string][2]any{
		"info":              {wire.OpInfo, []byte{}},
		"load-bundle":       {wire.OpLoadBundle, envelope(newer)},
		"load-bundle-stale": {wire.OpLoadBundle, envelope(handBundle())},
		"load-profile":      {wire.OpLoadProfile, enc(&wire.Request{Now: end, Seed: 3, Profile: profile})},
		"load-profile-new":  {wire.OpLoadProfile, enc(&wire.Request{Now: end, Seed: 3})},
		"save-profile":      {wire.OpSaveProfile, []byte{}},
		"handle-arrival": {wire.OpHandle, handle(wire.Event{Type: wire.EventArrival, Referrer: "www.google.com", Term: "presage shoes", Device: wire.DeviceMobile},
			pv(wire.PageHome))},
		"handle-product": {wire.OpHandle, handle(pvDwell(wire.PageProduct, 15000), view(item, cat))},
		"handle-cart":    {wire.OpHandle, handle(addCart(item, cat, 25, 2), removeCart(b.Items[4]), wire.Event{Type: wire.EventCheckout})},
		"handle-purchase": {wire.OpHandle, handle(buy(0, wire.Line{Item: item, Category: cat, Price: 25, Quantity: 2},
			wire.Line{Item: b.Items[5], Price: 9.5}))},
		"handle-consent": {wire.OpHandle, handle(consent(wire.ConsentDenied))},
		"handle-signup":  {wire.OpHandle, handle(signUp(), wire.Event{Type: wire.EventSearch, Query: "boots"}, wire.Event{Type: wire.EventClick, Campaign: "carousel"})},
		"handle-empty":   {wire.OpHandle, enc(&wire.Request{Now: end})},
		"handle-bad":     {wire.OpHandle, enc(&wire.Request{Now: end, Events: []wire.Event{{Type: 99}}})},
		"drain":          {wire.OpDrain, enc(&wire.Request{Now: end, Seed: 5})},
		"explain":        {wire.OpExplain, []byte{}},
		"forget":         {wire.OpForget, enc(&wire.Request{Now: end, Seed: 6})},
		"unknown-op":     {byte(9), []byte{0xa0}},
		"garbage":        {wire.OpHandle, []byte("\xff\x00garbage")},
		"empty":          {wire.OpHandle, []byte{}},
	}
	for name, c := range call {
		op := c[0]
		var o byte
		switch v := op.(type) {
		case wire.Op:
			o = byte(v)
		case byte:
			o = v
		}
		writeCorpus(t, "FuzzCall", name, fmt.Sprintf("byte(%s)", strconv.QuoteRune(rune(o))), c[1].([]byte))
	}

	profiles := map[string][]byte{
		"heavy":     profile,
		"empty":     {},
		"truncated": profile[:len(profile)/2],
		"garbage":   []byte("\x83\x01\x02"),
		"hostile":   minicbor.Marshal(nil, hostile()),
		"version-2": minicbor.Marshal(nil, &agent.Profile{Version: 2, Visitor: 3}),
	}
	for _, seed := range []uint64{1, 2, 3} {
		a := newAgent(t, b)
		a.Start(nil, seed)
		now := t0 + int64(seed)*day
		step(t, a, now, arrive(wire.Channel(seed)), view(item, cat), addCart(item, cat, 10, 1))
		if seed > 1 {
			step(t, a, now+minute, buy(10))
		}
		if seed > 2 {
			step(t, a, now+200*day, arrive(wire.ChannelEmail), signUp())
		}
		profiles[fmt.Sprint("visitor-", seed)] = a.SaveProfile(nil)
	}
	for name, p := range profiles {
		writeCorpus(t, "FuzzLoadProfile", name, "", p)
	}

	r := rand.New(rand.NewPCG(1, 2))
	streams := map[string][]byte{"zeros": make([]byte, 64), "ones": bytes.Repeat([]byte{0xff}, 64)}
	for i := range 8 {
		s := make([]byte, 32+r.IntN(400))
		for j := range s {
			s[j] = byte(r.Uint32())
		}
		streams[fmt.Sprint("random-", i)] = s
	}
	for name, s := range streams {
		writeCorpus(t, "FuzzHandleEvents", name, "", s)
	}
}

// writeCorpus writes one seed file in the format `go test -fuzz` reads.
func writeCorpus(t *testing.T, target, name, first string, data []byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	text := "go test fuzz v1\n"
	if first != "" {
		text += first + "\n"
	}
	text += "[]byte(" + strconv.Quote(string(data)) + ")\n"
	if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
