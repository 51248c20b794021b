package demo

import (
	"math"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
)

// Segment indices of the demo bundle, in bundle order.
const (
	segHighIntent = iota
	segHesitant
	segVIP
	segAtRiskValuable
	segEmailReactive
)

// addMarketing adds the demo's segments, campaigns and pressure budget: the marketer's side of the
// bundle, which in production is edited through the sync server's admin API. Every campaign keeps a
// randomised holdout, as the admin API requires (5 % by default, 10 % for the incentives).
func addMarketing(b *models.Bundle) {
	inf := math.Inf(1)
	stages := func(ss ...wire.Stage) uint8 {
		var m uint8
		for _, s := range ss {
			m |= 1 << s
		}
		return m
	}
	b.Segments = []models.Segment{
		segHighIntent: {Name: "high_intent", When: []models.Predicate{
			{Kind: models.PredScore, Ref: ModelBuySession, Lo: 0.5, Hi: inf}}},
		// The persuadable middle: the band where an incentive can tip the decision (the tyre
		// retailer's 52–60 % band, widened for a shop with a lower base rate).
		segHesitant: {Name: "hesitant", When: []models.Predicate{
			{Kind: models.PredScore, Ref: ModelBuySession, Lo: 0.08, Hi: 0.5}}},
		segVIP: {Name: "vip", When: []models.Predicate{
			{Kind: models.PredStage, Stages: stages(wire.StageLoyal)},
			{Kind: models.PredFeature, Ref: featureRef(b, "monetary"), Lo: 200, Hi: inf}}},
		segAtRiskValuable: {Name: "at_risk_valuable", When: []models.Predicate{
			{Kind: models.PredStage, Stages: stages(wire.StageAtRisk, wire.StageLapsed)},
			{Kind: models.PredFeature, Ref: featureRef(b, "monetary"), Lo: 100, Hi: inf}}},
		segEmailReactive: {Name: "email_reactive", When: []models.Predicate{
			{Kind: models.PredScore, Ref: ModelEmail14d, Lo: 0.3, Hi: inf}}},
	}
	b.Campaigns = []models.Campaign{
		{ID: "welcome-offer", Slot: "popin", Support: "popin", Priority: 10, Holdout: 1000,
			When: []models.Predicate{
				{Kind: models.PredStage, Stages: stages(wire.StageProspect, wire.StageLead)},
				{Kind: models.PredSegment, Ref: segHesitant}},
			Variants: []models.Variant{
				{ID: "ten-percent", Weight: 1, Content: "10 % off your first order"},
				{ID: "free-shipping", Weight: 1, Content: "Free shipping on your first order"}},
			Caps: &models.Caps{PerSession: 1, PerDay: 1, PerWeek: 3}},
		{ID: "win-back", Slot: "popin", Support: "popin", Priority: 20, Holdout: 1000,
			When: []models.Predicate{{Kind: models.PredSegment, Ref: segAtRiskValuable}},
			Variants: []models.Variant{
				{ID: "we-miss-you", Weight: 1, Content: "We miss you: 15 % off this week"}},
			Caps: &models.Caps{PerSession: 1, PerWeek: 2, MinGapSec: 24 * 3600}},
		{ID: "home-banner", Slot: "banner", Support: "banner", Priority: 1, Holdout: 500,
			Variants: []models.Variant{
				{ID: "new-season", Weight: 1, Content: "The new season is in"},
				{ID: "best-sellers", Weight: 1, Content: "Our best sellers"}},
			Caps: &models.Caps{PerSession: 3}},
		{ID: "vip-banner", Slot: "banner", Support: "banner", Priority: 5, Holdout: 500,
			When:     []models.Predicate{{Kind: models.PredSegment, Ref: segVIP}},
			Variants: []models.Variant{{ID: "early-access", Weight: 1, Content: "Early access for our best customers"}}},
		{ID: "carousel", Slot: "carousel", Support: "carousel", Holdout: 500,
			Variants: []models.Variant{
				{ID: "bought-together", Weight: 1, Content: "Often bought together"},
				{ID: "for-you", Weight: 1, Content: "Picked for you"}}},
	}
	b.Pressure = &models.Pressure{PerDay: 6, PerSession: 4}
}

func featureRef(b *models.Bundle, name string) uint16 {
	for i, f := range b.Features {
		if f == name {
			return uint16(i)
		}
	}
	panic("demo: no feature " + name)
}
