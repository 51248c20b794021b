package campaignsim

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

const (
	dayMs         = 86400 * 1000
	weekMs        = 7 * dayMs
	hourMs        = 3600 * 1000
	pressureStart = int64(1_800_000_000_000) // Unix ms
)

// PressureBundle has four campaigns on three slots, each with frequency caps, one with a holdout,
// two competing for the pop-in, under a pressure budget that binds before the caps do on busy days.
func PressureBundle() *models.Bundle {
	v := func(ids ...string) (vs []models.Variant) {
		for _, id := range ids {
			vs = append(vs, models.Variant{ID: id, Weight: 1, Content: id})
		}
		return vs
	}
	return &models.Bundle{Format: models.FormatVersion, Version: 1, Created: pressureStart/1000 - 86400, Site: "pressure-shop",
		Settings: &models.Settings{DefaultConsent: uint8(wire.ConsentFull)},
		Pressure: &models.Pressure{PerDay: 12, PerSession: 6},
		Campaigns: []models.Campaign{
			{ID: "welcome", Slot: "popin", Priority: 2, Holdout: 1000, Variants: v("a", "b"),
				Caps: &models.Caps{PerSession: 1, PerDay: 2, PerWeek: 3, MinGapSec: 3600}},
			{ID: "reminder", Slot: "popin", Priority: 1, Variants: v("r"),
				Caps: &models.Caps{PerSession: 2, PerDay: 3, MinGapSec: 120}},
			{ID: "hero", Slot: "banner", Variants: v("x", "y", "z"),
				Caps: &models.Caps{PerSession: 3, PerDay: 5, PerWeek: 8, MinGapSec: 60}},
			{ID: "tip", Slot: "inline", Variants: v("t"), Caps: &models.Caps{PerDay: 2}},
		}}
}

var pressureSlots = []string{"popin", "banner", "inline"}

// session is one simulated visit: page views at the given times (Unix ms), the first an arrival.
type session struct{ pages []int64 }

// visitorScript draws a visitor's visits: 1 to 5 sessions over about two weeks, 1 to 8 page views
// each, 15 s to 10 min apart; sessions start at least an hour after the previous one's last page,
// well past the 30-minute session timeout, so that the simulation's sessions are the agent's.
func visitorScript(r *rand.Rand) []session {
	t := pressureStart + r.Int64N(7*dayMs)
	ss := make([]session, 1+r.IntN(5))
	for i := range ss {
		if i > 0 {
			t += hourMs + r.Int64N(3*dayMs)
		}
		n := 1 + r.IntN(8)
		for j := range n {
			if j > 0 {
				t += 15_000 + r.Int64N(10*60_000)
			}
			ss[i].pages = append(ss[i].pages, t)
		}
	}
	return ss
}

// Exposure is one decision that counted against caps: the campaign, when (Unix ms), in which of
// the visitor's sessions, and whether it was shown (not a holdout).
type Exposure struct {
	Campaign string
	At       int64
	Session  int
	Shown    bool
}

// Driver serves visitors: the native agent or the module in wazero.
type Driver interface {
	Load(profile []byte, seed uint64) error
	Handle(req *wire.Request) (*wire.Answer, error)
	Save() ([]byte, error)
}

// NativeDriver serves visitors with the native agent on bundle b.
func NativeDriver(b *models.Bundle) (Driver, error) {
	a := agent.New()
	if err := a.SetBundle(b, pressureStart); err != nil {
		return nil, err
	}
	return nativeDriver{a}, nil
}

type nativeDriver struct{ a *agent.Agent }

func (d nativeDriver) Load(p []byte, seed uint64) error {
	if err := d.a.LoadProfile(p, seed); err != nil && len(p) > 0 {
		return err
	}
	return nil
}
func (d nativeDriver) Handle(req *wire.Request) (*wire.Answer, error) { return d.a.Handle(req) }
func (d nativeDriver) Save() ([]byte, error)                          { return d.a.SaveProfile(nil), nil }

// ModuleDriver serves visitors with the module wasm in wazero (runtime/host), bundle b loaded
// signed as a host loads it. close releases the host.
func ModuleDriver(ctx context.Context, wasm []byte, b *models.Bundle) (d Driver, close func(), err error) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, nil, err
	}
	h, err := host.New(ctx, wasm, host.NewConfig().WithTrustedKeys(pub).WithPoolSize(1).WithInterruptibleCalls(false))
	if err != nil {
		return nil, nil, err
	}
	if _, err := h.LoadBundle(ctx, signing.Sign(b, priv)); err != nil {
		h.Close(ctx)
		return nil, nil, err
	}
	s, err := h.Acquire(ctx)
	if err != nil {
		h.Close(ctx)
		return nil, nil, err
	}
	return moduleDriver{s}, func() { s.Release(); h.Close(ctx) }, nil
}

type moduleDriver struct{ s *host.Session }

func (d moduleDriver) Load(p []byte, seed uint64) error               { return d.s.LoadProfile(p, seed) }
func (d moduleDriver) Handle(req *wire.Request) (*wire.Answer, error) { return d.s.Handle(req) }
func (d moduleDriver) Save() ([]byte, error)                          { return d.s.SaveProfile() }

// Pressure drives visitors simulated visitors (seeded, so every driver sees the same ones) through
// d, asking for PressureBundle's three slots on every page. Between two sessions the visitor's
// profile is saved and loaded again, as a host would between two visits. It returns every
// visitor's exposures, in order.
func Pressure(d Driver, visitors int, progress func(done, total int)) ([][]Exposure, error) {
	r := rand.New(rand.NewPCG(42, 7))
	out := make([][]Exposure, visitors)
	for v := range visitors {
		var profile []byte
		seed := uint64(v+1) << 20
		for si, s := range visitorScript(r) {
			seed++
			if err := d.Load(profile, seed); err != nil {
				return nil, fmt.Errorf("visitor %d session %d: load: %w", v, si, err)
			}
			for pi, at := range s.pages {
				seed++
				evs := []wire.Event{{Type: wire.EventPageView, Time: at, Page: wire.PageProduct}}
				if pi == 0 {
					evs = append([]wire.Event{{Type: wire.EventArrival, Time: at, Channel: wire.ChannelDirect}}, evs...)
				}
				ans, err := d.Handle(&wire.Request{Now: at, Seed: seed, Events: evs, Slots: pressureSlots})
				if err != nil {
					return nil, fmt.Errorf("visitor %d session %d page %d: %w", v, si, pi, err)
				}
				for _, dc := range ans.Decisions {
					if dc.Campaign != "" {
						out[v] = append(out[v], Exposure{Campaign: dc.Campaign, At: at, Session: si, Shown: !dc.Holdout})
					}
				}
			}
			var err error
			if profile, err = d.Save(); err != nil {
				return nil, fmt.Errorf("visitor %d session %d: save: %w", v, si, err)
			}
		}
		if progress != nil && (v+1)%500 == 0 {
			progress(v+1, visitors)
		}
	}
	return out, nil
}

// CapTally counts, over a run, the exposures, and how often each cap was reached: an exposure
// that brought a count to its cap. A cap never reached would prove nothing.
type CapTally struct {
	Exposures, Shown, Holdout int
	Reached                   map[string]int
}

// CapsToReach are the caps of PressureBundle that a run must reach (Tally.Reached keys) to prove
// anything about them.
var CapsToReach = []string{"welcome per session", "welcome per day", "welcome per week", "welcome min gap (within 2×)",
	"reminder per session", "reminder per day", "reminder min gap (within 2×)", "hero per session", "hero per day",
	"hero per week", "hero min gap (within 2×)", "tip per day", "pressure per day", "pressure per session"}

// CheckCaps is the independent checker: it replays every visitor's exposures against the bundle's
// caps and pressure budget, with its own counting (UTC days and weeks of Unix time, as the agent
// counts them; sessions as the simulation drew them), and returns each violation.
func CheckCaps(b *models.Bundle, logs [][]Exposure) (tally CapTally, violations []string) {
	tally.Reached = map[string]int{}
	fail := func(v int, format string, args ...any) {
		violations = append(violations, fmt.Sprintf("visitor %d: "+format, append([]any{v}, args...)...))
	}
	for v, log := range logs {
		for k, e := range log {
			tally.Exposures++
			if e.Shown {
				tally.Shown++
			} else {
				tally.Holdout++
			}
			ci := slices.IndexFunc(b.Campaigns, func(c models.Campaign) bool { return c.ID == e.Campaign })
			if ci < 0 {
				fail(v, "exposure to %q, a campaign the bundle does not have", e.Campaign)
				continue
			}
			c := b.Campaigns[ci]
			var sess, day, week, shownDay, shownSess int
			prev := int64(-1)
			for _, o := range log[:k+1] {
				sameDay := o.At/dayMs == e.At/dayMs
				if o.Campaign == e.Campaign {
					if o.Session == e.Session {
						sess++
					}
					if sameDay {
						day++
					}
					if o.At/weekMs == e.At/weekMs {
						week++
					}
					if o.At < e.At {
						prev = o.At
					}
				}
				if o.Shown && sameDay {
					shownDay++
				}
				if o.Shown && o.Session == e.Session {
					shownSess++
				}
			}
			check := func(what string, n int, limit uint16) {
				switch {
				case limit == 0:
				case n > int(limit):
					fail(v, "%s at %d: %d exposures, %s cap %d", e.Campaign, e.At, n, what, limit)
				case n == int(limit):
					tally.Reached[what]++
				}
			}
			if cp := c.Caps; cp != nil {
				check(e.Campaign+" per session", sess, cp.PerSession)
				check(e.Campaign+" per day", day, cp.PerDay)
				check(e.Campaign+" per week", week, cp.PerWeek)
				if cp.MinGapSec > 0 && prev >= 0 {
					if gap := e.At - prev; gap < int64(cp.MinGapSec)*1000 {
						fail(v, "%s at %d: %d ms after the previous exposure, min gap %d s", e.Campaign, e.At, gap, cp.MinGapSec)
					} else if gap < 2*int64(cp.MinGapSec)*1000 {
						tally.Reached[e.Campaign+" min gap (within 2×)"]++
					}
				}
			}
			if e.Shown && b.Pressure != nil {
				check("pressure per day", shownDay, b.Pressure.PerDay)
				check("pressure per session", shownSess, b.Pressure.PerSession)
			}
		}
	}
	return tally, violations
}

// Unreached lists the caps of CapsToReach that tally never reached.
func (tally CapTally) Unreached() (caps []string) {
	for _, k := range CapsToReach {
		if tally.Reached[k] == 0 {
			caps = append(caps, k)
		}
	}
	return caps
}
