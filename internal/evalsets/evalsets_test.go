package evalsets

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// runSet runs one dataset evaluation, skipping when the datasets are not on this machine, and
// fails on every published target missed. The report goes to a temporary folder and is checked
// to have been written.
func runSet(t *testing.T, run func(context.Context, Options) (*Result, error), dataset string) *Result {
	t.Helper()
	dir, err := Dir("")
	if err != nil {
		t.Skipf("public datasets not available (%v): set PRESAGE_DATASETS to run this test", err)
	}
	if _, err := os.Stat(filepath.Join(dir, dataset)); err != nil {
		t.Skipf("dataset %s not available in %s", dataset, dir)
	}
	start := time.Now()
	res, err := run(context.Background(), Options{Datasets: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s in %s", dataset, time.Since(start).Round(time.Millisecond))
	for _, l := range res.Lines {
		t.Log(l)
	}
	for _, c := range res.Checks {
		if !c.Pass && c.Known != "" {
			t.Logf("known miss: %s: measured %.6g, target %.6g (%s): %s", c.Name, c.Got, c.Want, c.Rule, c.Known)
		}
	}
	for _, c := range res.Failed() {
		t.Errorf("%s: measured %.6g, target %.6g (%s)", c.Name, c.Got, c.Want, c.Rule)
	}
	files, err := res.Report.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(files.HTML); err != nil || st.Size() < 1000 {
		t.Errorf("report: %v", err)
	}
	return res
}

func TestCDNOW(t *testing.T)     { runSet(t, CDNOW, "cdnow") }
func TestGroceries(t *testing.T) { runSet(t, Groceries, "groceries") }
func TestRetail(t *testing.T)    { runSet(t, Retail, "online-retail") }
