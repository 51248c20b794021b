package store

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/presage-dev/presage/agent/wire"
)

// Campaign is a campaign as the admin API edits it: what the server compiles into the next bundle
// (models.Campaign) once training runs on the server (issue 4, section 2), plus its status.
// Targeting names features, models, categories and segments by name, not by their index in one
// bundle, so that a definition survives retraining.
type Campaign struct {
	Site     string         `json:"site"`
	ID       string         `json:"id"`
	Name     string         `json:"name,omitempty"`
	Status   CampaignStatus `json:"status"`
	Slot     string         `json:"slot"`
	Support  string         `json:"support,omitempty"`  // popin, banner, inline, carousel, email
	Priority int32          `json:"priority,omitempty"` // higher wins when several are eligible
	Variants []Variant      `json:"variants"`
	When     []Predicate    `json:"when,omitempty"`       // every predicate must hold
	Holdout  uint16         `json:"holdout_bp,omitempty"` // control share in basis points, 1 to 10000 (left out: DefaultHoldout)
	Caps     *Caps          `json:"caps,omitempty"`
	Start    time.Time      `json:"start,omitzero"` // zero: always
	End      time.Time      `json:"end,omitzero"`   // zero: never
	// Allocation is how traffic is split between the variants: AllocFixed (the weights as given,
	// the default), AllocBandit (the server's retraining moves the weights toward the variants
	// that convert best, by Thompson sampling; the given weights are the first split),
	// AllocBanditBySegment (the same, and each segment with enough evidence also gets a split of
	// its own, for visitors whose primary segment it is) or
	// AllocUplift (the campaign is shown only to visitors whose expected incremental margin,
	// uplift × Objective.Value − IncentiveCost, is positive, by the bundle's uplift model named
	// UpliftModel; Holdout is drawn among them).
	Allocation  string `json:"allocation,omitempty"`
	UpliftModel string `json:"uplift_model,omitempty"` // with AllocUplift: an uplift model of the bundle, by name
	// Objective is the event that counts as a conversion and its value; nil: a purchase, worth the
	// order's total.
	Objective *Objective `json:"objective,omitempty"`
	// IncentiveCost is what showing the campaign to one visitor costs (a voucher, a message),
	// whether or not they convert.
	IncentiveCost float64 `json:"incentive_cost,omitempty"`
	// Factors, given instead of Variants, make the campaign a multivariate test: every combination of
	// one level per factor is a variant (a full factorial, equal weights) named
	// "factor=level&factor=level", whose content is a JSON object of each factor's level content.
	Factors []Factor `json:"factors,omitempty"`

	Revision int64     `json:"revision"` // incremented by every update; an update must name the one it replaces
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
}

// DefaultHoldout is the holdout of a campaign defined without one, in basis points: 5 %, the share
// most marketers accept to keep measuring what a campaign adds.
const DefaultHoldout = 500

// Allocations of traffic between a campaign's variants.
const (
	AllocFixed           = "fixed"
	AllocBandit          = "bandit"
	AllocBanditBySegment = "bandit-segment"
	AllocUplift          = "uplift"
)

// IsBandit reports whether the campaign's split is learnt by the retraining.
func (c *Campaign) IsBandit() bool {
	return c.Allocation == AllocBandit || c.Allocation == AllocBanditBySegment
}

// Objective is what a campaign counts as a conversion: Event, one of ObjectiveEvents (empty: a
// purchase), worth Value each (0: the event's own value, an order's total).
type Objective struct {
	Event string  `json:"event,omitempty"`
	Value float64 `json:"value,omitempty"`
}

// ObjectiveEvents are the events a campaign may count as conversions, in the order of
// models.Objective.
var ObjectiveEvents = []string{"purchase", "sign_up", "add_to_cart", "checkout"}

// MaxAmount bounds objective values and incentive costs.
const MaxAmount = 1e9

// CampaignStatus says whether a campaign goes into the next bundle.
type CampaignStatus string

// Campaign statuses.
const (
	StatusDraft    CampaignStatus = "draft"    // being written; not shipped
	StatusActive   CampaignStatus = "active"   // shipped in the next bundle
	StatusPaused   CampaignStatus = "paused"   // kept, not shipped
	StatusArchived CampaignStatus = "archived" // finished; its results stay reportable
)

// Valid reports whether s is a known status.
func (s CampaignStatus) Valid() bool {
	switch s {
	case StatusDraft, StatusActive, StatusPaused, StatusArchived:
		return true
	}
	return false
}

// Variant is one version of a campaign, drawn with probability Weight / Σ weights.
type Variant struct {
	ID      string `json:"id"`
	Weight  uint16 `json:"weight"`
	Content string `json:"content,omitempty"`
}

// Factor is one dimension of a multivariate campaign; its first level is the factor's control.
type Factor struct {
	Name   string  `json:"name"`
	Levels []Level `json:"levels"`
}

// Level is one value of a factor and what the page shows for it.
type Level struct {
	ID      string `json:"id"`
	Content string `json:"content,omitempty"`
}

// Limits of a multivariate campaign: its combinations are variants, and a variant id is at most 64
// bytes on the device.
const (
	MaxFactors      = 4
	MaxLevels       = 8
	MaxCombinations = 64
)

// Caps bound how often one visitor sees the campaign; 0 means no cap.
type Caps struct {
	PerSession uint16 `json:"per_session,omitempty"`
	PerDay     uint16 `json:"per_day,omitempty"`
	PerWeek    uint16 `json:"per_week,omitempty"`
	MinGapSec  uint32 `json:"min_gap_sec,omitempty"`
}

// Predicate tests one named quantity against the closed band [Lo, Hi] (see models.Predicate).
type Predicate struct {
	Kind   string   `json:"kind"`             // feature, score, appetence, stage, segment, value, page
	Ref    string   `json:"ref,omitempty"`    // the feature, model, category or segment name; for value: alive, purchases, spend, value
	Lo     *float64 `json:"lo,omitempty"`     // nil: no lower bound
	Hi     *float64 `json:"hi,omitempty"`     // nil: no upper bound
	Stages []string `json:"stages,omitempty"` // for stage: prospect, lead, new, loyal, at_risk, lapsed
	Pages  []string `json:"pages,omitempty"`  // for page, the page in view: other, home, category, product, search, cart, checkout, content, account
	Not    bool     `json:"not,omitempty"`
}

// ErrBadCampaign is wrapped by every error of Campaign.Validate.
var ErrBadCampaign = errors.New("bad campaign")

var (
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	predKinds  = map[string]bool{"feature": true, "score": true, "appetence": true, "stage": true, "segment": true, "value": true, "page": true}
	stageNames = map[string]bool{"prospect": true, "lead": true, "new": true, "loyal": true, "at_risk": true, "lapsed": true}
	valueRefs  = map[string]bool{"alive": true, "purchases": true, "spend": true, "value": true}
)

// Validate reports the first problem of a campaign definition, as the admin API's 400 message.
func (c *Campaign) Validate() error {
	bad := badCampaign
	switch {
	case !idPattern.MatchString(c.ID):
		return bad("id %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", c.ID)
	case c.Site != "" && checkName("site", c.Site, false) != nil:
		return bad("site %q: at most %d bytes, no control characters", c.Site, MaxName)
	case !c.Status.Valid():
		return bad("status %q: want draft, active, paused or archived", c.Status)
	case c.Slot == "" || checkName("slot", c.Slot, false) != nil:
		return bad("slot %q: want a non-empty name of at most %d bytes", c.Slot, MaxName)
	case len(c.Name) > 256:
		return bad("name is %d bytes, at most 256", len(c.Name))
	case len(c.Factors) > 0 && len(c.Variants) > 0:
		return bad("variants and factors: give one or the other (factors make the variants)")
	case len(c.Factors) == 0 && (len(c.Variants) == 0 || len(c.Variants) > 64):
		return bad("%d variants, want 1 to 64", len(c.Variants))
	case c.Holdout == 0:
		return bad("holdout_bp 0: every campaign keeps a randomised holdout, so that its incremental effect can be measured: give 1 to 10000 basis points, or leave it out for %d", DefaultHoldout)
	case c.Holdout > 10000:
		return bad("holdout_bp %d above 10000 (100 %%)", c.Holdout)
	case !c.Start.IsZero() && !c.End.IsZero() && !c.End.After(c.Start):
		return bad("end %s is not after start %s", c.End.Format(time.RFC3339), c.Start.Format(time.RFC3339))
	case len(c.When) > 32:
		return bad("%d predicates, at most 32", len(c.When))
	case c.Allocation != "" && c.Allocation != AllocFixed && !c.IsBandit() && c.Allocation != AllocUplift:
		return bad("allocation %q: want fixed, bandit, bandit-segment or uplift", c.Allocation)
	}
	if err := c.validateObjective(); err != nil {
		return err
	}
	if err := c.validateFactors(); err != nil {
		return err
	}
	seen := make(map[string]bool, len(c.Variants))
	for i, v := range c.Variants {
		switch {
		case !idPattern.MatchString(v.ID):
			return bad("variants[%d]: id %q: want 1 to 64 letters, digits, '.', '_' or '-'", i, v.ID)
		case seen[v.ID]:
			return bad("variants[%d]: duplicate id %q", i, v.ID)
		case v.Weight == 0:
			return bad("variants[%d]: weight 0: a variant must have a chance to be drawn", i)
		case len(v.Content) > 64<<10:
			return bad("variants[%d]: content is %d bytes, at most 64 KiB", i, len(v.Content))
		}
		seen[v.ID] = true
	}
	for i, p := range c.When {
		switch {
		case !predKinds[p.Kind]:
			return bad("when[%d]: kind %q: want feature, score, appetence, stage, segment, value or page", i, p.Kind)
		case p.Kind == "stage" && len(p.Stages) == 0:
			return bad("when[%d]: a stage predicate names stages", i)
		case p.Kind == "page" && len(p.Pages) == 0:
			return bad("when[%d]: a page predicate names page types", i)
		case p.Kind != "stage" && p.Kind != "page" && (p.Ref == "" || len(p.Ref) > MaxName):
			return bad("when[%d]: ref %q: want a name of 1 to %d bytes", i, p.Ref, MaxName)
		case p.Kind == "value" && !valueRefs[p.Ref]:
			return bad("when[%d]: value ref %q: want alive, purchases, spend or value", i, p.Ref)
		case p.Lo != nil && p.Hi != nil && *p.Lo > *p.Hi:
			return bad("when[%d]: lo %v above hi %v", i, *p.Lo, *p.Hi)
		}
		for _, s := range p.Stages {
			if !stageNames[s] {
				return bad("when[%d]: stage %q: want prospect, lead, new, loyal, at_risk or lapsed", i, s)
			}
		}
		for _, pg := range p.Pages {
			if _, ok := wire.ParsePageType(pg); !ok {
				return bad("when[%d]: page %q: want other, home, category, product, search, cart, checkout, content or account", i, pg)
			}
		}
	}
	return nil
}

// validateObjective checks the objective, the incentive cost and uplift allocation.
func (c *Campaign) validateObjective() error {
	bad := badCampaign
	amount := func(v float64) bool { return v >= 0 && v <= MaxAmount } // false for NaN
	var value float64
	if o := c.Objective; o != nil {
		switch {
		case o.Event != "" && !slices.Contains(ObjectiveEvents, o.Event):
			return bad("objective.event %q: want purchase, sign_up, add_to_cart or checkout", o.Event)
		case !amount(o.Value):
			return bad("objective.value %v: want an amount in [0, %g]", o.Value, MaxAmount)
		}
		value = o.Value
	}
	switch {
	case !amount(c.IncentiveCost):
		return bad("incentive_cost %v: want an amount in [0, %g]", c.IncentiveCost, MaxAmount)
	case c.Allocation == AllocUplift && (c.UpliftModel == "" || checkName("uplift_model", c.UpliftModel, false) != nil):
		return bad("uplift_model %q: allocation uplift names an uplift model of at most %d bytes", c.UpliftModel, MaxName)
	case c.Allocation == AllocUplift && value == 0:
		return bad("objective.value: allocation uplift needs the value of a conversion (uplift × value − incentive_cost > 0 decides)")
	case c.Allocation != AllocUplift && c.UpliftModel != "":
		return bad("uplift_model %q: only with allocation uplift", c.UpliftModel)
	}
	return nil
}

func badCampaign(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadCampaign, fmt.Sprintf(format, args...))
}

// factorPattern names factors and levels: no '=' or '&', which separate them in variant ids.
var factorPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

func (c *Campaign) validateFactors() error {
	if len(c.Factors) == 0 {
		return nil
	}
	bad := badCampaign
	if len(c.Factors) < 2 || len(c.Factors) > MaxFactors {
		return bad("%d factors, want 2 to %d (one factor is an A/B/n test: use variants)", len(c.Factors), MaxFactors)
	}
	combos, idLen := 1, len(c.Factors)-1
	names := map[string]bool{}
	for i, f := range c.Factors {
		switch {
		case !factorPattern.MatchString(f.Name):
			return bad("factors[%d]: name %q: want 1 to 32 letters, digits, '.', '_' or '-'", i, f.Name)
		case names[f.Name]:
			return bad("factors[%d]: duplicate name %q", i, f.Name)
		case len(f.Levels) < 2 || len(f.Levels) > MaxLevels:
			return bad("factors[%d]: %d levels, want 2 to %d", i, len(f.Levels), MaxLevels)
		}
		names[f.Name] = true
		longest := 0
		levels := map[string]bool{}
		for j, l := range f.Levels {
			switch {
			case !factorPattern.MatchString(l.ID):
				return bad("factors[%d].levels[%d]: id %q: want 1 to 32 letters, digits, '.', '_' or '-'", i, j, l.ID)
			case levels[l.ID]:
				return bad("factors[%d].levels[%d]: duplicate id %q", i, j, l.ID)
			case len(l.Content) > 16<<10:
				return bad("factors[%d].levels[%d]: content is %d bytes, at most 16 KiB", i, j, len(l.Content))
			}
			levels[l.ID] = true
			longest = max(longest, len(l.ID))
		}
		combos *= len(f.Levels)
		idLen += len(f.Name) + 1 + longest
	}
	switch {
	case combos > MaxCombinations:
		return bad("%d combinations of levels, at most %d", combos, MaxCombinations)
	case idLen > 64:
		return bad("the longest combination id is %d bytes (factor=level&…), at most 64: shorten names", idLen)
	}
	return nil
}
