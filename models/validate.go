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
	if err := uniqueNames("features", b.Features, 0x10000); err != nil {
		return err
	}
	if err := b.validateCatalogue(); err != nil {
		return err
	}
	if err := b.validatePropensity(); err != nil {
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
			return bad(idx("brand", i), "empty word")
		}
	}
	return nil
}

// uniqueNames checks that names are non-empty and distinct, and that there are at most max.
func uniqueNames(field string, names []string, max int) error {
	if len(names) > max {
		return bad(field, itoa(len(names))+" entries, at most "+itoa(max))
	}
	if len(names) == 0 {
		return nil
	}
	seen := make(map[string]struct{}, len(names))
	for i, s := range names {
		if s == "" {
			return bad(idx(field, i), "empty id")
		}
		if _, dup := seen[s]; dup {
			return bad(idx(field, i), "duplicate id "+quote(s))
		}
		seen[s] = struct{}{}
	}
	return nil
}

func (b *Bundle) validateCatalogue() error {
	if err := uniqueNames("items", b.Items, MaxItems); err != nil {
		return err
	}
	if err := uniqueNames("categories", b.Categories, MaxCategories); err != nil {
		return err
	}
	if len(b.ItemCategory) != len(b.Items) {
		return bad("itemCategory", itoa(len(b.ItemCategory))+" entries for "+itoa(len(b.Items))+" items")
	}
	for i, c := range b.ItemCategory {
		if int(c) >= len(b.Categories) {
			return bad(idx("itemCategory", i), "category "+itoa(int(c))+" out of range ("+itoa(len(b.Categories))+" categories)")
		}
	}
	if len(b.Popular) > len(b.Items) {
		return bad("popular", itoa(len(b.Popular))+" entries for "+itoa(len(b.Items))+" items")
	}
	if len(b.Popular) > 0 {
		seen := make([]bool, len(b.Items))
		for i, it := range b.Popular {
			if int(it) >= len(b.Items) {
				return bad(idx("popular", i), "item "+itoa(int(it))+" out of range ("+itoa(len(b.Items))+" items)")
			}
			if seen[it] {
				return bad(idx("popular", i), "item "+itoa(int(it))+" listed twice")
			}
			seen[it] = true
		}
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (b *Bundle) validatePropensity() error {
	if len(b.Propensity) > 0x10000 {
		return bad("propensity", itoa(len(b.Propensity))+" models, at most 65536")
	}
	names := make(map[string]struct{}, len(b.Propensity))
	for m := range b.Propensity {
		lr := &b.Propensity[m]
		p := idx("propensity", m)
		if lr.Name == "" {
			return bad(p+".name", "empty")
		}
		if _, dup := names[lr.Name]; dup {
			return bad(p+".name", "duplicate name "+quote(lr.Name))
		}
		names[lr.Name] = struct{}{}
		if len(lr.Weights) != len(lr.Features) {
			return bad(p+".weights", itoa(len(lr.Weights))+" weights for "+itoa(len(lr.Features))+" features")
		}
		for i, f := range lr.Features {
			if int(f) >= len(b.Features) {
				return bad(idx(p+".features", i), "feature "+itoa(int(f))+" out of range ("+itoa(len(b.Features))+" features)")
			}
		}
		for i, w := range lr.Weights {
			if !finite(float64(w)) {
				return bad(idx(p+".weights", i), "not finite")
			}
		}
		if !finite(float64(lr.Bias)) {
			return bad(p+".bias", "not finite")
		}
	}
	return nil
}

func (n *Neighbours) validate(items int) error {
	if n == nil {
		return nil
	}
	if n.K == 0 {
		return bad("neighbours.k", "zero")
	}
	cells := items * int(n.K)
	if len(n.Weight) != cells {
		return bad("neighbours.weight", itoa(len(n.Weight))+" bytes, want items×k = "+itoa(cells))
	}
	if len(n.Index) != 2*cells {
		return bad("neighbours.index", itoa(len(n.Index))+" bytes, want 2×items×k = "+itoa(2*cells))
	}
	for i := 0; i < cells; i++ {
		j := int(n.Index[2*i]) | int(n.Index[2*i+1])<<8
		if j >= items && j != noNeighbour {
			return bad("neighbours.index", "item "+itoa(i/int(n.K))+" neighbour "+itoa(i%int(n.K))+
				": item "+itoa(j)+" out of range ("+itoa(items)+" items)")
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
	if a.Rank == 0 || a.Rank > MaxRank {
		return bad("appetence.rank", itoa(int(a.Rank))+" not in [1, "+itoa(MaxRank)+"]")
	}
	if ncat == 0 {
		return bad("appetence", "no categories to score")
	}
	cells := ncat * int(a.Rank)
	if len(a.Factors) != cells {
		return bad("appetence.factors", itoa(len(a.Factors))+" bytes, want categories×rank = "+itoa(cells))
	}
	for _, f := range []struct {
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
	for _, f := range []struct {
		name string
		v    float64
	}{{"r", v.R}, {"alpha", v.Alpha}, {"a", v.A}, {"b", v.B}} {
		if !(f.v >= minParam && f.v <= maxParam) {
			return bad("value."+f.name, "not in [1e-9, 1e9]")
		}
	}
	if !(v.Horizon > 0 && v.Horizon <= maxTime) {
		return bad("value.horizon", "not in (0, 1e7] units")
	}
	if !(v.UnitDays == 0 || (v.UnitDays >= 1.0/86400 && v.UnitDays <= 3660)) {
		return bad("value.unitDays", "not 0 (weeks) nor in [1 s, 10 years]")
	}
	if v.P != 0 || v.Q != 0 || v.Gamma != 0 {
		// Gamma-Gamma: the population mean spend pγ/(q−1) exists only for q > 1.
		switch {
		case !(v.P >= minParam && v.P <= maxParam):
			return bad("value.p", "not in [1e-9, 1e9]")
		case !(v.Q > 1 && v.Q <= maxParam):
			return bad("value.q", "not in (1, 1e9]")
		case !(v.Gamma >= minParam && v.Gamma <= maxParam):
			return bad("value.gamma", "not in [1e-9, 1e9]")
		}
	}
	return nil
}

// validatePredicate checks p; segments is how many segments it may refer to (the earlier ones for
// a segment, all of them for a campaign).
func (b *Bundle) validatePredicate(path string, p *Predicate, segments int) error {
	if !p.Kind.Valid() {
		return bad(path+".kind", "unknown kind "+itoa(int(p.Kind)))
	}
	if math.IsNaN(p.Lo) || math.IsNaN(p.Hi) {
		return bad(path, "NaN bound")
	}
	ref := int(p.Ref)
	limit, what := 0, ""
	switch p.Kind {
	case PredFeature:
		limit, what = len(b.Features), "features"
	case PredScore:
		limit, what = len(b.Propensity), "propensity models"
	case PredAppetence:
		if b.Appetence == nil {
			return bad(path, "appetence predicate without an appetence model")
		}
		limit, what = len(b.Categories), "categories"
	case PredStage:
		if p.Stages == 0 {
			return bad(path+".stages", "no stage")
		}
		return nil
	case PredSegment:
		limit, what = segments, "earlier segments"
	case PredValue:
		if b.Value == nil {
			return bad(path, "value predicate without a value model")
		}
		limit, what = 4, "value quantities"
	}
	if ref >= limit {
		return bad(path+".ref", itoa(ref)+" out of range ("+itoa(limit)+" "+what+")")
	}
	return nil
}

func (b *Bundle) validateSegments() error {
	if len(b.Segments) > 0x10000 {
		return bad("segments", itoa(len(b.Segments))+" segments, at most 65536")
	}
	names := make(map[string]struct{}, len(b.Segments))
	for s := range b.Segments {
		seg := &b.Segments[s]
		p := idx("segments", s)
		if seg.Name == "" {
			return bad(p+".name", "empty")
		}
		if _, dup := names[seg.Name]; dup {
			return bad(p+".name", "duplicate name "+quote(seg.Name))
		}
		names[seg.Name] = struct{}{}
		for i := range seg.When {
			if err := b.validatePredicate(idx(p+".when", i), &seg.When[i], s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *Bundle) validateCampaigns() error {
	ids := make(map[string]struct{}, len(b.Campaigns))
	for c := range b.Campaigns {
		cp := &b.Campaigns[c]
		p := idx("campaigns", c)
		if cp.ID == "" {
			return bad(p+".id", "empty")
		}
		if _, dup := ids[cp.ID]; dup {
			return bad(p+".id", "duplicate id "+quote(cp.ID))
		}
		ids[cp.ID] = struct{}{}
		if cp.Slot == "" {
			return bad(p+".slot", "empty")
		}
		if len(cp.Variants) == 0 {
			return bad(p+".variants", "none")
		}
		sum := 0
		for v := range cp.Variants {
			vr := &cp.Variants[v]
			if vr.ID == "" {
				return bad(idx(p+".variants", v), "empty id")
			}
			for w := 0; w < v; w++ {
				if cp.Variants[w].ID == vr.ID {
					return bad(idx(p+".variants", v), "duplicate id "+quote(vr.ID))
				}
			}
			sum += int(vr.Weight)
		}
		if sum == 0 {
			return bad(p+".variants", "weights sum to 0")
		}
		if cp.Holdout > MaxHoldout {
			return bad(p+".holdout", itoa(int(cp.Holdout))+" basis points, at most "+itoa(MaxHoldout))
		}
		if cp.Start != 0 && cp.End != 0 && cp.Start > cp.End {
			return bad(p+".end", "before start")
		}
		for i := range cp.When {
			if err := b.validatePredicate(idx(p+".when", i), &cp.When[i], len(b.Segments)); err != nil {
				return err
			}
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
		return bad("settings.sessionTimeoutSec", itoa(int(s.SessionTimeoutSec))+", at most "+itoa(maxSessionTimeoutSec))
	case !finite(float64(s.HalfLifeDays)) || s.HalfLifeDays < 0 || s.HalfLifeDays > maxHalfLifeDays:
		return bad("settings.halfLifeDays", "not in [0, "+itoa(maxHalfLifeDays)+"]")
	case s.AttributionDays > maxAttributionDays:
		return bad("settings.attributionDays", itoa(int(s.AttributionDays))+", at most "+itoa(maxAttributionDays))
	case s.DefaultConsent > maxConsent:
		return bad("settings.defaultConsent", "unknown consent "+itoa(int(s.DefaultConsent)))
	case s.AtRiskDays != 0 && s.LapsedDays != 0 && s.AtRiskDays > s.LapsedDays:
		return bad("settings.lapsedDays", "before atRiskDays")
	}
	return nil
}
