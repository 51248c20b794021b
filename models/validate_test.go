package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// validBundle returns a small bundle that uses every part of the format.
func validBundle() *Bundle {
	nb := makeNeighbours(3, 2, 0.01, map[int][]nbEntry{0: {{1, 200}, {2, 50}}, 1: {{0, 200}}})
	return &Bundle{
		Format: FormatVersion, Version: 7, Created: 1000, Expires: 2000, Site: "shop",
		Features:     []string{"views", "cart_value", "recency"},
		Items:        []string{"sku-1", "sku-2", "sku-3"},
		ItemCategory: []uint16{0, 1, 1},
		Categories:   []string{"shoes", "hats"},
		Popular:      []uint16{2, 0},
		Propensity: []Logistic{
			{Name: "buy", Features: []uint16{0, 2}, Weights: []float32{0.5, -1}, Bias: -2},
			{Name: "churn", Features: []uint16{1}, Weights: []float32{0.1}},
		},
		Neighbours: nb,
		Appetence:  &Appetence{Rank: 2, Factors: []byte{1, 2, 3, 4}, Scale: 0.1, Slope: 1, Intercept: -1, Lambda: 0.5},
		Value:      &Value{R: 0.24, Alpha: 4.4, A: 0.79, B: 2.4, P: 6.25, Q: 3.74, Gamma: 15.44, Horizon: 52},
		Segments: []Segment{
			{Name: "hot", When: []Predicate{{Kind: PredScore, Ref: 0, Lo: 0.5, Hi: 1}}},
			{Name: "hot-hatter", When: []Predicate{
				{Kind: PredSegment, Ref: 0, Lo: 1, Hi: 1},
				{Kind: PredAppetence, Ref: 1, Lo: 0.3, Hi: math.Inf(1)},
				{Kind: PredFeature, Ref: 2, Lo: math.Inf(-1), Hi: 7},
				{Kind: PredStage, Stages: 1 << 3},
				{Kind: PredValue, Ref: 3, Lo: 100, Hi: math.Inf(1), Not: true},
			}},
		},
		Campaigns: []Campaign{
			{ID: "welcome", Slot: "popin", Support: "popin", Variants: []Variant{{ID: "A", Weight: 1}, {ID: "B", Weight: 1}},
				When: []Predicate{{Kind: PredSegment, Ref: 1, Lo: 1, Hi: 1}}, Holdout: 1000,
				Caps: &Caps{PerDay: 1}, Start: 1000, End: 5000},
			{ID: "promo", Slot: "banner", Variants: []Variant{{ID: "only", Weight: 5}, {ID: "off", Weight: 0}}},
		},
		Pressure: &Pressure{PerDay: 3},
		Settings: &Settings{SessionTimeoutSec: 1800, HalfLifeDays: 30, AttributionDays: 7, DefaultConsent: 2,
			MaxRecs: 6, LoyalOrders: 3, AtRiskDays: 90, LapsedDays: 180},
		Brand: []string{"acme"},
	}
}

func TestValidateAcceptsValid(t *testing.T) {
	if err := validBundle().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (&Bundle{Format: FormatVersion}).Validate(); err != nil {
		t.Fatalf("empty bundle: %v", err)
	}
}

// TestValidateAcceptsSegmentSplits: per-segment splits may leave a variant at zero and cover
// some segments only.
func TestValidateAcceptsSegmentSplits(t *testing.T) {
	b := validBundle()
	b.Campaigns[0].BySegment = []SegmentSplit{{Segment: 1, Weights: []uint16{0, 9}}, {Segment: 0, Weights: []uint16{3, 1}}}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestValidateAcceptsObjectives: objectives, values, costs and uplift targeting in range.
func TestValidateAcceptsObjectives(t *testing.T) {
	b := validBundle()
	b.Uplift = []Uplift{{Name: "offer", Treated: Logistic{Features: []uint16{0}, Weights: []float32{1}}}}
	b.Campaigns[0].Objective, b.Campaigns[0].Value = ObjectiveSignUp, 12
	b.Campaigns[1].Objective, b.Campaigns[1].Value, b.Campaigns[1].Cost, b.Campaigns[1].Uplift = ObjectiveCheckout, 40, 2, 1
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateRejects(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name   string
		mutate func(b *Bundle)
		path   string // expected start of the message after "models: bad bundle: "
	}{
		{"expires before created", func(b *Bundle) { b.Expires = 10 }, "expires"},
		{"empty feature", func(b *Bundle) { b.Features[1] = "" }, "features[1]"},
		{"duplicate feature", func(b *Bundle) { b.Features[2] = "views" }, `features[2]: duplicate id "views"`},
		{"empty item", func(b *Bundle) { b.Items[0] = "" }, "items[0]"},
		{"duplicate item", func(b *Bundle) { b.Items[2] = "sku-1" }, `items[2]: duplicate id "sku-1"`},
		{"duplicate category", func(b *Bundle) { b.Categories[1] = "shoes" }, "categories[1]"},
		{"item categories short", func(b *Bundle) { b.ItemCategory = b.ItemCategory[:2] }, "itemCategory"},
		{"item category out of range", func(b *Bundle) { b.ItemCategory[2] = 2 }, "itemCategory[2]"},
		{"popular out of range", func(b *Bundle) { b.Popular[1] = 3 }, "popular[1]"},
		{"popular twice", func(b *Bundle) { b.Popular[1] = 2 }, "popular[1]"},
		{"popular too long", func(b *Bundle) { b.Popular = []uint16{0, 1, 2, 0} }, "popular"},
		{"model without name", func(b *Bundle) { b.Propensity[1].Name = "" }, "propensity[1].name"},
		{"duplicate model name", func(b *Bundle) { b.Propensity[1].Name = "buy" }, "propensity[1].name"},
		{"weights and features differ", func(b *Bundle) { b.Propensity[0].Weights = b.Propensity[0].Weights[:1] }, "propensity[0].weights"},
		{"feature ref out of range", func(b *Bundle) { b.Propensity[0].Features[1] = 3 }, "propensity[0].features[1]"},
		{"weight NaN", func(b *Bundle) { b.Propensity[1].Weights[0] = float32(nan) }, "propensity[1].weights[0]"},
		{"weight Inf", func(b *Bundle) { b.Propensity[1].Weights[0] = float32(inf) }, "propensity[1].weights[0]"},
		{"bias Inf", func(b *Bundle) { b.Propensity[0].Bias = float32(-inf) }, "propensity[0].bias"},
		{"neighbours k = 0", func(b *Bundle) { b.Neighbours.K = 0 }, "neighbours.k"},
		{"neighbour weights short", func(b *Bundle) { b.Neighbours.Weight = b.Neighbours.Weight[1:] }, "neighbours.weight"},
		{"neighbour index short", func(b *Bundle) { b.Neighbours.Index = b.Neighbours.Index[2:] }, "neighbours.index"},
		{"neighbour out of range", func(b *Bundle) { b.Neighbours.Index[2] = 3 }, "neighbours.index: item 0 neighbour 1"},
		{"neighbour 0xFFFE", func(b *Bundle) { b.Neighbours.Index[2], b.Neighbours.Index[3] = 0xFE, 0xFF }, "neighbours.index"},
		{"neighbour scale negative", func(b *Bundle) { b.Neighbours.Scale = -1 }, "neighbours.scale"},
		{"neighbour scale NaN", func(b *Bundle) { b.Neighbours.Scale = float32(nan) }, "neighbours.scale"},
		{"rank 0", func(b *Bundle) { b.Appetence.Rank = 0 }, "appetence.rank"},
		{"rank 257", func(b *Bundle) { b.Appetence.Rank = 257 }, "appetence.rank"},
		{"appetence without categories", func(b *Bundle) {
			b.Categories, b.ItemCategory, b.Segments = nil, []uint16{}, nil
			b.Items, b.Popular, b.Neighbours, b.Campaigns = nil, nil, nil, nil
		}, "appetence"},
		{"factors short", func(b *Bundle) { b.Appetence.Factors = b.Appetence.Factors[:3] }, "appetence.factors"},
		{"factors long", func(b *Bundle) { b.Appetence.Factors = append(b.Appetence.Factors, 0) }, "appetence.factors"},
		{"appetence scale 0", func(b *Bundle) { b.Appetence.Scale = 0 }, "appetence.scale"},
		{"lambda 0", func(b *Bundle) { b.Appetence.Lambda = 0 }, "appetence.lambda"},
		{"lambda negative", func(b *Bundle) { b.Appetence.Lambda = -1 }, "appetence.lambda"},
		{"lambda Inf", func(b *Bundle) { b.Appetence.Lambda = float32(inf) }, "appetence.lambda"},
		{"lambda NaN", func(b *Bundle) { b.Appetence.Lambda = float32(nan) }, "appetence.lambda"},
		// FᵀF = [[1 1] [1 1]] is singular and 1 + 1e-30 rounds to 1: the last pivot is 0, not ≥ λ.
		{"lambda swamped", func(b *Bundle) { b.Appetence.Factors, b.Appetence.Lambda = []byte{1, 1, 0, 0}, 1e-30 }, "appetence.lambda"},
		{"slope negative", func(b *Bundle) { b.Appetence.Slope = -1 }, "appetence.slope"},
		{"intercept NaN", func(b *Bundle) { b.Appetence.Intercept = float32(nan) }, "appetence.intercept"},
		{"r = 0", func(b *Bundle) { b.Value.R = 0 }, "value.r"},
		{"alpha NaN", func(b *Bundle) { b.Value.Alpha = nan }, "value.alpha"},
		{"a negative", func(b *Bundle) { b.Value.A = -1 }, "value.a"},
		{"b huge", func(b *Bundle) { b.Value.B = 1e10 }, "value.b"},
		{"horizon 0", func(b *Bundle) { b.Value.Horizon = 0 }, "value.horizon"},
		{"unit days negative", func(b *Bundle) { b.Value.UnitDays = -7 }, "value.unitDays"},
		{"q ≤ 1", func(b *Bundle) { b.Value.Q = 1 }, "value.q"},
		{"p missing", func(b *Bundle) { b.Value.P = 0 }, "value.p"},
		{"gamma Inf", func(b *Bundle) { b.Value.Gamma = inf }, "value.gamma"},
		{"segment without name", func(b *Bundle) { b.Segments[0].Name = "" }, "segments[0].name"},
		{"duplicate segment", func(b *Bundle) { b.Segments[1].Name = "hot" }, `segments[1].name: duplicate name "hot"`},
		{"unknown predicate kind", func(b *Bundle) { b.Segments[0].When[0].Kind = 0 }, "segments[0].when[0].kind"},
		{"predicate kind beyond", func(b *Bundle) { b.Segments[0].When[0].Kind = maxPredKind }, "segments[0].when[0].kind"},
		{"NaN bound", func(b *Bundle) { b.Segments[0].When[0].Lo = nan }, "segments[0].when[0]: NaN bound"},
		{"score ref out of range", func(b *Bundle) { b.Segments[0].When[0].Ref = 2 }, "segments[0].when[0].ref"},
		{"feature pred out of range", func(b *Bundle) { b.Segments[1].When[2].Ref = 3 }, "segments[1].when[2].ref"},
		{"appetence pred out of range", func(b *Bundle) { b.Segments[1].When[1].Ref = 2 }, "segments[1].when[1].ref"},
		{"appetence pred without model", func(b *Bundle) { b.Appetence = nil }, "segments[1].when[1]"},
		{"stage pred without stages", func(b *Bundle) { b.Segments[1].When[3].Stages = 0 }, "segments[1].when[3].stages"},
		{"value pred out of range", func(b *Bundle) { b.Segments[1].When[4].Ref = 4 }, "segments[1].when[4].ref"},
		{"value pred without model", func(b *Bundle) { b.Value = nil }, "segments[1].when[4]"},
		{"segment refers to itself", func(b *Bundle) { b.Segments[1].When[0].Ref = 1 }, "segments[1].when[0].ref"},
		{"segment refers to a later one", func(b *Bundle) {
			b.Segments[0].When = append(b.Segments[0].When, Predicate{Kind: PredSegment, Ref: 1, Lo: 1, Hi: 1})
		}, "segments[0].when[1].ref"},
		{"campaign without id", func(b *Bundle) { b.Campaigns[1].ID = "" }, "campaigns[1].id"},
		{"duplicate campaign", func(b *Bundle) { b.Campaigns[1].ID = "welcome" }, `campaigns[1].id: duplicate id "welcome"`},
		{"campaign without slot", func(b *Bundle) { b.Campaigns[0].Slot = "" }, "campaigns[0].slot"},
		{"campaign without variants", func(b *Bundle) { b.Campaigns[1].Variants = nil }, "campaigns[1].variants"},
		{"variant without id", func(b *Bundle) { b.Campaigns[0].Variants[0].ID = "" }, "campaigns[0].variants[0]"},
		{"zero weights", func(b *Bundle) { b.Campaigns[1].Variants[0].Weight = 0 }, "campaigns[1].variants: weights sum to 0"},
		{"holdout above 100%", func(b *Bundle) { b.Campaigns[0].Holdout = 10001 }, "campaigns[0].holdout"},
		{"ends before start", func(b *Bundle) { b.Campaigns[0].End = 999 }, "campaigns[0].end"},
		{"campaign predicate", func(b *Bundle) { b.Campaigns[0].When[0].Ref = 2 }, "campaigns[0].when[0].ref"},
		{"split of an unknown segment", func(b *Bundle) {
			b.Campaigns[0].BySegment = []SegmentSplit{{Segment: 2, Weights: []uint16{1, 1}}}
		}, "campaigns[0].bySegment[0].segment: 2 out of range"},
		{"split with a weight missing", func(b *Bundle) {
			b.Campaigns[0].BySegment = []SegmentSplit{{Segment: 0, Weights: []uint16{1}}}
		}, "campaigns[0].bySegment[0].weights: 1 weights for 2 variants"},
		{"split with zero weights", func(b *Bundle) {
			b.Campaigns[1].BySegment = []SegmentSplit{{Segment: 1, Weights: []uint16{0, 0}}}
		}, "campaigns[1].bySegment[0].weights: sum to 0"},
		{"segment split twice", func(b *Bundle) {
			b.Campaigns[0].BySegment = []SegmentSplit{{Segment: 1, Weights: []uint16{1, 0}}, {Segment: 1, Weights: []uint16{0, 1}}}
		}, "campaigns[0].bySegment[1].segment: 1 split twice"},
		{"unknown objective", func(b *Bundle) { b.Campaigns[0].Objective = maxObjective }, "campaigns[0].objective: unknown objective 4"},
		{"objective value NaN", func(b *Bundle) { b.Campaigns[1].Value = float32(nan) }, "campaigns[1].value: not a finite amount"},
		{"objective value negative", func(b *Bundle) { b.Campaigns[1].Value = -1 }, "campaigns[1].value: not a finite amount"},
		{"incentive cost infinite", func(b *Bundle) { b.Campaigns[0].Cost = float32(math.Inf(1)) }, "campaigns[0].cost: not a finite amount"},
		{"incentive cost negative", func(b *Bundle) { b.Campaigns[0].Cost = -0.5 }, "campaigns[0].cost: not a finite amount"},
		{"uplift model out of range", func(b *Bundle) {
			b.Campaigns[1].Uplift, b.Campaigns[1].Value = 1, 40
		}, "campaigns[1].uplift: model 1 (1-based) of 0"},
		{"uplift without value", func(b *Bundle) {
			b.Uplift = []Uplift{{Name: "offer"}}
			b.Campaigns[1].Uplift, b.Campaigns[1].Cost = 1, 2
		}, "campaigns[1].value: 0: an uplift-targeted campaign needs the value of a conversion"},
		{"session timeout", func(b *Bundle) { b.Settings.SessionTimeoutSec = 86401 }, "settings.sessionTimeoutSec"},
		{"half-life NaN", func(b *Bundle) { b.Settings.HalfLifeDays = float32(nan) }, "settings.halfLifeDays"},
		{"half-life negative", func(b *Bundle) { b.Settings.HalfLifeDays = -1 }, "settings.halfLifeDays"},
		{"attribution", func(b *Bundle) { b.Settings.AttributionDays = 366 }, "settings.attributionDays"},
		{"consent", func(b *Bundle) { b.Settings.DefaultConsent = 4 }, "settings.defaultConsent"},
		{"lapsed before at risk", func(b *Bundle) { b.Settings.LapsedDays = 30 }, "settings.lapsedDays"},
		{"empty brand word", func(b *Bundle) { b.Brand = append(b.Brand, "") }, "brand[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := validBundle()
			tc.mutate(b)
			err := b.Validate()
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrBadBundle) || errors.Is(err, ErrUnknownFormat) {
				t.Errorf("%v: does not wrap ErrBadBundle alone", err)
			}
			const prefix = "models: bad bundle: "
			if msg := err.Error(); !strings.HasPrefix(msg, prefix+tc.path) {
				t.Errorf("message %q, want it to start with %q", msg, prefix+tc.path)
			}
			var be *BundleError
			if !errors.As(err, &be) || !strings.HasPrefix(tc.path, be.Path) {
				t.Errorf("BundleError.Path = %q", be.Path)
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	b := validBundle()
	for _, id := range []string{"c", "d"} {
		b.Campaigns = append(b.Campaigns, Campaign{ID: id, Slot: "s", Variants: []Variant{{ID: "A", Weight: 1}}})
	}
	b.Campaigns[3].Variants = append(b.Campaigns[3].Variants, Variant{ID: "A", Weight: 1})
	b.Campaigns[3].Variants[0].ID, b.Campaigns[3].Variants[1].ID = "B", "B"
	const want = `models: bad bundle: campaigns[3].variants[1]: duplicate id "B"`
	if err := b.Validate(); err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}

	b = validBundle()
	b.Format = 2
	err := b.Validate()
	if !errors.Is(err, ErrUnknownFormat) || !errors.Is(err, ErrBadBundle) {
		t.Errorf("format 2: %v does not wrap ErrUnknownFormat and ErrBadBundle", err)
	}
	if want := "models: unknown bundle format: format: 2, this code reads 1"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if err := (*Bundle)(nil).Validate(); !errors.Is(err, ErrBadBundle) {
		t.Errorf("nil bundle: %v", err)
	}
	if got := quote("a\"b\\c\x01" + strings.Repeat("x", 100)); got != `"a\"b\\c\x01`+strings.Repeat("x", 58)+`..."` {
		t.Errorf("quote = %s", got)
	}
	for _, i := range []int{0, 7, -42, 1234567890, math.MinInt64} {
		if got, want := itoa(i), itoaRef(i); got != want {
			t.Errorf("itoa(%d) = %q, want %q", i, got, want)
		}
	}
}

// itoaRef formats i with the standard algorithm of the test binary (strconv may be linked here).
func itoaRef(i int) string {
	if i == math.MinInt64 {
		return "-9223372036854775808"
	}
	neg := i < 0
	if neg {
		i = -i
	}
	s := ""
	for {
		s = string(rune('0'+i%10)) + s
		i /= 10
		if i == 0 {
			break
		}
	}
	if neg {
		s = "-" + s
	}
	return s
}

// TestValidateRandomGarbage builds bundles with random sizes and random indices (seeded): Validate
// must never panic, and whatever it accepts must be safe to use: every model and predicate is then
// exercised with every index the bundle holds.
func TestValidateRandomGarbage(t *testing.T) {
	r := rand.New(rand.NewPCG(2024, 6))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	accepted := 0
	for i := range n {
		b := garbageBundle(r)
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("bundle %d: Validate panicked: %v\n%+v", i, p, b)
				}
			}()
			err = b.Validate()
		}()
		if err != nil {
			if !errors.Is(err, ErrBadBundle) || !strings.HasPrefix(err.Error(), "models: ") {
				t.Fatalf("bundle %d: error %v", i, err)
			}
			continue
		}
		accepted++
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("bundle %d accepted but using it panicked: %v\n%+v", i, p, b)
				}
			}()
			exercise(b)
		}()
	}
	t.Logf("%d of %d random bundles accepted and exercised", accepted, n)
	if accepted < n/50 {
		t.Errorf("only %d bundles accepted: the generator no longer exercises valid bundles", accepted)
	}
}

func garbageBundle(r *rand.Rand) *Bundle {
	// Half the bundles are mostly valid with rare corruptions, half are garbage throughout.
	pc := 0.01
	if r.IntN(2) == 0 {
		pc = 0.3
	}
	corrupt := func() bool { return r.Float64() < pc }
	size := func() int { return r.IntN(5) }
	near := func(n int) int { // usually n, sometimes off by one
		if corrupt() {
			return max(0, n+1-2*r.IntN(2))
		}
		return n
	}
	ref := func(n int) uint16 {
		if corrupt() {
			return uint16(n + r.IntN(2))
		}
		if n == 0 {
			return 0
		}
		return uint16(r.IntN(n))
	}
	names := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = string(rune('a'+i)) + "x"
			if corrupt() {
				s[i] = []string{"", "ax", "bx"}[r.IntN(3)]
			}
		}
		return s
	}
	fl := func() float64 {
		if corrupt() {
			return []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, -1, 1e300}[r.IntN(6)]
		}
		return 0.1 + r.Float64()*10
	}
	pred := func(b *Bundle, segments int) Predicate {
		p := Predicate{Kind: PredKind(1 + r.IntN(int(maxPredKind)-1)), Lo: fl() - 5, Hi: fl(), Stages: uint8(1 + r.IntN(255)), Not: r.IntN(2) == 0}
		if (p.Kind == PredAppetence && b.Appetence == nil || p.Kind == PredValue && b.Value == nil) && !corrupt() {
			p.Kind = PredStage
		}
		switch p.Kind {
		case PredFeature:
			p.Ref = ref(len(b.Features))
		case PredScore:
			p.Ref = ref(len(b.Propensity))
		case PredAppetence:
			p.Ref = ref(len(b.Categories))
		case PredSegment:
			p.Ref = ref(segments)
		case PredValue:
			p.Ref = ref(4)
		}
		if corrupt() {
			p.Kind = PredKind(r.IntN(int(maxPredKind) + 2))
		}
		if corrupt() {
			p.Stages = 0
		}
		return p
	}
	b := &Bundle{Format: uint32(near(FormatVersion)), Version: r.Uint64()}
	if corrupt() {
		b.Created, b.Expires = 2, 1
	}
	b.Features = names(size())
	b.Items = names(size())
	b.Categories = names(size())
	b.ItemCategory = make([]uint16, near(len(b.Items)))
	for i := range b.ItemCategory {
		b.ItemCategory[i] = ref(len(b.Categories))
	}
	for range size() {
		b.Popular = append(b.Popular, ref(len(b.Items)))
	}
	for m := range size() {
		nf := size()
		lr := Logistic{Name: "m" + string(rune('0'+m)), Features: make([]uint16, nf), Weights: make([]float32, near(nf)), Bias: float32(fl())}
		for i := range lr.Features {
			lr.Features[i] = ref(len(b.Features))
		}
		for i := range lr.Weights {
			lr.Weights[i] = float32(fl())
		}
		if corrupt() {
			lr.Name = []string{"", "m0"}[r.IntN(2)]
		}
		b.Propensity = append(b.Propensity, lr)
	}
	if r.IntN(2) == 0 {
		k := 1 + r.IntN(3)
		if corrupt() {
			k = 0
		}
		cells := len(b.Items) * k
		nb := &Neighbours{K: uint16(k), Index: make([]byte, near(2*cells)), Weight: make([]byte, near(cells)), Scale: float32(fl())}
		for i := 0; i+1 < len(nb.Index); i += 2 {
			j := int(ref(len(b.Items)))
			if r.IntN(4) == 0 || len(b.Items) == 0 {
				j = 0xFFFF
			}
			nb.Index[i], nb.Index[i+1] = byte(j), byte(j>>8)
		}
		for i := range nb.Weight {
			nb.Weight[i] = byte(r.IntN(256))
		}
		b.Neighbours = nb
	}
	if r.IntN(2) == 0 {
		rank := []int{1, 2, 32, 33, 256}[r.IntN(5)]
		if corrupt() {
			rank = []int{0, 257}[r.IntN(2)]
		}
		cells := len(b.Categories) * rank
		a := &Appetence{Rank: uint16(rank), Factors: make([]byte, near(cells)),
			Scale: float32(fl()), Slope: float32(fl()), Intercept: float32(fl()), Top: uint16(r.IntN(4)), Lambda: float32(fl())}
		for i := range a.Factors {
			a.Factors[i] = byte(r.IntN(256))
		}
		b.Appetence = a
	}
	if r.IntN(2) == 0 {
		b.Value = &Value{R: fl(), Alpha: fl(), A: fl(), B: fl(), Horizon: fl(), UnitDays: []float64{0, 7, 1}[r.IntN(3)]}
		if corrupt() {
			b.Value.UnitDays = -1
		}
		if r.IntN(2) == 0 {
			b.Value.P, b.Value.Q, b.Value.Gamma = fl(), 1+fl(), fl()
		}
	}
	segNames := names(size())
	for i, nm := range segNames {
		s := Segment{Name: nm}
		for range size() {
			s.When = append(s.When, pred(b, i))
		}
		b.Segments = append(b.Segments, s)
	}
	for i, id := range names(size()) {
		c := Campaign{ID: id, Slot: "slot", Holdout: uint16(r.IntN(10001)), Start: int64(r.IntN(3)), End: 0}
		if corrupt() {
			c.Slot, c.Holdout, c.End = "", 10001, 1
		}
		for j, vid := range names(1 + r.IntN(3)) {
			c.Variants = append(c.Variants, Variant{ID: vid, Weight: uint16(1 + j + i)})
		}
		if corrupt() {
			c.Variants = nil
		}
		for range size() {
			c.When = append(c.When, pred(b, len(segNames)))
		}
		b.Campaigns = append(b.Campaigns, c)
	}
	if r.IntN(2) == 0 {
		b.Settings = &Settings{HalfLifeDays: float32(fl()), DefaultConsent: uint8(r.IntN(4)), AtRiskDays: 1, LapsedDays: 2}
		if corrupt() {
			b.Settings.DefaultConsent = 9
		}
	}
	return b
}

// exercise uses every table of a valid bundle the way the agent does, with every index it holds.
func exercise(b *Bundle) {
	x := make([]float64, len(b.Features))
	for i := range x {
		x[i] = float64(i)
	}
	pos := make([]uint16, len(b.Features))
	for i := range pos {
		pos[i] = uint16(i)
	}
	scores := make([]float64, len(b.Propensity))
	for m := range b.Propensity {
		cols := b.Propensity[m].Columns(nil, pos)
		scores[m] = b.Propensity[m].Score(x, cols)
		b.Propensity[m].Contributions(nil, x, cols)
	}
	for i := range b.Items {
		_ = b.Categories[b.ItemCategory[i]]
	}
	for _, p := range b.Popular {
		_ = b.Items[p]
	}
	if n := b.Neighbours; n != nil {
		var s RecScratch
		tb := n.Table()
		for i := range b.Items {
			for _, c := range tb.Recommend(nil, []Weighted{{i, 1}}, nil, 3, &s) {
				_ = b.Items[c.Item]
			}
			for _, c := range n.Similar(nil, i) {
				_ = b.Items[c.Item]
			}
		}
	}
	var dots []int32
	vscale := 0.0
	if a := b.Appetence; a != nil {
		q := make([]int8, a.Rank)
		cats := make([]int, len(b.Categories))
		w := make([]float64, len(cats))
		for i := range cats {
			cats[i], w[i] = i, 1
		}
		vscale = a.Fold(q, a.Projection(), cats, w)
		dots = make([]int32, len(b.Categories))
		a.Scores(dots, q)
		NewAppetenceKernel(a).Scores(dots, q)
		for _, c := range a.TopCategories(nil, dots, vscale, 0) {
			_ = b.Categories[c.Category]
		}
	}
	var value [4]float64
	if v := b.Value; v != nil {
		e := v.Estimate(3, 10, 20, 30)
		value = [4]float64{e.Alive, e.Purchases, e.Spend, e.Value}
		v.Expected(v.Horizon)
	}
	members := make([]bool, len(b.Segments))
	holds := func(p *Predicate) bool {
		switch p.Kind {
		case PredFeature:
			return p.Holds(x[p.Ref])
		case PredScore:
			return p.Holds(scores[p.Ref])
		case PredAppetence:
			return p.Holds(b.Appetence.Prob(dots[p.Ref], vscale))
		case PredStage:
			return p.HoldsStage(3)
		case PredSegment:
			return p.Holds(map[bool]float64{true: 1}[members[p.Ref]])
		case PredValue:
			return p.Holds(value[p.Ref])
		}
		panic("invalid kind accepted")
	}
	for s := range b.Segments {
		in := true
		for i := range b.Segments[s].When {
			in = holds(&b.Segments[s].When[i]) && in
		}
		members[s] = in
	}
	for c := range b.Campaigns {
		for i := range b.Campaigns[c].When {
			holds(&b.Campaigns[c].When[i])
		}
	}
}
