package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scoredCSVs writes n probabilities and outcomes drawn from them (so, calibrated), with the
// outcome as TRUE/FALSE in a wider table.
func scoredCSVs(t *testing.T, n int) (scores, labels string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 3))
	var s, l strings.Builder
	s.WriteString("score\n")
	l.WriteString("id,Revenue,other\n")
	for i := range n {
		p := rng.Float64()
		fmt.Fprintf(&s, "%.6f\n", p)
		y := "FALSE"
		if rng.Float64() < p {
			y = "TRUE"
		}
		fmt.Fprintf(&l, "%d,%s,x\n", i, y)
	}
	return tempFile(t, "scores.csv", s.String()), tempFile(t, "labels.csv", l.String())
}

func TestEvalScores(t *testing.T) {
	scores, labels := scoredCSVs(t, 400)
	dir := t.TempDir()
	code, out, errs := runCLI("eval", "--scores", scores, "--labels", labels, "--label", "Revenue", "--bootstrap", "100", "-o", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"AUC", "log loss", "Brier", "ECE", "top-decile lift", "report.html"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var sum struct {
		Rows int `json:"rows"`
		AUC  struct {
			Estimate float64 `json:"estimate"`
		} `json:"auc"`
	}
	js, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil || json.Unmarshal(js, &sum) != nil || sum.Rows != 400 || !(sum.AUC.Estimate > 0.7) {
		t.Errorf("summary.json: %v %+v", err, sum)
	}
	for _, f := range []string{"report.html", "roc.svg", "gain.svg", "lift.svg", "reliability.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestEvalBadInput(t *testing.T) {
	scores, labels := scoredCSVs(t, 50)
	oneClass := tempFile(t, "one.csv", "Revenue\n"+strings.Repeat("FALSE\n", 50))
	short := tempFile(t, "short.csv", "Revenue\nTRUE\nFALSE\n")
	odd := tempFile(t, "odd.csv", "Revenue\nTRUE\nmaybe\n")
	badScore := tempFile(t, "bad.csv", "score\n0.5\nhigh\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"one-class", []string{"--scores", scores, "--labels", oneClass, "--label", "Revenue"}, "one class"},
		{"row-count", []string{"--scores", scores, "--labels", short, "--label", "Revenue"}, "has 50 rows"},
		{"bad-label", []string{"--scores", scores, "--labels", odd, "--label", "Revenue"}, `odd.csv:3:1 (column "Revenue"): label "maybe"`},
		{"bad-score", []string{"--scores", badScore, "--labels", labels, "--label", "Revenue"}, `bad.csv:3:1 (column "score"): "high" is not a number`},
		{"missing-column", []string{"--scores", scores, "--labels", labels, "--label", "Sales"}, `(column "Sales"): no such column`},
		{"missing-flag", []string{"--scores", scores}, "missing -labels, -label"},
		{"unknown-set", []string{"nosuch"}, "unknown dataset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runCLI(append(append([]string{"eval"}, tt.args...), "-o", t.TempDir())...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tt.want)
			}
		})
	}
	// --positive makes any value the positive class.
	code, _, errs := runCLI("eval", "--scores", scores, "--labels", labels, "--label", "Revenue", "--positive", "TRUE",
		"--bootstrap", "-1", "-o", t.TempDir())
	if code != 0 {
		t.Errorf("--positive: exit %d: %s", code, errs)
	}
}

func TestEvalDatasetsMissing(t *testing.T) {
	code, _, errs := runCLI("eval", "cdnow", "--datasets", filepath.Join(t.TempDir(), "none"), "-o", t.TempDir())
	if code != 2 || !strings.Contains(errs, "not found") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
