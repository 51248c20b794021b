package campaignsim

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

const (
	pressureVisitors = 10000
	dayMs            = 86400 * 1000
	weekMs           = 7 * dayMs
	pressureStart    = int64(1_800_000_000_000) // Unix ms
)

// pressureBundle has four campaigns on three slots, each with frequency caps, one with a holdout,
// two competing for the pop-in, under a pressure budget that binds before the caps do on busy days.
func pressureBundle() *models.Bundle {
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

const hourMs = 3600 * 1000

// exposure is one decision that counted against caps: the campaign, when, in which of the
// visitor's sessions, and whether it was shown (not a holdout).
type exposure struct {
	campaign string
	at       int64
	session  int
	shown    bool
}

// driver serves visitors: the native agent or the module in wazero.
type driver interface {
	load(profile []byte, seed uint64) error
	handle(req *wire.Request) (*wire.Answer, error)
	save() ([]byte, error)
}

type nativeDriver struct{ a *agent.Agent }

func (d nativeDriver) load(p []byte, seed uint64) error {
	if err := d.a.LoadProfile(p, seed); err != nil && len(p) > 0 {
		return err
	}
	return nil
}
func (d nativeDriver) handle(req *wire.Request) (*wire.Answer, error) { return d.a.Handle(req) }
func (d nativeDriver) save() ([]byte, error)                          { return d.a.SaveProfile(nil), nil }

type moduleDriver struct{ s *host.Session }

func (d moduleDriver) load(p []byte, seed uint64) error               { return d.s.LoadProfile(p, seed) }
func (d moduleDriver) handle(req *wire.Request) (*wire.Answer, error) { return d.s.Handle(req) }
func (d moduleDriver) save() ([]byte, error)                          { return d.s.SaveProfile() }

// runPressure drives pressureVisitors visitors through d. Between two sessions the visitor's profile
// is saved and loaded again, as a host would between two visits. It returns every visitor's
// exposures, in order.
func runPressure(t *testing.T, d driver) [][]exposure {
	t.Helper()
	r := rand.New(rand.NewPCG(42, 7))
	out := make([][]exposure, pressureVisitors)
	for v := range pressureVisitors {
		var profile []byte
		seed := uint64(v+1) << 20
		for si, s := range visitorScript(r) {
			seed++
			if err := d.load(profile, seed); err != nil {
				t.Fatalf("visitor %d session %d: load: %v", v, si, err)
			}
			for pi, at := range s.pages {
				seed++
				evs := []wire.Event{{Type: wire.EventPageView, Time: at, Page: wire.PageProduct}}
				if pi == 0 {
					evs = append([]wire.Event{{Type: wire.EventArrival, Time: at, Channel: wire.ChannelDirect}}, evs...)
				}
				ans, err := d.handle(&wire.Request{Now: at, Seed: seed, Events: evs, Slots: pressureSlots})
				if err != nil {
					t.Fatalf("visitor %d session %d page %d: %v", v, si, pi, err)
				}
				for _, dc := range ans.Decisions {
					if dc.Campaign != "" {
						out[v] = append(out[v], exposure{campaign: dc.Campaign, at: at, session: si, shown: !dc.Holdout})
					}
				}
			}
			var err error
			if profile, err = d.save(); err != nil {
				t.Fatalf("visitor %d session %d: save: %v", v, si, err)
			}
		}
	}
	return out
}

// capTally counts, over a run, the exposures, and how often each cap was reached: an exposure
// that brought a count to its cap. A cap never reached would prove nothing.
type capTally struct {
	exposures, shown, holdout int
	reached                   map[string]int
}

// checkCaps is the independent checker: it replays every visitor's exposures against the bundle's
// caps and pressure budget, with its own counting (UTC days and weeks of Unix time, as the agent
// counts them; sessions as the simulation drew them), and returns each violation.
func checkCaps(b *models.Bundle, logs [][]exposure) (tally capTally, violations []string) {
	tally.reached = map[string]int{}
	fail := func(v int, format string, args ...any) {
		violations = append(violations, fmt.Sprintf("visitor %d: "+format, append([]any{v}, args...)...))
	}
	for v, log := range logs {
		for k, e := range log {
			tally.exposures++
			if e.shown {
				tally.shown++
			} else {
				tally.holdout++
			}
			c := b.Campaigns[slices.IndexFunc(b.Campaigns, func(c models.Campaign) bool { return c.ID == e.campaign })]
			var sess, day, week, shownDay, shownSess int
			prev := int64(-1)
			for _, o := range log[:k+1] {
				sameDay := o.at/dayMs == e.at/dayMs
				if o.campaign == e.campaign {
					if o.session == e.session {
						sess++
					}
					if sameDay {
						day++
					}
					if o.at/weekMs == e.at/weekMs {
						week++
					}
					if o.at < e.at {
						prev = o.at
					}
				}
				if o.shown && sameDay {
					shownDay++
				}
				if o.shown && o.session == e.session {
					shownSess++
				}
			}
			check := func(what string, n int, limit uint16) {
				switch {
				case limit == 0:
				case n > int(limit):
					fail(v, "%s at %d: %d exposures, %s cap %d", e.campaign, e.at, n, what, limit)
				case n == int(limit):
					tally.reached[what]++
				}
			}
			if cp := c.Caps; cp != nil {
				check(e.campaign+" per session", sess, cp.PerSession)
				check(e.campaign+" per day", day, cp.PerDay)
				check(e.campaign+" per week", week, cp.PerWeek)
				if cp.MinGapSec > 0 && prev >= 0 {
					if gap := e.at - prev; gap < int64(cp.MinGapSec)*1000 {
						fail(v, "%s at %d: %d ms after the previous exposure, min gap %d s", e.campaign, e.at, gap, cp.MinGapSec)
					} else if gap < 2*int64(cp.MinGapSec)*1000 {
						tally.reached[e.campaign+" min gap (within 2×)"]++
					}
				}
			}
			if e.shown {
				check("pressure per day", shownDay, b.Pressure.PerDay)
				check("pressure per session", shownSess, b.Pressure.PerSession)
			}
		}
	}
	return tally, violations
}

// pressureReport checks a run, logs its tally, and fails on any violation or if a cap was never
// put to the test.
func pressureReport(t *testing.T, b *models.Bundle, logs [][]exposure) {
	t.Helper()
	tally, bad := checkCaps(b, logs)
	for i, v := range bad {
		if i < 10 {
			t.Error(v)
		}
	}
	t.Logf("%d visitors: %d exposures (%d shown, %d holdout), %d over a cap; caps reached: %v",
		pressureVisitors, tally.exposures, tally.shown, tally.holdout, len(bad), tally.reached)
	for _, k := range []string{"welcome per session", "welcome per day", "welcome per week", "welcome min gap (within 2×)",
		"reminder per session", "reminder per day", "reminder min gap (within 2×)", "hero per session", "hero per day", "hero per week", "hero min gap (within 2×)",
		"tip per day", "pressure per day", "pressure per session"} {
		if tally.reached[k] == 0 {
			t.Errorf("cap %q never reached: the simulation does not test it", k)
		}
	}
}

// TestPressureNative: 10,000 simulated visitors through the native agent, profiles saved and
// loaded between sessions; no exposure exceeds a frequency cap, a minimum gap or the pressure budget.
func TestPressureNative(t *testing.T) {
	b := pressureBundle()
	a := agent.New()
	if err := a.SetBundle(b, pressureStart); err != nil {
		t.Fatal(err)
	}
	logs := runPressure(t, nativeDriver{a})
	pressureReport(t, b, logs)

	// The checker itself: a second "welcome" a second after one (capped at one per session and one
	// per hour) is a violation it must see.
	for v, log := range logs {
		i := slices.IndexFunc(log, func(e exposure) bool { return e.campaign == "welcome" })
		if i < 0 {
			continue
		}
		e := log[i]
		e.at += 1000
		_, bad := checkCaps(b, [][]exposure{append(slices.Clone(log), e)})
		joined := strings.Join(bad, "\n")
		if !strings.Contains(joined, "session cap 1") || !strings.Contains(joined, "min gap 3600 s") {
			t.Fatalf("visitor %d: a second welcome a second later: violations %q, want the session cap and the gap", v, bad)
		}
		break
	}
}

// TestPressureModule: the same visitors through the module in wazero (runtime/host), the bundle
// loaded signed as a host loads it; the same checker, and the same exposures as natively.
func TestPressureModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	ctx := context.Background()
	wasm, err := modbuild.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(ctx, wasm, host.NewConfig().WithTrustedKeys(pub).WithPoolSize(1).WithInterruptibleCalls(false))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	b := pressureBundle()
	if _, err := h.LoadBundle(ctx, signing.Sign(b, priv)); err != nil {
		t.Fatal(err)
	}
	s, err := h.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	logs := runPressure(t, moduleDriver{s})
	pressureReport(t, b, logs)

	a := agent.New()
	if err := a.SetBundle(pressureBundle(), pressureStart); err != nil {
		t.Fatal(err)
	}
	native := runPressure(t, nativeDriver{a})
	for v := range logs {
		if !slices.Equal(logs[v], native[v]) {
			t.Fatalf("visitor %d: the module's exposures differ from the native agent's:\n%v\n%v", v, logs[v], native[v])
		}
	}
}
