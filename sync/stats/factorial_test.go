package stats_test

import (
	"math/rand/v2"
	"testing"

	"github.com/presage-dev/presage/sync/stats"
)

func TestCombinations(t *testing.T) {
	cs := stats.Combinations([]stats.Factor{{Name: "headline", Levels: []string{"a", "b"}}, {Name: "color", Levels: []string{"red", "blue", "green"}}})
	want := []string{"headline=a&color=red", "headline=a&color=blue", "headline=a&color=green",
		"headline=b&color=red", "headline=b&color=blue", "headline=b&color=green"}
	if len(cs) != len(want) {
		t.Fatalf("%d combinations, want %d", len(cs), len(want))
	}
	for i, c := range cs {
		if c.ID != want[i] || c.Levels[0] != i/3 || c.Levels[1] != i%3 {
			t.Errorf("combination %d = %+v, want %s", i, c, want[i])
		}
	}
}

// TestMainEffects simulates a 2 × 3 factorial in which only the headline matters (b: +2 points over
// a's 5 %): the headline's effect is found, the colours' are not, once p-values are adjusted.
func TestMainEffects(t *testing.T) {
	factors := []stats.Factor{{Name: "headline", Levels: []string{"a", "b"}}, {Name: "color", Levels: []string{"red", "blue", "green"}}}
	r := rand.New(rand.NewPCG(1, 2))
	arms := map[string]stats.Arm{}
	for _, c := range stats.Combinations(factors) {
		rate := 0.05 + 0.02*float64(c.Levels[0])
		a := stats.Arm{Name: c.ID, Visitors: 20000}
		for range a.Visitors {
			if r.Float64() < rate {
				a.Conversions++
			}
		}
		arms[c.ID] = a
	}
	effects, err := stats.MainEffects(factors, arms, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if len(effects) != 3 {
		t.Fatalf("%d effects, want 3 (b; blue, green)", len(effects))
	}
	for _, e := range effects {
		t.Logf("%s=%s: %+.4f [%+.4f, %+.4f], adjusted p %.3g, P(beats) %.3f", e.Factor, e.Level, e.Fixed.Estimate, e.Fixed.Lo, e.Fixed.Hi, e.Fixed.P, e.ProbBeats)
		significant := e.Fixed.P < 0.05
		if significant != (e.Factor == "headline") {
			t.Errorf("%s=%s: adjusted p %.3g", e.Factor, e.Level, e.Fixed.P)
		}
	}
	if h := effects[0]; h.Arm.Visitors != 60000 || h.Fixed.Estimate < 0.015 || h.Fixed.Estimate > 0.025 {
		t.Errorf("headline b pools 3 × 20,000 visitors and gains about 2 points: %+v", h)
	}
	if _, err := stats.MainEffects(factors, map[string]stats.Arm{}, 0.95); err == nil {
		t.Error("no visitor at all must be an error, not a result")
	}
}
