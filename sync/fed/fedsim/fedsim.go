// Package fedsim is what the proofs of federated learning share (sync/fed's in-memory test,
// internal/loopsim's federated loop over HTTP): simulated visitors (internal/sim) replayed through
// the agent, the examples the device takes for a federated "buys in this session" model as raw
// rows with their ground truth, the zero-weight federated model of the first bundle with a public
// standardisation, the central logistic regression fitted on the same raw rows, and held-out AUCs.
package fedsim

import (
	"context"
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/eval"
	"github.com/presage-dev/presage/models/train"
)

// Model is the name of the federated model of ZeroModel.
const Model = "buy_session"

// Example is one (features, label) pair as the device takes it (agent/federated.go): the
// session's features just before its first checkout or order, or after its last event; the label
// is whether the session has an order (the simulator's ground truth).
type Example struct {
	X []float64
	Y float64
}

// Base is the bundle the agents replay visitors on: the simulator's catalogue, every agent feature,
// no model, full consent by default.
func Base(cat *sim.Catalogue, site string, version uint64) *models.Bundle {
	b := demo.Schema(cat, demo.Config{Version: version})
	b.Features = slices.Clone(agent.FeatureNames[:])
	if site != "" {
		b.Site = site
	}
	return b
}

// Step sends event *next of v to dev, appending the raw example where the device takes its own.
// session and pending carry the replay's state between calls (start both at zero and nil).
func Step(dev *agent.Agent, v *sim.Visitor, next, session *int, pending **Example, out []Example) ([]Example, error) {
	i := *next
	e := v.Events[i]
	for *session < len(v.Sessions) && v.Sessions[*session].End <= i {
		*session++
	}
	ss := v.Sessions[*session]
	if i == ss.Start {
		*pending = nil
	}
	trigger := (e.Type == wire.EventCheckout || e.Type == wire.EventPurchase) && *pending == nil && firstTrigger(v, ss, i)
	if trigger {
		// The device takes its example at the event's time, before the event: so does this.
		if _, err := dev.Handle(&wire.Request{Now: e.Time}); err != nil {
			return out, err
		}
		ex := Example{X: slices.Clone(dev.Features()[:]), Y: label(v, ss)}
		*pending = &ex
		out = append(out, ex)
	}
	if _, err := dev.Handle(&wire.Request{Now: e.Time, Events: v.Events[i : i+1]}); err != nil {
		return out, err
	}
	*next = i + 1
	if i+1 == ss.End && *pending == nil {
		out = append(out, Example{X: slices.Clone(dev.Features()[:]), Y: 0})
	}
	return out, nil
}

// firstTrigger reports whether event i is the session's first checkout or order.
func firstTrigger(v *sim.Visitor, ss sim.Session, i int) bool {
	for j := ss.Start; j < i; j++ {
		if t := v.Events[j].Type; t == wire.EventCheckout || t == wire.EventPurchase {
			return false
		}
	}
	return true
}

func label(v *sim.Visitor, ss sim.Session) float64 {
	for _, e := range v.Events[ss.Start:ss.End] {
		if e.Type == wire.EventPurchase {
			return 1
		}
	}
	return 0
}

// Replay runs every event of v through a fresh agent on b and returns the raw examples, as Step
// takes them.
func Replay(b *models.Bundle, v *sim.Visitor) ([]Example, error) {
	a := agent.New()
	if err := a.SetBundle(b, 0); err != nil {
		return nil, err
	}
	a.Start(nil, uint64(v.Index)+1)
	var out []Example
	var pending *Example
	next, session := 0, 0
	for next < len(v.Events) {
		var err error
		if out, err = Step(a, v, &next, &session, &pending, out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// ZeroModel returns base with one federated model, Model, of zero weights over every feature,
// standardised by the means and standard deviations of the public examples pub (data the server
// holds: the federated visitors spend no budget on it).
func ZeroModel(base *models.Bundle, pub []Example) *models.Bundle {
	n := len(base.Features)
	f := &models.Federated{Target: models.FedSessionOrder, Mean: make([]float32, n), Scale: make([]float32, n)}
	lr := models.Logistic{Name: Model, Features: make([]uint16, n), Weights: make([]float32, n), Fed: f}
	for j := range n {
		lr.Features[j] = uint16(j)
		var s, s2 float64
		for _, e := range pub {
			s += e.X[j]
			s2 += e.X[j] * e.X[j]
		}
		m := s / float64(max(len(pub), 1))
		sd := math.Sqrt(max(s2/float64(max(len(pub), 1))-m*m, 0))
		f.Mean[j], f.Scale[j] = float32(m), 1
		if sd > 1e-6 {
			f.Scale[j] = float32(sd)
		}
	}
	b := *base
	b.Propensity = []models.Logistic{lr}
	return &b
}

// Central fits the central logistic regression (models/train, its default ridge) on raw examples.
func Central(ctx context.Context, ex []Example) (models.Logistic, error) {
	if len(ex) == 0 {
		return models.Logistic{}, errors.New("fedsim: no example to fit")
	}
	n := len(ex[0].X)
	X := mat.NewDense(len(ex), n, nil)
	y := make([]float64, len(ex))
	for i, e := range ex {
		X.SetRow(i, e.X)
		y[i] = e.Y
	}
	lr, _, err := train.FitLogistic(ctx, X, y, agent.FeatureNames[:], train.LogisticOptions{Name: Model})
	return lr, err
}

// AUC is lr's AUC on the examples (its logit ranks them).
func AUC(lr *models.Logistic, ex []Example) (float64, error) {
	cols := slices.Clone(lr.Features)
	scores, labels := make([]float64, len(ex)), make([]float64, len(ex))
	for i, e := range ex {
		scores[i], labels[i] = lr.Logit(e.X, cols), e.Y
	}
	return eval.AUC(scores, labels)
}
