package agent

import (
	"math"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/models"
)

// Federated learning of the propensity models (models.Federated; the server side is sync/fed).
//
// What one example is (target models.FedSessionOrder, the label of "buys in this session"): the
// session's feature vector just before its first checkout (or its first order, when no checkout
// came before it), or at its last event when it has neither; the label is 1 when the session has an
// order. A session whose first checkout is not followed by an order keeps its features in
// FedState.Pending until it ends, then counts as 0. This is the fair point at which to score
// "buys in this session" (sim.Session.Checkout): the features hold no trace of the order. The demo
// trainer (internal/demo) takes a random point before checkout; the federated example takes the
// last one, the most informative a device can see without the label leaking.
//
// What one visitor contributes: for each federated model, the sum over the visitor's examples of the
// log-loss gradient at the bundle's weights, in the model's standardised coordinates,
// g = Σ (σ(logit) − y)·(1, z), kept in FedState.Sums. A drain sends the sums scaled so that the L2
// norm of everything the visitor sends in one Unix day (UTC), all federated models together, is at
// most C, the smallest clip bound of the bundle's federated models: the norm sent so far today is
// kept in FedState.Spent, and a drain sends min(1, (C − Spent)/‖g‖)·g. Sums gathered under another
// bundle are dropped (they are gradients at other weights); sums that find the day's bound spent
// wait for the next day's drain (a remainder of the bound under C/1024 counts as spent). Each
// update carries Count 1 in the day's first drain that sends and 0 after: the server's count of
// visitor-days. A drain also closes, for learning, a session idle past the session timeout, so that
// its example goes without waiting for the visitor's next visit. Nothing is gathered or sent
// without full consent; losing it drops FedState.

//
// Evaluation: each model's slice of FedState.Sums ends with one more slot, the evaluation cell of
// the visitor's latest example (wire.ScoreCell: its score bin at the bundle's weights and its
// label), sent as ModelUpdate.Cell with the day's first update only, so that a visitor-day adds at
// most one example to the server's score histograms; it is not part of the clipped norm.

// compileFed sets the length of FedState.Sums for b's federated models (1 + features + 1 cell
// each) and the joint clip bound C (the smallest of theirs).
func compileFed(b *models.Bundle, cb *compiled) {
	for m := range b.Propensity {
		if f := b.Propensity[m].Fed; f != nil {
			cb.fed += 2 + len(b.Propensity[m].Features)
			if c := f.ClipBound(); cb.clip == 0 || c < cb.clip {
				cb.clip = c
			}
		}
	}
}

// fedOn reports whether the visitor's examples are learned from.
func (a *Agent) fedOn() bool { return a.cb.fed > 0 && a.consent() == wire.ConsentFull }

// fedState returns the profile's federated state, creating it.
func (a *Agent) fedState() *FedState {
	if a.p.Fed == nil {
		a.p.Fed = &FedState{}
	}
	return a.p.Fed
}

// fedTrigger takes the session's example at its first checkout or order (at time t, before the
// event is applied); an order resolves a pending example's label.
func (a *Agent) fedTrigger(s *Session, t int64, order bool) {
	if !a.fedOn() {
		return
	}
	f := a.fedState()
	if f.Session == s.Start {
		if order && len(f.Pending) == int(NumFeatures) {
			a.fedPending(1)
		}
		return
	}
	f.Session = s.Start
	computeFeatures(&a.fx, &a.p, t, a.set.HalfLifeDays)
	if order {
		a.fedExample(1)
		return
	}
	f.Pending = f.Pending[:0]
	for _, v := range a.fx {
		f.Pending = append(f.Pending, float32(v))
	}
}

// fedClose ends session s for learning: its example is the state at its last event with label 0,
// or its pending example with label 0.
func (a *Agent) fedClose(s *Session) {
	if !a.fedOn() {
		return
	}
	f := a.fedState()
	if f.Session == s.Start {
		if len(f.Pending) == int(NumFeatures) {
			a.fedPending(0)
		}
		return
	}
	f.Session = s.Start
	computeFeatures(&a.fx, &a.p, s.Last, a.set.HalfLifeDays)
	a.fedExample(0)
}

func (a *Agent) fedPending(y float64) {
	f := a.p.Fed
	for i, v := range f.Pending {
		a.fx[i] = float64(v)
	}
	f.Pending = f.Pending[:0]
	a.fedExample(y)
}

// fedExample adds the log-loss gradient of the example (a.fx, y) to the sums.
func (a *Agent) fedExample(y float64) {
	f, b := a.p.Fed, a.b
	if f.Bundle != b.Version || len(f.Sums) != a.cb.fed {
		f.Bundle = b.Version
		f.Sums = append(f.Sums[:0], make([]float32, a.cb.fed)...)
	}
	k := 0
	for m := range b.Propensity {
		lr := &b.Propensity[m]
		if lr.Fed == nil {
			continue
		}
		l := lr.Logit(a.fx[:], a.cb.cols[m])
		r := detmath.Sigmoid(l) - y
		f.Sums[k] += float32(r)
		k++
		for i, c := range a.cb.cols[m] {
			v := 0.0
			if int(c) < len(a.fx) {
				v = a.fx[c]
			}
			f.Sums[k] += float32(r * lr.Fed.Z(i, v))
			k++
		}
		f.Sums[k] = float32(wire.ScoreCell(l, y)) // the latest example's evaluation cell
		k++
	}
}

// fedDrain closes a session that is over and moves the clipped sums into the batch.
func (a *Agent) fedDrain(bt *wire.Batch, now int64) {
	a.shareDrain(bt, now) // summaries.go
	if s := a.p.Session; s != nil && a.b != nil && now-s.Last > a.set.SessionTimeoutMs {
		a.fedClose(s)
	}
	f := a.p.Fed
	if f == nil || !a.fedOn() || f.Bundle != a.b.Version || len(f.Sums) != a.cb.fed {
		return
	}
	var n2 float64
	k := 0
	for m := range a.b.Propensity {
		if lr := &a.b.Propensity[m]; lr.Fed != nil {
			for _, v := range f.Sums[k : k+1+len(lr.Features)] {
				n2 += float64(float64(v) * float64(v)) // float64(): no fused multiply-add, same bits everywhere
			}
			k += 2 + len(lr.Features) // and the evaluation cell, not part of the norm
		}
	}
	day := int32(floorDiv(now, dayMs))
	if f.Day != day {
		f.Day, f.Spent = day, 0
	}
	left := a.cb.clip - float64(f.Spent)
	if n2 == 0 || left <= a.cb.clip/1024 {
		return // nothing learned, or the day's bound is spent (to a crumb): the sums wait for another day
	}
	first := f.Spent == 0
	norm := math.Sqrt(n2)
	// 1e-6 below the bound: the float32 rounding of the scaled sums cannot push it past.
	scale := min(1, left/norm) * (1 - 1e-6)
	f.Spent += float32(norm * scale)
	k = 0
	for m := range a.b.Propensity {
		lr := &a.b.Propensity[m]
		if lr.Fed == nil {
			continue
		}
		u := wire.ModelUpdate{Model: lr.Name, Sum: make([]float32, 1+len(lr.Features))}
		for i := range u.Sum {
			u.Sum[i] = float32(float64(f.Sums[k]) * scale)
			k++
		}
		if first {
			u.Count, u.Cell = 1, uint32(f.Sums[k])
		}
		k++
		bt.Updates = append(bt.Updates, u)
	}
	f.Sums = nil
}

// sanitizeFed bounds a decoded profile's federated state: a wrong-sized pending example is dropped
// and a budget that is not a number counts as spent. Values that are not finite are left: they only
// spoil the visitor's own update, which the server refuses (sync/fed).
func sanitizeFed(p *Profile) {
	if f := p.Fed; f != nil {
		if len(f.Pending) != int(NumFeatures) {
			f.Pending = nil
		}
		if !(f.Spent >= 0) {
			f.Spent = math.MaxFloat32
		}
	}
}
