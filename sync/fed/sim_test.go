package fed_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/fed"
	"github.com/presage-dev/presage/sync/fed/fedsim"
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
	base := fedsim.Base(s.Catalogue(), "", 1)

	// The public standardisation: examples of a disjoint population (another seed), as a server
	// would take from data it already holds; the federated visitors spend no budget on it.
	pub, err := sim.New(sim.Config{Seed: su.seed + 1000, Visitors: su.public, Items: su.items,
		Categories: su.categories, Days: su.days, HoldoutDays: -1})
	if err != nil {
		t.Fatal(err)
	}
	var pubEx []fedsim.Example
	for _, v := range pub.All() {
		pubEx = append(pubEx, replay(t, base, &v)...)
	}
	b := fedsim.ZeroModel(base, pubEx)

	visitors := s.All()
	var held []fedsim.Example
	for i := range visitors {
		if i%5 == 4 {
			held = append(held, replay(t, base, &visitors[i])...)
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
		pending *fedsim.Example
		session int // the sim session of the next event
	}
	devs := make([]device, len(visitors))
	for i := range devs {
		devs[i].last = -2
	}
	var central []fedsim.Example
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
				if central, err = fedsim.Step(dev, v, &dv.next, &dv.session, &dv.pending, central); err != nil {
					t.Fatal(err)
				}
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
	cm, err := fedsim.Central(context.Background(), central)
	if err != nil {
		t.Fatal(err)
	}
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

func replay(t *testing.T, b *models.Bundle, v *sim.Visitor) []fedsim.Example {
	t.Helper()
	ex, err := fedsim.Replay(b, v)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func heldAUC(t *testing.T, lr *models.Logistic, held []fedsim.Example) float64 {
	t.Helper()
	auc, err := fedsim.AUC(lr, held)
	if err != nil {
		t.Fatal(err)
	}
	return auc
}
