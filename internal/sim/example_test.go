package sim_test

import (
	"fmt"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/sim"
)

// A simulation is a seed and a few sizes; visitors are generated on demand, each from the seed and
// its index alone.
func Example() {
	s, err := sim.New(sim.Config{Seed: 1, Items: 200, Categories: 8})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Catalogue().Categories[2].ID, "go with", s.Catalogue().Categories[3].ID)
	buyers := 0
	for _, v := range s.Visitors(1000) {
		if v.Truth.Purchases > 0 {
			buyers++
		}
		_ = v.Events // what the agent sees
	}
	fmt.Println(buyers > 0, s.Visitor(7).Events[0].Type == wire.EventArrival)
	// Output:
	// cameras go with memory-cards
	// true true
}

// An interactive simulation: the responder decides what each session shows, and the truth records
// what the exposure changed.
func ExampleResponder() {
	show := sim.ResponderFunc(func(visitor int, history []wire.Event) sim.Exposure {
		if visitor%2 == 0 {
			return sim.Exposure{Campaign: "welcome", Variant: "10-percent"}
		}
		return sim.Exposure{Campaign: "welcome", Holdout: true}
	})
	s, _ := sim.New(sim.Config{Seed: 1, Responder: show})
	v := s.Visitor(0)
	first := v.Sessions[0]
	fmt.Println(first.Exposure.Campaign, first.Exposure.Shown(), first.Uplift != 0)
	// Output:
	// welcome true true
}
