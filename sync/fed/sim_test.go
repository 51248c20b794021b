package fed_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/eval"
	"github.com/presage-dev/presage/models/train"
	"github.com/presage-dev/presage/sync/fed"
)

const dayMs = 24 * 3600 * 1000

// simSetup sizes the proof. Each round is one simulated day: the same population of visitors lives
// its days one after the other (sim's own arrivals), each visitor's device keeps its profile
// (saved and loaded as the bytes of a cookie) and is drained at the end of every day it was active
// and of the day after (a beacon on a timer: it closes the sessions still open at midnight).
type simSetup struct {
	seed       uint64
	visitors   int // population; every fifth visitor is held out (never contributes)
	days       int // rounds
	items      int
	categories int
	public     int // visitors of another seed whose examples set the public standardisation
}

// example is one (features, label) pair as the device takes it (agent/federated.go): the session's
// features just before its first checkout or order, or after its last event; the label is whether
// the session has an order.
type example struct {
	x []float64
	y float64
}

// TestFederatedMatchesCentral is the proof of issue 4's federated figure: a logistic propensity
// model ("buys in this session") that starts at zero and learns only from the devices' clipped
// gradients, merged with Gaussian noise at ε = 1 per visitor per day, reaches at least 0.98 of the
// held-out AUC of a central logistic regression (models/train) fitted on the same raw examples.
func TestFederatedMatchesCentral(t *testing.T) {
	if testing.Short() && raceEnabled {
		t.Skip("simulates 60 days of 60,000 visitors: about 12 s, minutes under the race detector")
	}
	su := simSetup{seed: 11, visitors: 60000, days: 60, items: 300, categories: 20, public: 3000}
	start := time.Now()
	s, err := sim.New(sim.Config{Seed: su.seed, Visitors: su.visitors, Items: su.items, Categories: su.categories,
		Days: su.days, HoldoutDays: -1})
	if err != nil {
		t.Fatal(err)
	}
	base := demo.Schema(s.Catalogue(), demo.Config{Version: 1})
	base.Features = slices.Clone(agent.FeatureNames[:])

	// The public standardisation: examples of a disjoint population (another seed), as a server
	// would take from data it already holds; the federated visitors spend no budget on it.
	pub, err := sim.New(sim.Config{Seed: su.seed + 1000, Visitors: su.public, Items: su.items,
		Categories: su.categories, Days: su.days, HoldoutDays: -1})
	if err != nil {
		t.Fatal(err)
	}
	var pubEx []example
	for _, v := range pub.All() {
		pubEx = append(pubEx, replayExamples(t, base, &v)...)
	}
	b := zeroModel(base, pubEx)

	visitors := s.All()
	var held []example
	for i := range visitors {
		if i%5 == 4 {
			held = append(held, replayExamples(t, base, &visitors[i])...)
		}
	}

	tr, err := fed.NewTrainer(fed.Config{}, rand.New(rand.NewPCG(su.seed, 7)))
	if err != nil {
		t.Fatal(err)
	}
	dev := agent.New()
	if err := dev.SetBundle(b, 0); err != nil {
		t.Fatal(err)
	}
	type device struct {
		profile []byte
		next    int // next event
		last    int // last day active
		pending *example
		session int // the sim session of the next event
	}
	devs := make([]device, len(visitors))
	for i := range devs {
		devs[i].last = -2
	}
	var central []example
	day0 := s.Config().Start / dayMs
	var rep fed.Report
	var maxProfile int
	rounds, applied, batches := 0, 0, 0
	for d := range su.days {
		end := (day0+int64(d)+1)*dayMs - 1
		r, err := tr.NewRound(dev.Bundle(), int32(day0)+int32(d))
		if err != nil {
			t.Fatal(err)
		}
		for i := range visitors {
			v, dv := &visitors[i], &devs[i]
			if i%5 == 4 {
				continue
			}
			active := dv.next < len(v.Events) && v.Events[dv.next].Time <= end
			if !active && dv.last != d-1 {
				continue
			}
			if err := dev.LoadProfile(dv.profile, uint64(i)+1); err != nil && dv.profile != nil {
				t.Fatal(err)
			}
			for dv.next < len(v.Events) && v.Events[dv.next].Time <= end {
				central = step(t, dev, v, &dv.next, &dv.session, &dv.pending, central)
			}
			if active {
				dv.last = d
			}
			bt := dev.Drain(end, uint64(i)<<20|uint64(d))
			if err := r.Add(bt); err != nil {
				t.Fatalf("day %d visitor %d: %v", d, i, err)
			}
			dv.profile = dev.SaveProfile(dv.profile[:0])
			maxProfile = max(maxProfile, len(dv.profile))
		}
		next, rp, err := r.Apply()
		if err != nil {
			t.Fatal(err)
		}
		rep, rounds, batches = rp, rounds+1, batches+rp.Batches
		if rp.Applied {
			applied++
			if err := dev.SetBundle(next, 0); err != nil {
				t.Fatal(err)
			}
		}
	}

	fedModel := dev.Bundle().Propensity[0]
	cm := centralModel(t, central)
	fedAUC, cenAUC := heldAUC(t, &fedModel, held), heldAUC(t, &cm, held)
	ratio := fedAUC / cenAUC
	_, totalEps := tr.Accountant().Total()
	t.Logf("visitors %d (%d contributing, %d held out), %d rounds (%d applied), %d training examples, %d held-out",
		su.visitors, su.visitors-su.visitors/5, su.visitors/5, rounds, applied, len(central), len(held))
	t.Logf("ε = %g, δ = %g per visitor per day (ρ = %.5f), C = %g, Δ = %.4f, σ = %.3f; %.0f contributing visitors a round on average; last round: %d, noisy count %.0f",
		rep.Epsilon, rep.Delta, rep.Rho, rep.Clip, rep.Sensitivity, rep.Sigma, float64(batches)/float64(rounds), rep.Batches, rep.Models[0].NoisyCount)
	t.Logf("a visitor active all %d days: ε = %.2f (δ = %g) in total", su.days, totalEps, rep.Delta)
	t.Logf("held-out AUC: federated %.4f, central %.4f, ratio %.4f; largest profile %d bytes; %v",
		fedAUC, cenAUC, ratio, maxProfile, time.Since(start).Round(time.Millisecond))
	if rep.DayEpsilon > 1+1e-9 {
		t.Errorf("a day spent ε = %g, budget 1", rep.DayEpsilon)
	}
	if ratio < 0.98 {
		t.Errorf("federated AUC %.4f is %.4f of the central %.4f, want ≥ 0.98", fedAUC, ratio, cenAUC)
	}
}

// step sends one event to the device, taking the central example where the device takes its own.
func step(t *testing.T, dev *agent.Agent, v *sim.Visitor, next, session *int, pending **example, out []example) []example {
	t.Helper()
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
			t.Fatal(err)
		}
		ex := example{x: slices.Clone(dev.Features()[:]), y: label(v, ss)}
		*pending = &ex
		out = append(out, ex)
	}
	if _, err := dev.Handle(&wire.Request{Now: e.Time, Events: v.Events[i : i+1]}); err != nil {
		t.Fatal(err)
	}
	*next = i + 1
	if i+1 == ss.End && *pending == nil {
		out = append(out, example{x: slices.Clone(dev.Features()[:]), y: 0})
	}
	return out
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

// replayExamples runs a visitor through a fresh agent and returns the examples, as step takes them.
func replayExamples(t *testing.T, b *models.Bundle, v *sim.Visitor) []example {
	t.Helper()
	a := agent.New()
	if err := a.SetBundle(b, 0); err != nil {
		t.Fatal(err)
	}
	a.Start(nil, uint64(v.Index)+1)
	var out []example
	var pending *example
	next, session := 0, 0
	for next < len(v.Events) {
		out = step(t, a, v, &next, &session, &pending, out)
	}
	return out
}

// zeroModel adds to base a federated "buy_session" model of zero weights, standardised by the
// means and standard deviations of the public examples.
func zeroModel(base *models.Bundle, pub []example) *models.Bundle {
	n := len(base.Features)
	f := &models.Federated{Target: models.FedSessionOrder, Mean: make([]float32, n), Scale: make([]float32, n)}
	lr := models.Logistic{Name: "buy_session", Features: make([]uint16, n), Weights: make([]float32, n), Fed: f}
	for j := range n {
		lr.Features[j] = uint16(j)
		var s, s2 float64
		for _, e := range pub {
			s += e.x[j]
			s2 += e.x[j] * e.x[j]
		}
		m := s / float64(len(pub))
		sd := math.Sqrt(max(s2/float64(len(pub))-m*m, 0))
		f.Mean[j], f.Scale[j] = float32(m), 1
		if sd > 1e-6 {
			f.Scale[j] = float32(sd)
		}
	}
	b := *base
	b.Propensity = []models.Logistic{lr}
	return &b
}

func centralModel(t *testing.T, ex []example) models.Logistic {
	t.Helper()
	n := len(ex[0].x)
	X := mat.NewDense(len(ex), n, nil)
	y := make([]float64, len(ex))
	for i, e := range ex {
		X.SetRow(i, e.x)
		y[i] = e.y
	}
	names := agent.FeatureNames[:]
	lr, _, err := train.FitLogistic(context.Background(), X, y, names, train.LogisticOptions{Name: "buy_session"})
	if err != nil {
		t.Fatal(err)
	}
	return lr
}

func heldAUC(t *testing.T, lr *models.Logistic, held []example) float64 {
	t.Helper()
	cols := slices.Clone(lr.Features)
	scores, labels := make([]float64, len(held)), make([]float64, len(held))
	for i, e := range held {
		scores[i], labels[i] = lr.Logit(e.x, cols), e.y
	}
	auc, err := eval.AUC(scores, labels)
	if err != nil {
		t.Fatal(err)
	}
	return auc
}
