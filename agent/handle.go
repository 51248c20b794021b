package agent

import (
	"math"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/msg"
	"github.com/presage-dev/presage/models"
)

// ErrBadRequest wraps every reason a request is refused. A refused request changes nothing.
var ErrBadRequest = errorString("agent: bad request")

type errorString string

func (e errorString) Error() string { return string(e) }

// Handle applies the request's events to the profile, in order, then scores the visitor and decides
// the requested slots. The answer is owned by the agent and valid until the next call.
// A request with any invalid event is refused whole, before anything changes.
func (a *Agent) Handle(req *wire.Request) (*wire.Answer, error) {
	if a.b == nil {
		return nil, ErrNoBundle
	}
	if err := validate(req); err != nil {
		return nil, err
	}
	if !a.started {
		a.Start(nil, req.Seed)
	}
	now := req.Now
	if now < a.p.Last {
		now = a.p.Last // the host's clock went back: keep the profile's time monotone
	}
	prev, prevVisits, prevOrders := wire.Stage(a.p.Stage), a.p.Visits, a.p.Orders
	for i := range req.Events {
		a.apply(&req.Events[i], now, req.TZ)
	}
	a.p.Last = now // decisions are taken at now: the next request's clock may not go back before it
	if s := a.p.Session; len(req.Slots) > 0 && (s == nil || now-s.Last > a.set.SessionTimeoutMs) {
		// A decision is shown on a page, in a visit: start one if the visitor has none or the last
		// one timed out, so that per-session caps and the per-session budget apply.
		a.startSession(now).TZ = req.TZ
	}
	a.evaluate(now)

	ans := &a.answer
	*ans = wire.Answer{Stage: wire.Stage(a.p.Stage), PrevStage: prev, Session: a.p.Visits,
		Scores: ans.Scores[:0], Segments: ans.Segments[:0], Appetence: ans.Appetence[:0], Recs: ans.Recs[:0],
		Decisions: ans.Decisions[:0], Moments: ans.Moments[:0]}
	for m := range a.b.Propensity {
		ans.Scores = append(ans.Scores, wire.Score{Model: a.b.Propensity[m].Name, Value: float32(a.scores[m])})
	}
	for s, in := range a.members {
		if in {
			ans.Segments = append(ans.Segments, a.b.Segments[s].Name)
		}
	}
	if a.hasVal {
		ans.Value = &a.value // owned by the agent, as the whole answer is
	}
	ans.Moments = a.moments(ans.Moments, prev, prevVisits, prevOrders)
	ans.Appetence = a.topAppetence(ans.Appetence)
	maxRecs := a.set.MaxRecs
	if req.MaxRecs > 0 {
		maxRecs = int(req.MaxRecs)
	}
	ans.Recs = a.recommend(ans.Recs, maxRecs)
	a.expl = wire.Explanation{Time: now, Slots: a.expl.Slots[:0], Drivers: a.expl.Drivers[:0]}
	a.checks = a.checks[:0]
	ans.Decisions = a.decideAll(ans.Decisions, req.Slots, now)
	return ans, nil
}

// validate checks a request entirely before anything is applied.
func validate(req *wire.Request) error {
	if req.Now < 0 {
		return msg.Errorf(ErrBadRequest, "negative time %d", req.Now)
	}
	if len(req.Events) > maxEvents {
		return msg.Errorf(ErrBadRequest, "%d events, at most %d a request", len(req.Events), maxEvents)
	}
	if len(req.Slots) > maxSlots {
		return msg.Errorf(ErrBadRequest, "%d slots, at most %d a request", len(req.Slots), maxSlots)
	}
	if req.TZ < -14*60 || req.TZ > 14*60 {
		return msg.Errorf(ErrBadRequest, "time zone offset %d minutes", int(req.TZ))
	}
	for i, s := range req.Slots {
		if s == "" || len(s) > maxIDLen {
			return msg.Errorf(ErrBadRequest, "slots[%d]: empty or longer than %d bytes", i, maxIDLen)
		}
	}
	for i := range req.Events {
		if err := validateEvent(&req.Events[i]); err != nil {
			return msg.Errorf(ErrBadRequest, "events[%d]: %s", i, err)
		}
	}
	return nil
}

func validateEvent(e *wire.Event) error {
	switch {
	case !e.Type.Valid():
		return msg.Errorf(ErrBadRequest, "unknown type %d", uint8(e.Type))
	case e.Time < 0:
		return msg.Errorf(ErrBadRequest, "negative time")
	case int(e.Page) >= wire.NumPageTypes:
		return msg.Errorf(ErrBadRequest, "unknown page type %d", uint8(e.Page))
	case int(e.Channel) >= wire.NumChannels:
		return msg.Errorf(ErrBadRequest, "unknown channel %d", uint8(e.Channel))
	case int(e.Device) >= wire.NumDevices:
		return msg.Errorf(ErrBadRequest, "unknown device %d", uint8(e.Device))
	case !e.Consent.Valid():
		return msg.Errorf(ErrBadRequest, "unknown consent %d", uint8(e.Consent))
	case !money(e.Value):
		return msg.Errorf(ErrBadRequest, "value %g is not an amount", e.Value)
	case e.Quantity > maxQuantity:
		return msg.Errorf(ErrBadRequest, "quantity %d", e.Quantity)
	case len(e.Lines) > maxLines:
		return msg.Errorf(ErrBadRequest, "%d lines, at most %d", len(e.Lines), maxLines)
	}
	for _, s := range [...]string{e.Item, e.Category, e.Query, e.Referrer, e.Source, e.Medium, e.Term, e.Campaign, e.Variant} {
		if len(s) > maxStringLen {
			return msg.Errorf(ErrBadRequest, "a text field is longer than %d bytes", maxStringLen)
		}
	}
	for j := range e.Lines {
		l := &e.Lines[j]
		if l.Item == "" || len(l.Item) > maxStringLen || len(l.Category) > maxStringLen || !money(l.Price) || l.Quantity > maxQuantity {
			return msg.Errorf(ErrBadRequest, "lines[%d]: needs an item id, a price in [0, %g] and a quantity ≤ %d", j, maxMoney, maxQuantity)
		}
	}
	return nil
}

func money(v float64) bool { return v >= 0 && v <= maxMoney } // false for NaN too

// apply folds one event into the profile.
func (a *Agent) apply(e *wire.Event, now int64, tz int16) {
	p := &a.p
	t := e.Time
	if t == 0 || t > now {
		t = now
	}
	if t < p.Last {
		t = p.Last
	}
	if p.First == 0 {
		p.First = t
	}
	if e.Type == wire.EventConsent {
		p.Consent = uint8(e.Consent)
		if a.consent() != wire.ConsentFull {
			p.Learn, p.Dropped, p.Fed = nil, 0, nil // learning leaves the device only while consent is full
		}
		p.Last = t
		return
	}
	s := p.Session
	if s == nil || t-s.Last > a.set.SessionTimeoutMs || (e.Type == wire.EventArrival && (s.Last > s.Start || sum16(s.Pages) > 0)) {
		s = a.startSession(t)
	}
	s.TZ = tz
	a.decayTo(t)
	if e.Type == wire.EventCheckout || e.Type == wire.EventPurchase {
		a.fedTrigger(s, t, e.Type == wire.EventPurchase) // federated.go
	}
	switch e.Type {
	case wire.EventArrival:
		ch := e.Channel
		if ch == wire.ChannelUnknown {
			ch = classify(e, a.b.Brand)
		}
		s.Channel = uint8(ch)
		s.Device = uint8(e.Device)
		if len(p.Channels) != wire.NumChannels {
			p.Channels = make([]float32, wire.NumChannels)
		}
		p.Channels[ch]++
	case wire.EventPageView:
		if d := e.DwellMs / 1000; d > 0 && sum16(s.Pages) > 0 && int(s.LastPage) < len(s.Dwell) {
			s.Dwell[s.LastPage] = satAdd32(s.Dwell[s.LastPage], d)
		}
		s.Pages[e.Page] = satInc16(s.Pages[e.Page])
		s.LastPage = uint8(e.Page)
		if e.Page != wire.PageProduct && e.Page != wire.PageCategory {
			s.Item, s.Category = 0, 0 // nothing is in view on this page
		}
		if e.Device != wire.DeviceUnknown {
			s.Device = uint8(e.Device)
		}
	case wire.EventProductView:
		s.Products = satInc16(s.Products)
		if e.Item != "" {
			h := hashID(e.Item)
			s.Item = h
			s.Seen = pushCapped(s.Seen, h, maxSeen)
			p.Viewed = pushCapped(p.Viewed, h, maxViewed)
		}
		if e.Category != "" {
			s.Category = hashID(e.Category)
			a.addAffinity(s.Category, 1)
		}
	case wire.EventCategoryView:
		s.Categories = satInc16(s.Categories)
		s.Item = 0
		if e.Category != "" {
			s.Category = hashID(e.Category)
			a.addAffinity(s.Category, 0.5)
		}
	case wire.EventSearch:
		s.Searches = satInc16(s.Searches)
	case wire.EventAddToCart:
		s.CartAdds = satInc16(s.CartAdds)
		if e.Item != "" {
			h := hashID(e.Item)
			s.Seen = pushCapped(s.Seen, h, maxSeen)
			s.Cart = addToCart(s.Cart, h, float32(e.Value), qty(e.Quantity))
		}
		if e.Category != "" {
			a.addAffinity(hashID(e.Category), 2)
		}
		a.credit(models.ObjectiveAddToCart, e.Value, t)
	case wire.EventRemoveFromCart:
		s.CartRemoves = satInc16(s.CartRemoves)
		if e.Item != "" {
			s.Cart = removeFromCart(s.Cart, hashID(e.Item))
		}
	case wire.EventCheckout:
		s.Checkouts = satInc16(s.Checkouts)
		a.credit(models.ObjectiveCheckout, e.Value, t)
	case wire.EventPurchase:
		a.purchase(e, t)
	case wire.EventSignUp:
		p.Lead = true
		a.credit(models.ObjectiveSignUp, e.Value, t)
	case wire.EventClick:
		// Clicks mark engagement on the page; the learning buffer counts exposures and the campaigns' objectives.
	}
	s.Last = t
	p.Last = t
}

func (a *Agent) purchase(e *wire.Event, t int64) {
	p, s := &a.p, a.p.Session
	value := e.Value
	if value == 0 {
		for _, l := range e.Lines {
			value += float64(float64(float32(l.Price)) * float64(qty(l.Quantity))) // float64(): no fused multiply-add, same bits everywhere
		}
	}
	p.Orders++
	p.Revenue = min(p.Revenue+value, maxRevenue)
	if p.FirstOrder == 0 {
		p.FirstOrder = t
	}
	p.LastOrder = t
	s.Orders = satInc16(s.Orders)
	for _, l := range e.Lines {
		p.Bought = pushCapped(p.Bought, hashID(l.Item), maxBought)
		if l.Category != "" {
			a.addAffinity(hashID(l.Category), 3)
		}
	}
	s.Cart = s.Cart[:0]
	a.credit(models.ObjectivePurchase, value, t)
}

func (a *Agent) startSession(t int64) *Session {
	p := &a.p
	if p.Session != nil {
		a.fedClose(p.Session) // federated.go: the session's label is known
		p.PrevVisit = p.Session.Last
	}
	p.Visits++
	p.Session = &Session{Start: t, Last: t, Pages: make([]uint16, wire.NumPageTypes), Dwell: make([]uint32, wire.NumPageTypes)}
	return p.Session
}

// decayTo brings the decayed counters to time t.
func (a *Agent) decayTo(t int64) {
	p := &a.p
	if t <= p.DecayAt {
		return
	}
	if p.DecayAt != 0 {
		f := float32(decayFactor(t-p.DecayAt, a.set.HalfLifeDays))
		kept := p.Affinity[:0]
		for _, af := range p.Affinity {
			af.Weight *= f
			if af.Weight >= minAffinity {
				kept = append(kept, af)
			}
		}
		p.Affinity = kept
		for i := range p.Channels {
			p.Channels[i] *= f
		}
	}
	p.DecayAt = t
}

// minAffinity is where a decayed affinity is forgotten (about 200 days after one product view at a 30-day half-life).
const minAffinity = 0.01

// addAffinity adds w to a category's affinity; when the list is full the weakest entry gives way if weaker.
func (a *Agent) addAffinity(cat uint32, w float32) {
	p := &a.p
	for i := range p.Affinity {
		if p.Affinity[i].Category == cat {
			p.Affinity[i].Weight += w
			return
		}
	}
	if len(p.Affinity) < maxAffinities {
		p.Affinity = append(p.Affinity, Affinity{cat, w})
		return
	}
	weakest := 0
	for i := range p.Affinity {
		if p.Affinity[i].Weight < p.Affinity[weakest].Weight {
			weakest = i
		}
	}
	if p.Affinity[weakest].Weight < w {
		p.Affinity[weakest] = Affinity{cat, w}
	}
}

func addToCart(cart []CartLine, item uint32, price float32, q uint16) []CartLine {
	for i := range cart {
		if cart[i].Item == item {
			cart[i].Quantity = satAddQty(cart[i].Quantity, q)
			if price > 0 {
				cart[i].Price = price
			}
			return cart
		}
	}
	if len(cart) >= maxCart {
		copy(cart, cart[1:])
		cart = cart[:len(cart)-1]
	}
	return append(cart, CartLine{Item: item, Price: price, Quantity: q})
}

func removeFromCart(cart []CartLine, item uint32) []CartLine {
	for i := range cart {
		if cart[i].Item == item {
			return append(cart[:i], cart[i+1:]...)
		}
	}
	return cart
}

func qty(q uint32) uint16 {
	if q == 0 {
		return 1
	}
	return uint16(q) // validated ≤ maxQuantity
}

func satInc16(v uint16) uint16 {
	if v == math.MaxUint16 {
		return v
	}
	return v + 1
}

func satAddQty(v, d uint16) uint16 {
	if s := uint32(v) + uint32(d); s <= maxQuantity {
		return uint16(s)
	}
	return maxQuantity
}

func satAdd32(v, d uint32) uint32 {
	if s := uint64(v) + uint64(d); s <= math.MaxUint32 {
		return uint32(s)
	}
	return math.MaxUint32
}

func sum16(v []uint16) int {
	n := 0
	for _, x := range v {
		n += int(x)
	}
	return n
}
