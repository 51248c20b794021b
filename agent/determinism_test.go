package agent_test

import (
	"bytes"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
)

// The same event stream (simulated visitors the bundle was not trained on) through two fresh
// agents gives byte-identical replies for every call; a third agent that saves and reloads the
// profile at every visit, as an edge host does, answers byte for byte the same too.
func TestDeterministicReplay(t *testing.T) {
	b := demoBundle(t)
	s, err := demoConfig.Sim()
	if err != nil {
		t.Fatal(err)
	}
	visitors := 40
	if testing.Short() {
		visitors = 10
	}
	slots := slotsOf(b)
	env := envelope(b)
	events, calls := 0, 0
	for i := range visitors {
		v := s.Visitor(100000 + i)
		a1 := agent.New() // the bundle as a value
		if err := a1.SetBundle(b, 0); err != nil {
			t.Fatal(err)
		}
		a2 := agent.New() // the bundle as bytes
		callOK(t, a2, wire.OpLoadBundle, env)
		var saved []byte // a3's cookie
		seed := uint64(i) + 1
		start := enc(&wire.Request{Now: v.Events[0].Time, Seed: seed})
		callOK(t, a1, wire.OpLoadProfile, start)
		callOK(t, a2, wire.OpLoadProfile, start)
		for j := range v.Events {
			e := v.Events[j]
			req := wire.Request{Now: e.Time, Seed: seed*1000 + uint64(j), Events: []wire.Event{e}, TZ: 60}
			if e.Type == wire.EventPageView {
				req.Slots = slots
			}
			in := enc(&req)
			_, r1 := call(t, a1, wire.OpHandle, in)
			_, r2 := call(t, a2, wire.OpHandle, in)
			if !bytes.Equal(r1, r2) {
				t.Fatalf("visitor %d event %d: replies differ", i, j)
			}
			// a3 lives for one request only, from the cookie.
			a3 := agent.New()
			if err := a3.SetBundle(b, 0); err != nil {
				t.Fatal(err)
			}
			callOK(t, a3, wire.OpLoadProfile, enc(&wire.Request{Now: e.Time, Seed: seed, Profile: saved}))
			_, r3 := call(t, a3, wire.OpHandle, in)
			if !bytes.Equal(r1, r3) {
				t.Fatalf("visitor %d event %d: the agent restored from the saved profile answers differently", i, j)
			}
			saved = callOK(t, a3, wire.OpSaveProfile, nil).Profile
			if len(saved) > maxCookie {
				t.Fatalf("visitor %d event %d: profile of %d bytes", i, j, len(saved))
			}
			for _, op := range []wire.Op{wire.OpExplain, wire.OpSaveProfile} {
				_, x1 := call(t, a1, op, nil)
				_, x2 := call(t, a2, op, nil)
				if !bytes.Equal(x1, x2) {
					t.Fatalf("visitor %d event %d: op %d replies differ", i, j, op)
				}
			}
			if !bytes.Equal(saved, a1.SaveProfile(nil)) {
				t.Fatalf("visitor %d event %d: the restored agent's profile differs", i, j)
			}
			events++
			calls += 5
		}
		// Drains agree too (a3's buffer travels in its cookie).
		drain := enc(&wire.Request{Now: v.End, Seed: 3})
		_, d1 := call(t, a1, wire.OpDrain, drain)
		_, d2 := call(t, a2, wire.OpDrain, drain)
		a3 := agent.New()
		if err := a3.SetBundle(b, 0); err != nil {
			t.Fatal(err)
		}
		callOK(t, a3, wire.OpLoadProfile, enc(&wire.Request{Now: v.End, Seed: seed, Profile: saved}))
		_, d3 := call(t, a3, wire.OpDrain, drain)
		if !bytes.Equal(d1, d2) || !bytes.Equal(d1, d3) {
			t.Fatalf("visitor %d: drains differ", i)
		}
	}
	t.Logf("%d visitors, %d events, %d calls compared", visitors, events, calls)
}
