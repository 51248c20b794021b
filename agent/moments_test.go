package agent_test

import (
	"slices"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
)

func kinds(ms []wire.Moment) []wire.MomentKind {
	var out []wire.MomentKind
	for _, m := range ms {
		out = append(out, m.Kind)
	}
	return out
}

// TestMoments follows one visitor through the key moments, each reported once, on the request that
// reaches it.
func TestMoments(t *testing.T) {
	b := handBundle(func(b *models.Bundle) { b.Settings.HighValue = 1 })
	a := newAgent(t, b)
	line := wire.Line{Item: itemID(1), Price: 50, Quantity: 1}
	steps := []struct {
		name string
		at   int64
		evs  []wire.Event
		want []wire.MomentKind
	}{
		{"first visit", t0, []wire.Event{arrive(wire.ChannelDirect), pv(wire.PageHome)}, []wire.MomentKind{wire.MomentWelcome}},
		{"nothing new", t0 + minute, []wire.Event{pv(wire.PageProduct)}, nil},
		{"sign up: a lead", t0 + 2*minute, []wire.Event{signUp()}, []wire.MomentKind{wire.MomentWelcome}},
		{"first order", t0 + 3*minute, []wire.Event{buy(50, line)}, []wire.MomentKind{wire.MomentFirstPurchase}},
		{"second visit", t0 + 10*day, []wire.Event{arrive(wire.ChannelEmail), pv(wire.PageHome)}, nil},
		{"second order", t0 + 10*day + minute, []wire.Event{buy(50, line)}, []wire.MomentKind{wire.MomentSecondPurchase}},
		{"back after 100 days: at risk, and valuable", t0 + 110*day, []wire.Event{arrive(wire.ChannelEmail), pv(wire.PageHome)},
			[]wire.MomentKind{wire.MomentLapsing, wire.MomentChurnRisk}},
		{"still at risk", t0 + 110*day + minute, []wire.Event{pv(wire.PageProduct)}, nil},
		{"back after 200 days: lapsed", t0 + 210*day, []wire.Event{arrive(wire.ChannelDirect)},
			[]wire.MomentKind{wire.MomentLapsing, wire.MomentChurnRisk}},
	}
	for _, s := range steps {
		got := step(t, a, s.at, s.evs...).Moments
		if !slices.Equal(kinds(got), s.want) {
			t.Errorf("%s: moments %v, want %v", s.name, kinds(got), s.want)
		}
	}
}

func TestMomentChannel(t *testing.T) {
	for _, c := range []struct {
		name     string
		arrivals []wire.Channel
		want     wire.Channel
	}{
		{"comes by itself", []wire.Channel{wire.ChannelDirect, wire.ChannelBrandSearch}, wire.ChannelDirect},
		{"comes by email", []wire.Channel{wire.ChannelEmail, wire.ChannelEmail, wire.ChannelDirect}, wire.ChannelEmail},
		{"social, but more by itself", []wire.Channel{wire.ChannelSocial, wire.ChannelDirect, wire.ChannelGenericSearch}, wire.ChannelDirect},
		{"paid media", []wire.Channel{wire.ChannelPaid, wire.ChannelPaid, wire.ChannelEmail}, wire.ChannelPaid},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newAgent(t, handBundle())
			now := t0
			for _, ch := range c.arrivals {
				step(t, a, now, arrive(ch))
				now += day
			}
			ms := step(t, a, now, signUp()).Moments
			if len(ms) != 1 || ms[0].Channel != c.want {
				t.Errorf("moments %+v, want one on channel %d", ms, c.want)
			}
		})
	}
}
