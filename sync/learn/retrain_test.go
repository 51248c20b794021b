package learn_test

import (
	"math"
	"strings"
	"testing"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/store"
)

func ptr(v float64) *float64 { return &v }

// scoredBundle is bundle with the names that campaign predicates resolve against.
func scoredBundle() *models.Bundle {
	b := bundle(1_800_000_000)
	b.Features = []string{"sessions", "cart_value"}
	b.Categories = []string{"shoes", "bags"}
	b.Propensity = []models.Logistic{{Name: "buy", Features: []uint16{0}, Weights: []float32{0.5}}}
	b.Segments = []models.Segment{{Name: "engaged"}}
	b.Value = &models.Value{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426, Horizon: 52}
	return b
}

func banditDef(weights ...uint16) *store.Campaign {
	c := &store.Campaign{ID: "banner-test", Status: store.StatusActive, Slot: "banner", Allocation: store.AllocBandit}
	for i, id := range []string{"a", "b", "c"} {
		c.Variants = append(c.Variants, store.Variant{ID: id, Weight: weights[i]})
	}
	return c
}

func TestCompile(t *testing.T) {
	base := scoredBundle()
	base.Campaigns[0].Variants[1].Weight = 7 // the bandit's current split
	popin := &store.Campaign{ID: "popin-10", Status: store.StatusActive, Slot: "popin", Priority: 3, Holdout: 500,
		Caps: &store.Caps{PerDay: 2}, Variants: []store.Variant{{ID: "x", Weight: 1, Content: "10 %"}},
		When: []store.Predicate{
			{Kind: "score", Ref: "buy", Lo: ptr(0.52), Hi: ptr(0.60)},
			{Kind: "feature", Ref: "cart_value", Lo: ptr(50)},
			{Kind: "segment", Ref: "engaged", Not: true},
			{Kind: "stage", Stages: []string{"new", "at_risk"}},
			{Kind: "value", Ref: "alive", Hi: ptr(0.5)},
			{Kind: "page", Pages: []string{"product", "cart"}},
		}}
	draft := &store.Campaign{ID: "draft", Status: store.StatusDraft, Slot: "banner", Variants: []store.Variant{{ID: "x", Weight: 1}}}
	next, err := learn.Compile(base, []*store.Campaign{popin, banditDef(1, 1, 1), draft})
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Campaigns) != 2 || next.Campaigns[0].ID != "banner-test" || next.Campaigns[1].ID != "popin-10" {
		t.Fatalf("want the two active campaigns by id, got %+v", next.Campaigns)
	}
	if w := next.Campaigns[0].Variants[1].Weight; w != 7 {
		t.Errorf("a bandit campaign must keep the serving split, weight %d", w)
	}
	p := next.Campaigns[1]
	want := []models.Predicate{
		{Kind: models.PredScore, Ref: 0, Lo: 0.52, Hi: 0.60},
		{Kind: models.PredFeature, Ref: 1, Lo: 50, Hi: math.Inf(1)},
		{Kind: models.PredSegment, Ref: 0, Lo: math.Inf(-1), Hi: math.Inf(1), Not: true},
		{Kind: models.PredStage, Stages: 1<<2 | 1<<4, Lo: math.Inf(-1), Hi: math.Inf(1)},
		{Kind: models.PredValue, Ref: 0, Lo: math.Inf(-1), Hi: 0.5},
		{Kind: models.PredPage, Ref: 1<<3 | 1<<5, Lo: math.Inf(-1), Hi: math.Inf(1)},
	}
	for i := range want {
		if p.When[i] != want[i] {
			t.Errorf("when[%d] = %+v, want %+v", i, p.When[i], want[i])
		}
	}
	if p.Priority != 3 || p.Holdout != 500 || p.Caps == nil || p.Caps.PerDay != 2 || p.Variants[0].Content != "10 %" {
		t.Errorf("fields not carried: %+v", p)
	}
	if err := next.Validate(); err != nil {
		t.Errorf("compiled bundle invalid: %v", err)
	}
	for _, tc := range []struct {
		p    store.Predicate
		want string
	}{
		{store.Predicate{Kind: "score", Ref: "churn"}, `model "churn"`},
		{store.Predicate{Kind: "appetence", Ref: "hats"}, `category "hats"`},
		{store.Predicate{Kind: "segment", Ref: "vip"}, `segment "vip"`},
		{store.Predicate{Kind: "appetence", Ref: "bags"}, "without an appetence model"},
		{store.Predicate{Kind: "page", Pages: []string{"basket"}}, `page "basket"`},
	} {
		bad := *popin
		bad.When = []store.Predicate{tc.p}
		if _, err := learn.Compile(base, []*store.Campaign{&bad}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("predicate %+v: error %v, want one that says %s", tc.p, err, tc.want)
		}
	}
}

// TestCompileMultivariate: a campaign's factors become every combination of levels, equally weighted,
// with the levels' contents as a JSON object.
func TestCompileMultivariate(t *testing.T) {
	c := &store.Campaign{ID: "hero-mvt", Status: store.StatusActive, Slot: "hero", Holdout: 500, Factors: []store.Factor{
		{Name: "headline", Levels: []store.Level{{ID: "a", Content: "Save 10 %"}, {ID: "b", Content: "Free \"gift\""}}},
		{Name: "color", Levels: []store.Level{{ID: "red"}, {ID: "blue"}, {ID: "green"}}},
	}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	next, err := learn.Compile(scoredBundle(), []*store.Campaign{c})
	if err != nil {
		t.Fatal(err)
	}
	vs := next.Campaigns[0].Variants
	if len(vs) != 6 || vs[0].ID != "headline=a&color=red" || vs[5].ID != "headline=b&color=green" {
		t.Fatalf("variants %+v", vs)
	}
	if want := `{"color":"blue","headline":"Free \"gift\""}`; vs[4].Content != want || vs[4].Weight != 1 {
		t.Errorf("variant 4: content %s weight %d, want %s and 1", vs[4].Content, vs[4].Weight, want)
	}
}

func TestRetrain(t *testing.T) {
	train := []store.ReportCell{
		{Campaign: "banner-test", Variant: "a", Exposures: 2000, Conversions: 80},
		{Campaign: "banner-test", Variant: "b", Exposures: 2000, Conversions: 120},
		{Campaign: "banner-test", Variant: "c", Exposures: 2000, Conversions: 60},
	}
	agree := []store.ReportCell{ // held back, b still best
		{Campaign: "banner-test", Variant: "a", Exposures: 1000, Conversions: 41},
		{Campaign: "banner-test", Variant: "b", Exposures: 1000, Conversions: 59},
		{Campaign: "banner-test", Variant: "c", Exposures: 1000, Conversions: 30},
	}
	contradict := []store.ReportCell{ // held back, b the worst by far
		{Campaign: "banner-test", Variant: "a", Exposures: 3000, Conversions: 180},
		{Campaign: "banner-test", Variant: "b", Exposures: 3000, Conversions: 30},
		{Campaign: "banner-test", Variant: "c", Exposures: 3000, Conversions: 180},
	}
	for _, tc := range []struct {
		name      string
		held      []store.ReportCell
		regressed bool
	}{{"held-back evidence agrees", agree, false}, {"held-back evidence contradicts", contradict, true}} {
		t.Run(tc.name, func(t *testing.T) {
			base := scoredBundle()
			cand, err := learn.Retrain(base, []*store.Campaign{banditDef(1, 1, 1)}, train, tc.held, 1_800_086_400, learn.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if !cand.Changed || cand.Bundle.Version != base.Version+1 || len(cand.Checks) != 1 {
				t.Fatalf("want a changed candidate with one check: %+v", cand)
			}
			if w := cand.Bundle.Campaigns[0].Variants; w[1].Weight < 9000 {
				t.Errorf("b converts best in training: weights %+v", w)
			}
			if ch := cand.Checks[0]; cand.Regressed() != tc.regressed || ch.Exposures != 3*tc.held[0].Exposures {
				t.Errorf("regressed = %v, want %v (%s)", cand.Regressed(), tc.regressed, ch)
			}
		})
	}
	t.Run("nothing new", func(t *testing.T) {
		base := scoredBundle()
		fixed := banditDef(1, 1, 1)
		fixed.Allocation = store.AllocFixed
		fixed.Variants[0].Content, fixed.Variants[1].Content, fixed.Variants[2].Content = "10 % off", "free delivery", "gift"
		cand, err := learn.Retrain(base, []*store.Campaign{fixed}, train, agree, 1_800_086_400, learn.Config{})
		if err != nil {
			t.Fatal(err)
		}
		if cand.Changed || len(cand.Checks) != 0 {
			t.Errorf("the definitions equal the serving campaigns and no bandit runs: nothing to publish, got %+v", cand)
		}
	})
}

// TestRetrainBySegment: a campaign defined with "bandit-segment" allocation gets a split per segment
// with enough evidence, in one new version, beside a global bandit.
func TestRetrainBySegment(t *testing.T) {
	base := scoredBundle()
	base.Segments = []models.Segment{{Name: "new"}, {Name: "returning"}}
	base.Campaigns = append(base.Campaigns, models.Campaign{ID: "popin", Slot: "popin",
		Variants: []models.Variant{{ID: "x", Weight: 1}, {ID: "y", Weight: 1}}})
	seg := banditDef(1, 1, 1)
	seg.Allocation = store.AllocBanditBySegment
	global := &store.Campaign{ID: "popin", Status: store.StatusActive, Slot: "popin", Allocation: store.AllocBandit,
		Variants: []store.Variant{{ID: "x", Weight: 1}, {ID: "y", Weight: 1}}}
	var train []store.ReportCell
	for _, s := range []struct {
		segment string
		conv    [3]int64
	}{{"new", [3]int64{80, 20, 20}}, {"returning", [3]int64{20, 20, 80}}} {
		for i, v := range []string{"a", "b", "c"} {
			train = append(train, store.ReportCell{Campaign: "banner-test", Variant: v, Segment: s.segment, Exposures: 2000, Conversions: s.conv[i]})
		}
	}
	train = append(train, store.ReportCell{Campaign: "popin", Variant: "y", Exposures: 2000, Conversions: 200},
		store.ReportCell{Campaign: "popin", Variant: "x", Exposures: 2000, Conversions: 20})
	cand, err := learn.Retrain(base, []*store.Campaign{seg, global}, train, nil, 1_800_086_400, learn.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if cand.Bundle.Version != base.Version+1 || len(cand.Allocations) != 2 {
		t.Fatalf("version %d, %d allocations: want one new version and both bandits", cand.Bundle.Version, len(cand.Allocations))
	}
	banner, popin := cand.Bundle.Campaigns[0], cand.Bundle.Campaigns[1]
	if len(banner.BySegment) != 2 || banner.BySegment[0].Weights[0] < 9000 || banner.BySegment[1].Weights[2] < 9000 {
		t.Errorf("per-segment splits %+v: new converts best on a, returning on c", banner.BySegment)
	}
	if len(popin.BySegment) != 0 || popin.Variants[1].Weight < 9000 {
		t.Errorf("the global bandit: %+v", popin)
	}
	if err := cand.Bundle.Validate(); err != nil {
		t.Error(err)
	}
}
