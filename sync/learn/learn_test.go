package learn_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/store"
)

const dayMs = 86400 * 1000

// bundle is a shop with one banner campaign of three variants, equally weighted.
func bundle(created int64) *models.Bundle {
	return &models.Bundle{Format: models.FormatVersion, Version: 1, Created: created, Site: "loop-shop",
		Settings: &models.Settings{DefaultConsent: uint8(wire.ConsentFull)},
		Campaigns: []models.Campaign{{ID: "banner-test", Slot: "banner", Variants: []models.Variant{
			{ID: "a", Weight: 1, Content: "10 % off"}, {ID: "b", Weight: 1, Content: "free delivery"}, {ID: "c", Weight: 1, Content: "gift"}}}}}
}

func TestReallocate(t *testing.T) {
	b := bundle(1_800_000_000)
	cells := []store.ReportCell{
		{Campaign: "banner-test", Variant: "a", Segment: "x", Exposures: 1000, Conversions: 40},
		{Campaign: "banner-test", Variant: "a", Segment: "y", Exposures: 1000, Conversions: 40},
		{Campaign: "banner-test", Variant: "b", Exposures: 2000, Conversions: 120},
		{Campaign: "banner-test", Variant: "c", Exposures: 2000, Conversions: 60},
		{Campaign: "banner-test", Exposures: 500, Conversions: 500}, // holdout: not an arm
		{Campaign: "other", Variant: "a", Exposures: 10, Conversions: 10},
	}
	next, al, err := learn.Reallocate(b, cells, []string{"banner-test"}, 1_800_003_600, learn.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if next.Version != 2 || next.Created != 1_800_003_600 || b.Version != 1 || b.Campaigns[0].Variants[1].Weight != 1 {
		t.Errorf("the next bundle must be a new version and leave the old one untouched: %d %d", next.Version, b.Campaigns[0].Variants[1].Weight)
	}
	if al[0].Arms[0].Visitors != 2000 || al[0].Arms[0].Conversions != 80 {
		t.Errorf("segments not summed: %+v", al[0].Arms[0])
	}
	w := next.Campaigns[0].Variants
	if !(w[1].Weight > 9000 && w[0].Weight >= 100 && w[2].Weight >= 100) {
		t.Errorf("b converts best (6 %% vs 4 and 3 %%) and the others keep the 1 %% floor: %+v", w)
	}
	if err := next.Validate(); err != nil {
		t.Errorf("next bundle invalid: %v", err)
	}
	if _, _, err := learn.Reallocate(b, cells, []string{"nope"}, 0, learn.Config{}); err == nil {
		t.Error("an unknown bandit campaign accepted")
	}
}

// TestReallocatePerSegment: with PerSegment, a segment with enough evidence gets the split its own
// cells call for, one below MinSegmentExposures keeps the global split, and cells of no segment or
// of a segment the bundle does not have count for the global split only.
func TestReallocatePerSegment(t *testing.T) {
	b := bundle(1_800_000_000)
	b.Segments = []models.Segment{{Name: "new"}, {Name: "returning"}, {Name: "rare"}}
	cells := []store.ReportCell{
		{Campaign: "banner-test", Variant: "a", Segment: "new", Exposures: 1000, Conversions: 80},
		{Campaign: "banner-test", Variant: "b", Segment: "new", Exposures: 1000, Conversions: 20},
		{Campaign: "banner-test", Variant: "c", Segment: "new", Exposures: 1000, Conversions: 20},
		{Campaign: "banner-test", Variant: "a", Segment: "returning", Exposures: 1000, Conversions: 20},
		{Campaign: "banner-test", Variant: "b", Segment: "returning", Exposures: 1000, Conversions: 20},
		{Campaign: "banner-test", Variant: "c", Segment: "returning", Exposures: 1000, Conversions: 80},
		{Campaign: "banner-test", Variant: "b", Segment: "rare", Exposures: 300, Conversions: 100},
		{Campaign: "banner-test", Variant: "b", Segment: "", Exposures: 2000, Conversions: 20},
		{Campaign: "banner-test", Variant: "b", Segment: "gone", Exposures: 2000, Conversions: 20},
		{Campaign: "banner-test", Segment: "new", Exposures: 500, Conversions: 500}, // holdout
	}
	next, al, err := learn.Reallocate(b, cells, []string{"banner-test"}, 1_800_003_600, learn.Config{PerSegment: true, MinSegmentExposures: 500})
	if err != nil {
		t.Fatal(err)
	}
	if err := next.Validate(); err != nil {
		t.Fatalf("next bundle invalid: %v", err)
	}
	c := next.Campaigns[0]
	if len(c.BySegment) != 2 || c.BySegment[0].Segment != 0 || c.BySegment[1].Segment != 1 {
		t.Fatalf("splits %+v, want one for segment 0 and one for segment 1", c.BySegment)
	}
	if w := c.BySegment[0].Weights; !(w[0] > 9000 && w[1] >= 100 && w[2] >= 100) {
		t.Errorf("segment new converts best on a: %v", w)
	}
	if w := c.BySegment[1].Weights; !(w[2] > 9000 && w[0] >= 100 && w[1] >= 100) {
		t.Errorf("segment returning converts best on c: %v", w)
	}
	segs := al[0].Segments
	if len(segs) != 3 || segs[2].Segment != "rare" || segs[2].Weights != nil || segs[2].Arms[1].Visitors != 300 {
		t.Errorf("segment allocations %+v: rare must be reported without a split", segs)
	}
	if al[0].Arms[1].Visitors != 6300 {
		t.Errorf("global arm b: %d exposures, want every segment's 6,300", al[0].Arms[1].Visitors)
	}
	// Without PerSegment the splits go: the global split is the bandit's only one.
	again, _, err := learn.Reallocate(next, cells, []string{"banner-test"}, 1_800_007_200, learn.Config{})
	if err != nil || again.Campaigns[0].BySegment != nil || len(next.Campaigns[0].BySegment) != 2 {
		t.Errorf("global reallocation kept %+v (%v), or touched the previous bundle", again.Campaigns[0].BySegment, err)
	}
}

// TestBanditLoop closes the loop natively: real agents decide and count, the store merges their
// batches (SQLite, durable), Reallocate sets the next bundle's split, the agents load it. With true
// conversion rates of 3, 4 and 6 % per variant, the best variant gets ≥ 90 % of the visitors of the
// last round.
func TestBanditLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 20,000 visitors")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rates := map[string]float64{"a": 0.03, "b": 0.04, "c": 0.06}
	now := int64(1_800_000_000_000)
	b := bundle(now / 1000)
	r := rand.New(rand.NewPCG(5, 8))
	const rounds, perRound = 10, 2000
	var lastShare float64
	seed := uint64(1)
	for round := range rounds {
		a := agent.New()
		if err := a.SetBundle(b, now); err != nil {
			t.Fatal(err)
		}
		shown := map[string]int{}
		var batches []*wire.Batch
		for range perRound {
			seed++
			a.Start(nil, seed)
			ans, err := a.Handle(&wire.Request{Now: now, Seed: seed, Slots: []string{"banner"},
				Events: []wire.Event{{Type: wire.EventArrival, Time: now, Channel: wire.ChannelDirect}}})
			if err != nil {
				t.Fatal(err)
			}
			v := ans.Decisions[0].Variant
			shown[v]++
			if r.Float64() < rates[v] {
				if _, err := a.Handle(&wire.Request{Now: now + 60_000, Seed: seed, Events: []wire.Event{{Type: wire.EventPurchase,
					Time: now + 60_000, Value: 30, Lines: []wire.Line{{Item: "sku-1", Price: 30, Quantity: 1}}}}}); err != nil {
					t.Fatal(err)
				}
			}
			batches = append(batches, a.Drain(now+120_000, seed))
			now += 1000
		}
		today := int32(now / dayMs)
		for _, bt := range batches {
			if err := store.CheckBatch(bt, today, 7); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.Ingest(ctx, batches); err != nil {
			t.Fatal(err)
		}
		rep, err := st.Report(ctx, store.ReportQuery{Site: b.Site, Campaign: "banner-test", From: today - 7, To: today + 1, K: 1})
		if err != nil {
			t.Fatal(err)
		}
		next, al, err := learn.Reallocate(b, rep.Cells, []string{"banner-test"}, now/1000, learn.Config{})
		if err != nil {
			t.Fatal(err)
		}
		lastShare = float64(shown["c"]) / perRound
		t.Logf("round %d: shown a/b/c %d/%d/%d; P(best) %.3f/%.3f/%.3f", round, shown["a"], shown["b"], shown["c"], al[0].Best[0], al[0].Best[1], al[0].Best[2])
		b = next
	}
	if lastShare < 0.9 {
		t.Errorf("the best variant got %.0f %% of the last round's visitors, want ≥ 90 %%", 100*lastShare)
	}
}
