package sim

import (
	"iter"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/presage-dev/presage/agent/wire"
)

// Sim is a configured simulation: a catalogue, and a population that is generated on demand.
// A Sim is immutable after New; its methods are safe for concurrent use (as long as the
// Responder, if any, is).
type Sim struct {
	cfg     Config
	cat     *Catalogue
	special []bool // per simulated day
	obsEnd  int64
	end     int64
}

// New validates cfg (its zero fields taking their defaults) and builds the catalogue. Errors start
// with "sim: ".
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.SpecialDays = slices.Clone(cfg.SpecialDays)
	s := &Sim{
		cfg:     cfg,
		cat:     newCatalogue(cfg),
		special: make([]bool, cfg.Days+cfg.HoldoutDays),
		obsEnd:  cfg.Start + int64(cfg.Days)*day,
		end:     cfg.Start + int64(cfg.Days+cfg.HoldoutDays)*day,
	}
	for _, d := range cfg.SpecialDays {
		s.special[d] = true
	}
	return s, nil
}

// Config returns the configuration in force, defaults filled in.
func (s *Sim) Config() Config { return s.cfg }

// Catalogue returns the shop's assortment. It is shared: do not modify it.
func (s *Sim) Catalogue() *Catalogue { return s.cat }

// ObservationEnd returns the end of the observation period (Start + Days), Unix milliseconds.
func (s *Sim) ObservationEnd() int64 { return s.obsEnd }

// Visitor is one simulated visitor: what the site saw, and what really happened.
type Visitor struct {
	Index     int
	Archetype Archetype

	// Events are the visitor's events in the observation period, in time order (strictly
	// increasing times). Sessions index into them.
	Events   []wire.Event
	Sessions []Session

	// Holdout and HoldoutSessions are the same for the holdout period (Config.HoldoutDays):
	// the future that predictions made at End are judged against.
	Holdout         []wire.Event
	HoldoutSessions []Session

	// End is the end of the observation period (Config.Start + Days): the "now" of a model
	// trained on Events, and the T of the value models.
	End int64

	Truth Truth
}

// Session is one visit and its truth.
type Session struct {
	// Start and End delimit the session's events: Events[Start:End] (Holdout[Start:End] for a
	// holdout session). The first is the EventArrival.
	Start, End int
	// Checkout is the index of the session's first EventCheckout, End when there is none.
	// Features computed from Events[Start:Checkout] do not leak whether the session converted:
	// that is the fair point at which to score "buys in this session".
	Checkout int
	// Time is the session's first instant (the arrival), Unix milliseconds.
	Time int64

	// Channel is the true arrival channel, even when the arrival carries only a referrer and
	// UTM fields; Device is the device of the session.
	Channel wire.Channel
	Device  wire.Device

	// Exposure is what the Responder showed (zero without a Responder).
	Exposure Exposure

	// Intent is the latent buying intent drawn at the start of the session.
	Intent bool
	// P is the true probability that the session converts, given everything known at its start
	// (the visitor's traits, the context, the exposure): the ideal a propensity model approaches.
	P float64
	// Uplift is the part of P the exposure caused: P minus the probability without it.
	Uplift float64

	// Converted reports whether the session ended with a purchase; Revenue is its order total.
	Converted bool
	Revenue   float64
}

// Truth is what the simulation knows about a visitor and the agent can only estimate.
type Truth struct {
	// Favourites are the ids of the visitor's favourite categories, most favoured first: the
	// truth of category appetence.
	Favourites []string
	// Propensity is the probability that a session of the visitor converts in a neutral context
	// (first visit, direct, desktop, no campaign): the visitor's latent inclination to buy.
	Propensity float64
	// PriceSensitivity is how strongly the visitor avoids dear items (0 = indifferent).
	PriceSensitivity float64
	// VisitRate (visits per day while alive) and Dropout (the chance of leaving for good after
	// each purchase) are the visitor's BG/NBD parameters, λ and p.
	VisitRate, Dropout float64
	// Alive reports whether the visitor had not dropped out at the end of the observation period:
	// the truth of P(alive). DiedAt is when the visitor dropped out (0: never, holdout included).
	Alive  bool
	DiedAt int64
	// Purchases and Revenue count the observation period, HoldoutPurchases and HoldoutRevenue
	// the holdout period.
	Purchases, HoldoutPurchases int
	Revenue, HoldoutRevenue     float64
}

// Visitor generates visitor i (i ≥ 0) from (Seed, i) alone: the result does not depend on which
// other visitors were generated, or in which order. With a Responder, the result depends also on
// the Responder's answers.
func (s *Sim) Visitor(i int) Visitor {
	if i < 0 {
		panic("sim: negative visitor index")
	}
	return s.generate(i)
}

// Visitors yields visitors 0 to n-1 in order, generating each one when it is asked for: a stream
// of a population too large to hold in memory.
func (s *Sim) Visitors(n int) iter.Seq2[int, Visitor] {
	return func(yield func(int, Visitor) bool) {
		for i := range n {
			if !yield(i, s.generate(i)) {
				return
			}
		}
	}
}

// All generates the Config.Visitors visitors, in parallel on every CPU; sequentially, in index
// order, when a Responder is set, so that a responder that learns across visitors (a bandit) sees
// them in a reproducible order.
func (s *Sim) All() []Visitor {
	n := s.cfg.Visitors
	out := make([]Visitor, n)
	workers := runtime.GOMAXPROCS(0)
	if s.cfg.Responder != nil || workers < 2 || n < 64 {
		for i := range out {
			out[i] = s.generate(i)
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				lo := int(next.Add(32)) - 32
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+32, n); i++ {
					out[i] = s.generate(i)
				}
			}
		})
	}
	wg.Wait()
	return out
}
