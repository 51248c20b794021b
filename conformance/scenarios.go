package conformance

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/models"
)

// Times of the scenarios, Unix milliseconds. t0 is Monday 2 March 2026, 10:00 UTC: after the corpus
// bundle's creation, and a weekday morning, so that hour and weekday features are ordinary.
const (
	second = int64(1000)
	minute = 60 * second
	hour   = 60 * minute
	day    = 24 * hour
	t0     = int64(1772445600000)
)

// simVisitorsFrom is the first simulated visitor replayed by the sim vectors: past the corpus
// bundle's training population, so these are visitors the models never saw.
const simVisitorsFrom = 1500

// Slots of the demo bundle's campaigns.
var allSlots = []string{"banner", "popin", "carousel"}

// scenarios are the vectors of the corpus, in file-name order.
var scenarios = []scenario{
	{"info", "Bundle information right after the load: version, models, segments, campaigns, catalogue size.", scInfo},
	{"profile-new", "A new visitor: load an empty profile, save it, a first page, save again; a second empty load starts another visitor.", scProfileNew},
	{"profile-saved", "A returning visitor whose saved profile (two sessions, one order) is loaded, saved unchanged, then extended by a new session.", scProfileSaved},
	{"visit-brand-search", "A whole visit from a brand search (referrer and search words, classified by the agent): home, category, two products, add to cart, cart, checkout, purchase; slots asked on every page; then explain, save and drain.", scBrandSearch},
	{"returning-customer", "A customer over five sessions: a session timeout (45 min gap) and a gap within it (29 min), purchases on three visits turning new into loyal; the profile saved and reloaded between visits as an edge does.", scReturning},
	{"lapsing-customer", "A valuable customer whose visits thin out: 30, 95 and 200 days after the last order (at risk, then lapsed), arriving from email clicks, asking the win-back pop-in.", scLapsing},
	{"consent-denied", "Consent denied mid-visit: no profile to save, no learning to drain, scoring still answers.", scConsentDenied},
	{"consent-local", "Consent for local storage only: the profile is saved, the drained batch carries no learning.", scConsentLocal},
	{"consent-full", "Full consent: exposures and an attributed order are drained as aggregated cells; local then full again.", scConsentFull},
	{"forget", "A customer asks to be forgotten: a new visitor id, no history, empty learning buffer, empty explanation.", scForget},
	{"drain", "Exposures over several pages and an order, drained twice (the second batch empty), then more exposures and a third drain.", scDrain},
	{"explain", "Why this offer: explain before any decision, after decisions on three slots, and after a call with no slots.", scExplain},
	{"lead-and-recs", "A prospect signs up (prospect to lead), clicks a campaign, and asks 1, 20 and 255 recommendations.", scLeadRecs},
	{"tz-offsets", "One visitor's requests at UTC offsets from -14 h to +14 h (Nepal's +5:45 included), across midnight and a weekday change.", scTZ},
	{"clock-skew", "The host's clock goes backwards and events carry times after now, zero or before the profile's last time: the profile's time stays monotone.", scClockSkew},
	{"bad-garbage", "Garbage bytes for every operation that reads input: error replies, never a crash; the profile is unchanged, except that an unreadable LoadProfile starts a fresh one; the agent still serves afterwards.", scGarbage},
	{"bad-unknown-op", "Operations that do not exist (0, 9, 255, 2^31-1, 2^31, 2^32-1) with and without input.", scUnknownOp},
	{"bad-invalid-event", "Requests refused whole for one invalid field each (type, times, page, channel, device, consent, amounts, sizes, slots, time zone); the profile is unchanged after each.", scInvalidEvent},
	{"bad-oversized", "Inputs over the limits: a profile over 8 KiB (a new profile starts), a request over 64 KiB, malformed and wrong-version profiles.", scOversized},
	{"stale-bundle", "Bundle loads after the first: the same again (stale), an older version, another format, an inconsistent bundle, garbage; then a newer one, which serves.", scStaleBundle},
	{"sim-visitors", "Simulated visitors (internal/sim, not trained on) replayed whole, observation and holdout periods: one request per session, the profile saved and reloaded between sessions; a drain at the end.", scSimVisitors},
	{"sim-eventwise", "One simulated customer replayed one event per request, as presage.js sends them, with slots asked on every page view.", scSimEventwise},
}

func scInfo(g *gen, r *rec) {
	info := r.info()
	if info != nil && info.Version != g.bundle.Version {
		r.failf("info: version %d, want %d", info.Version, g.bundle.Version)
	}
}

// arrival is the first event of a visit.
func arrival(t int64, ch wire.Channel, dev wire.Device) wire.Event {
	return wire.Event{Type: wire.EventArrival, Time: t, Channel: ch, Device: dev}
}

func page(t int64, p wire.PageType, dwell uint32) wire.Event {
	return wire.Event{Type: wire.EventPageView, Time: t, Page: p, DwellMs: dwell}
}

func (g *gen) view(t int64, i int) wire.Event {
	id, cat, price := g.item(i)
	return wire.Event{Type: wire.EventProductView, Time: t, Item: id, Category: cat, Value: price}
}

func (g *gen) cartAdd(t int64, i int, q uint32) wire.Event {
	id, cat, price := g.item(i)
	return wire.Event{Type: wire.EventAddToCart, Time: t, Item: id, Category: cat, Value: price, Quantity: q}
}

func (g *gen) purchase(t int64, items ...int) wire.Event {
	e := wire.Event{Type: wire.EventPurchase, Time: t}
	for _, i := range items {
		id, cat, price := g.item(i)
		e.Lines = append(e.Lines, wire.Line{Item: id, Category: cat, Price: price, Quantity: 1})
	}
	return e
}

// shortVisit is a small visit ending in a product page, with slots.
func (g *gen) shortVisit(t int64, item int) *wire.Request {
	return &wire.Request{Now: t + 40*second, Seed: uint64(t), Slots: allSlots, Events: []wire.Event{
		arrival(t, wire.ChannelDirect, wire.DeviceDesktop),
		page(t, wire.PageHome, 0),
		page(t+20*second, wire.PageProduct, 20000),
		g.view(t+20*second, item),
		g.cartAdd(t+40*second, item, 1),
	}}
}

// buyingVisit is a visit that ends with an order of items.
func (g *gen) buyingVisit(t int64, ch wire.Channel, items ...int) *wire.Request {
	q := &wire.Request{Now: t + 5*minute, Seed: uint64(t) ^ 0x5eed, Slots: []string{"banner", "popin"},
		Events: []wire.Event{arrival(t, ch, wire.DeviceMobile), page(t, wire.PageHome, 0)}}
	at := t
	for _, i := range items {
		at += 30 * second
		q.Events = append(q.Events, page(at, wire.PageProduct, 30000), g.view(at, i), g.cartAdd(at+5*second, i, 1))
	}
	q.Events = append(q.Events, page(t+4*minute, wire.PageCheckout, 20000),
		wire.Event{Type: wire.EventCheckout, Time: t + 4*minute}, g.purchase(t+5*minute, items...))
	return q
}

func scProfileNew(g *gen, r *rec) {
	r.loadProfile(t0, 1, nil)
	if p := r.saveProfile(); len(p) == 0 {
		r.failf("save profile: a new visitor's profile is empty")
	}
	r.handle(&wire.Request{Now: t0, Seed: 2, Slots: []string{"banner"}, Events: []wire.Event{
		arrival(t0, wire.ChannelDirect, wire.DeviceDesktop), page(t0, wire.PageHome, 0)}})
	r.saveProfile()
	r.loadProfile(t0+minute, 3, nil)
	r.saveProfile()
}

// savedProfile is the profile of a customer with two sessions and one order, made by a native agent
// outside the vector (the vector only loads it).
func (g *gen) savedProfile() []byte {
	a := agent.New()
	a.Call(wire.OpLoadBundle, g.envelope, nil)
	a.Call(wire.OpLoadProfile, minicbor.Marshal(nil, &wire.Request{Now: t0 - 10*day, Seed: 99}), nil)
	a.Call(wire.OpHandle, minicbor.Marshal(nil, g.shortVisit(t0-10*day, 3)), nil)
	a.Call(wire.OpHandle, minicbor.Marshal(nil, g.buyingVisit(t0-9*day, wire.ChannelEmail, 3, 4)), nil)
	var rep wire.Reply
	if err := minicbor.Unmarshal(a.Call(wire.OpSaveProfile, nil, nil), &rep, minicbor.DefaultLimits); err != nil || rep.Err != nil {
		panic("conformance: saved profile")
	}
	return rep.Profile
}

func scProfileSaved(g *gen, r *rec) {
	saved := g.savedProfile()
	r.loadProfile(t0, 7, saved)
	if got := r.saveProfile(); !bytes.Equal(got, saved) {
		r.failf("save profile: a loaded profile saved back differs")
	}
	ans := r.handle(g.shortVisit(t0, 10))
	if ans.Session != 3 {
		r.failf("handle: session %d, want 3", ans.Session)
	}
	r.saveProfile()
}

func scBrandSearch(g *gen, r *rec) {
	r.loadProfile(t0, 11, nil)
	t := t0
	steps := []struct {
		dt     int64
		events func(t int64) []wire.Event
		slots  []string
	}{
		{0, func(t int64) []wire.Event {
			return []wire.Event{
				{Type: wire.EventArrival, Time: t, Referrer: "www.google.com", Term: "Presage running shoes", Device: wire.DeviceMobile},
				page(t, wire.PageHome, 0)}
		}, []string{"banner", "popin"}},
		{25 * second, func(t int64) []wire.Event {
			return []wire.Event{page(t, wire.PageCategory, 25000), {Type: wire.EventCategoryView, Time: t, Category: g.category(2)}}
		}, []string{"banner", "carousel"}},
		{40 * second, func(t int64) []wire.Event {
			return []wire.Event{page(t, wire.PageProduct, 40000), g.view(t, 2)}
		}, []string{"carousel", "popin"}},
		{70 * second, func(t int64) []wire.Event {
			return []wire.Event{page(t, wire.PageProduct, 70000), g.view(t, 14)}
		}, []string{"carousel", "popin"}},
		{15 * second, func(t int64) []wire.Event { return []wire.Event{g.cartAdd(t, 14, 2)} }, []string{"popin"}},
		{10 * second, func(t int64) []wire.Event {
			return []wire.Event{page(t, wire.PageCart, 25000)}
		}, []string{"carousel"}},
		{30 * second, func(t int64) []wire.Event {
			return []wire.Event{page(t, wire.PageCheckout, 30000), {Type: wire.EventCheckout, Time: t}}
		}, nil},
		{90 * second, func(t int64) []wire.Event {
			p := g.purchase(t, 14)
			p.Lines[0].Quantity = 2
			return []wire.Event{p, page(t, wire.PageContent, 90000)}
		}, []string{"banner"}},
	}
	for i, s := range steps {
		t += s.dt
		ans := r.handle(&wire.Request{Now: t, Seed: uint64(100 + i), Events: s.events(t), Slots: s.slots})
		if len(ans.Decisions) != len(s.slots) {
			r.failf("handle: %d decisions for %d slots", len(ans.Decisions), len(s.slots))
		}
	}
	r.explain()
	p := r.saveProfile()
	var prof agent.Profile
	if err := minicbor.Unmarshal(p, &prof, minicbor.DefaultLimits); err != nil || prof.Session == nil ||
		prof.Session.Channel != uint8(wire.ChannelBrandSearch) || prof.Orders != 1 {
		r.failf("save profile: want one order and a brand-search session (err %v)", err)
	}
	r.drain(t+minute, 12345)
}

// visitAgain saves the profile, loads it back (as an edge between two requests) and handles q.
func (r *rec) visitAgain(q *wire.Request, seed uint64) *wire.Answer {
	p := r.saveProfile()
	r.loadProfile(q.Now, seed, p)
	return r.handle(q)
}

func scReturning(g *gen, r *rec) {
	r.loadProfile(t0, 21, nil)
	a := r.handle(g.shortVisit(t0, 5)) // session 1
	t := t0 + 40*second + 45*minute    // past the 30-minute timeout: session 2
	a = r.visitAgain(g.buyingVisit(t, wire.ChannelDirect, 5), 22)
	if a.Session != 2 || a.Stage != wire.StageNew {
		r.failf("handle: session %d stage %s, want 2 new", a.Session, a.Stage)
	}
	t += 5*minute + 29*minute // within the timeout: still session 2
	a = r.visitAgain(&wire.Request{Now: t, Seed: 23, Slots: allSlots, Events: []wire.Event{page(t, wire.PageAccount, 0)}}, 23)
	if a.Session != 2 {
		r.failf("handle: session %d, want 2 (29 minutes is within the timeout)", a.Session)
	}
	t += 7 * day
	r.visitAgain(g.buyingVisit(t, wire.ChannelEmail, 6, 7), 24)
	t += 13 * day
	a = r.visitAgain(g.buyingVisit(t, wire.ChannelBrandSearch, 8), 25)
	if a.Stage != wire.StageLoyal || a.Session != 4 {
		r.failf("handle: stage %s session %d, want loyal 4", a.Stage, a.Session)
	}
	t += 2 * day
	r.visitAgain(g.shortVisit(t, 9), 26)
	r.saveProfile()
}

func scLapsing(g *gen, r *rec) {
	r.loadProfile(t0, 31, nil)
	r.handle(g.buyingVisit(t0, wire.ChannelDirect, 0, 1, 2, 13, 25)) // a large first order
	last := t0 + 5*minute
	var stages []wire.Stage
	for i, days := range []int64{30, 95, 200} {
		t := last + days*day
		q := &wire.Request{Now: t + 30*second, Seed: uint64(32 + i), Slots: []string{"popin", "banner"}, Events: []wire.Event{
			{Type: wire.EventArrival, Time: t, Source: "newsletter", Medium: "email", Device: wire.DeviceDesktop},
			page(t, wire.PageHome, 0), page(t+30*second, wire.PageCategory, 30000)}}
		a := r.visitAgain(q, uint64(40+i))
		stages = append(stages, a.Stage)
	}
	if stages[1] != wire.StageAtRisk || stages[2] != wire.StageLapsed {
		r.failf("stages %v, want at risk after 95 days and lapsed after 200", stages)
	}
	r.explain()
}

func consent(t int64, c wire.Consent) wire.Event {
	return wire.Event{Type: wire.EventConsent, Time: t, Consent: c}
}

func scConsentDenied(g *gen, r *rec) {
	r.loadProfile(t0, 51, nil)
	q := g.shortVisit(t0, 20)
	r.handle(q)
	r.handle(&wire.Request{Now: t0 + minute, Seed: 52, Slots: allSlots, Events: []wire.Event{consent(t0+minute, wire.ConsentDenied)}})
	if p := r.saveProfile(); len(p) != 0 {
		r.failf("save profile: %d bytes after consent was denied", len(p))
	}
	if b := r.drain(t0+2*minute, 53); b == nil || len(b.Cells) != 0 {
		r.failf("drain: learning after consent was denied")
	}
	r.handle(&wire.Request{Now: t0 + 3*minute, Seed: 54, Slots: allSlots, Events: []wire.Event{
		page(t0+3*minute, wire.PageProduct, 60000), g.view(t0+3*minute, 21)}})
	r.saveProfile()
	r.drain(t0+4*minute, 55)
}

func scConsentLocal(g *gen, r *rec) {
	r.loadProfile(t0, 61, nil)
	q := g.buyingVisit(t0, wire.ChannelDirect, 30)
	q.Events = append([]wire.Event{consent(t0, wire.ConsentLocal)}, q.Events...)
	r.handle(q)
	if p := r.saveProfile(); len(p) == 0 {
		r.failf("save profile: nothing saved under local consent")
	}
	if b := r.drain(t0+10*minute, 62); b == nil || len(b.Cells) != 0 {
		r.failf("drain: learning left the device under local consent")
	}
}

func scConsentFull(g *gen, r *rec) {
	r.loadProfile(t0, 71, nil)
	q := g.shortVisit(t0, 33)
	q.Events = append([]wire.Event{consent(t0, wire.ConsentFull)}, q.Events...)
	r.handle(q)
	r.handle(g.buyingVisit(t0+minute, wire.ChannelDirect, 33))
	if b := r.drain(t0+10*minute, 72); b == nil || len(b.Cells) == 0 {
		r.failf("drain: no learning under full consent")
	}
	r.handle(&wire.Request{Now: t0 + 11*minute, Seed: 73, Slots: allSlots, Events: []wire.Event{consent(t0+11*minute, wire.ConsentLocal)}})
	r.saveProfile()
	r.drain(t0+12*minute, 74)
	r.handle(&wire.Request{Now: t0 + 13*minute, Seed: 75, Slots: allSlots, Events: []wire.Event{
		consent(t0+13*minute, wire.ConsentFull), page(t0+13*minute, wire.PageHome, 0)}})
	r.drain(t0+14*minute, 76)
}

func scForget(g *gen, r *rec) {
	r.loadProfile(t0, 81, nil)
	r.handle(g.buyingVisit(t0, wire.ChannelSocial, 40, 41))
	before := r.saveProfile()
	r.forget(t0+10*minute, 82)
	after := r.saveProfile()
	if bytes.Equal(before, after) {
		r.failf("forget: the profile did not change")
	}
	if b := r.drain(t0+11*minute, 83); b == nil || len(b.Cells) != 0 {
		r.failf("drain: learning survived forget")
	}
	if e := r.explain(); e == nil || len(e.Slots) != 0 {
		r.failf("explain: decisions survived forget")
	}
	a := r.handle(&wire.Request{Now: t0 + 12*minute, Seed: 84, Slots: allSlots, Events: []wire.Event{page(t0+12*minute, wire.PageHome, 0)}})
	if a.Stage != wire.StageProspect || a.Session != 1 {
		r.failf("handle: stage %s session %d after forget, want prospect 1", a.Stage, a.Session)
	}
	r.saveProfile()
}

func scDrain(g *gen, r *rec) {
	r.loadProfile(t0, 91, nil)
	t := t0
	r.handle(&wire.Request{Now: t, Seed: 92, Slots: allSlots, Events: []wire.Event{arrival(t, wire.ChannelPaid, wire.DeviceTablet), page(t, wire.PageHome, 0)}})
	for i := range 4 {
		t += 40 * second
		r.handle(&wire.Request{Now: t, Seed: uint64(93 + i), Slots: allSlots, Events: []wire.Event{page(t, wire.PageProduct, 40000), g.view(t, 50+i)}})
	}
	r.handle(g.buyingVisit(t+minute, wire.ChannelPaid, 52))
	b := r.drain(t+10*minute, 0xdeadbeef)
	if b == nil || len(b.Cells) == 0 {
		r.failf("drain: no cells after exposures and an order")
	}
	if b := r.drain(t+11*minute, 0xfeedface); b == nil || len(b.Cells) != 0 {
		r.failf("drain: second drain not empty")
	}
	t += 2 * day
	r.handle(g.shortVisit(t, 60))
	r.drain(t+10*minute, 1)
}

func scExplain(g *gen, r *rec) {
	r.loadProfile(t0, 101, nil)
	if e := r.explain(); e == nil || len(e.Slots) != 0 {
		r.failf("explain: decisions before any handle")
	}
	r.handle(g.shortVisit(t0, 70))
	if e := r.explain(); e == nil || len(e.Slots) == 0 {
		r.failf("explain: nothing after three slots")
	}
	r.handle(&wire.Request{Now: t0 + 2*minute, Seed: 102, Events: []wire.Event{page(t0+2*minute, wire.PageCart, 80000)}})
	r.explain()
}

func scLeadRecs(g *gen, r *rec) {
	r.loadProfile(t0, 111, nil)
	r.handle(g.shortVisit(t0, 80))
	a := r.handle(&wire.Request{Now: t0 + minute, Seed: 112, Slots: allSlots, Events: []wire.Event{{Type: wire.EventSignUp, Time: t0 + minute}}})
	if a.Stage != wire.StageLead || a.PrevStage != wire.StageProspect {
		r.failf("handle: %s → %s, want prospect → lead", a.PrevStage, a.Stage)
	}
	r.handle(&wire.Request{Now: t0 + 2*minute, Seed: 113, Events: []wire.Event{
		{Type: wire.EventClick, Time: t0 + 2*minute, Campaign: "home-banner", Variant: "best-sellers"},
		{Type: wire.EventSearch, Time: t0 + 2*minute, Query: "memory cards"},
		page(t0+2*minute, wire.PageSearch, 60000)}})
	for _, n := range []uint8{1, 20, 255} {
		r.handle(&wire.Request{Now: t0 + 3*minute, Seed: 114, MaxRecs: n, Events: []wire.Event{g.view(t0+3*minute, 81)}})
	}
}

func scTZ(g *gen, r *rec) {
	r.loadProfile(t0, 121, nil)
	// 23:30 UTC on a Sunday: the local day and weekday differ on both sides of the offsets.
	t := t0 - 10*hour - 30*minute
	for i, tz := range []int16{-840, -600, -300, 0, 60, 330, 345, 840} {
		at := t + int64(i)*3*minute
		r.handle(&wire.Request{Now: at, Seed: uint64(122 + i), TZ: tz, Slots: allSlots, Events: []wire.Event{page(at, wire.PageCategory, 10000)}})
	}
	r.explain()
	// A new session (a day later) in another zone.
	t += day
	r.handle(&wire.Request{Now: t, Seed: 131, TZ: -420, Slots: allSlots, Events: []wire.Event{arrival(t, wire.ChannelDirect, wire.DeviceMobile), page(t, wire.PageHome, 0)}})
	r.saveProfile()
}

func scClockSkew(g *gen, r *rec) {
	r.loadProfile(t0, 141, nil)
	r.handle(g.shortVisit(t0, 90))
	// now goes back ten minutes; events in the future, at zero, and before the profile's last time.
	r.handle(&wire.Request{Now: t0 - 10*minute, Seed: 142, Slots: allSlots, Events: []wire.Event{
		page(t0+hour, wire.PageProduct, 5000), g.view(0, 91), page(t0-day, wire.PageCart, 1000)}})
	r.saveProfile()
	r.handle(&wire.Request{Now: 0, Seed: 143, Slots: allSlots, Events: []wire.Event{page(0, wire.PageHome, 0)}})
	r.saveProfile()
	r.drain(0, 144)
}

// garbage is a list of inputs that are not valid requests, each with a name for the reader.
func garbage() [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 64)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	valid := minicbor.Marshal(nil, &wire.Request{Now: t0, Seed: 1, Events: []wire.Event{page(t0, wire.PageHome, 0)}})
	deep := append(bytes.Repeat([]byte{0x81}, 100), 0x00) // 100 nested arrays
	return [][]byte{
		{0xff},                           // a break with no indefinite item
		{0x00},                           // an integer, not a map
		{0xa1},                           // a map with its entry missing
		random,                           // noise
		valid[:len(valid)-3],             // truncated
		append(bytes.Clone(valid), 0x00), // trailing byte
		{0xbf, 0x01, 0x00, 0xff},         // indefinite-length map
		{0xa1, 0x01, 0xc1, 0x00},         // a tag
		{0xa2, 0x01, 0x00, 0x01, 0x00},   // a duplicate key
		{0xa1, 0x03, 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // an array of 2^64-1 events
		{0xa1, 0x01, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // Now past int64
		{0xa1, 0x04, 0x81, 0x62, 0xc3, 0x28},                               // a slot of invalid UTF-8
		deep,
	}
}

func scGarbage(g *gen, r *rec) {
	r.loadProfile(t0, 151, nil)
	r.handle(g.shortVisit(t0, 100))
	before := r.saveProfile()
	for _, op := range []wire.Op{wire.OpHandle, wire.OpDrain, wire.OpForget} {
		for _, in := range garbage() {
			r.raw(op, in).wantErr(wire.CodeBadRequest)
			if !bytes.Equal(before, r.peekProfile()) {
				r.failf("garbage changed the profile")
			}
		}
	}
	// A LoadProfile request that cannot be read starts a fresh profile: a pooled instance must never
	// go on serving the previous visitor to the next one.
	for _, in := range garbage() {
		r.raw(wire.OpLoadProfile, in).wantErr(wire.CodeBadRequest)
		if bytes.Equal(before, r.peekProfile()) {
			r.failf("an unreadable LoadProfile kept the previous visitor's profile")
		}
	}
	r.loadProfile(t0+minute/2, 153, before)
	r.saveProfile()
	for _, in := range garbage() {
		r.raw(wire.OpLoadBundle, in).wantErr(wire.CodeBadBundle)
	}
	r.raw(wire.OpLoadBundle, nil).wantErr(wire.CodeBadBundle)
	// Operations that read no input ignore it.
	r.raw(wire.OpInfo, []byte{0xff, 0x00}).wantOK()
	r.raw(wire.OpExplain, []byte{0xff}).wantOK()
	r.raw(wire.OpSaveProfile, []byte{0x00}).wantOK()
	r.handle(&wire.Request{Now: t0 + minute, Seed: 152, Slots: allSlots, Events: []wire.Event{page(t0+minute, wire.PageHome, 0)}})
}

func scUnknownOp(g *gen, r *rec) {
	r.loadProfile(t0, 161, nil)
	valid := minicbor.Marshal(nil, &wire.Request{Now: t0, Seed: 1})
	for _, op := range []uint32{0, 9, 255, 1<<31 - 1, 1 << 31, 1<<32 - 1} {
		r.raw(wire.Op(op), nil).wantErr(wire.CodeUnknownOp)
		r.raw(wire.Op(op), valid).wantErr(wire.CodeUnknownOp)
	}
	r.info()
}

func scInvalidEvent(g *gen, r *rec) {
	r.loadProfile(t0, 171, nil)
	r.handle(g.shortVisit(t0, 110))
	before := r.saveProfile()
	t := t0 + minute
	ok := page(t, wire.PageHome, 0)
	with := func(edit func(e *wire.Event)) *wire.Request {
		e := ok
		edit(&e)
		return &wire.Request{Now: t, Seed: 172, Slots: allSlots, Events: []wire.Event{ok, e}}
	}
	lines := make([]wire.Line, 65)
	for i := range lines {
		lines[i] = wire.Line{Item: "sku-00001", Price: 1}
	}
	long := strings.Repeat("x", 257)
	bad := []*wire.Request{
		with(func(e *wire.Event) { e.Type = 0 }),
		with(func(e *wire.Event) { e.Type = 13 }),
		with(func(e *wire.Event) { e.Type = 255 }),
		with(func(e *wire.Event) { e.Time = -1 }),
		with(func(e *wire.Event) { e.Page = wire.PageType(wire.NumPageTypes) }),
		with(func(e *wire.Event) { e.Type, e.Channel = wire.EventArrival, wire.Channel(wire.NumChannels) }),
		with(func(e *wire.Event) { e.Device = wire.Device(wire.NumDevices) }),
		with(func(e *wire.Event) { e.Type, e.Consent = wire.EventConsent, 4 }),
		with(func(e *wire.Event) { e.Type, e.Value = wire.EventProductView, math.NaN() }),
		with(func(e *wire.Event) { e.Type, e.Value = wire.EventProductView, math.Inf(1) }),
		with(func(e *wire.Event) { e.Type, e.Value = wire.EventProductView, -0.01 }),
		with(func(e *wire.Event) { e.Type, e.Value = wire.EventPurchase, 1e9+1 }),
		with(func(e *wire.Event) { e.Type, e.Item, e.Quantity = wire.EventAddToCart, "sku-00001", 10001 }),
		with(func(e *wire.Event) { e.Type, e.Lines = wire.EventPurchase, lines }),
		with(func(e *wire.Event) { e.Type, e.Lines = wire.EventPurchase, []wire.Line{{Price: 5}} }),
		with(func(e *wire.Event) {
			e.Type, e.Lines = wire.EventPurchase, []wire.Line{{Item: "sku-00001", Price: -5}}
		}),
		with(func(e *wire.Event) { e.Type, e.Query = wire.EventSearch, long }),
		with(func(e *wire.Event) { e.Type, e.Referrer = wire.EventArrival, long }),
		{Now: -1, Seed: 173, Events: []wire.Event{ok}},
		{Now: t, Seed: 174, TZ: 841, Events: []wire.Event{ok}},
		{Now: t, Seed: 175, TZ: -841, Events: []wire.Event{ok}},
		{Now: t, Seed: 176, Slots: []string{"banner", ""}},
		{Now: t, Seed: 177, Slots: []string{strings.Repeat("s", 65)}},
		{Now: t, Seed: 178, Slots: make17Slots()},
		{Now: t, Seed: 179, Events: make65Events(ok)},
	}
	for _, q := range bad {
		r.req(wire.OpHandle, q).wantErr(wire.CodeBadRequest)
		if !bytes.Equal(before, r.peekProfile()) {
			r.failf("a refused request changed the profile")
		}
	}
	r.saveProfile()
	r.handle(with(func(e *wire.Event) {}))
}

func make17Slots() []string {
	s := make([]string, 17)
	for i := range s {
		s[i] = "banner"
	}
	return s
}

func make65Events(e wire.Event) []wire.Event {
	ev := make([]wire.Event, 65)
	for i := range ev {
		ev[i] = e
	}
	return ev
}

func scOversized(g *gen, r *rec) {
	r.loadProfile(t0, 181, nil)
	r.handle(g.shortVisit(t0, 115))
	saved := r.saveProfile()
	// Profiles over 4 KiB and over 8 KiB. The agent bounds a profile at 8 KiB (CodeBadProfile, a new
	// profile starts), but the request decoder bounds every string at 4 KiB first (CodeBadRequest,
	// nothing changes): either is accepted here, and the vector records which one the agent gives.
	for i, n := range []int{4<<10 + 1, 8<<10 + 1} {
		res := r.req(wire.OpLoadProfile, &wire.Request{Now: t0 + minute, Seed: uint64(182 + i), Profile: bytes.Repeat([]byte{0xa0}, n)})
		res.wantErr(wire.CodeBadProfile, wire.CodeBadRequest)
		p := r.saveProfile()
		if res.rep.Err != nil && (res.rep.Err.Code == wire.CodeBadProfile) == bytes.Equal(p, saved) {
			r.failf("an oversized profile: %v, and the profile is kept: %v", res.rep.Err, bytes.Equal(p, saved))
		}
		r.loadProfile(t0+minute, 186, saved)
	}
	// A request over 64 KiB (valid CBOR: its profile field is large).
	big := minicbor.Marshal(nil, &wire.Request{Now: t0, Seed: 183, Profile: bytes.Repeat([]byte{0}, 64<<10)})
	r.raw(wire.OpHandle, big).wantErr(wire.CodeTooLarge)
	// Malformed and wrong-version profiles start a new visitor.
	r.req(wire.OpLoadProfile, &wire.Request{Now: t0, Seed: 184, Profile: []byte{0xff, 0x00}}).wantErr(wire.CodeBadProfile)
	r.saveProfile()
	var p agent.Profile
	if err := minicbor.Unmarshal(saved, &p, minicbor.DefaultLimits); err != nil {
		r.failf("saved profile: %v", err)
	}
	p.Version++
	r.req(wire.OpLoadProfile, &wire.Request{Now: t0, Seed: 185, Profile: minicbor.Marshal(nil, &p)}).wantErr(wire.CodeBadProfile)
	r.saveProfile()
	r.loadProfile(t0+2*minute, 186, saved) // the good one still loads
	r.handle(&wire.Request{Now: t0 + 2*minute, Seed: 187, Slots: allSlots, Events: []wire.Event{page(t0+2*minute, wire.PageHome, 0)}})
}

func scStaleBundle(g *gen, r *rec) {
	v := g.bundle.Version
	r.raw(wire.OpLoadBundle, g.envelope).wantErr(wire.CodeStaleBundle)
	r.raw(wire.OpLoadBundle, g.variant(func(b *models.Bundle) { b.Version = v - 1 })).wantErr(wire.CodeStaleBundle)
	r.raw(wire.OpLoadBundle, g.variant(func(b *models.Bundle) { b.Version, b.Format = v+1, models.FormatVersion+1 })).wantErr(wire.CodeUnknownFormat)
	r.raw(wire.OpLoadBundle, g.variant(func(b *models.Bundle) { b.Version, b.ItemCategory[0] = v+1, uint16(len(b.Categories)) })).wantErr(wire.CodeBadBundle)
	r.raw(wire.OpLoadBundle, []byte("PSGB not a bundle")).wantErr(wire.CodeBadBundle)
	if info := r.info(); info != nil && info.Version != v {
		r.failf("info: version %d after refused loads, want %d", info.Version, v)
	}
	r.loadProfile(t0, 191, nil)
	r.handle(g.shortVisit(t0, 3))
	r.raw(wire.OpLoadBundle, g.variant(func(b *models.Bundle) { b.Version = v + 1; b.Site = "demo-shop-v2" })).wantOK()
	if info := r.info(); info != nil && info.Version != v+1 {
		r.failf("info: version %d, want %d", info.Version, v+1)
	}
	r.handle(&wire.Request{Now: t0 + minute, Seed: 192, Slots: allSlots, Events: []wire.Event{page(t0+minute, wire.PageHome, 0)}})
	r.raw(wire.OpLoadBundle, g.envelope).wantErr(wire.CodeStaleBundle)
}

// simVisitors is how many simulated visitors the sim vector replays.
const simVisitors = 12

func scSimVisitors(g *gen, r *rec) {
	s, err := CorpusConfig().Sim()
	if err != nil {
		r.failf("%v", err)
		return
	}
	var last int64
	for i := simVisitorsFrom; i < simVisitorsFrom+simVisitors; i++ {
		v := s.Visitor(i)
		var profile []byte
		replaySessions := func(events []wire.Event, sessions []sim.Session) {
			for k, ss := range sessions {
				evs := events[ss.Start:ss.End]
				for len(evs) > 0 {
					n := min(len(evs), 64)
					chunk := evs[:n]
					evs = evs[n:]
					now := chunk[n-1].Time
					r.loadProfile(now, uint64(i), profile)
					q := &wire.Request{Now: now, Seed: uint64(i)<<16 | uint64(k), Events: chunk}
					if len(evs) == 0 {
						q.Slots = allSlots
					}
					r.handle(q)
					profile = r.saveProfile()
					last = max(last, now)
				}
			}
		}
		replaySessions(v.Events, v.Sessions)
		replaySessions(v.Holdout, v.HoldoutSessions)
	}
	r.drain(last, 0x51)
}

func scSimEventwise(g *gen, r *rec) {
	s, err := CorpusConfig().Sim()
	if err != nil {
		r.failf("%v", err)
		return
	}
	// The first fresh visitor with an order and at most 120 events: a buyer, and a vector of
	// reasonable size.
	var v sim.Visitor
	for i := simVisitorsFrom + simVisitors; ; i++ {
		v = s.Visitor(i)
		if v.Truth.Purchases > 0 && len(v.Events) <= 120 {
			break
		}
	}
	r.loadProfile(v.Events[0].Time, uint64(v.Index), nil)
	for j, e := range v.Events {
		q := &wire.Request{Now: e.Time, Seed: uint64(j), Events: []wire.Event{e}}
		if e.Type == wire.EventPageView {
			q.Slots = allSlots
		}
		r.handle(q)
	}
	r.explain()
	r.saveProfile()
	r.drain(v.End, 0x52)
}
