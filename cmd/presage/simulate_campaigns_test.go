package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestSimulateCampaignsUsage(t *testing.T) {
	checkUsage(t, []string{"simulate", "campaigns"}, []usageCase{
		{"unknown scenario", []string{"-only", "aa,uplift"}, `unknown scenario "uplift"`},
		{"too few people", []string{"-people", "10"}, "-people"},
		{"no runs", []string{"-aa-runs", "0"}, "-aa-runs"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
	})
}

// TestSimulateCampaigns runs the fast scenarios through the command, small, and reads the JSON it
// writes: the figures printed are the ones written, and a met goal exits 0.
func TestSimulateCampaigns(t *testing.T) {
	out := filepath.Join(t.TempDir(), "campaigns.json")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"simulate", "campaigns", "-only", "aa,srm,pressure", "-aa-runs", "200",
		"-srm-runs", "300", "-visitors", "300", "-module", "none", "-json", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res campaignsResult
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if res.AA == nil || res.AA.Runs != 200 || res.SRM == nil || res.SRM.AARuns != 300 || len(res.Pressure) != 1 ||
		res.Pressure[0].Exposures == 0 || len(res.Missed) != 0 || res.Targeting != nil || res.Bandit != nil {
		t.Fatalf("JSON %s", data)
	}
	for _, want := range []string{"aa: 200 A/A experiments", "srm: χ² check", "native " + strconv.Itoa(res.Pressure[0].Exposures) + " exposures", "every goal met"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}
