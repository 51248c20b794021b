package campaignsim

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

// segmentRates are the true conversion rates of the banner's variants a, b, c for visitors who
// arrived by email and for those who came direct. Each segment has its own best variant (a for
// email, b for direct), and c, second best in both, is the best single variant for everyone: a
// global bandit settles on c and loses about one conversion in a hundred visitors to the oracle.
var segmentRates = map[string][3]float64{"email": {0.06, 0.03, 0.045}, "direct": {0.02, 0.05, 0.045}}

// segmentBundle is a shop with the two segments (by the session's arrival channel) and one banner
// campaign of three variants, equally weighted.
func segmentBundle(created int64) *models.Bundle {
	b := &models.Bundle{Format: models.FormatVersion, Version: 1, Created: created, Site: "segment-shop",
		Settings: &models.Settings{DefaultConsent: uint8(wire.ConsentFull)},
		Features: []string{"channel_email", "channel_direct"},
		Segments: []models.Segment{
			{Name: "email", When: []models.Predicate{{Kind: models.PredFeature, Ref: 0, Lo: 0.5, Hi: 1}}},
			{Name: "direct", When: []models.Predicate{{Kind: models.PredFeature, Ref: 1, Lo: 0.5, Hi: 1}}},
		},
		Campaigns: []models.Campaign{{ID: "banner", Slot: "banner", Variants: []models.Variant{
			{ID: "a", Weight: 1, Content: "10 % off"}, {ID: "b", Weight: 1, Content: "free delivery"}, {ID: "c", Weight: 1, Content: "gift"}}}}}
	return b
}

// banditRun drives rounds × perRound visitors through real agents, half arriving by email and half
// direct: each is decided, converts with their segment's rate for the variant shown, and drains a
// batch; the store merges the batches, and learn.Reallocate (per segment or not) sets the next
// round's bundle. It returns the regret against the oracle that shows each segment its best
// variant (expected conversions lost, Σ best rate − rate of the variant shown), per round.
func banditRun(t *testing.T, perSegment bool, rounds, perRound int, seed uint64) []float64 {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := int64(1_800_000_000_000)
	b := segmentBundle(now / 1000)
	r := rand.New(rand.NewPCG(seed, 3))
	cfg := learn.Config{PerSegment: perSegment}
	regret := make([]float64, rounds)
	visitor := seed << 32
	variant := map[string]int{"a": 0, "b": 1, "c": 2}
	for round := range rounds {
		a := agent.New()
		if err := a.SetBundle(b, now); err != nil {
			t.Fatal(err)
		}
		batches := make([]*wire.Batch, 0, perRound)
		for range perRound {
			visitor++
			a.Start(nil, visitor)
			seg, ch := "email", wire.ChannelEmail
			if r.IntN(2) == 0 {
				seg, ch = "direct", wire.ChannelDirect
			}
			ans, err := a.Handle(&wire.Request{Now: now, Seed: visitor, Slots: []string{"banner"},
				Events: []wire.Event{{Type: wire.EventArrival, Time: now, Channel: ch}}})
			if err != nil {
				t.Fatal(err)
			}
			rates := segmentRates[seg]
			p := rates[variant[ans.Decisions[0].Variant]]
			regret[round] += max(rates[0], rates[1], rates[2]) - p
			if r.Float64() < p {
				if _, err := a.Handle(&wire.Request{Now: now + 60_000, Seed: visitor, Events: []wire.Event{{Type: wire.EventPurchase,
					Time: now + 60_000, Value: 30, Lines: []wire.Line{{Item: "sku-1", Price: 30, Quantity: 1}}}}}); err != nil {
					t.Fatal(err)
				}
			}
			batches = append(batches, a.Drain(now+120_000, visitor))
			now += 1000
		}
		if _, err := st.Ingest(ctx, batches); err != nil {
			t.Fatal(err)
		}
		today := int32(now / dayMs)
		rep, err := st.Report(ctx, store.ReportQuery{Site: b.Site, Campaign: "banner", From: today - 7, To: today + 1, K: 1})
		if err != nil {
			t.Fatal(err)
		}
		next, _, err := learn.Reallocate(b, rep.Cells, []string{"banner"}, now/1000, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := next.Validate(); err != nil {
			t.Fatal(err)
		}
		b = next
	}
	return regret
}

// TestBanditRegret: two segments prefer different variants; over 10 rounds of 2,000 visitors, the
// per-segment bandit (learn.Config.PerSegment) loses fewer conversions to the oracle than the
// global one, in total and in the last round, on each of 3 seeds.
func TestBanditRegret(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 120,000 visitors")
	}
	const rounds, perRound = 10, 2000
	sum := func(xs []float64) (s float64) {
		for _, x := range xs {
			s += x
		}
		return s
	}
	for seed := range uint64(3) {
		g := banditRun(t, false, rounds, perRound, seed+1)
		s := banditRun(t, true, rounds, perRound, seed+1)
		t.Logf("seed %d: regret against the oracle over %d visitors: global %.1f, per segment %.1f conversions (%.2f vs %.2f per 1,000 visitors); last round %.1f vs %.1f",
			seed+1, rounds*perRound, sum(g), sum(s), 1000*sum(g)/(rounds*perRound), 1000*sum(s)/(rounds*perRound), g[rounds-1], s[rounds-1])
		if !(sum(s) < sum(g)) || !(s[rounds-1] < g[rounds-1]) {
			t.Errorf("seed %d: per-segment regret %.1f (last round %.1f) not below global %.1f (%.1f)", seed+1, sum(s), s[rounds-1], sum(g), g[rounds-1])
		}
	}
}
