package agent_test

import (
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/models"
)

// withUpliftCampaign adds an uplift model "offer-uplift" over the agent feature session_products,
// uplift(n) = σ(−2 + 0.5·n) − σ(−1.5), and makes the only campaign "offer" uplift-targeted with it:
// a conversion is worth 10, showing the incentive costs 1, 20 % of the targeted are held out.
func withUpliftCampaign(b *models.Bundle) {
	b.Uplift = []models.Uplift{{Name: "offer-uplift",
		Treated: models.Logistic{Bias: -2, Features: []uint16{0}, Weights: []float32{0.5}}, // features[0] = session_products
		Control: models.Logistic{Bias: -1.5}}}
	b.Campaigns = []models.Campaign{{ID: "offer", Slot: "popin", Holdout: 2000, Value: 10, Cost: 1, Uplift: 1,
		Variants: []models.Variant{{ID: "ten-off", Weight: 1, Content: "10 % off"}}}}
}

func offerUplift(products int) float64 {
	return detmath.Sigmoid(-2+0.5*float64(products)) - detmath.Sigmoid(-1.5)
}

// TestUpliftTargetedCampaign: an uplift-targeted campaign is decided exactly for the visitors whose
// uplift × value − cost > 0, and a randomised share of them (the holdout) is kept as control; the
// others get nothing from it, count in no learning cell, and the slot falls to the next campaign.
func TestUpliftTargetedCampaign(t *testing.T) {
	a := newAgent(t, handBundle(withUpliftCampaign))
	for products := range 7 {
		u := offerUplift(products)
		show := models.ShowIncentive(u, 10, 1)
		t.Run("products="+string(rune('0'+products)), func(t *testing.T) {
			held, shown := 0, 0
			const visitors = 400
			for v := range visitors {
				a.Start(nil, uint64(1000*products+v+1))
				evs := []wire.Event{arrive(wire.ChannelDirect)}
				for i := range products {
					evs = append(evs, view(itemID(i), "shoes"))
				}
				d := decision(t, stepSlots(t, a, t0, []string{"popin"}, evs...), "popin")
				switch {
				case d.Campaign == "":
				case d.Holdout:
					held++
				case d.Variant == "ten-off" && d.Content == "10 % off":
					shown++
				default:
					t.Fatalf("decision %+v", d)
				}
				ex := a.Explain().Slots[0]
				var c wire.Check
				for _, k := range ex.Checks {
					if k.Name == "offer-uplift" {
						c = k
					}
				}
				if c.Kind != wire.CheckScore || c.Value != float32(u) || c.Lo != 0.1 || c.Pass != show {
					t.Fatalf("uplift check %+v, want value %v, threshold 0.1, pass %v", c, float32(u), show)
				}
				cells := a.Drain(t0, 1).Cells
				if !show && len(cells) != 0 {
					t.Fatalf("a visitor not targeted is in the learning buffer: %+v", cells)
				}
			}
			if !show {
				if held+shown != 0 {
					t.Fatalf("uplift %.3f × 10 − 1 ≤ 0, yet %d shown and %d held out", u, shown, held)
				}
				return
			}
			if held+shown != visitors {
				t.Fatalf("uplift %.3f × 10 − 1 > 0, yet %d of %d decided", u, held+shown, visitors)
			}
			if share := float64(held) / visitors; share < 0.14 || share > 0.26 { // 20 %, ±3σ at n = 400
				t.Errorf("holdout share %.3f, want about 0.20", share)
			}
		})
	}

	t.Run("falls to the next campaign", func(t *testing.T) {
		b := handBundle(withUpliftCampaign)
		b.Campaigns[0].Priority = 2
		b.Campaigns = append(b.Campaigns, simpleCampaign("fallback", "popin", 1, nil))
		a := newAgent(t, b)
		if d := decision(t, stepSlots(t, a, t0, []string{"popin"}, arrive(wire.ChannelDirect)), "popin"); d.Campaign != "fallback" {
			t.Errorf("no product viewed (uplift %.3f): decision %+v, want the fallback", offerUplift(0), d)
		}
	})
}

// TestUpliftCampaignReadsAgentFeatures: an uplift model a campaign targets with must read agent
// features, since Handle's requests carry no inputs; one that reads a request input is refused.
func TestUpliftCampaignReadsAgentFeatures(t *testing.T) {
	b := handBundle(withUpliftCampaign)
	b.Features = append(b.Features, "PageValues")
	b.Uplift[0].Control = models.Logistic{Features: []uint16{uint16(len(b.Features) - 1)}, Weights: []float32{1}}
	err := agent.New().SetBundle(b, t0)
	if err == nil || !strings.Contains(err.Error(), `unknown feature "PageValues" (an uplift model a campaign targets with reads agent features only)`) {
		t.Fatalf("SetBundle: %v", err)
	}
	b.Campaigns[0].Uplift, b.Campaigns[0].Holdout = 0, 0 // the same model scored by OpScore alone is fine
	if err := agent.New().SetBundle(b, t0); err != nil {
		t.Fatalf("SetBundle without the campaign's targeting: %v", err)
	}
}

// TestObjectiveCredits: each campaign counts its own objective's event as a conversion, credited
// with the objective's value, or the event's own value when the campaign sets none; a purchase no
// longer counts for a campaign whose objective is a sign-up, and the other way round.
func TestObjectiveCredits(t *testing.T) {
	b := handBundle(withCampaigns(nil,
		simpleCampaign("orders", "s1", 0, nil),
		models.Campaign{ID: "join", Slot: "s2", Objective: models.ObjectiveSignUp, Value: 12, Variants: []models.Variant{{ID: "v", Weight: 1}}},
		models.Campaign{ID: "carts", Slot: "s3", Objective: models.ObjectiveAddToCart, Variants: []models.Variant{{ID: "v", Weight: 1}}},
		models.Campaign{ID: "margin", Slot: "s4", Value: 7.5, Variants: []models.Variant{{ID: "v", Weight: 1}}},
	))
	a := newAgent(t, b)
	stepSlots(t, a, t0, []string{"s1", "s2", "s3", "s4"}, arrive(wire.ChannelDirect))
	step(t, a, t0+minute, signUp())
	step(t, a, t0+2*minute, addCart(itemID(1), "shoes", 30, 2))
	step(t, a, t0+3*minute, buy(50))
	type tally struct {
		exposures, conversions uint32
		revenue                float64
	}
	got := map[string]tally{}
	for _, c := range a.Drain(t0+4*minute, 1).Cells {
		g := got[c.Campaign]
		g.exposures += c.Exposures
		g.conversions += c.Conversions
		g.revenue += c.Revenue
		got[c.Campaign] = g
	}
	want := map[string]tally{
		"orders": {1, 1, 50},  // a purchase, at the order's value: what every campaign counted before
		"join":   {1, 1, 12},  // the sign-up, at the objective's value; not the order
		"carts":  {1, 1, 30},  // the add-to-cart, at the event's value (no objective value)
		"margin": {1, 1, 7.5}, // a purchase at the objective's value (a margin), not the order's total
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %+v, want %+v", id, got[id], w)
		}
	}
}
