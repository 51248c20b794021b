package agent_test

import (
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
)

// TestNothingCrossesVisitors serves visitor A, then loads visitor B into the same agent, as a pooled
// instance does: B's explanation and features must not show anything derived for A.
func TestNothingCrossesVisitors(t *testing.T) {
	a := agent.New()
	if err := a.SetBundle(handBundle(), 0); err != nil {
		t.Fatal(err)
	}
	a.Start(nil, 1)
	req := &wire.Request{Now: t0, Seed: 1, Slots: []string{"popin", "banner"},
		Events: []wire.Event{{Type: wire.EventArrival, Time: t0, Channel: wire.ChannelEmail}, {Type: wire.EventPageView, Time: t0, Page: wire.PageHome}}}
	if _, err := a.Handle(req); err != nil {
		t.Fatal(err)
	}
	if e := a.Explain(); len(e.Slots) == 0 || len(e.Drivers) == 0 {
		t.Fatalf("visitor A: explanation without slots or drivers: %+v", e)
	}
	for name, next := range map[string]func(){
		"new visitor":   func() { a.Start(nil, 2) },
		"saved profile": func() { a.Start(&agent.Profile{Version: 1, Visitor: 99}, 2) },
		"load profile":  func() { _ = a.LoadProfile(nil, 3) },
		"forget":        func() { a.Forget(4) },
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := a.Handle(req); err != nil { // serve A again
				t.Fatal(err)
			}
			next()
			if e := a.Explain(); e.Time != 0 || len(e.Slots) != 0 || len(e.Drivers) != 0 {
				t.Errorf("B sees A's explanation: %+v", e)
			}
			if *a.Features() != (agent.Vector{}) {
				t.Errorf("B sees A's features")
			}
		})
	}
}
