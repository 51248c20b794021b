package sim

import "github.com/presage-dev/presage/agent/wire"

// Archetype is the kind of visitor, the root of a visitor's latent traits. It is ground truth: the
// agent never sees it, but segments and personas can be checked against it.
type Archetype uint8

// The archetypes, from the least to the most valuable, roughly.
const (
	// ArchetypeBouncer lands from social or an ad, looks at one page and leaves; rarely returns.
	ArchetypeBouncer Archetype = iota
	// ArchetypeWindowShopper browses a lot, across several categories, and almost never buys.
	ArchetypeWindowShopper
	// ArchetypeResearcher compares at length (many product views, long dwell, searches) and buys
	// after a few visits.
	ArchetypeResearcher
	// ArchetypeDealHunter is price sensitive, comes from ads, e-mails and social, buys cheap, and
	// is the most moved by an incentive.
	ArchetypeDealHunter
	// ArchetypeOneOff comes for one purchase and is gone afterwards (high dropout).
	ArchetypeOneOff
	// ArchetypeLoyal visits often, directly or from e-mails, buys repeatedly and rarely drops out:
	// the "sure thing" whom an incentive does not move.
	ArchetypeLoyal
	// ArchetypeLapsing is a customer on the way out: active early, with a high dropout after each
	// purchase.
	ArchetypeLapsing
	// NumArchetypes counts the archetypes.
	NumArchetypes = iota
)

// String returns the archetype's stable name.
func (a Archetype) String() string {
	if int(a) < len(archetypes) {
		return archetypes[a].name
	}
	return "unknown"
}

// archParams are the distributions an archetype draws its visitors' traits from.
type archParams struct {
	name  string
	share float64 // share of the visitor population

	base, baseSD float64 // logit of a session's buying intent in a neutral context
	rate, rateCV float64 // mean visits per day, and its coefficient of variation (gamma)
	dropA, dropB float64 // Beta prior of the dropout probability after a purchase
	depth        float64 // mean pages after the landing page, when browsing without intent
	bounce       float64 // chance that a session without intent stops at the landing page
	priceSens    float64 // mean price sensitivity (0 = indifferent)
	patience     float64 // dwell multiplier
	search       float64 // weight of on-site search among the next pages
	favMin       int     // favourite categories: between favMin and favMax
	favMax       int
	signup       float64 // chance per session of signing up, for a visitor not yet signed up
	browseAdd    float64 // logit of a cart add per product view, without intent
	early        bool    // acquired early in the period: existing customers
	uplift       float64 // DefaultUplift: the logit shift a campaign exposure causes
	channels     [wire.NumChannels]float64
}

// The channel weights are in wire.Channel order: unknown (never drawn), direct, brand search,
// generic search, e-mail, social, paid, referral.
var archetypes = [NumArchetypes]archParams{
	ArchetypeBouncer: {name: "bouncer", share: 0.28,
		base: -6.1, baseSD: 0.6, rate: 0.008, rateCV: 1.0, dropA: 2, dropB: 2,
		depth: 1.5, bounce: 0.75, priceSens: 1.0, patience: 0.7, search: 0.5, favMin: 1, favMax: 2,
		signup: 0.005, browseAdd: -4.5, uplift: 0.05,
		channels: [wire.NumChannels]float64{0, 0.10, 0.02, 0.25, 0, 0.30, 0.25, 0.08}},
	ArchetypeWindowShopper: {name: "window_shopper", share: 0.22,
		base: -5.2, baseSD: 0.6, rate: 0.06, rateCV: 0.8, dropA: 2, dropB: 6,
		depth: 7, bounce: 0.25, priceSens: 1.0, patience: 1.1, search: 1, favMin: 2, favMax: 4,
		signup: 0.02, browseAdd: -2.6, uplift: 0.15,
		channels: [wire.NumChannels]float64{0, 0.20, 0.05, 0.25, 0.05, 0.30, 0.10, 0.05}},
	ArchetypeResearcher: {name: "researcher", share: 0.13,
		base: -3.5, baseSD: 0.6, rate: 0.08, rateCV: 0.7, dropA: 2, dropB: 6,
		depth: 10, bounce: 0.10, priceSens: 0.8, patience: 1.6, search: 2, favMin: 1, favMax: 2,
		signup: 0.03, browseAdd: -2.7, uplift: 0.35,
		channels: [wire.NumChannels]float64{0, 0.20, 0.10, 0.35, 0.05, 0.05, 0.10, 0.15}},
	ArchetypeDealHunter: {name: "deal_hunter", share: 0.12,
		base: -3.7, baseSD: 0.6, rate: 0.07, rateCV: 0.8, dropA: 2, dropB: 5,
		depth: 6, bounce: 0.25, priceSens: 2.2, patience: 0.9, search: 1.5, favMin: 2, favMax: 4,
		signup: 0.04, browseAdd: -3.2, uplift: 0.8,
		channels: [wire.NumChannels]float64{0, 0.10, 0.03, 0.15, 0.25, 0.20, 0.25, 0.05}},
	ArchetypeOneOff: {name: "one_off", share: 0.11,
		base: -3.0, baseSD: 0.6, rate: 0.03, rateCV: 0.8, dropA: 8, dropB: 2,
		depth: 5, bounce: 0.30, priceSens: 1.0, patience: 1.0, search: 1, favMin: 1, favMax: 2,
		signup: 0.01, browseAdd: -3.5, uplift: 0.3,
		channels: [wire.NumChannels]float64{0, 0.10, 0.05, 0.35, 0, 0.15, 0.25, 0.10}},
	ArchetypeLoyal: {name: "loyal", share: 0.08,
		base: -2.5, baseSD: 0.5, rate: 0.12, rateCV: 0.6, dropA: 1, dropB: 14,
		depth: 6, bounce: 0.15, priceSens: 0.6, patience: 1.0, search: 1, favMin: 2, favMax: 3,
		signup: 0.08, browseAdd: -3.0, early: true, uplift: -0.1,
		channels: [wire.NumChannels]float64{0, 0.35, 0.25, 0.05, 0.25, 0.03, 0.02, 0.05}},
	ArchetypeLapsing: {name: "lapsing", share: 0.06,
		base: -2.7, baseSD: 0.5, rate: 0.10, rateCV: 0.6, dropA: 4, dropB: 4,
		depth: 5, bounce: 0.20, priceSens: 1.0, patience: 1.0, search: 1, favMin: 1, favMax: 3,
		signup: 0.05, browseAdd: -3.2, early: true, uplift: 0.5,
		channels: [wire.NumChannels]float64{0, 0.30, 0.15, 0.15, 0.20, 0.10, 0.05, 0.05}},
}

// archCum is the cumulative archetype shares.
var archCum = func() []float64 {
	w := make([]float64, NumArchetypes)
	for i, a := range archetypes {
		w[i] = a.share
	}
	return cumulate(w)
}()

// DefaultUplift is the true effect of a campaign exposure when Config.Uplift is nil: a logit shift
// per archetype, whatever the campaign. Deal hunters and lapsing customers are persuadable, loyal
// customers buy anyway and are slightly put off (a "sleeping dog"), bouncers hardly react: the
// pattern that makes uplift targeting beat propensity targeting.
func DefaultUplift(a Archetype, e Exposure) float64 {
	if !e.Shown() || int(a) >= len(archetypes) {
		return 0
	}
	return archetypes[a].uplift
}
