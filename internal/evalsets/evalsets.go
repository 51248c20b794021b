package evalsets

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/presage-dev/presage/internal/report"
	"github.com/presage-dev/presage/models/eval"
)

// Options tune a run.
type Options struct {
	Datasets  string // the datasets folder; see Dir
	Bootstrap eval.BootstrapOptions
	// Progress, if set, reports long stages (reading a file, fitting); never called concurrently.
	Progress func(stage string, done, total int)
}

func (o Options) progress(stage string) func(done, total int) {
	if o.Progress == nil {
		return nil
	}
	return func(done, total int) { o.Progress(stage, done, total) }
}

// Check is one published target and what this run measured.
type Check struct {
	Name string  `json:"name"`
	Got  float64 `json:"got"`
	Want float64 `json:"want"`
	Rule string  `json:"rule"` // how Got is compared with Want, in words
	Pass bool    `json:"pass"`
	// Known explains a target that is missed and known to be: it is reported, and does not fail
	// the run (a separate floor check guards it against regressions).
	Known string `json:"known_miss,omitempty"`
}

// Status says whether the target is met, in words: "met", "NOT MET", or "NOT MET (known: …)".
func (c Check) Status() string {
	switch {
	case c.Pass:
		return "met"
	case c.Known != "":
		return "NOT MET (known: " + c.Known + ")"
	}
	return "NOT MET"
}

// within checks |got − want| ≤ rel·|want|.
func within(name string, got, want, rel float64) Check {
	return Check{Name: name, Got: got, Want: want, Rule: fmt.Sprintf("within %.2g %%", 100*rel),
		Pass: math.Abs(got-want) <= rel*math.Abs(want)}
}

// withinAbs checks |got − want| ≤ tol.
func withinAbs(name string, got, want, tol float64) Check {
	return Check{Name: name, Got: got, Want: want, Rule: fmt.Sprintf("within ±%g", tol), Pass: math.Abs(got-want) <= tol}
}

// equal checks got = want exactly (counts).
func equal(name string, got, want int) Check {
	return Check{Name: name, Got: float64(got), Want: float64(want), Rule: "equal", Pass: got == want}
}

// atLeast checks got ≥ want.
func atLeast(name string, got, want float64) Check {
	return Check{Name: name, Got: got, Want: want, Rule: "at least", Pass: got >= want}
}

// Result is one run: the targets, the lines to print and the report to write.
type Result struct {
	Name   string
	Checks []Check
	Lines  []string // the figures, one per line, for the terminal
	Report *report.Report
}

// Failed returns the checks that did not pass, known misses left out.
func (r *Result) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Pass && c.Known == "" {
			out = append(out, c)
		}
	}
	return out
}

// checksTable lays the checks out for the report.
func checksTable(cs []Check) report.Table {
	t := report.Table{Caption: "published targets", Header: []string{"target", "measured", "published", "rule", "met"}}
	for _, c := range cs {
		t.Rows = append(t.Rows, []string{c.Name, fmt.Sprintf("%.6g", c.Got), fmt.Sprintf("%.6g", c.Want), c.Rule, c.Status()})
	}
	return t
}

// Dir finds the datasets folder: flag if set, else $PRESAGE_DATASETS, else ../shared/datasets next
// to the repository (found by walking up from the working directory to Presage's go.mod). The
// folder must exist.
func Dir(flag string) (string, error) {
	d := flag
	if d == "" {
		d = os.Getenv("PRESAGE_DATASETS")
	}
	if d == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		for dir := wd; ; dir = filepath.Dir(dir) {
			if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/presage-dev/presage\n") {
				d = filepath.Join(dir, "..", "shared", "datasets")
				break
			}
			if filepath.Dir(dir) == dir {
				return "", errors.New("evalsets: no datasets folder: set --datasets or PRESAGE_DATASETS")
			}
		}
	}
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		return "", fmt.Errorf("evalsets: datasets folder %s not found (set --datasets or PRESAGE_DATASETS)", d)
	}
	return d, nil
}

// file returns the path of a dataset file, or an error saying which dataset is missing.
func file(opt Options, parts ...string) (string, error) {
	dir, err := Dir(opt.Datasets)
	if err != nil {
		return "", err
	}
	p := filepath.Join(append([]string{dir}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("evalsets: %s is missing (see %s)", p, filepath.Join(dir, parts[0], "SOURCE.md"))
	}
	return p, nil
}
