package campaignsim

import (
	"context"
	"testing"

	"github.com/presage-dev/presage/internal/sim"
)

// TestUpliftTargeting: an uplift model and a propensity model are trained on one randomised
// campaign (20,000 people, half treated), then 20,000 fresh people are targeted three ways with the
// incentive: the 52–60 % band of the propensity model, the same number of people ranked first by
// predicted uplift, and everyone. Uplift targeting must earn ≥ 1.3× the band's incremental
// conversions per 1,000 incentives and ≥ 2× everyone's, on each of 5 seeds.
func TestUpliftTargeting(t *testing.T) {
	for seed := range uint64(5) {
		r, err := Targeting(context.Background(), 20000, 2*seed+1, 2*seed+2)
		if err != nil {
			t.Fatal(err)
		}
		g := r.BandGroups
		t.Logf("seeds %d/%d: incremental conversions per 1,000 incentives, %d fresh people: uplift top %d %.1f, propensity band 52–60 %% %.1f (%d people: sure things %d, persuadables %d, lost causes %d, do-not-disturbs %d), everyone %.1f",
			r.TrainSeed, r.FreshSeed, r.People, r.Band, r.Uplift, r.Propensity, r.Band, g[sim.SureThing], g[sim.Persuadable], g[sim.LostCause], g[sim.DoNotDisturb], r.Everyone)
		if !r.Met() {
			t.Errorf("seeds %d/%d: uplift targeting %.1f, want ≥ 1.3 × the propensity band's %.1f and ≥ 2 × everyone's %.1f",
				r.TrainSeed, r.FreshSeed, r.Uplift, r.Propensity, r.Everyone)
		}
	}
}
