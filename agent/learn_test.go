package agent_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
)

type cellKey struct{ campaign, variant, segment string }

func cellsOf(b *wire.Batch) map[cellKey]wire.Cell {
	out := map[cellKey]wire.Cell{}
	for _, c := range b.Cells {
		out[cellKey{c.Campaign, c.Variant, c.Segment}] = c
	}
	return out
}

func primary(ans *wire.Answer) string {
	if len(ans.Segments) == 0 {
		return ""
	}
	return ans.Segments[0]
}

// The buffer counts exposures, conversions and revenue per campaign × variant × segment (the
// visitor's first segment when the campaign was decided).
func TestLearningCells(t *testing.T) {
	b := handBundle(withCampaigns(nil, simpleCampaign("c", "hero", 1, nil), simpleCampaign("d", "side", 1, nil)))
	a := newAgent(t, b)
	want := map[cellKey]wire.Cell{}
	expose := func(ans *wire.Answer, slots ...string) {
		for _, s := range slots {
			d := decision(t, ans, s)
			k := cellKey{d.Campaign, d.Variant, primary(ans)}
			c := want[k]
			c.Campaign, c.Variant, c.Segment = k.campaign, k.variant, k.segment
			c.Exposures++
			want[k] = c
		}
	}
	// 3 product views: persuadable.
	ans := stepSlots(t, a, T, []string{"hero"}, arrive(wire.ChannelDirect), view(itemID(0), "socks"), view(itemID(1), "socks"), view(itemID(2), "socks"))
	if primary(ans) != "persuadable" {
		t.Fatalf("segments %v", ans.Segments)
	}
	expose(ans, "hero")
	ans = stepSlots(t, a, T+minute, []string{"hero"}, pv(wire.PageHome))
	expose(ans, "hero")
	ans = stepSlots(t, a, T+2*minute, []string{"hero", "side"}, view(itemID(3), "socks")) // 4 views: no longer persuadable
	if primary(ans) == "persuadable" {
		t.Fatalf("segments %v", ans.Segments)
	}
	expose(ans, "hero", "side")
	last := primary(ans) // the answer is the agent's: read it before the next call
	// An order the next day is credited to both campaigns, in the segment of their last exposure.
	step(t, a, T+day, arrive(wire.ChannelEmail), buy(30))
	for k, c := range want {
		if k.segment == last {
			c.Conversions, c.Revenue = 1, 30
			want[k] = c
		}
	}
	got := cellsOf(a.Drain(T+day, 1))
	if len(got) != len(want) {
		t.Fatalf("cells %v, want %v", got, want)
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("cell %v: %+v, want %+v", k, g, w)
		}
	}
}

// Orders are credited within the attribution window (7 days by default) after the last exposure only.
func TestAttributionWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		delay    int64
		settings uint16 // AttributionDays, 0 = default
		credited bool
	}{
		{"same session", minute, 0, true},
		{"six days later", 6 * day, 0, true},
		{"exactly seven days later", 7 * day, 0, true},
		{"seven days and a second later", 7*day + sec, 0, false},
		{"thirty days later", 30 * day, 0, false},
		{"two days with a one-day window", 2 * day, 1, false},
		{"twenty days with a thirty-day window", 20 * day, 30, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := handBundle(withCampaigns(nil, simpleCampaign("c", "hero", 1, nil)), func(b *models.Bundle) {
				b.Settings.AttributionDays = tc.settings
			})
			a := newAgent(t, b)
			stepSlots(t, a, T, []string{"hero"}, arrive(wire.ChannelDirect))
			step(t, a, T+tc.delay, arrive(wire.ChannelDirect), buy(25))
			bt := a.Drain(T+tc.delay, 1)
			if len(bt.Cells) != 1 || bt.Cells[0].Exposures != 1 {
				t.Fatalf("cells %+v", bt.Cells)
			}
			c := bt.Cells[0]
			if tc.credited != (c.Conversions == 1) || (tc.credited && c.Revenue != 25) || (!tc.credited && c.Revenue != 0) {
				t.Fatalf("cell %+v, credited want %v", c, tc.credited)
			}
		})
	}
}

// Learning leaves the device only with full consent; a visitor who denies consent leaves nothing.
func TestLearningConsent(t *testing.T) {
	camp := withCampaigns(nil, simpleCampaign("c", "hero", 1, nil))
	for _, tc := range []struct {
		name       string
		defConsent wire.Consent // the bundle's default
		events     []wire.Event // before the exposure and the order
		learned    bool
		persistent bool
	}{
		{"default full", wire.ConsentFull, nil, true, true},
		{"default local", wire.ConsentLocal, nil, false, true},
		{"default unset means local", wire.ConsentUnset, nil, false, true},
		{"local then full", wire.ConsentLocal, []wire.Event{consent(wire.ConsentFull)}, true, true},
		{"full then local", wire.ConsentFull, []wire.Event{consent(wire.ConsentLocal)}, false, true},
		{"denied", wire.ConsentFull, []wire.Event{consent(wire.ConsentDenied)}, false, false},
		{"unset falls back to the default", wire.ConsentFull, []wire.Event{consent(wire.ConsentDenied), consent(wire.ConsentUnset)}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := handBundle(camp, func(b *models.Bundle) { b.Settings.DefaultConsent = uint8(tc.defConsent) })
			a := newAgent(t, b)
			stepSlots(t, a, T, []string{"hero"}, append(append([]wire.Event{arrive(wire.ChannelDirect)}, tc.events...), pv(wire.PageHome))...)
			step(t, a, T+minute, buy(10))
			if got := a.Persistent(); got != tc.persistent {
				t.Fatalf("Persistent %v", got)
			}
			r := callOK(t, a, wire.OpSaveProfile, nil)
			if saved := a.SaveProfile([]byte("x")); (len(r.Profile) > 0) != tc.persistent || (len(saved) > 1) != tc.persistent {
				t.Fatalf("saved %d bytes (ABI) and %d (API), persistent %v", len(r.Profile), len(saved)-1, tc.persistent)
			}
			bt := a.Drain(T+minute, 1)
			if (len(bt.Cells) > 0) != tc.learned {
				t.Fatalf("cells %+v, learned want %v", bt.Cells, tc.learned)
			}
			if tc.learned && (bt.Cells[0].Exposures != 1 || bt.Cells[0].Conversions != 1) {
				t.Fatalf("cells %+v", bt.Cells)
			}
		})
	}
}

// BUG (see report): a visitor who withdraws full consent (to local) must not have the learning
// gathered before leave the device at the next drain; only denial clears the buffer today.
func TestConsentWithdrawnClearsLearning(t *testing.T) {
	for _, c := range []wire.Consent{wire.ConsentDenied, wire.ConsentLocal} {
		t.Run(fmt.Sprint("to ", c), func(t *testing.T) {
			a := newAgent(t, handBundle(withCampaigns(nil, simpleCampaign("c", "hero", 1, nil))))
			stepSlots(t, a, T, []string{"hero"}, arrive(wire.ChannelDirect), pv(wire.PageHome)) // learned under full consent
			step(t, a, T+minute, consent(c))
			if bt := a.Drain(T+minute, 1); len(bt.Cells) != 0 || bt.Dropped != 0 {
				t.Fatalf("after consent %d the drain still sends %+v", c, bt)
			}
		})
	}
}

// Drain returns the buffer and clears it; the batch id comes from the seed; the batch carries the
// day, the site and the bundle version, and no time or identifier.
func TestDrain(t *testing.T) {
	b := handBundle(withCampaigns(nil, simpleCampaign("c", "hero", 1, nil)))
	a := newAgent(t, b)
	stepSlots(t, a, T, []string{"hero"}, arrive(wire.ChannelDirect))
	saved := a.SaveProfile(nil)
	bt := callOK(t, a, wire.OpDrain, enc(&wire.Request{Now: T + 5*hour, Seed: 11})).Batch
	if bt == nil || len(bt.Cells) != 1 || bt.Cells[0].Exposures != 1 {
		t.Fatalf("batch %+v", bt)
	}
	if bt.Day != int32((T+5*hour)/day) || bt.Site != "hand-shop" || bt.Bundle != b.Version || len(bt.ID) != 16 {
		t.Fatalf("batch header %+v", bt)
	}
	if again := callOK(t, a, wire.OpDrain, enc(&wire.Request{Now: T + 6*hour, Seed: 12})).Batch; len(again.Cells) != 0 || bytes.Equal(again.ID, bt.ID) {
		t.Fatalf("second drain %+v: not cleared, or the same id", again)
	}
	// The same state drained with the same seed gives the same id; another seed another id.
	ids := map[string]bool{}
	for seed := range uint64(50) {
		a2 := newAgent(t, b)
		if err := a2.LoadProfile(saved, 1); err != nil {
			t.Fatal(err)
		}
		ids[string(a2.Drain(T, seed).ID)] = true
	}
	a3 := newAgent(t, b)
	if err := a3.LoadProfile(saved, 1); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a3.Drain(T+day, 11).ID, bt.ID) {
		t.Fatal("the same seed gives another batch id")
	}
	if len(ids) != 50 {
		t.Fatalf("50 seeds gave %d batch ids", len(ids))
	}
	// The drained batch is all a sync server gets: it must hold no visitor id and no time finer than a day.
	vid := a.Profile().Visitor
	_, out := call(t, a, wire.OpDrain, enc(&wire.Request{Now: T, Seed: 1}))
	for _, k := range [][]byte{u64le(vid), u64be(vid)} {
		if bytes.Contains(out, k) {
			t.Fatal("the batch carries the visitor id")
		}
	}
}

func u64le(v uint64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

func u64be(v uint64) []byte {
	b := make([]byte, 8)
	for i := range 8 {
		b[7-i] = byte(v >> (8 * i))
	}
	return b
}

// A full buffer drops what it cannot keep, counts it, and reports it at the next drain.
func TestLearningBufferCap(t *testing.T) {
	const n = agent.MaxLearn + 8
	var cs []models.Campaign
	var slots []string
	for i := range n {
		id := fmt.Sprintf("c%02d", i)
		cs = append(cs, simpleCampaign(id, "slot-"+id, 1, nil))
		slots = append(slots, "slot-"+id)
	}
	a := newAgent(t, handBundle(withCampaigns(nil, cs...)))
	for i := 0; i < n; i += agent.MaxSlots {
		stepSlots(t, a, T+int64(i)*sec, slots[i:min(i+agent.MaxSlots, n)], pv(wire.PageHome))
	}
	if l := len(a.Profile().Learn); l != agent.MaxLearn {
		t.Fatalf("%d cells kept, cap %d", l, agent.MaxLearn)
	}
	bt := callOK(t, a, wire.OpDrain, enc(&wire.Request{Now: T + hour, Seed: 1})).Batch
	if len(bt.Cells) != agent.MaxLearn || bt.Dropped != n-agent.MaxLearn {
		t.Fatalf("%d cells, %d dropped; want %d and %d", len(bt.Cells), bt.Dropped, agent.MaxLearn, n-agent.MaxLearn)
	}
	if bt = a.Drain(T+hour, 2); len(bt.Cells) != 0 || bt.Dropped != 0 {
		t.Fatalf("after the drain: %+v", bt)
	}
	stepSlots(t, a, T+2*hour, slots[:1], pv(wire.PageHome))
	if bt = a.Drain(T+2*hour, 3); len(bt.Cells) != 1 || bt.Dropped != 0 {
		t.Fatalf("learning after a drain: %+v", bt)
	}
}

// visitorIn returns a seed whose visitor is (holdout) or is not in the holdout of campaign c.
func visitorIn(t *testing.T, b *models.Bundle, slot string, holdout bool) uint64 {
	t.Helper()
	for seed := range uint64(1000) {
		a := newAgent(t, b)
		a.Start(nil, seed)
		if decision(t, stepSlots(t, a, T-day, []string{slot}), slot).Holdout == holdout {
			return seed
		}
	}
	t.Fatal("no such visitor in 1000 seeds")
	return 0
}

// BUG (see report): the holdout group must be measured like the treated group, or the lift is
// biased: a holdout visitor is counted once per page while a capped treated visitor is counted once
// per session, and a holdout's attribution window starts at its first assignment and never moves,
// while a treated visitor's follows the last exposure.
func TestHoldoutMeasuredLikeTreated(t *testing.T) {
	c := simpleCampaign("offer", "popin", 1, &models.Caps{PerSession: 1})
	c.Holdout = 5000
	b := handBundle(withCampaigns(nil, c))
	for _, holdout := range []bool{false, true} {
		t.Run(fmt.Sprint("holdout ", holdout), func(t *testing.T) {
			a := newAgent(t, b)
			a.Start(nil, visitorIn(t, b, "popin", holdout))
			// Session 1, day 0: five pages asking for the popin.
			stepSlots(t, a, T, []string{"popin"}, arrive(wire.ChannelDirect), pv(wire.PageHome))
			for i := range 4 {
				stepSlots(t, a, T+int64(i+1)*minute, []string{"popin"}, pv(wire.PageProduct))
			}
			// Session 2, day 10: one page; an order on day 11, within 7 days of this exposure.
			stepSlots(t, a, T+10*day, []string{"popin"}, arrive(wire.ChannelEmail), pv(wire.PageHome))
			step(t, a, T+11*day, arrive(wire.ChannelEmail), buy(40))
			cells := a.Drain(T+11*day, 1).Cells
			var exposures, conversions uint32
			for _, c := range cells {
				if (c.Variant == "") != holdout {
					t.Fatalf("cell %+v in the wrong group", c)
				}
				exposures += c.Exposures
				conversions += c.Conversions
			}
			if exposures != 2 {
				t.Errorf("%d exposures counted over two sessions with a cap of one per session, want 2", exposures)
			}
			if conversions != 1 {
				t.Errorf("%d conversions for an order one day after an exposure, want 1", conversions)
			}
		})
	}
}
