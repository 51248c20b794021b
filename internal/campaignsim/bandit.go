package campaignsim

import (
	"context"
	"fmt"
	"math/rand/v2"

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

// BanditConfig sets a bandit simulation.
type BanditConfig struct {
	Dir        string // the store's data folder (a new, empty one)
	PerSegment bool   // learn.Config.PerSegment: a split per segment, not one for everyone
	Rounds     int    // one bundle each
	PerRound   int    // visitors per round
	Seed       uint64
	Progress   func(done, total int) // after each round
}

// BanditRegret drives Rounds × PerRound visitors through real agents, half arriving by email and
// half direct: each is decided, converts with their segment's rate for the variant shown, and
// drains a batch; the store merges the batches, and learn.Reallocate (per segment or not) sets the
// next round's bundle. It returns the regret against the oracle that shows each segment its best
// variant (expected conversions lost, Σ best rate − rate of the variant shown), per round.
func BanditRegret(ctx context.Context, cfg BanditConfig) ([]float64, error) {
	st, err := store.Open(ctx, store.Config{Dir: cfg.Dir})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := int64(1_800_000_000_000)
	b := segmentBundle(now / 1000)
	r := rand.New(rand.NewPCG(cfg.Seed, 3))
	regret := make([]float64, cfg.Rounds)
	visitor := cfg.Seed << 32
	variant := map[string]int{"a": 0, "b": 1, "c": 2}
	for round := range cfg.Rounds {
		a := agent.New()
		if err := a.SetBundle(b, now); err != nil {
			return nil, fmt.Errorf("round %d: %w", round, err)
		}
		batches := make([]*wire.Batch, 0, cfg.PerRound)
		for range cfg.PerRound {
			visitor++
			a.Start(nil, visitor)
			seg, ch := "email", wire.ChannelEmail
			if r.IntN(2) == 0 {
				seg, ch = "direct", wire.ChannelDirect
			}
			ans, err := a.Handle(&wire.Request{Now: now, Seed: visitor, Slots: []string{"banner"},
				Events: []wire.Event{{Type: wire.EventArrival, Time: now, Channel: ch}}})
			if err != nil {
				return nil, fmt.Errorf("round %d: %w", round, err)
			}
			rates := segmentRates[seg]
			p := rates[variant[ans.Decisions[0].Variant]]
			regret[round] += max(rates[0], rates[1], rates[2]) - p
			if r.Float64() < p {
				if _, err := a.Handle(&wire.Request{Now: now + 60_000, Seed: visitor, Events: []wire.Event{{Type: wire.EventPurchase,
					Time: now + 60_000, Value: 30, Lines: []wire.Line{{Item: "sku-1", Price: 30, Quantity: 1}}}}}); err != nil {
					return nil, fmt.Errorf("round %d: %w", round, err)
				}
			}
			batches = append(batches, a.Drain(now+120_000, visitor))
			now += 1000
		}
		if _, err := st.Ingest(ctx, batches); err != nil {
			return nil, fmt.Errorf("round %d: %w", round, err)
		}
		today := int32(now / dayMs)
		rep, err := st.Report(ctx, store.ReportQuery{Site: b.Site, Campaign: "banner", From: today - 7, To: today + 1, K: 1})
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", round, err)
		}
		next, _, err := learn.Reallocate(b, rep.Cells, []string{"banner"}, now/1000, learn.Config{PerSegment: cfg.PerSegment})
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", round, err)
		}
		if err := next.Validate(); err != nil {
			return nil, fmt.Errorf("round %d: the reallocated bundle: %w", round, err)
		}
		b = next
		if cfg.Progress != nil {
			cfg.Progress(round+1, cfg.Rounds)
		}
	}
	return regret, nil
}

// Sum is the sum of xs.
func Sum(xs []float64) (s float64) {
	for _, x := range xs {
		s += x
	}
	return s
}
