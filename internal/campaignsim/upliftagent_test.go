package campaignsim

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/internal/tabular"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/train"
)

// upliftFeatures are the agent features the people of sim.UpliftCampaign show once their history is
// replayed through an agent (upliftVisitor): visits, days since the previous visit, days since first
// seen, the cart's value (their basket) and the arrival channel.
var upliftFeatures = []string{"visits", "days_since_visit", "tenure_days", "cart_value",
	"channel_email", "channel_generic_search", "channel_social", "channel_direct"}

var upliftChannel = map[string]wire.Channel{"email": wire.ChannelEmail, "search": wire.ChannelGenericSearch,
	"social": wire.ChannelSocial, "direct": wire.ChannelDirect}

const simNow = int64(1_790_000_000_000) // Unix ms, a fixed day

// upliftVisitor replays a person's history into a's current visitor and answers the request of
// their visit today, asking for slots: a first visit Tenure days ago, round(Visits) visits in all,
// the previous one Recency days ago, and today's arrival by their channel with their basket in the cart.
func upliftVisitor(t *testing.T, a *agent.Agent, p *sim.UpliftPerson, seed uint64, slots []string) *wire.Answer {
	t.Helper()
	a.Start(nil, seed)
	const dayMs = 86_400_000
	tenure := max(p.Tenure, 0)
	recency := min(max(p.Recency, 0), tenure)
	first, prev := simNow-int64(tenure*dayMs), simNow-int64(recency*dayMs)
	n := max(int(math.Round(p.Visits)), 1)
	var times []int64
	if n >= 2 {
		times = append(times, first)
		for k := 1; k < n-1; k++ { // the visits between the first and the previous, evenly
			times = append(times, first+(prev-first)*int64(k)/int64(n-1))
		}
		if prev > first {
			times = append(times, prev)
		}
	}
	for _, at := range times {
		if _, err := a.Handle(&wire.Request{Now: at, Events: []wire.Event{{Type: wire.EventArrival, Channel: wire.ChannelDirect}}}); err != nil {
			t.Fatal(err)
		}
	}
	ans, err := a.Handle(&wire.Request{Now: simNow, Slots: slots, Events: []wire.Event{
		{Type: wire.EventArrival, Channel: upliftChannel[p.Channel]},
		{Type: wire.EventAddToCart, Item: "basket", Value: math.Round(p.Basket*100) / 100}}})
	if err != nil {
		t.Fatal(err)
	}
	return ans
}

// TestUpliftAllocationInAgent: an uplift model over the agent's own features is trained on a
// randomised campaign of sim.UpliftCampaign (each person's history replayed through the agent, their
// arm and outcome from the simulation), then 20,000 fresh people are decided by real agents, on two
// bundles: the campaign uplift-targeted (shown when uplift × 40 − 2 > 0) and the campaign shown to
// everyone, both with a 10 % holdout. The incremental margin of each incentive shown is its person's
// true uplift × 40 − 2 (the expectation: no outcome noise). Uplift-targeted allocation must earn more
// incremental margin per incentive than showing everyone, and more in total, on each of 3 seeds.
func TestUpliftAllocationInAgent(t *testing.T) {
	for seed := range uint64(3) {
		upliftInAgent(t, 2*seed+1, 2*seed+2)
	}
}

func upliftInAgent(t *testing.T, trainSeed, freshSeed uint64) {
	const value, cost = 40, 2
	a := agent.New()
	if err := a.SetBundle(&models.Bundle{Format: models.FormatVersion, Version: 1}, simNow); err != nil {
		t.Fatal(err)
	}
	pos := make([]int, len(upliftFeatures))
	for i, name := range upliftFeatures {
		f, ok := agent.FeatureByName(name)
		if !ok {
			t.Fatalf("no agent feature %q", name)
		}
		pos[i] = int(f)
	}

	// Training: the agent's features of each person of a randomised campaign, with arm and outcome.
	var csv strings.Builder
	csv.WriteString(strings.Join(upliftFeatures, ",") + ",campaign,converted\n")
	for i, p := range sim.UpliftCampaign(sim.UpliftConfig{People: 20000, Seed: trainSeed}) {
		upliftVisitor(t, a, &p, uint64(i+1), nil)
		x := a.Features()
		for _, j := range pos {
			fmt.Fprintf(&csv, "%g,", x[j])
		}
		arm, conv := "control", 0
		if p.Treated {
			arm = "offer"
		}
		if p.Converted {
			conv = 1
		}
		fmt.Fprintf(&csv, "%s,%d\n", arm, conv)
	}
	tb, err := tabular.Parse([]byte(csv.String()), "agent-campaign.csv", tabular.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ud, err := train.NewUpliftData(tb, "campaign", "offer", "converted", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	opt := train.DefaultPropensityOptions()
	opt.Name, opt.LogisticLog1p = "offer-uplift", false // features named as the agent names them
	fit, err := train.FitUplift(context.Background(), ud, nil, train.KindLogistic, opt)
	if err != nil {
		t.Fatal(err)
	}
	um, features := fit.Model()

	campaign := models.Campaign{ID: "offer", Slot: "popin", Holdout: 1000, Value: value, Cost: cost,
		Variants: []models.Variant{{ID: "ten-off", Weight: 1}}}
	fresh := sim.UpliftCampaign(sim.UpliftConfig{People: 20000, Seed: freshSeed})
	type tally struct {
		shown, held int
		margin      float64
		groups      [4]int
	}
	run := func(uplift uint16) tally {
		c := campaign
		c.Uplift = uplift
		b := &models.Bundle{Format: models.FormatVersion, Version: 2, Features: features,
			Uplift: []models.Uplift{um}, Campaigns: []models.Campaign{c}}
		a := agent.New()
		if err := a.SetBundle(b, simNow); err != nil {
			t.Fatal(err)
		}
		var r tally
		for i := range fresh {
			p := &fresh[i]
			d := upliftVisitor(t, a, p, uint64(100000+i), []string{"popin"}).Decisions[0]
			switch {
			case d.Holdout:
				r.held++
			case d.Variant != "":
				r.shown++
				r.margin += p.TrueUplift()*value - cost
				r.groups[p.Group]++
			}
		}
		return r
	}
	everyone, targeted := run(0), run(1)
	per := func(r tally) float64 { return r.margin / float64(max(r.shown, 1)) }
	for _, x := range []struct {
		name string
		r    tally
	}{{"everyone", everyone}, {"uplift-targeted", targeted}} {
		t.Logf("seeds %d/%d %-15s shown %5d, held out %4d; incremental margin %8.0f in all, %6.2f per incentive (shown: sure things %d, persuadables %d, lost causes %d, do-not-disturbs %d)",
			trainSeed, freshSeed, x.name, x.r.shown, x.r.held, x.r.margin, per(x.r), x.r.groups[sim.SureThing], x.r.groups[sim.Persuadable], x.r.groups[sim.LostCause], x.r.groups[sim.DoNotDisturb])
	}
	if share := float64(targeted.held) / float64(targeted.held+targeted.shown); share < 0.08 || share > 0.12 {
		t.Errorf("seeds %d/%d: uplift-targeted holdout share %.3f, want about 0.10", trainSeed, freshSeed, share)
	}
	if !(per(targeted) > per(everyone)) || !(targeted.margin > everyone.margin) {
		t.Errorf("seeds %d/%d: uplift-targeted %.2f per incentive (%.0f in all) does not beat showing everyone's %.2f (%.0f)",
			trainSeed, freshSeed, per(targeted), targeted.margin, per(everyone), everyone.margin)
	}
}
