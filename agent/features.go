package agent

import (
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
)

// Feature identifies one input of the models. The set is fixed by the agent: the trainer computes its
// rows by replaying events through this same code, so that training and serving cannot drift apart.
// Bundles name features by their string names (see FeatureNames); integer ids are used on the device.
type Feature uint16

// The features. Append new ones at the end: bundles refer to features by name, so the ids may
// change between module versions, but keeping them stable keeps conformance vectors readable.
const (
	FRecencyDays        Feature                            = iota // days since the last order (no order: 3650)
	FFrequency                                                    // orders ever
	FMonetary                                                     // revenue ever
	FMeanOrder                                                    // mean order value (0 without orders)
	FTenureDays                                                   // days since first seen
	FVisits                                                       // visits ever, this one included
	FDaysSinceVisit                                               // days between the previous visit and this one (first visit: 0)
	FLead                                                         // 1 if the visitor signed up
	FSessionPages                                                 // page views this session
	FSessionProducts                                              // product views this session
	FSessionCategories                                            // category views this session
	FSessionSearches                                              // searches this session
	FSessionCartAdds                                              // add-to-cart this session
	FSessionCartRemoves                                           // remove-from-cart this session
	FSessionCheckouts                                             // checkouts started this session
	FSessionOrders                                                // orders this session
	FSessionDwellSec                                              // dwell this session, seconds
	FSessionMinutes                                               // minutes since the session started
	FCartItems                                                    // items in the cart
	FCartValue                                                    // value of the cart
	FViewedItems                                                  // distinct items viewed recently
	FTopAffinity                                                  // strongest decayed category affinity
	FCategoriesSeen                                               // categories with an affinity
	FInViewAffinity                                               // affinity of the category in view (product or category page)
	FEmailArrivals                                                // decayed arrivals by email click
	FWeekend                                                      // 1 on Saturday and Sunday (visitor's time)
	FDayPart                                                      // one-hot part of the day (visitor's time): numDayParts features from here
	FPagesByType        = FDayPart + numDayParts                  // page views per page type: NumPageTypes features
	FDwellByType        = FPagesByType + wire.NumPageTypes        // dwell seconds per page type: NumPageTypes features
	FChannel            = FDwellByType + wire.NumPageTypes        // one-hot arrival channel of this session: NumChannels
	FDevice             = FChannel + wire.NumChannels             // one-hot device class: NumDevices
	FStage              = FDevice + wire.NumDevices               // one-hot life-cycle stage: NumStages
	NumFeatures         = FStage + wire.NumStages
)

// Parts of the day, by the visitor's clock: one-hot, because a linear model cannot bend an hour scale.
const numDayParts = 6

var dayPartNames = [numDayParts]string{"night", "morning", "midday", "afternoon", "evening", "late"}

// dayPartStarts are the first hour of each part: night 0-6, morning 6-10, midday 10-14, afternoon 14-18,
// evening 18-22, late 22-24.
var dayPartStarts = [numDayParts]int64{0, 6, 10, 14, 18, 22}

var channelNames = [wire.NumChannels]string{"unknown", "direct", "brand_search", "generic_search", "email", "social", "paid", "referral"}
var deviceNames = [wire.NumDevices]string{"unknown", "desktop", "mobile", "tablet"}

// FeatureNames are the stable names by which bundles refer to features, indexed by Feature.
var FeatureNames = func() [NumFeatures]string {
	n := [NumFeatures]string{
		"recency_days", "frequency", "monetary", "mean_order", "tenure_days", "visits", "days_since_visit", "lead",
		"session_pages", "session_products", "session_categories", "session_searches", "session_cart_adds",
		"session_cart_removes", "session_checkouts", "session_orders", "session_dwell_sec", "session_minutes",
		"cart_items", "cart_value", "viewed_items", "top_affinity", "categories_seen", "in_view_affinity",
		"email_arrivals", "weekend",
	}
	for i := range numDayParts {
		n[int(FDayPart)+i] = "daypart_" + dayPartNames[i]
	}
	for i := range wire.NumPageTypes {
		n[int(FPagesByType)+i] = "pages_" + wire.PageType(i).String()
		n[int(FDwellByType)+i] = "dwell_" + wire.PageType(i).String()
	}
	for i := range wire.NumChannels {
		n[int(FChannel)+i] = "channel_" + channelNames[i]
	}
	for i := range wire.NumDevices {
		n[int(FDevice)+i] = "device_" + deviceNames[i]
	}
	for i := range wire.NumStages {
		n[int(FStage)+i] = "stage_" + wire.Stage(i).String()
	}
	return n
}()

// FeatureByName returns the feature with that name.
func FeatureByName(name string) (Feature, bool) {
	for i, n := range FeatureNames {
		if n == name {
			return Feature(i), true
		}
	}
	return 0, false
}

// Vector is one visitor's features at one moment.
type Vector [NumFeatures]float64

// noOrderRecency stands for "never ordered" in FRecencyDays: far, but finite so models stay finite.
const noOrderRecency = 3650

// computeFeatures fills x from the profile at time now (ms), with decayed quantities decayed by
// halfLifeDays. It reads the profile only.
func computeFeatures(x *Vector, p *Profile, now int64, halfLifeDays float64) {
	*x = Vector{}
	days := func(ms int64) float64 { return float64(ms) / dayMs }
	x[FRecencyDays] = noOrderRecency
	if p.Orders > 0 && p.LastOrder > 0 {
		x[FRecencyDays] = clampMin0(days(now - p.LastOrder))
		x[FMeanOrder] = p.Revenue / float64(p.Orders)
	}
	x[FFrequency] = float64(p.Orders)
	x[FMonetary] = p.Revenue
	if p.First > 0 {
		x[FTenureDays] = clampMin0(days(now - p.First))
	}
	x[FVisits] = float64(p.Visits)
	if p.PrevVisit > 0 && p.Session != nil {
		x[FDaysSinceVisit] = clampMin0(days(p.Session.Start - p.PrevVisit))
	}
	if p.Lead {
		x[FLead] = 1
	}
	x[FViewedItems] = float64(len(p.Viewed))
	decay := decayFactor(now-p.DecayAt, halfLifeDays)
	var top float64
	for _, a := range p.Affinity {
		if w := float64(a.Weight) * decay; w > top {
			top = w
		}
	}
	x[FTopAffinity] = top
	x[FCategoriesSeen] = float64(len(p.Affinity))
	if int(wire.ChannelEmail) < len(p.Channels) {
		x[FEmailArrivals] = float64(p.Channels[wire.ChannelEmail]) * decay
	}
	x[FStage+Feature(p.Stage)] = 1

	s := p.Session
	if s == nil {
		return
	}
	var pages, dwell float64
	for i, n := range s.Pages {
		if i < wire.NumPageTypes {
			x[FPagesByType+Feature(i)] = float64(n)
			pages += float64(n)
		}
	}
	for i, d := range s.Dwell {
		if i < wire.NumPageTypes {
			x[FDwellByType+Feature(i)] = float64(d)
			dwell += float64(d)
		}
	}
	x[FSessionPages] = pages
	x[FSessionDwellSec] = dwell
	x[FSessionProducts] = float64(s.Products)
	x[FSessionCategories] = float64(s.Categories)
	x[FSessionSearches] = float64(s.Searches)
	x[FSessionCartAdds] = float64(s.CartAdds)
	x[FSessionCartRemoves] = float64(s.CartRemoves)
	x[FSessionCheckouts] = float64(s.Checkouts)
	x[FSessionOrders] = float64(s.Orders)
	x[FSessionMinutes] = clampMin0(float64(now-s.Start) / 60000)
	var items, value float64
	for _, l := range s.Cart {
		q := float64(l.Quantity)
		items += q
		value += float64(float32(q) * l.Price)
	}
	x[FCartItems] = items
	x[FCartValue] = value
	if s.Category != 0 {
		for _, a := range p.Affinity {
			if a.Category == s.Category {
				x[FInViewAffinity] = float64(a.Weight) * decay
			}
		}
	}
	if int(s.Channel) < wire.NumChannels {
		x[FChannel+Feature(s.Channel)] = 1
	}
	if int(s.Device) < wire.NumDevices {
		x[FDevice+Feature(s.Device)] = 1
	}
	local := now + int64(s.TZ)*60000
	hour := floorMod(local, dayMs) / 3600000
	part := 0
	for i, h := range dayPartStarts {
		if hour >= h {
			part = i
		}
	}
	x[FDayPart+Feature(part)] = 1
	// 1970-01-01 was a Thursday: day 0 → weekday 4 (Sunday = 0).
	weekday := (floorDiv(local, dayMs) + 4) % 7
	if weekday == 0 || weekday == 6 {
		x[FWeekend] = 1
	}
}

func clampMin0(v float64) float64 {
	if v < 0 {
		return 0
	}
	return v
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// decayFactor is 2^(-dt/halfLife) for a delay dt in ms.
func decayFactor(dtMs int64, halfLifeDays float64) float64 {
	if dtMs <= 0 {
		return 1
	}
	return detmath.Exp(-float64(dtMs) * ln2 / (halfLifeDays * dayMs))
}

const ln2 = 0.6931471805599453
