package agent_test

import (
	"math"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/models"
)

// withFed makes the hand bundle's "buy" model federated with clip bound c and a standardisation
// that is not the identity.
func withFed(c float32) func(*models.Bundle) {
	return func(b *models.Bundle) {
		n := len(b.Propensity[mBuy].Features)
		f := &models.Federated{Target: models.FedSessionOrder, Clip: c, Mean: make([]float32, n), Scale: make([]float32, n)}
		for j := range n {
			f.Mean[j], f.Scale[j] = float32(j)/4, float32(j+1)
		}
		b.Propensity[mBuy].Fed = f
	}
}

// fedGrad is the expected contribution of the example (x, y) to the buy model: (σ(logit) − y)·(1, z);
// it returns the example's evaluation cell.
func fedGrad(dst []float64, lr *models.Logistic, x *agent.Vector, y float64) uint32 {
	cols := make([]uint16, len(lr.Features))
	b := handBundle()
	for i, fi := range lr.Features {
		f, _ := agent.FeatureByName(b.Features[fi])
		cols[i] = uint16(f)
	}
	l := lr.Logit(x[:], cols)
	r := detmath.Sigmoid(l) - y
	dst[0] += r
	for j, c := range cols {
		dst[j+1] += r * lr.Fed.Z(j, x[c])
	}
	return wire.ScoreCell(l, y)
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// The device's contribution is the sum of the log-loss gradients of its sessions' examples: the
// state just before the first checkout (label 1: an order followed, even across a profile saved and
// loaded), and the state at the last event of a session without checkout (label 0), drained once
// that session is over.
func TestFederatedContribution(t *testing.T) {
	b := handBundle(withFed(1000))
	lr := &b.Propensity[mBuy]
	a := newAgent(t, b)
	want1, want2 := make([]float64, 1+len(lr.Features)), make([]float64, 1+len(lr.Features))
	it, cat := itemID(1), handCategories[1]

	step(t, a, t0, arrive(wire.ChannelEmail), pv(wire.PageHome), view(it, cat), addCart(it, cat, 20, 2))
	step(t, a, t0+5*minute) // the state the device takes at the checkout, before applying it
	cell1 := fedGrad(want1, lr, a.Features(), 1)
	step(t, a, t0+5*minute, wire.Event{Type: wire.EventCheckout})
	saved := a.SaveProfile(nil)
	a = newAgent(t, b)
	if err := a.LoadProfile(saved, 2); err != nil {
		t.Fatal(err)
	}
	if p := a.Profile(); p.Fed == nil || len(p.Fed.Pending) != int(agent.NumFeatures) {
		t.Fatalf("the pending example did not survive the profile: %+v", p.Fed)
	}
	step(t, a, t0+6*minute, buy(40, wire.Line{Item: it, Category: cat, Price: 20, Quantity: 2}))
	step(t, a, t0+2*hour, arrive(wire.ChannelDirect), pv(wire.PageHome), view(itemID(2), handCategories[2]))
	step(t, a, t0+2*hour+minute, pv(wire.PageCategory))
	fedGrad(want2, lr, a.Features(), 0)

	for _, d := range []struct {
		now         int64
		want        []float64
		count, cell uint32
	}{
		{t0 + 2*hour + 2*minute, want1, 1, cell1}, // the second session is still open
		{t0 + 3*hour, want2, 0, 0},                // now it is over; the day's second update counts 0, and has no cell
		{t0 + 4*hour, nil, 0, 0},
	} {
		bt := a.Drain(d.now, 1)
		if d.want == nil {
			if len(bt.Updates) != 0 {
				t.Errorf("drain at %d: %+v, want nothing", d.now, bt.Updates)
			}
			continue
		}
		if len(bt.Updates) != 1 {
			t.Fatalf("drain at %d: updates %+v, want one", d.now, bt.Updates)
		}
		u := bt.Updates[0]
		if _, y, ok := wire.ScoreBin(cell1); !ok || y != 1 {
			t.Fatalf("the first example's cell %d: label %d, ok %v", cell1, y, ok)
		}
		if u.Model != "buy" || u.Count != d.count || u.Cell != d.cell || len(u.Sum) != len(d.want) {
			t.Fatalf("drain at %d: update %+v", d.now, u)
		}
		for i := range d.want {
			if math.Abs(float64(u.Sum[i])-d.want[i]) > 1e-5*math.Max(1, math.Abs(d.want[i])) {
				t.Errorf("drain at %d: sum[%d] = %g, want %g", d.now, i, u.Sum[i], d.want[i])
			}
		}
	}
}

// Everything a visitor sends in one day has a norm of at most C; the next day the bound is new.
func TestFederatedDailyClip(t *testing.T) {
	const c = 0.25
	b := handBundle(withFed(c))
	a := newAgent(t, b)
	session := func(at int64) {
		step(t, a, at, arrive(wire.ChannelEmail), pv(wire.PageHome), view(itemID(3), handCategories[3]))
		step(t, a, at+minute, wire.Event{Type: wire.EventCheckout})
		step(t, a, at+2*minute, buy(10, wire.Line{Item: itemID(3), Price: 10}))
	}
	session(t0)
	first := a.Drain(t0+hour, 1)
	session(t0 + 2*hour)
	second := a.Drain(t0+3*hour, 2)
	if len(first.Updates) != 1 || first.Updates[0].Count != 1 {
		t.Fatalf("first drain %+v", first.Updates)
	}
	if n := norm(first.Updates[0].Sum); n > c || n < c*0.99 {
		t.Errorf("first update's norm %g, want just under C = %g (clipped)", n, c)
	}
	if len(second.Updates) != 0 {
		t.Errorf("the day's bound is spent, yet the second drain sent %+v", second.Updates)
	}
	next := a.Drain(t0+day+hour, 3) // the held sums go the next day, with a new bound
	if len(next.Updates) != 1 || next.Updates[0].Count != 1 || norm(next.Updates[0].Sum) > c {
		t.Errorf("next day's drain %+v", next.Updates)
	}
}

// Without full consent nothing is gathered; losing it drops what was.
func TestFederatedConsent(t *testing.T) {
	b := handBundle(withFed(5), func(b *models.Bundle) { b.Settings.DefaultConsent = uint8(wire.ConsentLocal) })
	a := newAgent(t, b)
	step(t, a, t0, arrive(wire.ChannelEmail), pv(wire.PageHome), wire.Event{Type: wire.EventCheckout})
	if p := a.Profile(); p.Fed != nil {
		t.Errorf("local consent gathered %+v", p.Fed)
	}
	step(t, a, t0+minute, consent(wire.ConsentFull))
	step(t, a, t0+2*hour, arrive(wire.ChannelEmail), pv(wire.PageHome), wire.Event{Type: wire.EventCheckout})
	if p := a.Profile(); p.Fed == nil || len(p.Fed.Pending) == 0 {
		t.Fatalf("full consent gathered nothing")
	}
	step(t, a, t0+2*hour+minute, consent(wire.ConsentDenied))
	if p := a.Profile(); p.Fed != nil {
		t.Errorf("denied consent kept %+v", p.Fed)
	}
	if bt := a.Drain(t0+day, 1); len(bt.Updates) != 0 {
		t.Errorf("sent %+v", bt.Updates)
	}
}

// A bundle without a federated model changes nothing in the profile or the batch; a profile whose
// federated state was tampered with is bounded when loaded.
func TestFederatedOffAndSanitized(t *testing.T) {
	a := newAgent(t, handBundle())
	step(t, a, t0, arrive(wire.ChannelEmail), pv(wire.PageHome), wire.Event{Type: wire.EventCheckout})
	step(t, a, t0+2*hour, arrive(wire.ChannelDirect))
	if a.Profile().Fed != nil || len(a.Drain(t0+day, 1).Updates) != 0 {
		t.Errorf("a bundle without a federated model learned")
	}
	a.Start(&agent.Profile{Version: 1, Visitor: 9, Fed: &agent.FedState{Spent: float32(math.NaN()),
		Pending: []float32{1, 2}}}, 1)
	f := a.Profile().Fed
	if f.Pending != nil || !(f.Spent > 1e30) {
		t.Errorf("sanitized state %+v", f)
	}
}
