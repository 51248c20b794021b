package sim

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/presage-dev/presage/agent/wire"
)

// traits are a visitor's latent parameters, drawn once from the archetype's distributions.
type traits struct {
	arch       Archetype
	favs       []int     // favourite categories, most favoured first
	favCum     []float64 // cumulative preference over favs
	style      [EmbeddingDim]float32
	base       float64 // intent logit in a neutral context
	priceSens  float64
	completion float64 // chance that an intended purchase is completed at payment
	channels   [wire.NumChannels]float64
	device     wire.Device
	rate       float64 // visits per day while alive
	dropout    float64 // chance of dropping out after each purchase
	peak       float64 // preferred hour of the day
	spread     float64 // in hours
	depth      float64
	bounce     float64
	patience   float64
	search     float64
	signup     float64
	browseAdd  float64
	intentAdd  float64
	early      bool
}

// The effects of the context on the logit of a session's buying intent. These are the signals a
// propensity model is meant to find: e-mail and brand search convert better than social, desktop
// better than mobile, returning customers better than first visits, a recent visit better than an
// old one, a cart left earlier much better.
var (
	channelEffect = [wire.NumChannels]float64{0, 0.3, 0.6, 0, 0.7, -0.9, -0.2, -0.1}
	deviceEffect  = [wire.NumDevices]float64{0, 0.2, -0.25, 0}

	// postpone is the chance, per device, that a visitor set on buying leaves the order in the
	// cart for a later visit ("tonight, on the laptop"): the cart adds of sessions that do not
	// convert, and the conversions of sessions without a cart add.
	postpone = [wire.NumDevices]float64{0.25, 0.18, 0.4, 0.25}
)

const (
	effReturning   = 0.2   // any earlier session
	effRecency     = -0.12 // per log(1 + days since the last session)
	effCustomer    = 0.5   // any earlier purchase
	effRepeat      = 0.3   // per log(1 + earlier purchases)
	effPendingCart = 1.0   // a cart left by an earlier session
	effSpecial     = 0.5   // a special day
	sessionNoise   = 0.6   // sd of the session's unobserved mood, on the logit scale

	// A visitor in a buying mood adds a viewed product to the cart with this logit; a browsing
	// visitor with the archetype's browseAdd. The gap between the two (and the cart adds of
	// visitors who never buy) is what keeps "buys in this session" learnable but not trivial.
	intentAdd = -1.0

	// The end of a session. A visitor set on buying views the cart page before the checkout with
	// intentCartPage (the rest check out from a mini-cart); a browsing visitor with a cart views
	// it with browseCartPage and then starts a checkout it abandons with browseCheckout (shipping
	// costs, comparison). An intended order is completed with about completionBase, less for the
	// price-sensitive: checkout abandonment, the noise a model cannot remove.
	intentCartPage = 0.5
	browseCartPage = 0.6
	browseCheckout = 0.35
	completionBase = 0.66
	intentDwell    = 1.0
	cartCap        = 8 // lines in a cart
	cartLife       = 30 * day
	gap            = 30 * minute // minimum time between sessions: the usual sessionisation rule
)

// gen generates one visitor: its random stream, its traits, and the state that carries over
// between its sessions.
type gen struct {
	s   *Sim
	c   *Catalogue
	r   *rand.Rand
	idx int
	t   traits
	ev  []wire.Event

	last int64 // time of the last event

	// Page state inside a session.
	pageOpen      bool
	pageT, pageD  int64 // when the current page opened, and how long it is looked at
	focus         int   // the category the visitor is looking at
	intent        bool
	item          int // the product on the current page, -1 if none
	lastAdded     int // the last item added to the cart, -1 if none
	companionNext bool
	signupAt      int

	// State across sessions.
	sessions  int
	purchases int
	lastEnd   int64
	signedUp  bool
	cart      []cartLine
	cartTime  int64
	revenue   float64
}

type cartLine struct {
	item int
	qty  uint32
}

// generate simulates visitor i.
func (s *Sim) generate(i int) Visitor {
	g := &gen{s: s, c: s.cat, r: newRand(s.cfg.Seed, keyVisitor, uint64(i)), idx: i, item: -1, lastAdded: -1}
	g.drawTraits()
	v := Visitor{Index: i, Archetype: g.t.arch, End: s.obsEnd}
	v.Truth.Favourites = make([]string, len(g.t.favs))
	for k, f := range g.t.favs {
		v.Truth.Favourites[k] = g.c.Categories[f].ID
	}
	v.Truth.Propensity = sigmoid(g.t.base+channelEffect[wire.ChannelDirect]+deviceEffect[wire.DeviceDesktop]) *
		(1 - postpone[wire.DeviceDesktop]) * g.t.completion
	v.Truth.PriceSensitivity = g.t.priceSens
	v.Truth.VisitRate = g.t.rate
	v.Truth.Dropout = g.t.dropout

	r := g.r
	cfg := &s.cfg
	horizon := float64(cfg.Days + cfg.HoldoutDays)
	// The first visit: new visitors arrive evenly over the observation period, existing customers
	// (early archetypes) mostly at its beginning.
	u := r.Float64()
	if g.t.early {
		u *= u
	}
	tDays := u * float64(cfg.Days)
	// Room for the expected number of events, to spare the appends their copies.
	expect := (1 + g.t.rate*(horizon-tDays)) * 14
	g.ev = make([]wire.Event, 0, int(clamp(expect, 16, 4096)))
	var sessions []Session
	cut, cutSession := -1, -1
	for {
		start := cfg.Start + int64(math.Floor(tDays))*day + g.hourOfDay()
		if g.sessions > 0 {
			start = max(start, g.lastEnd+gap+r.Int64N(2*hour))
		}
		if start >= s.end {
			break
		}
		if start >= s.obsEnd && cut < 0 {
			cut, cutSession = len(g.ev), len(sessions)
		}
		sess := g.session(start)
		sessions = append(sessions, sess)
		if sess.Converted {
			if start < s.obsEnd {
				v.Truth.Purchases++
				v.Truth.Revenue += sess.Revenue
			} else {
				v.Truth.HoldoutPurchases++
				v.Truth.HoldoutRevenue += sess.Revenue
			}
			if r.Float64() < g.t.dropout {
				v.Truth.DiedAt = g.lastEnd
				break
			}
		}
		tDays = g.nextVisit(max(tDays, float64(g.lastEnd-cfg.Start)/float64(day)), horizon)
		if tDays >= horizon {
			break
		}
	}
	v.Truth.Alive = v.Truth.DiedAt == 0 || v.Truth.DiedAt >= s.obsEnd
	if cut < 0 {
		v.Events, v.Sessions = g.ev, sessions
		return v
	}
	v.Events, v.Sessions = g.ev[:cut:cut], sessions[:cutSession:cutSession]
	v.Holdout, v.HoldoutSessions = g.ev[cut:], sessions[cutSession:]
	for k := range v.HoldoutSessions {
		h := &v.HoldoutSessions[k]
		h.Start -= cut
		h.End -= cut
		h.Checkout -= cut
	}
	return v
}

// drawTraits draws the visitor's archetype and latent traits.
func (g *gen) drawTraits() {
	r, t := g.r, &g.t
	t.arch = Archetype(pick(r, archCum))
	p := &archetypes[t.arch]
	nc := len(g.c.Categories)

	nf := min(p.favMin+r.IntN(p.favMax-p.favMin+1), nc)
	t.favs = make([]int, 0, nf)
	for tries := 0; len(t.favs) < nf && tries < 50; tries++ {
		f := pick(r, g.c.catCum)
		if !slices.Contains(t.favs, f) {
			t.favs = append(t.favs, f)
		}
	}
	// Preferences over the favourites: a flat Dirichlet, sorted so that the first is the most
	// favoured.
	w := make([]float64, len(t.favs))
	for k := range w {
		w[k] = r.ExpFloat64()
	}
	slices.Sort(w)
	slices.Reverse(w)
	t.favCum = cumulate(w)
	for k := range t.style {
		t.style[k] = float32(r.NormFloat64() / math.Sqrt(EmbeddingDim))
	}

	t.base = p.base + p.baseSD*r.NormFloat64()
	t.priceSens = p.priceSens * math.Exp(0.3*r.NormFloat64())
	t.completion = clamp(completionBase-0.07*t.priceSens+0.05*r.NormFloat64(), 0.3, 0.95)
	sum := 0.0
	for c, cw := range p.channels {
		t.channels[c] = cw * gammaRand(r, 3) / 3
		sum += t.channels[c]
	}
	for c := range t.channels {
		t.channels[c] /= sum
	}
	switch u := r.Float64(); {
	case u < 0.55:
		t.device = wire.DeviceMobile
	case u < 0.93:
		t.device = wire.DeviceDesktop
	default:
		t.device = wire.DeviceTablet
	}
	shape := 1 / (p.rateCV * p.rateCV)
	t.rate = gammaRand(r, shape) * p.rate / shape
	t.dropout = betaRand(r, p.dropA, p.dropB)
	switch u := r.Float64(); {
	case u < 0.15:
		t.peak = 8.5
	case u < 0.4:
		t.peak = 12.5
	default:
		t.peak = 20.5
	}
	t.peak += r.NormFloat64()
	t.spread = 1 + 2*r.Float64()
	t.depth = p.depth * math.Exp(0.3*r.NormFloat64())
	t.bounce = clamp(p.bounce+0.1*r.NormFloat64(), 0.02, 0.95)
	t.patience = p.patience * math.Exp(0.25*r.NormFloat64())
	t.search = p.search
	t.signup = p.signup
	t.browseAdd = p.browseAdd + 0.8*r.NormFloat64()
	t.intentAdd = intentAdd + 0.5*r.NormFloat64()
	t.early = p.early
}

// hourOfDay draws the start of a visit within its day, around the visitor's preferred hour.
func (g *gen) hourOfDay() int64 {
	h := math.Mod(g.t.peak+g.t.spread*g.r.NormFloat64(), 24)
	if h < 0 {
		h += 24
	}
	return int64(h * float64(hour))
}

// nextVisit draws the time of the next visit (in days from Start) after t: a Poisson process at
// the visitor's rate, modulated by the day of the week and by special days (thinning).
func (g *gen) nextVisit(t, horizon float64) float64 {
	if g.t.rate <= 0 {
		return horizon
	}
	peak := 1.2
	if len(g.s.cfg.SpecialDays) > 0 {
		peak *= 2
	}
	for {
		t += g.r.ExpFloat64() / (g.t.rate * peak)
		if t >= horizon {
			return horizon
		}
		if g.r.Float64()*peak < g.s.dayFactor(int(t)) {
			return t
		}
	}
}

// dayFactor is how much more (or less) visitors come on simulated day d than on a weekday.
func (s *Sim) dayFactor(d int) float64 {
	f := 1.0
	switch weekday(s.cfg.Start + int64(d)*day) {
	case 5: // Friday
		f = 0.95
	case 6: // Saturday
		f = 1.15
	case 0: // Sunday
		f = 1.2
	}
	if d >= 0 && d < len(s.special) && s.special[d] {
		f *= 2
	}
	return f
}

// weekday returns the UTC day of the week of a Unix-millisecond time, 0 for Sunday.
func weekday(ms int64) int {
	d := ms / day
	if ms < 0 && ms%day != 0 {
		d--
	}
	return int((d%7 + 11) % 7) // 1970-01-01 was a Thursday
}
