package campaignsim

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/internal/tabular"
	"github.com/presage-dev/presage/models/train"
)

// campaign simulates a randomised incentive campaign of n people and returns them with their table,
// read from the CSV that `presage simulate uplift` writes, as a shop's export would be.
func campaign(t *testing.T, n int, seed uint64) (people []sim.UpliftPerson, table *tabular.Table) {
	t.Helper()
	people = sim.UpliftCampaign(sim.UpliftConfig{People: n, Seed: seed})
	var csv bytes.Buffer
	err := sim.WriteUpliftCSV(&csv, people)
	if err == nil {
		table, err = tabular.Parse(csv.Bytes(), fmt.Sprintf("campaign-%d.csv", seed), tabular.Options{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return people, table
}

// perThousand is the incremental conversions per 1,000 incentives of showing the incentive to the
// people listed: the mean of their true uplifts (internal/sim's ground truth: P(convert | treated)
// − P(convert | control)), times 1,000. The expectation, not one draw of outcomes, so that the
// comparison carries no outcome noise.
func perThousand(people []sim.UpliftPerson, who []int) float64 {
	if len(who) == 0 {
		return 0
	}
	var s float64
	for _, i := range who {
		s += people[i].TrueUplift()
	}
	return 1000 * s / float64(len(who))
}

// TestUpliftTargeting: an uplift model and a propensity model are trained on one randomised
// campaign (20,000 people, half treated), then 20,000 fresh people are targeted three ways with the
// incentive: the 52–60 % band of the propensity model (the "hesitant" rule), the same number of
// people ranked first by predicted uplift (the same budget), and everyone. Uplift targeting must
// earn ≥ 1.3× the band's incremental conversions per 1,000 incentives and ≥ 2× everyone's, on each
// of 5 seeds. When the band's figure is ≤ 0 (it targets do-not-disturbs), any positive uplift
// figure passes the first test, and the ratio is reported as such.
func TestUpliftTargeting(t *testing.T) {
	for seed := range uint64(5) {
		upliftTargeting(t, 2*seed+1, 2*seed+2)
	}
}

func upliftTargeting(t *testing.T, trainSeed, freshSeed uint64) {
	ctx := context.Background()
	_, tb := campaign(t, 20000, trainSeed)
	drop := []string{"id", "group", "true_uplift"}
	opt := train.DefaultPropensityOptions()
	ud, err := train.NewUpliftData(tb, "campaign", "offer", "converted", "", drop)
	if err != nil {
		t.Fatal(err)
	}
	up, err := train.FitUplift(ctx, ud, nil, train.KindLogistic, opt)
	if err != nil {
		t.Fatal(err)
	}
	// The propensity model is what a shop without uplift modelling fits on the same campaign: the
	// probability of converting, whichever arm the person was in (the arm is not a feature).
	pd, err := train.NewLabelled(tb, "converted", "", append(drop, "campaign"))
	if err != nil {
		t.Fatal(err)
	}
	prop, err := train.FitPropensity(ctx, pd, nil, train.KindLogistic, opt)
	if err != nil {
		t.Fatal(err)
	}

	fresh, ftb := campaign(t, 20000, freshSeed)
	pu, err := up.Predict(ftb, nil)
	if err != nil {
		t.Fatal(err)
	}
	pp, err := prop.Predict(ftb, nil)
	if err != nil {
		t.Fatal(err)
	}
	var band, everyone []int
	groups := [4]int{}
	for i, p := range pp {
		everyone = append(everyone, i)
		if p >= 0.52 && p <= 0.60 {
			band = append(band, i)
			groups[fresh[i].Group]++
		}
	}
	if len(band) < 200 {
		t.Fatalf("the 52–60 %% band holds %d of %d people: too few to compare", len(band), len(fresh))
	}
	byUplift := slices.Clone(everyone)
	slices.SortStableFunc(byUplift, func(a, b int) int { return cmp.Compare(pu[b], pu[a]) })
	top := byUplift[:len(band)]

	u, b, e := perThousand(fresh, top), perThousand(fresh, band), perThousand(fresh, everyone)
	t.Logf("seeds %d/%d: incremental conversions per 1,000 incentives, %d fresh people: uplift top %d %.1f, propensity band 52–60 %% %.1f (%d people: sure things %d, persuadables %d, lost causes %d, do-not-disturbs %d), everyone %.1f",
		trainSeed, freshSeed, len(fresh), len(top), u, b, len(band), groups[sim.SureThing], groups[sim.Persuadable], groups[sim.LostCause], groups[sim.DoNotDisturb], e)
	if b > 0 {
		t.Logf("uplift / band %.2f× (want ≥ 1.3×), uplift / everyone %.2f× (want ≥ 2×)", u/b, u/e)
	} else {
		t.Logf("uplift / band: the band loses conversions, uplift earns %.1f more per 1,000 (want ≥ 1.3×); uplift / everyone %.2f× (want ≥ 2×)", u-b, u/e)
	}
	if !(u >= 1.3*b) {
		t.Errorf("seeds %d/%d: uplift targeting %.1f < 1.3 × the propensity band's %.1f", trainSeed, freshSeed, u, b)
	}
	if !(u >= 2*e) {
		t.Errorf("seeds %d/%d: uplift targeting %.1f < 2 × targeting everyone's %.1f", trainSeed, freshSeed, u, e)
	}
}
