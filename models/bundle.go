package models

//go:generate go run ../internal/cborgen -type Envelope,Bundle,Logistic,Federated,Uplift,Trees,Neighbours,Appetence,Value,Segment,Predicate,Campaign,Variant,SegmentSplit,Caps,Pressure,Settings

// FormatVersion is the bundle format this code reads and writes. A bundle of another format is refused.
const FormatVersion = 1

// Envelope is the signed container of a bundle: the canonical CBOR bytes of a [Bundle] and an
// ed25519 signature over them (see package signing). The module trusts the host to have checked the
// signature; it still decodes Payload with strict limits.
type Envelope struct {
	Payload   []byte `cbor:"1,keyasint"`
	KeyID     []byte `cbor:"2,keyasint,omitempty"` // first 8 bytes of SHA-256 of the public key
	Signature []byte `cbor:"3,keyasint,omitempty"` // ed25519 over SignedPrefix || Payload
}

// SignedPrefix separates bundle signatures from any other use of the same key.
const SignedPrefix = "presage-bundle-v1\x00"

// Bundle is everything the agent needs to score, segment, recommend and decide: trained models,
// segment rules and campaigns. Models refer to features by their index in Features, to items by their
// index in Items and to categories by their index in Categories.
type Bundle struct {
	Format   uint32   `cbor:"1,keyasint"`
	Version  uint64   `cbor:"2,keyasint"` // strictly increasing; an older version is refused
	Created  int64    `cbor:"3,keyasint,omitempty"`
	Expires  int64    `cbor:"4,keyasint,omitempty"` // Unix seconds; 0 = never
	Site     string   `cbor:"5,keyasint,omitempty"`
	Features []string `cbor:"6,keyasint,omitempty"` // the feature spec: names of agent features, as models index them

	Items        []string `cbor:"7,keyasint,omitempty"`  // catalogue item ids (SKUs)
	ItemCategory []uint16 `cbor:"8,keyasint,omitempty"`  // category index of each item
	Categories   []string `cbor:"9,keyasint,omitempty"`  // category ids
	Popular      []uint16 `cbor:"10,keyasint,omitempty"` // item indices, most popular first: the cold-start ranking

	Propensity []Logistic  `cbor:"11,keyasint,omitempty"`
	Neighbours *Neighbours `cbor:"12,keyasint,omitempty"`
	Appetence  *Appetence  `cbor:"13,keyasint,omitempty"`
	Value      *Value      `cbor:"14,keyasint,omitempty"`

	Segments  []Segment  `cbor:"15,keyasint,omitempty"`
	Campaigns []Campaign `cbor:"16,keyasint,omitempty"`
	Pressure  *Pressure  `cbor:"17,keyasint,omitempty"`
	Settings  *Settings  `cbor:"18,keyasint,omitempty"`
	Brand     []string   `cbor:"19,keyasint,omitempty"` // brand words: a search for one of them is a brand search

	// Tabular models score attributes the host sends with a request (wire.Request.Inputs, operation
	// wire.OpScore) rather than the agent's own features: models trained on tabular exports
	// (presage train propensity). Their Features name request inputs: "Col" for a number,
	// "Col=Value" for one level of a category; a name that is an agent feature reads the agent's.
	Tabular []Logistic `cbor:"20,keyasint,omitempty"`
	// Uplift models are tabular models of a treatment's effect (presage train uplift): OpScore
	// answers each with one score, named by the model, after the Tabular ones. Their names are
	// distinct from the tabular models' (see Uplift).
	Uplift []Uplift `cbor:"21,keyasint,omitempty"`
}

// Logistic is a calibrated logistic regression over named features, with standardisation and
// calibration folded into Weights and Bias: p = σ(Bias + Σ Weights[i]·x[Features[i]] + trees(x)).
// Weights stay float32: a few dozen of them cost less than the code to dequantise them.
// Trees, when present, add boosted decision trees over the same Features (calibration folded into
// their leaves); a model of trees alone has zero Weights.
type Logistic struct {
	Name     string    `cbor:"1,keyasint"`
	Features []uint16  `cbor:"2,keyasint,omitempty"` // indices into Bundle.Features
	Weights  []float32 `cbor:"3,keyasint,omitempty"`
	Bias     float32   `cbor:"4,keyasint,omitempty"`
	Trees    *Trees    `cbor:"5,keyasint,omitempty"`
	// Fed, when set, makes the model learn on the devices (federated.go): each visitor's log-loss
	// gradient at these weights is clipped and synced for the server to merge with noise.
	Fed *Federated `cbor:"6,keyasint,omitempty"`
}

// Federated makes a propensity model learn on the devices (Logistic.Fed). Each visitor's device
// sums, over the day's examples, the gradient of the log loss at the bundle's weights, in the
// model's standardised coordinates zⱼ = (x[Features[j]] − Mean[j]) / Scale[j]:
//
//	g = Σ (p − y)·(1, z₁, …, zₙ),   p = σ(Logit(x)),
//
// clips it to L2 norm Clip per visitor per day, and syncs it (wire.ModelUpdate); the sync server
// (sync/fed) adds Gaussian noise to the sum over visitors and steps the weights. Standardising
// makes one clip bound fair to every feature: in raw units a feature counted in days (recency,
// 3650 for "never ordered") would fill the whole norm and drown the others in the noise.
//
// Mean and Scale are public parameters of the bundle: the server sets them from data it already
// holds (a previous central fit, a disjoint population), never from the federated visitors.
type Federated struct {
	Target FedTarget `cbor:"1,keyasint"`
	Clip   float32   `cbor:"2,keyasint,omitempty"` // C, the L2 bound per visitor per day; 0 means DefaultClip
	Mean   []float32 `cbor:"3,keyasint,omitempty"` // per model feature; empty means 0
	Scale  []float32 `cbor:"4,keyasint,omitempty"` // per model feature, > 0; empty means 1
}

// Neighbours is an item-to-item table: for item i, its K most similar items with quantised similarity.
// Index holds items×K little-endian uint16 item indices (0xFFFF pads short lists); Weight holds items×K
// uint8 similarities; similarity = Weight×Scale.
type Neighbours struct {
	K      uint16  `cbor:"1,keyasint"`
	Index  []byte  `cbor:"2,keyasint"`
	Weight []byte  `cbor:"3,keyasint"`
	Scale  float32 `cbor:"4,keyasint"`
}

// Appetence scores every category in one pass from a low-rank model. Factors holds
// categories×Rank int8 category factors F. A visitor with category affinities a is folded in by ridge
// regression with the category factors fixed, u = (FᵀF + Lambda·I)⁻¹ Fᵀ a (the least-squares visitor
// vector given F), and u is quantised per visitor to int8 codes q with scale vscale (u ≈ vscale·q).
// The appetence of category c is σ(Slope·vscale·(F[c]·q) + Intercept).
//
// The projection (FᵀF + Lambda·I)⁻¹ Fᵀ is not shipped: it is a function of F and Lambda, computed
// on the device once per bundle (Appetence.Projection), which halves the model's download.
type Appetence struct {
	Rank      uint16  `cbor:"1,keyasint"`
	Factors   []byte  `cbor:"2,keyasint"`
	Scale     float32 `cbor:"4,keyasint"` // dequantisation of Factors (Scale·F ≈ trained factors), for analysis; scoring does not use it
	Slope     float32 `cbor:"6,keyasint"`
	Intercept float32 `cbor:"7,keyasint,omitempty"`
	Top       uint16  `cbor:"8,keyasint,omitempty"` // how many categories an answer lists; 0 = 5
	// Lambda is the ridge of the fold-in in the units of the int8 Factors: λ/Scale² for a ridge λ
	// on the trained (dequantised) factors, so that scoring needs no Scale.
	Lambda float32 `cbor:"9,keyasint"`
}

// Value holds the customer-value models: BG/NBD (Fader, Hardie & Lee 2005) for the number of future
// purchases and P(alive), and Gamma-Gamma (Fader & Hardie 2013) for the spend per order.
// Time is measured in units of UnitDays days (7 for weeks, as in the CDNOW papers).
type Value struct {
	R        float64 `cbor:"1,keyasint"`
	Alpha    float64 `cbor:"2,keyasint"`
	A        float64 `cbor:"3,keyasint"`
	B        float64 `cbor:"4,keyasint"`
	P        float64 `cbor:"5,keyasint,omitempty"`
	Q        float64 `cbor:"6,keyasint,omitempty"`
	Gamma    float64 `cbor:"7,keyasint,omitempty"`
	Horizon  float64 `cbor:"8,keyasint,omitempty"` // in units; expected purchases are counted over it
	UnitDays float64 `cbor:"9,keyasint,omitempty"` // 0 = 7 (weeks)
}

// Segment is a named rule: the visitor belongs when every predicate holds.
type Segment struct {
	Name string      `cbor:"1,keyasint"`
	When []Predicate `cbor:"2,keyasint,omitempty"`
}

// PredKind names what a predicate looks at.
type PredKind uint8

// Predicate kinds.
const (
	PredFeature   PredKind = 1 + iota // Ref indexes Bundle.Features
	PredScore                         // Ref indexes Bundle.Propensity
	PredAppetence                     // Ref indexes Bundle.Categories
	PredStage                         // Stages is a bit set of life-cycle stages (bit s for stage s)
	PredSegment                       // Ref indexes Bundle.Segments; only earlier segments may be named
	PredValue                         // Ref: 0 P(alive), 1 expected purchases, 2 expected spend, 3 value
	PredPage                          // Ref is a bit set of page types (bit t for agent/wire.PageType t): the page in view
	maxPredKind
)

// Valid reports whether k is a known predicate kind.
func (k PredKind) Valid() bool { return k >= PredFeature && k < maxPredKind }

// Predicate tests one quantity against the closed band [Lo, Hi]. A predicate with Lo > Hi never holds;
// use ±Inf for an open side. PredSegment (membership), PredStage (Stages) and PredPage (Ref) ignore the band. Not
// negates the test.
type Predicate struct {
	Kind   PredKind `cbor:"1,keyasint"`
	Ref    uint16   `cbor:"2,keyasint,omitempty"`
	Lo     float64  `cbor:"3,keyasint,omitempty"`
	Hi     float64  `cbor:"4,keyasint,omitempty"`
	Stages uint8    `cbor:"5,keyasint,omitempty"`
	Not    bool     `cbor:"6,keyasint,omitempty"` // negate the test
}

// Campaign is something to show in a slot: variants, targeting, caps and a holdout.
type Campaign struct {
	ID       string      `cbor:"1,keyasint"`
	Slot     string      `cbor:"2,keyasint"`
	Support  string      `cbor:"3,keyasint,omitempty"` // popin, banner, inline, carousel, email
	Priority int32       `cbor:"4,keyasint,omitempty"` // higher wins when several campaigns are eligible
	Variants []Variant   `cbor:"5,keyasint"`
	When     []Predicate `cbor:"6,keyasint,omitempty"` // targeting: every predicate must hold
	Holdout  uint16      `cbor:"7,keyasint,omitempty"` // share of visitors kept as control, in basis points
	Caps     *Caps       `cbor:"8,keyasint,omitempty"`
	Start    int64       `cbor:"9,keyasint,omitempty"`  // Unix seconds; 0 = always
	End      int64       `cbor:"10,keyasint,omitempty"` // Unix seconds; 0 = never
	// BySegment overrides the variants' weights for visitors whose primary segment (the first
	// segment they belong to) has a split here, as a per-segment bandit sets them; every other
	// visitor draws with the variants' own weights. The draw hashes the same visitor bucket either
	// way, so a visitor keeps their variant as long as their segment's split does not move.
	BySegment []SegmentSplit `cbor:"11,keyasint,omitempty"`
	// Objective is the event that counts as the campaign's conversion (default: a purchase), and
	// Value what one is worth (0: the event's own value, e.g. the order's amount).
	Objective Objective `cbor:"12,keyasint,omitempty"`
	Value     float32   `cbor:"13,keyasint,omitempty"`
	// Cost is the incentive's cost per exposure (a discount, a gift), in the units of Value.
	Cost float32 `cbor:"14,keyasint,omitempty"`
	// Uplift, when not 0, makes the campaign uplift-targeted: it is shown only to visitors whose
	// predicted uplift by Bundle.Uplift[Uplift-1] makes uplift × Value − Cost positive (see
	// ShowIncentive); its randomised holdout is kept.
	Uplift uint16 `cbor:"15,keyasint,omitempty"`
}

// Objective is the event a campaign counts as its conversion.
type Objective uint8

// Objectives, in the order of store.ObjectiveEvents.
const (
	ObjectivePurchase  Objective = iota // an order (the default)
	ObjectiveSignUp                     // a sign-up
	ObjectiveAddToCart                  // an add to cart
	ObjectiveCheckout                   // a checkout started
	maxObjective
)

// Valid reports whether o is a known objective.
func (o Objective) Valid() bool { return o < maxObjective }

// SegmentSplit is a campaign's traffic split for one segment: Weights[i] is the weight of
// Campaign.Variants[i]; the variant is drawn with probability Weights[i] / Σ Weights.
type SegmentSplit struct {
	Segment uint16   `cbor:"1,keyasint"` // index in Bundle.Segments
	Weights []uint16 `cbor:"2,keyasint"`
}

// Variant is one version of a campaign, drawn with probability Weight / Σ weights.
type Variant struct {
	ID      string `cbor:"1,keyasint"`
	Weight  uint16 `cbor:"2,keyasint"`
	Content string `cbor:"3,keyasint,omitempty"`
}

// Caps bound how often one visitor sees a campaign; 0 means no cap.
type Caps struct {
	PerSession uint16 `cbor:"1,keyasint,omitempty"`
	PerDay     uint16 `cbor:"2,keyasint,omitempty"`
	PerWeek    uint16 `cbor:"3,keyasint,omitempty"`
	MinGapSec  uint32 `cbor:"4,keyasint,omitempty"` // minimum time between two exposures
}

// Pressure is the marketing-pressure budget across all campaigns.
type Pressure struct {
	PerDay     uint16 `cbor:"1,keyasint,omitempty"` // exposures per visitor per day, all campaigns; 0 = no budget
	PerSession uint16 `cbor:"2,keyasint,omitempty"`
}

// Settings tune the agent; zero fields take the documented defaults (see agent.DefaultSettings).
type Settings struct {
	SessionTimeoutSec uint32  `cbor:"1,keyasint,omitempty"` // inactivity that ends a session; default 1800
	HalfLifeDays      float32 `cbor:"2,keyasint,omitempty"` // decay of affinities and channel counts; default 30
	AttributionDays   uint16  `cbor:"3,keyasint,omitempty"` // exposures credited with a later order; default 7
	DefaultConsent    uint8   `cbor:"4,keyasint,omitempty"` // consent before the visitor says; default local
	MaxRecs           uint8   `cbor:"5,keyasint,omitempty"` // recommendations when a request does not ask; default 0 (none)
	LoyalOrders       uint16  `cbor:"6,keyasint,omitempty"` // orders that make a loyal customer; default 3
	AtRiskDays        uint16  `cbor:"7,keyasint,omitempty"` // days since the last order before "at risk"; default 90
	LapsedDays        uint16  `cbor:"8,keyasint,omitempty"` // days since the last order before "lapsed"; default 180
	HighValue         float32 `cbor:"9,keyasint,omitempty"` // expected customer value that makes a churn risk; default 100
}
