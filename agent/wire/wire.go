package wire

//go:generate go run ../../internal/cborgen -type Event,Line,Input,Request,Reply,Error,Answer,Moment,Score,CategoryScore,Rec,Decision,CustomerValue,BundleInfo,Batch,Cell,ModelUpdate,Explanation,SlotExplanation,Check,Driver

// Op selects what one call across the module's ABI does.
type Op uint32

// The operations of the ABI. Every operation answers with a [Reply].
const (
	OpInfo        Op = 1 + iota // bundle and module information; input empty
	OpLoadBundle                // replace the bundle; input is a bundle envelope (see models.Envelope)
	OpLoadProfile               // start serving a visitor; input is a Request with Profile (empty = new visitor)
	OpSaveProfile               // output Reply.Profile: the current profile, compact; input empty
	OpHandle                    // apply Request.Events, answer scores, segments, recommendations, decisions
	OpDrain                     // take the learning buffer as a Batch (cleared); input is a Request (Now, Seed)
	OpExplain                   // why the last decisions were taken; input empty
	OpForget                    // erase the visitor: profile and learning buffer; input is a Request (Now, Seed)
	maxOp
)

// OpScore scores the bundle's tabular models (models.Bundle.Tabular) on Request.Inputs and answers
// Reply.Answer.Scores, one per tabular model in bundle order; it changes nothing in the agent. It is
// numbered apart: operation 9 stays unassigned, as the conformance corpus probes it as unknown.
const OpScore Op = 10

// Valid reports whether o is a known operation.
func (o Op) Valid() bool { return o >= OpInfo && o < maxOp || o == OpScore }

// EventType is what happened.
type EventType uint8

// The event types the agent understands.
const (
	EventPageView       EventType = 1 + iota // a page was shown; Page is its type
	EventProductView                         // a product page or tile was looked at; Item, Category, Value (price)
	EventCategoryView                        // a category page; Category
	EventSearch                              // an on-site search; Query
	EventAddToCart                           // Item, Category, Value (unit price), Quantity
	EventRemoveFromCart                      // Item
	EventCheckout                            // the checkout started
	EventPurchase                            // an order; Lines and Value (order total)
	EventSignUp                              // sign-up or lead form: the visitor became a lead
	EventArrival                             // a visit starts; Channel, or Referrer and UTM fields to classify
	EventConsent                             // the visitor's consent changed; Consent
	EventClick                               // a click on a campaign's element; Campaign, Variant
	maxEventType
)

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { return t >= EventPageView && t < maxEventType }

// PageType classifies a page.
type PageType uint8

// Page types; the zero value is "other".
const (
	PageOther PageType = iota
	PageHome
	PageCategory
	PageProduct
	PageSearch
	PageCart
	PageCheckout
	PageContent
	PageAccount
	NumPageTypes = iota
)

var pageNames = [NumPageTypes]string{"other", "home", "category", "product", "search", "cart", "checkout", "content", "account"}

// String returns the page type's stable name (features "pages_<name>", targeting by page).
func (t PageType) String() string {
	if int(t) < len(pageNames) {
		return pageNames[t]
	}
	return "unknown"
}

// ParsePageType returns the page type whose String is name.
func ParsePageType(name string) (PageType, bool) {
	for t, n := range pageNames {
		if n == name {
			return PageType(t), true
		}
	}
	return 0, false
}

// Channel is how a visit arrived.
type Channel uint8

// Arrival channels; ChannelUnknown asks the agent to classify Referrer and UTM fields.
const (
	ChannelUnknown Channel = iota
	ChannelDirect
	ChannelBrandSearch
	ChannelGenericSearch
	ChannelEmail
	ChannelSocial
	ChannelPaid
	ChannelReferral
	NumChannels = iota
)

// Device is the class of the visitor's device.
type Device uint8

// Device classes.
const (
	DeviceUnknown Device = iota
	DeviceDesktop
	DeviceMobile
	DeviceTablet
	NumDevices = iota
)

// Consent is how much the visitor allows.
type Consent uint8

// Consent levels. ConsentUnset leaves the bundle's default in force.
const (
	ConsentUnset  Consent = iota
	ConsentDenied         // nothing stored, nothing sent: the profile lives for this call only
	ConsentLocal          // the profile is kept on the device; no learning leaves it
	ConsentFull           // profile kept, aggregated and noised learning synced
	maxConsent
)

// Valid reports whether c is a known consent level.
func (c Consent) Valid() bool { return c < maxConsent }

// Stage is the visitor's life-cycle stage.
type Stage uint8

// Life-cycle stages, in the order a customer usually lives them.
const (
	StageProspect Stage = iota // no order, not a lead
	StageLead                  // signed up, no order
	StageNew                   // ordered, not yet loyal
	StageLoyal                 // repeat customer, active
	StageAtRisk                // customer whose activity is fading
	StageLapsed                // customer gone quiet for long
	NumStages     = iota
)

var stageNames = [NumStages]string{"prospect", "lead", "new", "loyal", "at_risk", "lapsed"}

// String returns the stage's stable name.
func (s Stage) String() string {
	if int(s) < len(stageNames) {
		return stageNames[s]
	}
	return "unknown"
}

// Event is one first-party signal. Times are Unix milliseconds from the host's clock.
type Event struct {
	Type     EventType `cbor:"1,keyasint"`
	Time     int64     `cbor:"2,keyasint,omitempty"`
	Page     PageType  `cbor:"3,keyasint,omitempty"`
	Item     string    `cbor:"4,keyasint,omitempty"`
	Category string    `cbor:"5,keyasint,omitempty"`
	Value    float64   `cbor:"6,keyasint,omitempty"`
	Quantity uint32    `cbor:"7,keyasint,omitempty"`
	Lines    []Line    `cbor:"8,keyasint,omitempty"`
	Query    string    `cbor:"9,keyasint,omitempty"`
	Channel  Channel   `cbor:"10,keyasint,omitempty"`
	Device   Device    `cbor:"11,keyasint,omitempty"`
	Consent  Consent   `cbor:"12,keyasint,omitempty"`
	DwellMs  uint32    `cbor:"13,keyasint,omitempty"` // time spent on the previous page
	Referrer string    `cbor:"14,keyasint,omitempty"` // referrer host name, for channel classification
	Source   string    `cbor:"15,keyasint,omitempty"` // utm_source
	Medium   string    `cbor:"16,keyasint,omitempty"` // utm_medium
	Term     string    `cbor:"17,keyasint,omitempty"` // utm_term or the search words, when known
	Campaign string    `cbor:"18,keyasint,omitempty"` // for clicks
	Variant  string    `cbor:"19,keyasint,omitempty"` // for clicks
}

// Line is one line of an order.
type Line struct {
	Item     string  `cbor:"1,keyasint"`
	Category string  `cbor:"2,keyasint,omitempty"`
	Price    float64 `cbor:"3,keyasint,omitempty"` // unit price
	Quantity uint32  `cbor:"4,keyasint,omitempty"` // 0 means 1
}

// Request is the input of every operation but OpLoadBundle (whose input is the envelope itself).
// Now and Seed carry the host's clock and randomness: the agent reads neither on its own.
type Request struct {
	Now     int64    `cbor:"1,keyasint"`           // Unix milliseconds
	Seed    uint64   `cbor:"2,keyasint,omitempty"` // fresh random bits from the host
	Events  []Event  `cbor:"3,keyasint,omitempty"`
	Slots   []string `cbor:"4,keyasint,omitempty"` // slots on the current page that want a decision
	Profile []byte   `cbor:"5,keyasint,omitempty"` // OpLoadProfile: a profile saved earlier
	MaxRecs uint8    `cbor:"6,keyasint,omitempty"` // recommendations wanted; 0 = the bundle's default, none unless it sets one
	TZ      int16    `cbor:"7,keyasint,omitempty"` // the visitor's UTC offset in minutes, for hour and weekday
	Inputs  []Input  `cbor:"8,keyasint,omitempty"` // OpScore: the visitor's attributes, by name
}

// Input is one named attribute of the visitor that a tabular model reads (OpScore): a number, or
// one level of a category when Cat is set. A model feature "Col" reads the Num of input "Col", and
// "log1p(Col)" reads ln(1 + Num) (0 for a negative Num); a feature "Col=Value" is 1 when input "Col"
// has Cat "Value" and 0 otherwise. Inputs a model does not
// name are ignored; a feature with no input reads as 0 (a category with no input is no level).
type Input struct {
	Name string  `cbor:"1,keyasint"`
	Num  float64 `cbor:"2,keyasint,omitempty"`
	Cat  string  `cbor:"3,keyasint,omitempty"`
}

// Reply is the output of every operation: exactly one of Err and the operation's result is set.
type Reply struct {
	Err         *Error       `cbor:"1,keyasint,omitempty"`
	Info        *BundleInfo  `cbor:"2,keyasint,omitempty"`
	Answer      *Answer      `cbor:"3,keyasint,omitempty"`
	Profile     []byte       `cbor:"4,keyasint,omitempty"`
	Batch       *Batch       `cbor:"5,keyasint,omitempty"`
	Explanation *Explanation `cbor:"6,keyasint,omitempty"`
}

// Code classifies an error returned across the ABI.
type Code uint16

// Error codes. Hosts branch on these; the message is for people.
const (
	CodeBadRequest    Code = 1 + iota // the request bytes are not a valid Request
	CodeUnknownOp                     // no such operation
	CodeBadBundle                     // the bundle is malformed or inconsistent
	CodeUnknownFormat                 // the bundle's format version is not one this module reads
	CodeStaleBundle                   // the bundle is not newer than the one serving
	CodeExpiredBundle                 // the bundle's expiry time has passed
	CodeNoBundle                      // no bundle is loaded
	CodeBadProfile                    // the saved profile is malformed; a new one was started
	CodeTooLarge                      // the input or the answer exceeds the module's limits
	CodeInternal                      // a bug: a panic was recovered; the instance stays usable
	CodeBadSignature                  // host side: the bundle's signature does not verify
	maxCode
)

var codeNames = [maxCode]string{"", "bad request", "unknown operation", "bad bundle", "unknown bundle format",
	"stale bundle", "expired bundle", "no bundle", "bad profile", "too large", "internal error", "bad signature"}

// String returns the code's short description.
func (c Code) String() string {
	if c > 0 && c < maxCode {
		return codeNames[c]
	}
	return "unknown error"
}

// Error is an error value crossing the ABI.
type Error struct {
	Code    Code   `cbor:"1,keyasint"`
	Message string `cbor:"2,keyasint,omitempty"`
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Message == "" {
		return "presage: " + e.Code.String()
	}
	return "presage: " + e.Code.String() + ": " + e.Message
}

// Is makes errors.Is match on the code alone, so that callers can test against [Error]{Code: c}.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Answer is what the agent concluded after a batch of events.
type Answer struct {
	Stage     Stage           `cbor:"1,keyasint"`
	PrevStage Stage           `cbor:"2,keyasint"` // equal to Stage unless these events moved the visitor
	Scores    []Score         `cbor:"3,keyasint,omitempty"`
	Segments  []string        `cbor:"4,keyasint,omitempty"`
	Appetence []CategoryScore `cbor:"5,keyasint,omitempty"` // top categories, best first
	Recs      []Rec           `cbor:"6,keyasint,omitempty"` // best first
	Decisions []Decision      `cbor:"7,keyasint,omitempty"`
	Value     *CustomerValue  `cbor:"8,keyasint,omitempty"`
	Session   uint32          `cbor:"9,keyasint,omitempty"`  // the visitor's session count
	Moments   []Moment        `cbor:"10,keyasint,omitempty"` // key moments these events reached, to act on
}

// Moment is a key moment of the visitor's life cycle, reached by the events of one request and
// reported once: a trigger the site hands to its CRM, its dataLayer or a header at the edge.
type Moment struct {
	Kind MomentKind `cbor:"1,keyasint"`
	// Channel is where to act: the visitor's preferred channel, estimated on the device from their
	// decayed arrivals (ChannelEmail, ChannelSocial, ChannelPaid), or ChannelDirect for the site itself.
	Channel Channel `cbor:"2,keyasint,omitempty"`
}

// MomentKind names a key moment.
type MomentKind uint8

// Key moments.
const (
	MomentWelcome        MomentKind = iota + 1 // first visit, or the visitor became a lead
	MomentFirstPurchase                        // the first order
	MomentSecondPurchase                       // the second order: the step to loyalty
	MomentLapsing                              // a customer moved to at risk or lapsed
	MomentChurnRisk                            // at risk or lapsing with a high expected value (Settings.HighValue)
)

// Score is one model's output for the visitor.
type Score struct {
	Model string  `cbor:"1,keyasint"`
	Value float32 `cbor:"2,keyasint"`
}

// CategoryScore is one category's appetence.
type CategoryScore struct {
	Category string  `cbor:"1,keyasint"`
	Value    float32 `cbor:"2,keyasint"`
}

// Rec is one recommended item.
type Rec struct {
	Item  string  `cbor:"1,keyasint"`
	Score float32 `cbor:"2,keyasint"`
}

// Decision is what a slot shows. A decision with Holdout set shows nothing (the visitor is in the control group).
type Decision struct {
	Slot     string `cbor:"1,keyasint"`
	Campaign string `cbor:"2,keyasint,omitempty"` // empty: nothing eligible
	Variant  string `cbor:"3,keyasint,omitempty"`
	Content  string `cbor:"4,keyasint,omitempty"` // the variant's content, for the site's template
	Holdout  bool   `cbor:"5,keyasint,omitempty"`
}

// CustomerValue is the value model's view of the visitor (BG/NBD and Gamma-Gamma).
type CustomerValue struct {
	Alive     float32 `cbor:"1,keyasint"` // P(alive)
	Purchases float32 `cbor:"2,keyasint"` // expected purchases within the bundle's horizon
	Spend     float32 `cbor:"3,keyasint"` // expected spend per order
	Value     float32 `cbor:"4,keyasint"` // Purchases × Spend
}

// BundleInfo describes the bundle serving in the module.
type BundleInfo struct {
	Format     uint32   `cbor:"1,keyasint"`
	Version    uint64   `cbor:"2,keyasint"`
	Created    int64    `cbor:"3,keyasint,omitempty"`
	Expires    int64    `cbor:"4,keyasint,omitempty"`
	Site       string   `cbor:"5,keyasint,omitempty"`
	Models     []string `cbor:"6,keyasint,omitempty"`
	Segments   []string `cbor:"7,keyasint,omitempty"`
	Campaigns  []string `cbor:"8,keyasint,omitempty"`
	Items      uint32   `cbor:"9,keyasint,omitempty"`
	Categories uint32   `cbor:"10,keyasint,omitempty"`
	Features   uint32   `cbor:"11,keyasint,omitempty"` // the agent's feature count: the schema the bundle was checked against
}

// Batch is the learning that leaves the device: aggregated counts only, no identifier.
// ID is random (from the host's Seed) so that the server can drop a batch it has already counted.
type Batch struct {
	ID     []byte `cbor:"1,keyasint"`
	Site   string `cbor:"2,keyasint,omitempty"`
	Bundle uint64 `cbor:"3,keyasint,omitempty"` // the bundle version the counts were gathered under
	Day    int32  `cbor:"4,keyasint,omitempty"` // Unix day of the drain, no finer
	Cells  []Cell `cbor:"5,keyasint,omitempty"`
	// Dropped counts learning the device could not keep (its buffer was full): lost, but never silently.
	Dropped uint32 `cbor:"6,keyasint,omitempty"`
	// Updates are the visitor's federated-learning contributions (models.Federated), one per
	// federated model of the bundle, clipped on the device; only with full consent.
	Updates []ModelUpdate `cbor:"7,keyasint,omitempty"`
	// Pairs are item co-occurrences of the visitor's sessions, flattened: Pairs[2i] < Pairs[2i+1]
	// are the 32-bit hashes of two items seen in one session (the profile's item hashes). A pair
	// goes at most once per visitor per Unix day, at most MaxPairs a day; only with full consent.
	Pairs []uint32 `cbor:"8,keyasint,omitempty"`
	// Customer is the visitor's customer summary as a histogram cell (CustomerCell), at most once
	// per visitor per week; 0 when not sent. Only with full consent, for a visitor with an order.
	Customer uint32 `cbor:"9,keyasint,omitempty"`
}

// ModelUpdate is one visitor's contribution to a federated propensity model under bundle
// Batch.Bundle: the sum over the visitor's examples of the log-loss gradient in the model's
// standardised coordinates (bias first, then one value per model feature), scaled so that the
// visitor's updates of one day, all models together, have an L2 norm of at most the bundle's clip
// bound C. Count is 1 in the visitor's first update of the day and 0 after, so that the sum of
// counts is the number of visitor-days contributing: it moves by at most 1 per visitor per day.
//
// Cell, only in an update with Count 1, is the evaluation cell of one of the visitor's examples of
// the day (ScoreCell: its score bin at the bundle's weights and its label), so that the server can
// tell how well the serving model ranks and is calibrated without seeing a label (sync/fed).
type ModelUpdate struct {
	Model string    `cbor:"1,keyasint"`
	Sum   []float32 `cbor:"2,keyasint,omitempty"`
	Count uint32    `cbor:"3,keyasint,omitempty"`
	Cell  uint32    `cbor:"4,keyasint,omitempty"`
}

// Cell is one campaign × variant × segment counter.
type Cell struct {
	Campaign    string  `cbor:"1,keyasint"`
	Variant     string  `cbor:"2,keyasint,omitempty"` // empty: the holdout group
	Segment     string  `cbor:"3,keyasint,omitempty"` // empty: no segment matched
	Exposures   uint32  `cbor:"4,keyasint,omitempty"`
	Conversions uint32  `cbor:"5,keyasint,omitempty"`
	Revenue     float64 `cbor:"6,keyasint,omitempty"`
}

// Explanation says why the last decisions were taken: "why this offer".
type Explanation struct {
	Time    int64             `cbor:"1,keyasint,omitempty"`
	Slots   []SlotExplanation `cbor:"2,keyasint,omitempty"`
	Drivers []Driver          `cbor:"3,keyasint,omitempty"`
}

// SlotExplanation lists every campaign considered for a slot and the checks it passed or failed.
type SlotExplanation struct {
	Slot     string  `cbor:"1,keyasint"`
	Campaign string  `cbor:"2,keyasint"`
	Chosen   bool    `cbor:"3,keyasint,omitempty"`
	Checks   []Check `cbor:"4,keyasint,omitempty"`
}

// CheckKind names what a check looked at.
type CheckKind uint8

// Check kinds.
const (
	CheckFeature   CheckKind = 1 + iota // a feature against a band
	CheckScore                          // a model score against a band
	CheckStage                          // the life-cycle stage against a set
	CheckAppetence                      // a category's appetence against a band
	CheckSegment                        // membership of a segment
	CheckSchedule                       // the campaign's start and end
	CheckCap                            // a frequency cap (Name says which; Value is the count, Hi the cap)
	CheckPressure                       // the daily marketing-pressure budget
	CheckBucket                         // the variant bucket (Value in [0,1))
	CheckHoldout                        // the holdout bucket
	CheckPriority                       // lost to a campaign of higher priority
	CheckPage                           // the type of the page in view against a set
)

// Check is one test a campaign went through.
type Check struct {
	Kind  CheckKind `cbor:"1,keyasint"`
	Name  string    `cbor:"2,keyasint,omitempty"`
	Value float32   `cbor:"3,keyasint,omitempty"`
	Lo    float32   `cbor:"4,keyasint,omitempty"`
	Hi    float32   `cbor:"5,keyasint,omitempty"`
	Pass  bool      `cbor:"6,keyasint,omitempty"`
}

// Driver is one feature's contribution to a model's score (weight × value, on the logit scale).
type Driver struct {
	Model        string  `cbor:"1,keyasint"`
	Feature      string  `cbor:"2,keyasint"`
	Contribution float32 `cbor:"3,keyasint"`
}
