package agent_test

import (
	"testing"

	"github.com/presage-dev/presage/agent/wire"
)

// BenchmarkHandlePhases splits one event of BenchmarkHandleEventNoAppetence's kind (a product view, two
// slots, the returning visitor, no recommendations asked) into its phases: the whole call, request
// decoding, Handle, reply encoding, and inside Handle the evaluation and one slot's decision; and
// the 6 recommendations a page with a carousel asks for, apart. Run it in
// wazero to see where the module's time goes (README, "Benchmarks").
func BenchmarkHandlePhases(b *testing.B) {
	bundle, _, end := benchFixture(b)
	noApp := cloneBundle(b, bundle)
	noApp.Appetence = nil
	a := benchAgent(b, noApp)
	now := end + minute
	ev := wire.Event{Type: wire.EventProductView, Time: now, Item: noApp.Items[5], Category: noApp.Categories[noApp.ItemCategory[5]], Value: 20}
	in := enc(&wire.Request{Now: now, Seed: 9, Slots: []string{"banner", "popin"}, Events: []wire.Event{ev}})
	out := a.Call(wire.OpHandle, in, nil)
	var reply wire.Reply
	var req wire.Request
	b.Run("call", func(b *testing.B) {
		for b.Loop() {
			out = a.Call(wire.OpHandle, in, out[:0])
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if err := a.PhaseDecode(in, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("handle", func(b *testing.B) {
		for b.Loop() {
			ans, err := a.Handle(&req)
			if err != nil {
				b.Fatal(err)
			}
			reply.Answer = ans
		}
	})
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			out = a.PhaseEncode(out[:0], &reply)
		}
	})
	b.Run("evaluate", func(b *testing.B) {
		for b.Loop() {
			a.PhaseEvaluate(now)
		}
	})
	var recs []wire.Rec
	b.Run("recommend", func(b *testing.B) {
		for b.Loop() {
			recs = a.PhaseRecommend(recs[:0])
		}
	})
	b.Run("decide", func(b *testing.B) {
		for b.Loop() {
			a.PhaseDecide("banner", now)
		}
	})
}
