package agent

import "github.com/presage-dev/presage/agent/wire"

//go:generate go run ../internal/cborgen -type Profile,Session,Affinity,CartLine,Exposure,LearnCell,FedState,ShareState

// profileVersion is written into every saved profile; a profile of another version is discarded
// (the visitor starts afresh) rather than misread.
const profileVersion = 1

// Bounds of the profile: they keep its encoding under 4 KB so that it fits a first-party cookie at the
// edge, whatever the visitor does. Lists keep the most recent entries; the oldest fall off.
//
// Bought is long because recommendations exclude what was bought (score.go): 200 hashes encode in
// at most 1,003 bytes, and only the newest (up to maxVoters) vote. If the profile outgrows 4 KB all the
// same, the purchases older than those voters are shed first, oldest first (call.go's shed).
const (
	maxAffinities = 16  // decayed category affinities kept
	maxViewed     = 20  // recently viewed items
	maxBought     = 200 // recently bought items, never recommended; the newest vote
	maxSeen       = 32  // items seen in the current session
	maxCart       = 20  // cart lines
	maxExposures  = 16  // campaigns with a frequency-cap history
	maxLearn      = 32  // learning-buffer cells awaiting a drain
	maxIDLen      = 64  // campaign, variant and segment ids in the learning buffer
)

// Profile is everything the agent remembers about one visitor: cold history and the hot session.
// Times are Unix milliseconds. Items and categories are kept as 32-bit hashes of their ids.
type Profile struct {
	Version    uint8       `cbor:"1,keyasint"`
	Visitor    uint64      `cbor:"2,keyasint"` // first-party random id: A/B buckets hash it; it never leaves the device
	First      int64       `cbor:"3,keyasint,omitempty"`
	Last       int64       `cbor:"4,keyasint,omitempty"`
	Visits     uint32      `cbor:"5,keyasint,omitempty"`
	Orders     uint32      `cbor:"6,keyasint,omitempty"`
	Revenue    float64     `cbor:"7,keyasint,omitempty"`
	FirstOrder int64       `cbor:"8,keyasint,omitempty"`
	LastOrder  int64       `cbor:"9,keyasint,omitempty"`
	Lead       bool        `cbor:"10,keyasint,omitempty"`
	Consent    uint8       `cbor:"11,keyasint,omitempty"`
	Stage      uint8       `cbor:"12,keyasint,omitempty"`
	DecayAt    int64       `cbor:"13,keyasint,omitempty"` // Affinity and Channels are decayed to this time
	Affinity   []Affinity  `cbor:"14,keyasint,omitempty"`
	Channels   []float32   `cbor:"15,keyasint,omitempty"` // decayed arrivals per channel
	Viewed     []uint32    `cbor:"16,keyasint,omitempty"` // oldest first
	Bought     []uint32    `cbor:"17,keyasint,omitempty"` // oldest first
	Exposures  []Exposure  `cbor:"18,keyasint,omitempty"`
	PressDay   int32       `cbor:"19,keyasint,omitempty"` // Unix day of PressCount
	PressCount uint16      `cbor:"20,keyasint,omitempty"` // exposures of all campaigns that day
	Learn      []LearnCell `cbor:"21,keyasint,omitempty"`
	Dropped    uint32      `cbor:"22,keyasint,omitempty"` // learning lost to a full buffer, reported at the next drain
	Session    *Session    `cbor:"23,keyasint,omitempty"`
	PrevVisit  int64       `cbor:"24,keyasint,omitempty"` // last event time of the previous session
	Fed        *FedState   `cbor:"25,keyasint,omitempty"` // federated learning (federated.go); nil without a federated model
	Share      *ShareState `cbor:"26,keyasint,omitempty"` // co-occurrences and customer summary sent (summaries.go)
}

// FedState is what federated learning keeps between calls (federated.go): the day's clipped budget,
// the example of the session awaiting its label, and the day's gradient sums.
type FedState struct {
	Bundle  uint64    `cbor:"1,keyasint"`           // the bundle version Sums are gradients at
	Day     int32     `cbor:"2,keyasint,omitempty"` // Unix day of Spent
	Spent   float32   `cbor:"3,keyasint,omitempty"` // L2 norm synced that day, at most the clip bound
	Session int64     `cbor:"4,keyasint,omitempty"` // Start of the session whose example is taken (or pending)
	Pending []float32 `cbor:"5,keyasint,omitempty"` // that example's features (NumFeatures) while its label is open
	Sums    []float32 `cbor:"6,keyasint,omitempty"` // the gradient sums, federated models in bundle order
}

// Session is the hot part of the profile: the current visit.
type Session struct {
	Start       int64      `cbor:"1,keyasint"`
	Last        int64      `cbor:"2,keyasint,omitempty"`
	Channel     uint8      `cbor:"3,keyasint,omitempty"`
	Device      uint8      `cbor:"4,keyasint,omitempty"`
	TZ          int16      `cbor:"5,keyasint,omitempty"`
	Pages       []uint16   `cbor:"6,keyasint,omitempty"` // page views per page type
	Dwell       []uint32   `cbor:"7,keyasint,omitempty"` // seconds per page type
	Products    uint16     `cbor:"8,keyasint,omitempty"`
	Categories  uint16     `cbor:"9,keyasint,omitempty"`
	Searches    uint16     `cbor:"10,keyasint,omitempty"`
	CartAdds    uint16     `cbor:"11,keyasint,omitempty"`
	CartRemoves uint16     `cbor:"12,keyasint,omitempty"`
	Checkouts   uint16     `cbor:"13,keyasint,omitempty"`
	Orders      uint16     `cbor:"14,keyasint,omitempty"`
	Seen        []uint32   `cbor:"15,keyasint,omitempty"` // items seen in this session, oldest first
	Cart        []CartLine `cbor:"16,keyasint,omitempty"`
	Shown       uint16     `cbor:"17,keyasint,omitempty"` // campaign exposures in this session
	Item        uint32     `cbor:"18,keyasint,omitempty"` // the product in view
	Category    uint32     `cbor:"19,keyasint,omitempty"` // the category in view
	LastPage    uint8      `cbor:"20,keyasint,omitempty"` // type of the page in view, for dwell
}

// Affinity is a decayed interest in one category.
type Affinity struct {
	Category uint32  `cbor:"1,keyasint"`
	Weight   float32 `cbor:"2,keyasint"`
}

// CartLine is one line of the cart.
type CartLine struct {
	Item     uint32  `cbor:"1,keyasint"`
	Price    float32 `cbor:"2,keyasint,omitempty"`
	Quantity uint16  `cbor:"3,keyasint,omitempty"`
}

// Exposure is the cap history of one campaign, and what to credit if an order follows.
type Exposure struct {
	Campaign   string `cbor:"1,keyasint"`
	Variant    string `cbor:"2,keyasint,omitempty"` // empty: the visitor is in the holdout
	Segment    string `cbor:"3,keyasint,omitempty"`
	Last       int64  `cbor:"4,keyasint,omitempty"`
	Day        int32  `cbor:"5,keyasint,omitempty"`
	DayCount   uint16 `cbor:"6,keyasint,omitempty"`
	Week       int32  `cbor:"7,keyasint,omitempty"`
	WeekCount  uint16 `cbor:"8,keyasint,omitempty"`
	Visit      uint32 `cbor:"9,keyasint,omitempty"` // the visit number of SessionCount
	VisitCount uint16 `cbor:"10,keyasint,omitempty"`
}

// LearnCell is one campaign × variant × segment counter of the local learning buffer.
type LearnCell struct {
	Campaign    string  `cbor:"1,keyasint"`
	Variant     string  `cbor:"2,keyasint,omitempty"`
	Segment     string  `cbor:"3,keyasint,omitempty"`
	Exposures   uint32  `cbor:"4,keyasint,omitempty"`
	Conversions uint32  `cbor:"5,keyasint,omitempty"`
	Revenue     float64 `cbor:"6,keyasint,omitempty"`
}

// pushCapped appends v to a list kept to its last max entries (oldest first), moving an existing v to the end.
func pushCapped(list []uint32, v uint32, max int) []uint32 {
	for i, x := range list {
		if x == v {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = v
			return list
		}
	}
	if len(list) < max {
		return append(list, v)
	}
	copy(list, list[1:])
	list[len(list)-1] = v
	return list
}

// sanitize makes a decoded profile safe to use: a profile comes back from a cookie or storage that the
// visitor (or an attacker) controls, so every bound the agent relies on is enforced again here.
func sanitize(p *Profile) {
	p.Affinity = tail(p.Affinity, maxAffinities)
	for i := range p.Affinity {
		if !finite32(p.Affinity[i].Weight) || p.Affinity[i].Weight < 0 {
			p.Affinity[i].Weight = 0
		}
	}
	if len(p.Channels) != 0 && len(p.Channels) != int(numChannels) {
		p.Channels = nil
	}
	for i := range p.Channels {
		if !finite32(p.Channels[i]) || p.Channels[i] < 0 {
			p.Channels[i] = 0
		}
	}
	p.Viewed = tail(p.Viewed, maxViewed)
	p.Bought = tail(p.Bought, maxBought)
	p.Exposures = tail(p.Exposures, maxExposures)
	kept := p.Exposures[:0]
	for _, e := range p.Exposures {
		if len(e.Campaign) <= maxIDLen && len(e.Variant) <= maxIDLen && len(e.Segment) <= maxIDLen {
			kept = append(kept, e)
		}
	}
	p.Exposures = kept
	p.Learn = tail(p.Learn, maxLearn)
	cells := p.Learn[:0]
	for _, c := range p.Learn {
		if len(c.Campaign) > maxIDLen || len(c.Variant) > maxIDLen || len(c.Segment) > maxIDLen {
			continue
		}
		if !finite64(c.Revenue) || c.Revenue < 0 || c.Revenue > maxRevenue {
			c.Revenue = 0
		}
		cells = append(cells, c)
	}
	p.Learn = cells
	sanitizeFed(p)
	sanitizeShare(p)
	if !finite64(p.Revenue) || p.Revenue < 0 || p.Revenue > maxRevenue {
		p.Revenue = 0
	}
	if p.Stage >= uint8(numStages) {
		p.Stage = 0
	}
	if p.Consent >= uint8(numConsents) {
		p.Consent = 0
	}
	for _, t := range []*int64{&p.First, &p.Last, &p.FirstOrder, &p.LastOrder, &p.DecayAt, &p.PrevVisit} {
		if *t < 0 {
			*t = 0
		}
	}
	if s := p.Session; s != nil {
		// The session lies within the profile's time: a negative Last would become the next
		// visit's PrevVisit, and a Start after Last a negative session length.
		if s.Last < 0 || s.Last > p.Last {
			s.Last = p.Last
		}
		if s.Start < 0 || s.Start > s.Last {
			s.Start = s.Last
		}
		if len(s.Pages) != int(numPageTypes) {
			s.Pages = make([]uint16, numPageTypes)
		}
		if len(s.Dwell) != int(numPageTypes) {
			s.Dwell = make([]uint32, numPageTypes)
		}
		if int(s.LastPage) >= int(numPageTypes) {
			s.LastPage = 0
		}
		if int(s.Channel) >= int(numChannels) {
			s.Channel = 0
		}
		if int(s.Device) >= int(numDevices) {
			s.Device = 0
		}
		if s.TZ < -14*60 || s.TZ > 14*60 {
			s.TZ = 0
		}
		s.Seen = tail(s.Seen, maxSeen)
		s.Cart = tail(s.Cart, maxCart)
		for i := range s.Cart {
			if !finite32(s.Cart[i].Price) || s.Cart[i].Price < 0 || s.Cart[i].Price > maxMoney {
				s.Cart[i].Price = 0
			}
			if s.Cart[i].Quantity > maxQuantity {
				s.Cart[i].Quantity = maxQuantity
			}
		}
	}
}

// maxRevenue bounds a visitor's revenue: far above any customer, far below where a model's
// weight × revenue could overflow to ±Inf.
const maxRevenue = 1e18

func tail[T any](s []T, n int) []T {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func finite32(v float32) bool { return v == v && v-v == 0 }
func finite64(v float64) bool { return v == v && v-v == 0 }

// Sizes of the wire enums, untyped for comparisons with stored bytes.
const (
	numPageTypes = wire.NumPageTypes
	numChannels  = wire.NumChannels
	numDevices   = wire.NumDevices
	numStages    = wire.NumStages
	numConsents  = 4
)
