package agent_test

import (
	"testing"

	"github.com/presage-dev/presage/agent/wire"
)

// TestSteadyCallsAllocateNothing pins what the module's speed rests on: in WebAssembly an
// allocation costs about as much as decoding a whole request, so once an agent's buffers have grown,
// handling an event and loading a returning visitor's profile allocate nothing (the decoder interns
// the bundle's ids and decodes into the previous request's and profile's memory).
func TestSteadyCallsAllocateNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("trains the benchmark bundle")
	}
	bundle, profile, end := benchFixture(t)
	a := benchAgent(t, bundle)
	now := end + minute
	handle := enc(&wire.Request{Now: now, Seed: 9, Slots: []string{"banner", "popin"}, MaxRecs: 6, Events: []wire.Event{
		{Type: wire.EventProductView, Time: now, Item: bundle.Items[5], Category: bundle.Categories[bundle.ItemCategory[5]], Value: 20},
		{Type: wire.EventAddToCart, Time: now, Item: bundle.Items[7], Category: bundle.Categories[bundle.ItemCategory[7]], Value: 20, Quantity: 1},
	}})
	load := enc(&wire.Request{Now: now, Seed: 2, Profile: profile})
	out := a.Call(wire.OpLoadProfile, load, nil)
	for _, tc := range []struct {
		name string
		op   wire.Op
		in   []byte
	}{{"handle", wire.OpHandle, handle}, {"load profile", wire.OpLoadProfile, load}} {
		out = a.Call(tc.op, tc.in, out[:0]) // grows the buffers
		if r, _ := call(t, a, tc.op, tc.in); r.Err != nil {
			t.Fatalf("%s: %+v", tc.name, r.Err)
		}
		if n := testing.AllocsPerRun(50, func() { out = a.Call(tc.op, tc.in, out[:0]) }); n != 0 {
			t.Errorf("%s: %.1f allocations a call, want 0", tc.name, n)
		}
	}
}
