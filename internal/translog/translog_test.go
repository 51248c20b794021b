package translog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presage-dev/presage/internal/csvin"
)

func writeLog(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "log.csv")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func day(t *testing.T, s string) int {
	t.Helper()
	d, err := ParseDay(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestSummarise(t *testing.T) {
	// Customer a: first 2024-01-01; 01-08 twice (one purchase of 30); 01-15 (calibration end);
	// 01-20 in the holdout. b: one purchase, a return, then a holdout purchase. c: first buys after
	// the calibration end. A row without a customer is left out.
	log := `cust,when,qty,price
a,2024-01-01,1,10
a,2024-01-08,2,5
a,2024-01-08,1,20
b,2024-01-05,1,7
b,2024-01-06,-1,7
a,2024-01-15,1,40
,2024-01-03,1,1
a,2024-01-20,1,8
b,2024-01-22,3,2
c,2024-01-18,1,1
`
	l, err := Read(writeLog(t, log), Options{Customer: "cust", Date: "when", Amount: "qty * price"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Rows != 10 || l.NoCustomer != 1 || l.Negative != 1 || len(l.IDs) != 3 || l.Layout != "2006-01-02" {
		t.Fatalf("log %+v", l)
	}
	s, err := l.Summarise(Split{CalibrationEnd: day(t, "2024-01-15")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		id               string
		x, tx, T         float64
		spend, hold, hsp float64
	}{
		{"a", 2, 14.0 / 7, 14.0 / 7, (30 + 40) / 2.0, 1, 8},
		{"b", 0, 0, 10.0 / 7, 0, 1, 6},
	}
	if len(s.Customers) != 2 || s.Later != 1 || s.HoldoutUnits != 7.0/7 {
		t.Fatalf("summary %+v", s)
	}
	for i, tt := range tests {
		c := s.Customers[i]
		if s.IDs[i] != tt.id || c.X != tt.x || math.Abs(c.Tx-tt.tx) > 1e-12 || math.Abs(c.T-tt.T) > 1e-12 ||
			s.MeanSpend[i] != tt.spend || s.Holdout[i] != tt.hold || s.HoldoutSpend[i] != tt.hsp {
			t.Errorf("customer %s: %+v spend %v holdout %v/%v", tt.id, c, s.MeanSpend[i], s.Holdout[i], s.HoldoutSpend[i])
		}
	}
	if _, err := l.Summarise(Split{CalibrationEnd: day(t, "2023-12-01")}); err == nil {
		t.Error("calibration end before the log accepted")
	}
	if _, err := l.Summarise(Split{CalibrationEnd: day(t, "2024-01-15"), HoldoutEnd: day(t, "2024-01-10")}); err == nil {
		t.Error("holdout end before the calibration end accepted")
	}
}

func TestDateLayouts(t *testing.T) {
	tests := []struct {
		name, value, layout, want string
	}{
		{"compact", "19970101", "", "1997-01-01"},
		{"iso", "1997-01-02", "", "1997-01-02"},
		{"timestamp", "2010-12-01 08:26:00", "", "2010-12-01"},
		{"rfc3339", "2010-12-01T23:59:00+01:00", "", "2010-12-01"},
		{"us", "12/1/2010 8:26", "", "2010-12-01"},
		{"explicit", "01/12/2010", "02/01/2006", "2010-12-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Read(writeLog(t, "id,d\nx,"+tt.value+"\n"), Options{Customer: "id", Date: "d", DateLayout: tt.layout})
			if err != nil {
				t.Fatal(err)
			}
			if got := DayString(l.FirstDay); got != tt.want {
				t.Errorf("day %s, want %s", got, tt.want)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, content string
		opt           Options
		want          string
	}{
		{"missing-column", "id,d\nx,2024-01-01\n", Options{Customer: "id", Date: "d", Amount: "amount"}, `log.csv:1 (column "amount"): no such column`},
		{"ragged", "id,d,a\nx,2024-01-01,1\ny,2024-01-02\n", Options{Customer: "id", Date: "d", Amount: "a"}, `log.csv:3:3 (column "a"): ragged row`},
		{"amount", "id,d,a\nx,2024-01-01,1\ny,2024-01-02,12,5\n", Options{Customer: "id", Date: "d", Amount: "a"}, `log.csv:3:4: ragged row`},
		{"non-numeric", "id,d,a\nx,2024-01-01,1\ny,2024-01-02,abc\n", Options{Customer: "id", Date: "d", Amount: "a"}, `log.csv:3:3 (column "a"): "abc" is not a number`},
		{"bad-date", "id,d\nx,2024-01-01\ny,2024-02-30\n", Options{Customer: "id", Date: "d"}, `log.csv:3:2 (column "d"): "2024-02-30" is not a date in the layout "2006-01-02"`},
		{"unknown-layout", "id,d\nx,yesterday\n", Options{Customer: "id", Date: "d"}, `log.csv:2:2 (column "d"): "yesterday" is not a date in a known layout`},
		{"no-customers", "id,d\n,2024-01-01\n", Options{Customer: "id", Date: "d"}, `log.csv: no purchases with a customer id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(writeLog(t, tt.content), tt.opt)
			var ce *csvin.Error
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a *csvin.Error containing %q", err, tt.want)
			}
		})
	}
	if _, err := Read("x.csv", Options{Customer: "id"}); err == nil {
		t.Error("no date column accepted")
	}
}

// simLog writes a transaction log drawn from the BG/NBD story: n customers first buying in the
// first 12 weeks of 2020, then buying as a Poisson process whose weekly rate is exponentially
// distributed across customers (mean 0.057: Gamma with shape 1), dropping out after each repeat
// purchase with a probability uniform in [0.2, 0.5], spending around a customer mean; 78 weeks.
func simLog(t *testing.T, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 5))
	var b strings.Builder
	b.WriteString("customer,date,amount\n")
	start := day(t, "2020-01-01")
	for i := range n {
		first := start + rng.IntN(84)
		lambda := 0.25 / 4.4 * -math.Log(rng.Float64())
		p := 0.2 + 0.3*rng.Float64()
		mean := 10 + 40*rng.Float64()
		d := float64(first)
		for k := 0; ; k++ {
			if k > 0 {
				d += 7 * rng.ExpFloat64() / math.Max(lambda, 1e-3)
			}
			if d > float64(start+546) {
				break
			}
			fmt.Fprintf(&b, "c%d,%s,%.2f\n", i, DayString(int(d)), mean*(0.5+rng.Float64()))
			if k > 0 && rng.Float64() < p {
				break
			}
		}
	}
	return b.String()
}

func TestFitSummaryAndTracking(t *testing.T) {
	l, err := Read(writeLog(t, simLog(t, 3000)), Options{Customer: "customer", Date: "date", Amount: "amount"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Summarise(Split{CalibrationEnd: day(t, "2020-09-29")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := FitSummary(context.Background(), s, 7)
	if err != nil {
		t.Fatal(err)
	}
	if f.GammaGamma == nil || f.Customers != 3000 || len(f.Groups) != 8 || f.Groups[7].Label != "7+" {
		t.Fatalf("fit %+v", f)
	}
	n, act, pred := 0, 0.0, 0.0
	for _, g := range f.Groups {
		n += g.Customers
		act += g.Actual * float64(g.Customers)
		pred += g.Predicted * float64(g.Customers)
	}
	if n != 3000 || math.Abs(act-f.ActualHoldout) > 1e-6 || math.Abs(pred-f.PredictedHoldout) > 1e-6 {
		t.Errorf("groups add up to %d customers, %v actual, %v predicted; totals %v, %v", n, act, pred, f.ActualHoldout, f.PredictedHoldout)
	}
	// The model was fitted on data drawn from its own story: the holdout total is close.
	if e := math.Abs(f.PredictedHoldout/f.ActualHoldout - 1); e > 0.15 {
		t.Errorf("holdout predicted %.0f, actual %.0f", f.PredictedHoldout, f.ActualHoldout)
	}
	if !(f.Alive.P10 <= f.Alive.Median && f.Alive.Median <= f.Alive.P90 && f.Alive.Mean > 0 && f.Alive.Mean <= 1) {
		t.Errorf("P(alive) summary %+v", f.Alive)
	}
	tr := l.Tracking(s, &f.Value)
	repeats := 0.0
	for i, c := range s.Customers {
		repeats += c.X + s.Holdout[i]
	}
	last := len(tr.Actual) - 1
	if tr.Actual[last] != repeats {
		t.Errorf("tracking ends at %v repeat purchases, the summary has %v", tr.Actual[last], repeats)
	}
	for k := 1; k <= last; k++ {
		if tr.Actual[k] < tr.Actual[k-1] || tr.Expected[k] < tr.Expected[k-1] {
			t.Fatalf("tracking not cumulative at %d", k)
		}
	}
}
