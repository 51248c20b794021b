package learn

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/stats"
	"github.com/presage-dev/presage/sync/store"
)

// Compile returns a copy of base whose campaigns are the active campaigns of cs, as the admin API
// defines them, resolved against base: predicates name features, models, categories and segments,
// which become indexes into base's lists. A bandit campaign already in base with the same variants
// keeps base's weights (its current split, which Reallocate moves); otherwise the weights are the
// definition's. Version and Created are base's: the caller numbers the result. A predicate naming
// something base does not have, or that base cannot evaluate, is an error: the bundle is not built.
func Compile(base *models.Bundle, cs []*store.Campaign) (*models.Bundle, error) {
	next := *base
	next.Campaigns = nil
	for _, c := range cs {
		if c.Status != store.StatusActive {
			continue
		}
		mc, err := compileCampaign(base, c)
		if err != nil {
			return nil, fmt.Errorf("learn: campaign %q: %w", c.ID, err)
		}
		next.Campaigns = append(next.Campaigns, mc)
	}
	slices.SortStableFunc(next.Campaigns, func(a, b models.Campaign) int { return strings.Compare(a.ID, b.ID) })
	if err := next.Validate(); err != nil { // e.g. an appetence predicate and no appetence model
		return nil, fmt.Errorf("learn: the campaigns do not fit bundle %d: %w", base.Version, err)
	}
	return &next, nil
}

func compileCampaign(base *models.Bundle, c *store.Campaign) (models.Campaign, error) {
	mc := models.Campaign{ID: c.ID, Slot: c.Slot, Support: c.Support, Priority: c.Priority, Holdout: c.Holdout}
	if c.Caps != nil {
		mc.Caps = &models.Caps{PerSession: c.Caps.PerSession, PerDay: c.Caps.PerDay, PerWeek: c.Caps.PerWeek, MinGapSec: c.Caps.MinGapSec}
	}
	if !c.Start.IsZero() {
		mc.Start = c.Start.Unix()
	}
	if !c.End.IsZero() {
		mc.End = c.End.Unix()
	}
	for _, v := range c.Variants {
		mc.Variants = append(mc.Variants, models.Variant{ID: v.ID, Weight: v.Weight, Content: v.Content})
	}
	if len(c.Factors) > 0 {
		mc.Variants = factorialVariants(c.Factors)
	}
	if c.IsBandit() {
		if i := slices.IndexFunc(base.Campaigns, func(b models.Campaign) bool { return b.ID == c.ID }); i >= 0 && sameVariants(base.Campaigns[i].Variants, mc.Variants) {
			for j := range mc.Variants {
				mc.Variants[j].Weight = base.Campaigns[i].Variants[j].Weight
			}
		}
	}
	if o := c.Objective; o != nil {
		mc.Objective = models.Objective(max(slices.Index(store.ObjectiveEvents, o.Event), 0)) // "" is a purchase
		mc.Value = float32(o.Value)
	}
	mc.Cost = float32(c.IncentiveCost)
	if c.Allocation == store.AllocUplift {
		m := slices.IndexFunc(base.Uplift, func(u models.Uplift) bool { return u.Name == c.UpliftModel })
		if m < 0 {
			return mc, fmt.Errorf("uplift_model %q is not in bundle %d", c.UpliftModel, base.Version)
		}
		for _, f := range slices.Concat(base.Uplift[m].Treated.Features, base.Uplift[m].Control.Features) {
			if int(f) < len(base.Features) {
				if _, ok := agent.FeatureByName(base.Features[f]); !ok {
					return mc, fmt.Errorf("uplift_model %q reads %q, not an agent feature: uplift targeting is decided on the agent's own features", c.UpliftModel, base.Features[f])
				}
			}
		}
		mc.Uplift = uint16(m + 1)
	}
	for i, p := range c.When {
		mp, err := compilePredicate(base, p)
		if err != nil {
			return mc, fmt.Errorf("when[%d]: %w", i, err)
		}
		mc.When = append(mc.When, mp)
	}
	return mc, nil
}

// sameVariants reports whether two campaigns draw between the same variants, in the same order.
func sameVariants(a, b []models.Variant) bool {
	return slices.EqualFunc(a, b, func(x, y models.Variant) bool { return x.ID == y.ID })
}

var valueRefs = map[string]uint16{"alive": 0, "purchases": 1, "spend": 2, "value": 3}

func compilePredicate(base *models.Bundle, p store.Predicate) (models.Predicate, error) {
	mp := models.Predicate{Lo: math.Inf(-1), Hi: math.Inf(1), Not: p.Not}
	if p.Lo != nil {
		mp.Lo = *p.Lo
	}
	if p.Hi != nil {
		mp.Hi = *p.Hi
	}
	find := func(n int, name func(int) string, what string) (uint16, error) {
		for i := range n {
			if name(i) == p.Ref {
				return uint16(i), nil
			}
		}
		return 0, fmt.Errorf("%s %q is not in bundle %d", what, p.Ref, base.Version)
	}
	var err error
	switch p.Kind {
	case "feature":
		mp.Kind = models.PredFeature
		mp.Ref, err = find(len(base.Features), func(i int) string { return base.Features[i] }, "feature")
	case "score":
		mp.Kind = models.PredScore
		mp.Ref, err = find(len(base.Propensity), func(i int) string { return base.Propensity[i].Name }, "model")
	case "appetence":
		mp.Kind = models.PredAppetence
		mp.Ref, err = find(len(base.Categories), func(i int) string { return base.Categories[i] }, "category")
	case "segment":
		mp.Kind = models.PredSegment
		mp.Ref, err = find(len(base.Segments), func(i int) string { return base.Segments[i].Name }, "segment")
	case "value":
		mp.Kind = models.PredValue
		ref, ok := valueRefs[p.Ref]
		if !ok {
			return mp, fmt.Errorf("value %q: want alive, purchases, spend or value", p.Ref)
		}
		mp.Ref = ref
	case "page":
		mp.Kind = models.PredPage
		for _, name := range p.Pages {
			t, ok := wire.ParsePageType(name)
			if !ok {
				return mp, fmt.Errorf("page %q: want other, home, category, product, search, cart, checkout, content or account", name)
			}
			mp.Ref |= 1 << t
		}
	case "stage":
		mp.Kind = models.PredStage
		for _, name := range p.Stages {
			s := stageIndex(name)
			if s < 0 {
				return mp, fmt.Errorf("stage %q: want prospect, lead, new, loyal, at_risk or lapsed", name)
			}
			mp.Stages |= 1 << s
		}
	default:
		return mp, fmt.Errorf("kind %q: want feature, score, appetence, stage, segment, value or page", p.Kind)
	}
	return mp, err
}

// stageIndex is the number of the life-cycle stage named name, -1 if none is.
func stageIndex(name string) int {
	for s := range wire.NumStages {
		if wire.Stage(s).String() == name {
			return s
		}
	}
	return -1
}

// factorialVariants makes a multivariate campaign's variants: every combination of its factors'
// levels, equally weighted, with a JSON object of the levels' contents (a level without content
// shows its id) for the page's template.
func factorialVariants(factors []store.Factor) []models.Variant {
	combos := stats.Combinations(Factors(factors))
	vs := make([]models.Variant, len(combos))
	for i, c := range combos {
		content := make(map[string]string, len(factors))
		for f, l := range c.Levels {
			lv := factors[f].Levels[l]
			content[factors[f].Name] = cmp.Or(lv.Content, lv.ID)
		}
		js, _ := json.Marshal(content) // a map of strings always encodes
		vs[i] = models.Variant{ID: c.ID, Weight: 1, Content: string(js)}
	}
	return vs
}

// Factors is a multivariate campaign's factors by level id, as the statistics name them.
func Factors(factors []store.Factor) []stats.Factor {
	sf := make([]stats.Factor, len(factors))
	for i, f := range factors {
		sf[i].Name = f.Name
		for _, l := range f.Levels {
			sf[i].Levels = append(sf[i].Levels, l.ID)
		}
	}
	return sf
}
