package server

import (
	"testing"
	"time"

	"github.com/presage-dev/presage/sync/store"
)

// TestRevenueWithoutMoments: an arm some of whose batches were stored before the revenue moments
// were kept (Moments < Batches) shows its mean revenue without an interval, and is not compared;
// the arms whose moments are complete get both.
func TestRevenueWithoutMoments(t *testing.T) {
	cell := func(variant string, batches, moments int64, y, n float64) store.ReportCell {
		// Every batch alike: n exposures and y revenue, so Σy² = batches·y² and so on.
		m := float64(moments)
		return store.ReportCell{Campaign: "c", Variant: variant, Batches: batches, Exposures: int64(n) * batches,
			Conversions: batches, Revenue: y * float64(batches), RevenueSq: m * y * y, ExposuresSq: m * n * n,
			RevenueExposures: m * y * n, Moments: moments}
	}
	cells := []store.ReportCell{
		cell("", 100, 100, 2, 10), cell("", 100, 100, 6, 10), // the holdout: batches of 2 and of 6
		cell("A", 200, 200, 5, 10), cell("A", 200, 200, 9, 10),
		cell("B", 200, 150, 5, 10), // 50 of B's batches stored before version 4
	}
	h := &history{}
	cs, err := campaigns("shop", "c", nil, cells, h)
	if err != nil || len(cs) != 1 {
		t.Fatalf("%v %v", cs, err)
	}
	c := cs[0]
	if err := c.detail(h, time.Unix(0, 0), time.Unix(86400, 0), 0, true); err != nil {
		t.Fatal(err)
	}
	rows := map[string]revenueRow{}
	for _, r := range c.Stats.RevRows {
		rows[r.Name] = r
	}
	if r := rows["holdout"]; !r.Control || r.MeanCI == "—" || r.Missing != "" {
		t.Errorf("holdout %+v: want the control, with an interval", r)
	}
	if r := rows["A"]; !r.Compared || r.MeanCI == "—" || r.P == "—" {
		t.Errorf("A %+v: want an interval and a comparison", r)
	}
	if r := rows["B"]; r.Compared || r.MeanCI != "—" || r.Missing == "" || r.Mean != "0.50" {
		t.Errorf("B %+v: want its mean (0.50) without an interval or a comparison", r)
	}
	if l := c.Stats.Lift; l == nil || l.RevenueCI != "no interval" || l.RevenueP != "" {
		t.Errorf("lift %+v: the pooled variants include B, so the incremental revenue has no interval", l)
	}
	if c.Stats.RevFamily != 1 {
		t.Errorf("%d revenue comparisons, want 1", c.Stats.RevFamily)
	}
}
