package sim

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// TestUpliftCampaign: the simulated campaign is deterministic, randomised (the arms have the same
// mix of groups), and its outcomes follow each group's effect.
func TestUpliftCampaign(t *testing.T) {
	cfg := UpliftConfig{People: 40000, Seed: 9}
	a, b := UpliftCampaign(cfg), UpliftCampaign(cfg)
	var wa, wb bytes.Buffer
	if err := WriteUpliftCSV(&wa, a); err != nil {
		t.Fatal(err)
	}
	if err := WriteUpliftCSV(&wb, b); err != nil {
		t.Fatal(err)
	}
	if wa.String() != wb.String() {
		t.Fatal("the same config gave different campaigns")
	}
	if other := UpliftCampaign(UpliftConfig{People: 100, Seed: 10}); other[0] == a[0] && other[1] == a[1] {
		t.Error("another seed gave the same people")
	}
	lines := strings.Split(strings.TrimSpace(wa.String()), "\n")
	if len(lines) != 40001 || lines[0] != "id,visits,recency_days,basket,tenure_days,channel,campaign,converted,group,true_uplift" {
		t.Fatalf("%d lines, header %q", len(lines), lines[0])
	}
	var n, conv [numUpliftGroups][2]float64 // per group and arm (0 control, 1 treated)
	treated := 0
	for _, p := range a {
		arm := 0
		if p.Treated {
			arm, treated = 1, treated+1
		}
		n[p.Group][arm]++
		if p.Converted {
			conv[p.Group][arm]++
		}
	}
	if s := float64(treated) / float64(len(a)); math.Abs(s-0.5) > 0.01 {
		t.Errorf("treated share %.3f, want 0.5", s)
	}
	for g := range numUpliftGroups {
		share := (n[g][0] + n[g][1]) / float64(len(a))
		if math.Abs(share-upliftGroups[g].share) > 0.01 {
			t.Errorf("%v: share %.3f, want %.2f", g, share, upliftGroups[g].share)
		}
		if bal := n[g][1] / (n[g][0] + n[g][1]); math.Abs(bal-0.5) > 0.02 {
			t.Errorf("%v: %.3f treated: the arms are not balanced", g, bal)
		}
		observed := conv[g][1]/n[g][1] - conv[g][0]/n[g][0]
		if want := upliftGroups[g].pTreated - upliftGroups[g].pControl; math.Abs(observed-want) > 0.04 {
			t.Errorf("%v: observed uplift %.3f, true %.3f", g, observed, want)
		}
	}
	// The groups differ in what can be observed: persuadables arrive by email more than anyone.
	email := [numUpliftGroups]float64{}
	for _, p := range a {
		if p.Channel == "email" {
			email[p.Group]++
		}
	}
	for g := range numUpliftGroups {
		if g != Persuadable && email[g]/(n[g][0]+n[g][1]) >= email[Persuadable]/(n[Persuadable][0]+n[Persuadable][1]) {
			t.Errorf("%v arrive by email as often as the persuadable", UpliftGroup(g))
		}
	}
}
