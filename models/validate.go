package models

import "math"

// Structural limits. Item indices are uint16 with 0xFFFF reserved for padding in Neighbours, so a
// catalogue holds at most 65,535 items; the other tables are addressed by uint16 too.
const (
	MaxItems      = 0xFFFF
	MaxCategories = 0x10000
	MaxRank       = 256   // appetence rank; keeps int32 dot products exact (256·128·128 < 2³¹)
	MaxHoldout    = 10000 // basis points
	noNeighbour   = 0xFFFF
)

// Limits on Settings, beyond which a value is surely a mistake.
const (
	maxSessionTimeoutSec = 86400 // a session longer than a day is not a session
	maxHalfLifeDays      = 3650
	maxAttributionDays   = 365
	maxConsent           = 3 // agent/wire: unset, denied, local, full
	numPageTypes         = 9 // agent/wire.NumPageTypes
)

// Validate checks everything structural in b, so that the agent can index every table with the
// indices the bundle contains without a bounds check failing afterwards: sizes agree, indices are in
// range, floats are finite, ids are unique, references point where they may. It returns nil or an
// error wrapping ErrBadBundle (and ErrUnknownFormat when Format is not FormatVersion) whose message
// names the offending field, e.g. `models: bad bundle: campaigns[3].variants[1]: duplicate id "B"`.
//
// It does not check what depends on the device: the version order and the expiry (ErrStaleBundle,
// ErrExpired) are the agent's.
func (b *Bundle) Validate() error {
	if b == nil {
		return bad("", "nil bundle")
	}
	if b.Format != FormatVersion {
		return &BundleError{Path: "format", Msg: itoa(int(b.Format)) + ", this code reads " + itoa(FormatVersion), format: true}
	}
	if b.Expires != 0 && b.Created != 0 && b.Expires < b.Created {
		return bad("expires", "before created")
	}
	if err := checkNames("features[#]", "id", b.Features, 0x10000); err != nil {
		return err
	}
	if err := b.validateCatalogue(); err != nil {
		return err
	}
	if err := b.validatePropensity(); err != nil {
		return err
	}
	if err := b.validateTabular(); err != nil { // validate_trees.go
		return err
	}
	if err := b.validateUplift(); err != nil { // uplift.go
		return err
	}
	if err := b.Neighbours.validate(len(b.Items)); err != nil {
		return err
	}
	if err := b.Appetence.validate(len(b.Categories)); err != nil {
		return err
	}
	if err := b.Value.validate(); err != nil {
		return err
	}
	if err := b.validateSegments(); err != nil {
		return err
	}
	if err := b.validateCampaigns(); err != nil {
		return err
	}
	if err := b.Settings.validate(); err != nil {
		return err
	}
	for i, w := range b.Brand {
		if w == "" {
			return fail("brand[#]", "empty word", i)
		}
	}
	return nil
}

// fail returns a *BundleError whose path and message are templates: each '#' in them is replaced,
// in order, by the next of args in decimal. Validation has a hundred error sites; one builder
// called with constant templates keeps each of them small in the module, and it runs only on the
// error path, so valid bundles pay nothing for the messages.
func fail(path, msg string, args ...int) error {
	var out [2]string
	for k, t := range [2]string{path, msg} {
		b := make([]byte, 0, len(t)+16)
		for i := 0; i < len(t); i++ {
			if t[i] == '#' && len(args) > 0 {
				b = append(b, itoa(args[0])...)
				args = args[1:]
			} else {
				b = append(b, t[i])
			}
		}
		out[k] = string(b)
	}
	return bad(out[0], out[1])
}

// checkNames checks that names are at most max, non-empty and distinct. path is the template of
// one name's path (see fail), filled with pre and the name's index; what says what a name is.
func checkNames(path, what string, names []string, max int, pre ...int) error {
	at := func(i ...int) []int { return append(pre[:len(pre):len(pre)], i...) }
	if len(names) > max {
		list := path // the list's own path: up to the last "[#]"
		for i := len(path) - 3; i >= 0; i-- {
			if path[i:i+3] == "[#]" {
				list = path[:i]
				break
			}
		}
		return fail(list, "# entries, at most #", at(len(names), max)...)
	}
	seen := make(map[string]struct{}, len(names))
	for i, s := range names {
		if s == "" {
			return fail(path, "empty "+what, at(i)...)
		}
		if _, dup := seen[s]; dup {
			return fail(path, "duplicate "+what+" "+quote(s), at(i)...)
		}
		seen[s] = struct{}{}
	}
	return nil
}

// indices checks a table of indices into a list of n entries (one of them is a one, several are
// what): each below n and, when once is set, each listed once.
func indices(path, one, what string, ix []uint16, n int, once bool) error {
	var seen []bool
	if once {
		seen = make([]bool, n)
	}
	for i, v := range ix {
		switch {
		case int(v) >= n:
			return fail(path, one+" # out of range (# "+what+")", i, int(v), n)
		case once && seen[v]:
			return fail(path, one+" # listed twice", i, int(v))
		case once:
			seen[v] = true
		}
	}
	return nil
}

func (b *Bundle) validateCatalogue() error {
	ni := len(b.Items)
	switch {
	case len(b.ItemCategory) != ni:
		return fail("itemCategory", "# entries for # items", len(b.ItemCategory), ni)
	case len(b.Popular) > ni:
		return fail("popular", "# entries for # items", len(b.Popular), ni)
	}
	if err := checkNames("items[#]", "id", b.Items, MaxItems); err != nil {
		return err
	}
	if err := checkNames("categories[#]", "id", b.Categories, MaxCategories); err != nil {
		return err
	}
	if err := indices("itemCategory[#]", "category", "categories", b.ItemCategory, len(b.Categories), false); err != nil {
		return err
	}
	return indices("popular[#]", "item", "items", b.Popular, ni, true)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (b *Bundle) validatePropensity() error {
	names := make([]string, len(b.Propensity))
	for m := range b.Propensity {
		names[m] = b.Propensity[m].Name
	}
	if err := checkNames("propensity[#].name", "name", names, 0x10000); err != nil {
		return err
	}
	for m := range b.Propensity {
		if err := b.Propensity[m].validateTerms(idx("propensity", m), len(b.Features)); err != nil { // validate_trees.go
			return err
		}
		if err := b.Propensity[m].Fed.validate(idx("propensity", m), &b.Propensity[m]); err != nil { // federated.go
			return err
		}
	}
	return nil
}

func (n *Neighbours) validate(items int) error {
	if n == nil {
		return nil
	}
	k := int(n.K)
	cells := items * k
	switch {
	case k == 0:
		return bad("neighbours.k", "zero")
	case len(n.Weight) != cells:
		return fail("neighbours.weight", "# bytes, want items×k = #", len(n.Weight), cells)
	case len(n.Index) != 2*cells:
		return fail("neighbours.index", "# bytes, want 2×items×k = #", len(n.Index), 2*cells)
	}
	for i := 0; i < cells; i++ {
		if j := int(n.Index[2*i]) | int(n.Index[2*i+1])<<8; j >= items && j != noNeighbour {
			return fail("neighbours.index", "item # neighbour #: item # out of range (# items)", i/k, i%k, j, items)
		}
	}
	if s := float64(n.Scale); !finite(s) || s < 0 {
		return bad("neighbours.scale", "not finite and ≥ 0")
	}
	return nil
}

func (a *Appetence) validate(ncat int) error {
	if a == nil {
		return nil
	}
	cells := ncat * int(a.Rank)
	switch {
	case a.Rank == 0 || a.Rank > MaxRank:
		return fail("appetence.rank", "# not in [1, #]", int(a.Rank), MaxRank)
	case ncat == 0:
		return bad("appetence", "no categories to score")
	case len(a.Factors) != cells:
		return fail("appetence.factors", "# bytes, want categories×rank = #", len(a.Factors), cells)
	}
	for _, f := range [...]struct {
		name string
		v    float32
	}{{"scale", a.Scale}, {"slope", a.Slope}, {"lambda", a.Lambda}} {
		// A non-positive scale or slope would rank categories backwards (or all alike); the fold-in
		// needs a positive ridge to be a well-posed solve.
		if v := float64(f.v); !finite(v) || v <= 0 {
			return bad("appetence."+f.name, "not finite and > 0")
		}
	}
	if !finite(float64(a.Intercept)) {
		return bad("appetence.intercept", "not finite")
	}
	// Projection must succeed on every bundle that passes: run the factorisation it uses.
	if a.cholesky() == nil {
		return bad("appetence.lambda", "FᵀF + lambda·I is not numerically positive definite (a pivot below lambda/2)")
	}
	return nil
}

func (v *Value) validate() error {
	if v == nil {
		return nil
	}
	const inParams = "not in [1e-9, 1e9]"
	gg := v.P != 0 || v.Q != 0 || v.Gamma != 0 // Gamma-Gamma: the mean spend pγ/(q−1) exists only for q > 1
	for _, c := range [...]struct {
		ok        bool
		name, msg string
	}{
		{v.R >= minParam && v.R <= maxParam, "r", inParams},
		{v.Alpha >= minParam && v.Alpha <= maxParam, "alpha", inParams},
		{v.A >= minParam && v.A <= maxParam, "a", inParams},
		{v.B >= minParam && v.B <= maxParam, "b", inParams},
		{v.Horizon > 0 && v.Horizon <= maxTime, "horizon", "not in (0, 1e7] units"},
		{v.UnitDays == 0 || (v.UnitDays >= 1.0/86400 && v.UnitDays <= 3660), "unitDays", "not 0 (weeks) nor in [1 s, 10 years]"},
		{!gg || (v.P >= minParam && v.P <= maxParam), "p", inParams},
		{!gg || (v.Q > 1 && v.Q <= maxParam), "q", "not in (1, 1e9]"},
		{!gg || (v.Gamma >= minParam && v.Gamma <= maxParam), "gamma", inParams},
	} {
		if !c.ok {
			return bad("value."+c.name, c.msg)
		}
	}
	return nil
}

// validatePredicate checks p, predicate i of entry e of the list named by where; segments is how
// many segments it may refer to (the earlier ones for a segment, all of them for a campaign).
func (b *Bundle) validatePredicate(where string, e, i int, p *Predicate, segments int) error {
	path := where + "[#].when[#]"
	if !p.Kind.Valid() {
		return fail(path+".kind", "unknown kind #", e, i, int(p.Kind))
	}
	if math.IsNaN(p.Lo) || math.IsNaN(p.Hi) {
		return fail(path, "NaN bound", e, i)
	}
	limit, what := 0, ""
	switch p.Kind {
	case PredFeature:
		limit, what = len(b.Features), "features"
	case PredScore:
		limit, what = len(b.Propensity), "propensity models"
	case PredAppetence:
		if b.Appetence == nil {
			return fail(path, "appetence predicate without an appetence model", e, i)
		}
		limit, what = len(b.Categories), "categories"
	case PredStage:
		limit = 1 << 16 // Ref is unused
		if p.Stages == 0 {
			return fail(path+".stages", "no stage", e, i)
		}
	case PredSegment:
		limit, what = segments, "earlier segments"
	case PredPage:
		limit, what = 1<<numPageTypes, "page type bits"
		if p.Ref == 0 {
			return fail(path+".ref", "no page type", e, i)
		}
	case PredValue:
		if b.Value == nil {
			return fail(path, "value predicate without a value model", e, i)
		}
		limit, what = 4, "value quantities"
	}
	if int(p.Ref) >= limit {
		return fail(path+".ref", "# out of range (# "+what+")", e, i, int(p.Ref), limit)
	}
	return nil
}

func (b *Bundle) validateSegments() error {
	names := make([]string, len(b.Segments))
	for s := range b.Segments {
		names[s] = b.Segments[s].Name
	}
	if err := checkNames("segments[#].name", "name", names, 0x10000); err != nil {
		return err
	}
	for s := range b.Segments {
		for i := range b.Segments[s].When {
			if err := b.validatePredicate("segments", s, i, &b.Segments[s].When[i], s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *Bundle) validateCampaigns() error {
	ids := make([]string, len(b.Campaigns))
	for c := range b.Campaigns {
		ids[c] = b.Campaigns[c].ID
	}
	if err := checkNames("campaigns[#].id", "id", ids, 0x10000); err != nil {
		return err
	}
	for c := range b.Campaigns {
		cp := &b.Campaigns[c]
		vids := make([]string, len(cp.Variants))
		sum := 0
		for v := range cp.Variants {
			vids[v] = cp.Variants[v].ID
			sum += int(cp.Variants[v].Weight)
		}
		switch {
		case cp.Slot == "":
			return fail("campaigns[#].slot", "empty", c)
		case len(cp.Variants) == 0:
			return fail("campaigns[#].variants", "none", c)
		}
		if err := checkNames("campaigns[#].variants[#]", "id", vids, 0x10000, c); err != nil {
			return err
		}
		switch {
		case sum == 0:
			return fail("campaigns[#].variants", "weights sum to 0", c)
		case cp.Holdout > MaxHoldout:
			return fail("campaigns[#].holdout", "# basis points, at most #", c, int(cp.Holdout), MaxHoldout)
		case cp.Start != 0 && cp.End != 0 && cp.Start > cp.End:
			return fail("campaigns[#].end", "before start", c)
		case !cp.Objective.Valid():
			return fail("campaigns[#].objective", "unknown objective #", c, int(cp.Objective))
		case !(cp.Value >= 0 && cp.Value <= math.MaxFloat32): // false for NaN too
			return fail("campaigns[#].value", "not a finite amount ≥ 0", c)
		case !(cp.Cost >= 0 && cp.Cost <= math.MaxFloat32):
			return fail("campaigns[#].cost", "not a finite amount ≥ 0", c)
		case int(cp.Uplift) > len(b.Uplift):
			return fail("campaigns[#].uplift", "model # (1-based) of #", c, int(cp.Uplift), len(b.Uplift))
		case cp.Uplift > 0 && cp.Value == 0:
			return fail("campaigns[#].value", "0: an uplift-targeted campaign needs the value of a conversion", c)
		}
		for i := range cp.When {
			if err := b.validatePredicate("campaigns", c, i, &cp.When[i], len(b.Segments)); err != nil {
				return err
			}
		}
		for i := range cp.BySegment {
			if err := b.validateSplit(c, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateSplit checks a campaign's split for one segment: a known segment, not split twice, one
// weight per variant, not all zero.
func (b *Bundle) validateSplit(c, i int) error {
	cp := &b.Campaigns[c]
	sp := &cp.BySegment[i]
	sum := 0
	for _, w := range sp.Weights {
		sum += int(w)
	}
	switch {
	case int(sp.Segment) >= len(b.Segments):
		return fail("campaigns[#].bySegment[#].segment", "# out of range", c, i, int(sp.Segment))
	case len(sp.Weights) != len(cp.Variants):
		return fail("campaigns[#].bySegment[#].weights", "# weights for # variants", c, i, len(sp.Weights), len(cp.Variants))
	case sum == 0:
		return fail("campaigns[#].bySegment[#].weights", "sum to 0", c, i)
	}
	for j := range i {
		if cp.BySegment[j].Segment == sp.Segment {
			return fail("campaigns[#].bySegment[#].segment", "# split twice", c, i, int(sp.Segment))
		}
	}
	return nil
}

func (s *Settings) validate() error {
	if s == nil {
		return nil
	}
	switch {
	case s.SessionTimeoutSec > maxSessionTimeoutSec:
		return fail("settings.sessionTimeoutSec", "#, at most #", int(s.SessionTimeoutSec), maxSessionTimeoutSec)
	case !finite(float64(s.HalfLifeDays)) || s.HalfLifeDays < 0 || s.HalfLifeDays > maxHalfLifeDays:
		return fail("settings.halfLifeDays", "not in [0, #]", maxHalfLifeDays)
	case s.AttributionDays > maxAttributionDays:
		return fail("settings.attributionDays", "#, at most #", int(s.AttributionDays), maxAttributionDays)
	case s.DefaultConsent > maxConsent:
		return fail("settings.defaultConsent", "unknown consent #", int(s.DefaultConsent))
	case s.AtRiskDays != 0 && s.LapsedDays != 0 && s.AtRiskDays > s.LapsedDays:
		return bad("settings.lapsedDays", "before atRiskDays")
	case !finite(float64(s.HighValue)) || s.HighValue < 0:
		return bad("settings.highValue", "not a finite amount ≥ 0")
	}
	return nil
}
