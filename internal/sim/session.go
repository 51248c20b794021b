package sim

import (
	"math"

	"github.com/presage-dev/presage/agent/wire"
)

// session simulates one visit starting at start and returns its truth. The story: the visitor
// arrives through a channel on a landing page; the site may show a campaign (Responder); a buying
// intent is drawn from a logistic model of the context; the intent then shapes what follows
// (bounce or not, how many pages, dwell, cart adds, checkout), and an intended purchase is
// completed at payment with the visitor's completion probability.
func (g *gen) session(start int64) Session {
	r, t, cfg := g.r, &g.t, &g.s.cfg
	if len(g.cart) > 0 && start-g.cartTime > cartLife {
		g.cart = g.cart[:0] // the site forgot the cart
	}
	pending := len(g.cart) > 0
	returning := g.sessions > 0
	customer := g.purchases > 0
	reachable := g.signedUp || customer // on the mailing list

	ch := g.channel(reachable, pending)
	dev := t.device
	if r.Float64() < 0.2 {
		dev = wire.Device(1 + r.IntN(int(wire.NumDevices)-1))
	}
	g.focus = g.favourite()
	if pending && r.Float64() < 0.5 {
		g.focus = g.c.Items[g.cart[r.IntN(len(g.cart))].item].Category
	}
	g.pageOpen, g.item, g.lastAdded, g.companionNext, g.signupAt = false, -1, -1, false, -1
	g.pageT, g.pageD = start, 0

	s := Session{Start: len(g.ev), Time: start, Channel: ch, Device: dev}
	g.emit(g.arrival(ch, dev), start)
	g.pageT = g.last
	landing := g.landing(ch, pending)
	g.view(landing)

	// The buying intent: a logistic model of what is known at the start of the session.
	z := t.base + channelEffect[ch] + deviceEffect[dev]
	if returning {
		z += effReturning + effRecency*math.Log1p(float64(start-g.lastEnd)/float64(day))
	}
	if customer {
		z += effCustomer + effRepeat*math.Log1p(float64(g.purchases))
	}
	if pending {
		z += effPendingCart
	}
	z += hourEffect(start - cfg.Start)
	if d := int((start - cfg.Start) / day); d < len(g.s.special) && g.s.special[d] {
		z += effSpecial
	}
	z += sessionNoise * r.NormFloat64()
	shift := 0.0
	if cfg.Responder != nil {
		s.Exposure = cfg.Responder.Respond(g.idx, g.ev)
		if s.Exposure.Shown() {
			shift = cfg.Uplift(t.arch, s.Exposure)
		}
	}
	p := sigmoid(z + shift)
	finish := (1 - postpone[dev]) * t.completion
	s.P = p * finish
	s.Uplift = (p - sigmoid(z)) * finish
	g.intent = r.Float64() < p
	s.Intent = g.intent
	if s.Exposure.Shown() && r.Float64() < sigmoid(-2.5+shift+1.5*b2f(g.intent)) {
		g.emit(wire.Event{Type: wire.EventClick, Campaign: s.Exposure.Campaign, Variant: s.Exposure.Variant}, g.at(0.3))
	}
	g.act(landing, false)

	// Browsing.
	n := 0
	switch {
	case pending && g.intent && r.Float64() < 0.5:
		n = r.IntN(2) // back to finish the order
	case r.Float64() < t.bounce*(1-0.3*b2f(g.intent)):
		// A bounce, or a visitor who knew what to buy: straight from the landing page.
	default:
		n = min(1+geometric(r, t.depth-1), 60)
	}
	if !g.signedUp && r.Float64() < t.signup*(1+b2f(g.intent)) {
		g.signupAt = r.IntN(n + 1)
	}
	prev := landing
	for k := range n {
		if k == g.signupAt {
			g.view(wire.PageAccount)
			g.signUp()
			prev = wire.PageAccount
			continue
		}
		pt := g.nextPage(prev)
		g.view(pt)
		g.act(pt, false)
		prev = pt
	}
	if g.signupAt == n {
		g.view(wire.PageAccount)
		g.signUp()
		prev = wire.PageAccount
	}

	// The end of the session: an order, an abandoned checkout, or nothing.
	s.Checkout = -1
	switch {
	case g.intent && r.Float64() < postpone[dev]:
		// Decided, but not now: the cart waits for a later visit (often on another device).
		if prev != wire.PageCart && r.Float64() < browseCartPage {
			g.view(wire.PageCart)
		}
		if len(g.cart) == 0 {
			g.view(wire.PageProduct)
			g.act(wire.PageProduct, true)
		}
	case g.intent:
		if len(g.cart) == 0 {
			g.view(wire.PageProduct)
			g.act(wire.PageProduct, true)
			prev = wire.PageProduct
		}
		if prev != wire.PageCart && r.Float64() < intentCartPage {
			g.view(wire.PageCart)
		}
		s.Checkout = g.checkout()
		if r.Float64() < t.completion {
			s.Converted = true
			s.Revenue = g.purchase()
			if !g.signedUp && r.Float64() < 0.3 {
				g.view(wire.PageAccount)
				g.signUp()
			}
		}
	case len(g.cart) > 0 && r.Float64() < browseCartPage:
		if prev != wire.PageCart {
			g.view(wire.PageCart)
			g.act(wire.PageCart, false)
		}
		if len(g.cart) > 0 && r.Float64() < browseCheckout {
			s.Checkout = g.checkout()
		}
	}
	s.End = len(g.ev)
	if s.Checkout < 0 {
		s.Checkout = s.End
	}
	g.lastEnd = g.pageT + g.pageD
	g.sessions++
	return s
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// hourEffect is the effect of the time of day on intent: evenings buy, nights browse.
func hourEffect(sinceStart int64) float64 {
	switch h := (sinceStart % day) / hour; {
	case h >= 19 && h < 23:
		return 0.15
	case h < 6:
		return -0.3
	}
	return 0
}

// emit appends e at time at, or just after the previous event: times are strictly increasing.
func (g *gen) emit(e wire.Event, at int64) {
	if at <= g.last {
		at = g.last + 1
	}
	e.Time = at
	g.last = at
	g.ev = append(g.ev, e)
}

// at returns the instant at fraction f of the current page's dwell.
func (g *gen) at(f float64) int64 { return g.pageT + int64(f*float64(g.pageD)) }

// Median dwell per page type, in seconds.
var dwellMedian = [wire.NumPageTypes]float64{
	wire.PageOther: 10, wire.PageHome: 8, wire.PageCategory: 14, wire.PageProduct: 28,
	wire.PageSearch: 9, wire.PageCart: 18, wire.PageCheckout: 55, wire.PageContent: 40, wire.PageAccount: 20,
}

// open shows a new page: the page view carries the dwell on the previous page.
func (g *gen) open(pt wire.PageType) {
	var prev int64
	if g.pageOpen {
		prev = g.pageD
		g.pageT += g.pageD
	}
	d := dwellMedian[pt] * g.t.patience * math.Exp(0.7*g.r.NormFloat64())
	if g.intent {
		d *= intentDwell
	}
	g.pageD = int64(clamp(d, 1, 1200) * float64(second))
	g.emit(wire.Event{Type: wire.EventPageView, Page: pt, DwellMs: uint32(prev)}, g.pageT)
	g.pageT = g.last
	g.pageOpen = true
}

// view opens a page and emits what it shows.
func (g *gen) view(pt wire.PageType) {
	g.open(pt)
	g.item = -1
	switch pt {
	case wire.PageCategory:
		if g.r.Float64() < 0.25 {
			g.focus = g.favourite()
		}
		g.emit(wire.Event{Type: wire.EventCategoryView, Category: g.c.Categories[g.focus].ID}, g.pageT)
	case wire.PageSearch:
		if g.r.Float64() < 0.5 {
			g.focus = g.favourite()
		}
		cat := &g.c.Categories[g.focus]
		g.emit(wire.Event{Type: wire.EventSearch, Query: cat.queries[g.r.IntN(len(cat.queries))]}, g.pageT)
	case wire.PageProduct:
		g.item = g.nextItem()
		it := &g.c.Items[g.item]
		g.emit(wire.Event{Type: wire.EventProductView, Item: it.ID, Category: g.c.Categories[it.Category].ID, Value: it.Price}, g.pageT)
	}
}

// act is what the visitor does on the page: add the product to the cart, remove a line from the
// cart. force makes a product page end in the cart (a visitor set on buying).
func (g *gen) act(pt wire.PageType, force bool) {
	r := g.r
	switch pt {
	case wire.PageProduct:
		it := &g.c.Items[g.item]
		cat := &g.c.Categories[it.Category]
		z := g.t.browseAdd
		if g.intent {
			z = g.t.intentAdd
			if len(g.cart) > 0 {
				z -= 0.5
			}
		}
		z -= 0.7 * g.t.priceSens * math.Log(it.Price/cat.MedianPrice)
		if g.companionNext {
			z += 0.5
		}
		g.companionNext = false
		if !force && (len(g.cart) >= cartCap || r.Float64() >= sigmoid(z)) {
			return
		}
		qty := uint32(1)
		if it.Price < 20 {
			switch u := r.Float64(); {
			case u < 0.05:
				qty = 3
			case u < 0.2:
				qty = 2
			}
		}
		g.emit(wire.Event{Type: wire.EventAddToCart, Item: it.ID, Category: cat.ID, Value: it.Price, Quantity: qty}, g.at(0.5+0.4*r.Float64()))
		g.addLine(g.item, qty)
		g.lastAdded = g.item
		g.cartTime = g.last
		g.companionNext = len(cat.Companions) > 0 && r.Float64() < 0.2+0.2*b2f(g.intent)
	case wire.PageCart:
		if len(g.cart) > 0 && r.Float64() < 0.12 {
			k := r.IntN(len(g.cart))
			it := &g.c.Items[g.cart[k].item]
			g.emit(wire.Event{Type: wire.EventRemoveFromCart, Item: it.ID, Category: g.c.Categories[it.Category].ID}, g.at(0.3+0.5*r.Float64()))
			g.cart = append(g.cart[:k], g.cart[k+1:]...)
			g.cartTime = g.last
		}
	}
}

func (g *gen) addLine(item int, qty uint32) {
	for k := range g.cart {
		if g.cart[k].item == item {
			g.cart[k].qty += qty
			return
		}
	}
	g.cart = append(g.cart, cartLine{item, qty})
}

// cartTotal is the value of the cart.
func (g *gen) cartTotal() float64 {
	v := 0.0
	for _, l := range g.cart {
		v += g.c.Items[l.item].Price * float64(l.qty)
	}
	return math.Round(v*100) / 100
}

// checkout opens the checkout page and returns the index of its EventCheckout.
func (g *gen) checkout() int {
	g.open(wire.PageCheckout)
	g.emit(wire.Event{Type: wire.EventCheckout, Value: g.cartTotal()}, g.pageT)
	return len(g.ev) - 1
}

// purchase emits the order of the whole cart, empties it, and returns the order total.
func (g *gen) purchase() float64 {
	lines := make([]wire.Line, len(g.cart))
	for k, l := range g.cart {
		it := &g.c.Items[l.item]
		lines[k] = wire.Line{Item: it.ID, Category: g.c.Categories[it.Category].ID, Price: it.Price, Quantity: l.qty}
	}
	total := g.cartTotal()
	g.emit(wire.Event{Type: wire.EventPurchase, Lines: lines, Value: total}, g.at(0.9))
	g.cart = g.cart[:0]
	g.purchases++
	g.revenue += total
	return total
}

func (g *gen) signUp() {
	g.emit(wire.Event{Type: wire.EventSignUp}, g.at(0.8))
	g.signedUp = true
}

// favourite draws a category for the visitor's attention: a favourite most of the time, any
// category (by its weight) otherwise.
func (g *gen) favourite() int {
	if g.r.Float64() < 0.85 {
		return g.t.favs[pick(g.r, g.t.favCum)]
	}
	return pick(g.r, g.c.catCum)
}

// nextItem draws the product the visitor looks at next: a companion of the last item added to the
// cart (cross-sell), or an item of the focused category to the visitor's taste.
func (g *gen) nextItem() int {
	if g.companionNext && g.lastAdded >= 0 {
		anchor := &g.c.Items[g.lastAdded]
		comp := g.c.Categories[anchor.Category].Companions
		if len(comp) > 0 {
			return g.c.pickItem(g.r, comp[g.r.IntN(len(comp))], &anchor.Embedding, 0.5)
		}
	}
	return g.c.pickItem(g.r, g.focus, &g.t.style, 1.5)
}

// nextPage draws the type of the next page from where the visitor is.
func (g *gen) nextPage(prev wire.PageType) wire.PageType {
	r := g.r
	if g.companionNext || (prev == wire.PageSearch && r.Float64() < 0.8) {
		return wire.PageProduct
	}
	w := [...]float64{
		0.50,              // product
		0.17,              // category
		0.06 * g.t.search, // search
		0.05,              // home
		0.06,              // content
		0.02,              // account
		0,                 // cart
	}
	if g.signedUp || g.purchases > 0 {
		w[5] += 0.04
	}
	if len(g.cart) > 0 {
		w[6] = 0.05 + 0.04*b2f(g.intent)
	}
	pages := [...]wire.PageType{wire.PageProduct, wire.PageCategory, wire.PageSearch, wire.PageHome,
		wire.PageContent, wire.PageAccount, wire.PageCart}
	return pages[pick(r, cumulate(w[:]))]
}

// landing draws the first page of a session from its channel: ads and search land on products
// and categories, direct and brand traffic on the home page, cart reminders on the cart.
func (g *gen) landing(ch wire.Channel, pending bool) wire.PageType {
	// Weights of home, category, product, content.
	var w [4]float64
	switch ch {
	case wire.ChannelDirect:
		w = [4]float64{0.7, 0.15, 0.1, 0.05}
	case wire.ChannelBrandSearch:
		w = [4]float64{0.6, 0.25, 0.15, 0}
	case wire.ChannelGenericSearch:
		w = [4]float64{0, 0.45, 0.5, 0.05}
	case wire.ChannelEmail:
		if pending && g.r.Float64() < 0.5 {
			return wire.PageCart
		}
		w = [4]float64{0.2, 0.3, 0.4, 0.1}
	case wire.ChannelSocial:
		w = [4]float64{0.2, 0, 0.6, 0.2}
	case wire.ChannelPaid:
		w = [4]float64{0, 0.35, 0.65, 0}
	default:
		w = [4]float64{0, 0.2, 0.5, 0.3}
	}
	pages := [4]wire.PageType{wire.PageHome, wire.PageCategory, wire.PageProduct, wire.PageContent}
	return pages[pick(g.r, cumulate(w[:]))]
}

// channel draws the session's arrival channel from the visitor's mix. E-mail needs the visitor on
// the mailing list, and abandoned-cart reminders make it likelier when a cart is waiting.
func (g *gen) channel(reachable, pending bool) wire.Channel {
	w := g.t.channels
	if !reachable {
		w[wire.ChannelEmail] = 0
	} else if pending {
		w[wire.ChannelEmail] *= 3
	}
	return wire.Channel(pick(g.r, cumulate(w[:])))
}
