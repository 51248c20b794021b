package campaignsim

import (
	"math"
	"testing"

	"github.com/presage-dev/presage/sync/stats"
)

// TestSequentialAA is the guarantee the dashboard relies on: in 1,000 A/A experiments looked at after
// every 100 visitors per arm, up to 10,000, the sequential test rejects in at most 5 % of them, while
// the naive test, peeked at the same way, is fooled far more often.
func TestSequentialAA(t *testing.T) {
	r, err := Peek(DefaultAA)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("false positives in %d A/A runs with %d looks: sequential %d, naive peeking %d", r.Runs, r.Looks, r.Sequential, r.Naive)
	if r.Sequential > r.Runs*5/100 {
		t.Errorf("sequential test: %d false positives in %d A/A runs (> 5 %%)", r.Sequential, r.Runs)
	}
	if r.Naive < r.Runs*10/100 {
		t.Errorf("naive peeking: only %d false positives; the simulation does not peek as intended", r.Naive)
	}
}

// TestSequentialPower: a real lift from 5 % to 6.5 % is found, in most runs, within 10,000 visitors.
func TestSequentialPower(t *testing.T) {
	r, err := Peek(PeekConfig{Runs: 200, Visitors: 10000, Step: 100, Treatment: 0.065, Control: 0.05, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("5 %% → 6.5 %%: found in %d of %d runs, after %d visitors per arm on average", r.Sequential, r.Runs, r.MeanAt)
	if r.Sequential < 150 {
		t.Errorf("found in only %d of 200 runs", r.Sequential)
	}
}

// TestSampleRatio: under a correct split the check fires at its nominal rate (0.1 %): 1,000 A/A
// runs of 20,000 visitors over three variants weighted 2:1:1, then 20,000 runs for the long-run
// rate; and a 52/48 split of 20,000 visitors where 50/50 was asked is caught in every run.
func TestSampleRatio(t *testing.T) {
	aa := SRMConfig{Runs: 1000, Visitors: 20000, Shares: []float64{0.5, 0.25, 0.25}, Expected: []float64{2, 1, 1}, Seed: 3}
	fired, err := SRM(aa)
	if err != nil {
		t.Fatal(err)
	}
	caught, err := SRM(SRMConfig{Runs: 1000, Visitors: 20000, Shares: []float64{0.52, 0.48}, Expected: []float64{1, 1}, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SRM check: fired in %d of 1,000 A/A runs of 20,000 visitors (nominal %g, so 1 expected); caught a 52/48 split of 20,000 in %d of 1,000 runs",
		fired, stats.SRMThreshold, caught)
	if fired > 5 { // expected 1; P(more than 5 | rate 0.001) < 0.001
		t.Errorf("SRM fired %d times in 1,000 A/A runs", fired)
	}
	if caught < 975 { // the power at χ² 32 expected is 99.1 %; 975 is 5 standard errors below
		t.Errorf("SRM caught a 52/48 split in only %d of 1,000 runs", caught)
	}
	if testing.Short() {
		return
	}
	aa.Runs, aa.Seed = 20000, 5
	long, err := SRM(aa)
	if err != nil {
		t.Fatal(err)
	}
	rate := float64(long) / 20000
	t.Logf("long run: fired in %d of 20,000 A/A runs: %.3f %% (nominal %g %%)", long, 100*rate, 100*stats.SRMThreshold)
	if rate > stats.SRMThreshold+3*math.Sqrt(stats.SRMThreshold*(1-stats.SRMThreshold)/20000) { // 3 standard errors above nominal
		t.Errorf("SRM fires at %.3f %% in the long run, above its nominal %g %%", 100*rate, 100*stats.SRMThreshold)
	}
}
