package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// clvLog is a small transaction log with repeat buyers and a holdout period.
const clvLog = `customer,date,amount
a,2024-01-01,10
a,2024-01-20,12
a,2024-02-10,9
b,2024-01-03,20
b,2024-03-01,25
c,2024-01-05,5
d,2024-01-09,40
d,2024-01-30,35
d,2024-02-25,30
d,2024-03-20,50
e,2024-02-01,8
e,2024-02-02,9
f,2024-01-15,12
g,2024-01-02,7
g,2024-02-28,6
g,2024-03-25,7
`

func TestCLVFit(t *testing.T) {
	path := tempFile(t, "log.csv", clvLog)
	dir := t.TempDir()
	base := []string{"clv", "fit", "--transactions", path, "--customer", "customer", "--date", "date", "--amount", "amount",
		"--calibration-end", "2024-02-29"}
	code, out, errs := runCLI(append(base, "--report", dir, "--customers", filepath.Join(dir, "c.csv"))...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"BG/NBD:", "7 customers", "holdout purchases: predicted", "P(alive)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"report.html", "summary.json", "c.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	code, out, errs = runCLI(append(base, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var js struct {
		Customers int `json:"customers"`
		BGNBD     struct{ R, Alpha float64 }
		Groups    []struct{ Customers int } `json:"holdout_by_frequency"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || js.Customers != 7 || !(js.BGNBD.R > 0) || len(js.Groups) != 8 {
		t.Errorf("--json: %v %+v\n%s", err, js, out)
	}
}

func TestCLVFitBadInput(t *testing.T) {
	good := "customer,date,amount\na,2024-01-01,10\n"
	tests := []struct {
		name, content string
		extra         []string
		want          string
	}{
		{"ragged", good + "b,2024-01-02\n", nil, "log.csv:3:3 (column \"amount\"): ragged row"},
		{"missing-column", "customer,day,amount\na,2024-01-01,1\n", nil, "log.csv:1 (column \"date\"): no such column"},
		{"non-numeric", good + "b,2024-01-02,ten\n", nil, "log.csv:3:3 (column \"amount\"): \"ten\" is not a number"},
		{"bad-date", good + "b,2024-13-02,1\n", nil, "log.csv:3:2 (column \"date\")"},
		{"bad-calibration-end", good, []string{"--calibration-end", "2024/01/01"}, "--calibration-end"},
		{"calibration-before-log", good, []string{"--calibration-end", "2023-01-01"}, "no customer bought on or before"},
		{"bad-format", good, []string{"--format", "tsv"}, "unknown format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"clv", "fit", "--transactions", tempFile(t, "log.csv", tt.content), "--customer", "customer",
				"--date", "date", "--amount", "amount", "--calibration-end", "2024-01-01"}
			code, _, errs := runCLI(append(args, tt.extra...)...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, tt.want)
			}
		})
	}
	if code, _, _ := runCLI("clv", "fit", "--customer", "c"); code != 2 {
		t.Errorf("missing flags: exit %d", code)
	}
	if code, _, _ := runCLI("clv"); code != 2 {
		t.Errorf("no subcommand: exit %d", code)
	}
	if code, _, _ := runCLI("clv", "fit", "--transactions", "/nonexistent.csv", "--customer", "c", "--date", "d",
		"--calibration-end", "2024-01-01"); code != 2 {
		t.Errorf("missing file: exit %d", code)
	}
}
