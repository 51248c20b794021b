package campaignsim

import (
	"context"
	"testing"
)

// TestBanditRegret: two segments prefer different variants; over 10 rounds of 2,000 visitors, the
// per-segment bandit (learn.Config.PerSegment) loses fewer conversions to the oracle than the
// global one, in total and in the last round, on each of 3 seeds.
func TestBanditRegret(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 120,000 visitors")
	}
	const rounds, perRound = 10, 2000
	run := func(perSegment bool, seed uint64) []float64 {
		r, err := BanditRegret(context.Background(), BanditConfig{Dir: t.TempDir(), PerSegment: perSegment,
			Rounds: rounds, PerRound: perRound, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for seed := range uint64(3) {
		g, s := run(false, seed+1), run(true, seed+1)
		t.Logf("seed %d: regret against the oracle over %d visitors: global %.1f, per segment %.1f conversions (%.2f vs %.2f per 1,000 visitors); last round %.1f vs %.1f",
			seed+1, rounds*perRound, Sum(g), Sum(s), 1000*Sum(g)/(rounds*perRound), 1000*Sum(s)/(rounds*perRound), g[rounds-1], s[rounds-1])
		if !(Sum(s) < Sum(g)) || !(s[rounds-1] < g[rounds-1]) {
			t.Errorf("seed %d: per-segment regret %.1f (last round %.1f) not below global %.1f (%.1f)", seed+1, Sum(s), s[rounds-1], Sum(g), g[rounds-1])
		}
	}
}
