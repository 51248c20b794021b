package agent

import (
	"math"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
)

// decide picks what a slot shows: among the campaigns for the slot, by descending priority (then
// expected value, then bundle order), the first whose schedule, targeting, uplift (for an
// uplift-targeted campaign: uplift × Value − Cost > 0), frequency caps and the daily pressure
// budget allow it.
// The visitor's variant is drawn by hashing the first-party visitor id with the campaign id, so it
// is stable across calls, sessions and hosts; a share of the eligible visitors (Holdout) is kept as
// control. Every check is recorded for Explain.
func (a *Agent) decide(slot string, now int64) wire.Decision {
	b, p := a.b, &a.p
	d := wire.Decision{Slot: slot}
	chosen := -1
	for _, ci := range a.bySlotPriority(slot) {
		c := &b.Campaigns[ci]
		ex := wire.SlotExplanation{Slot: slot, Campaign: c.ID}
		first := len(a.checks)
		ok := chosen < 0
		if !ok {
			a.check(wire.Check{Kind: wire.CheckPriority, Name: b.Campaigns[chosen].ID})
		}
		if ok {
			ok = a.eligible(c, now)
		}
		if ok {
			chosen = ci
			ex.Chosen = true
			d.Campaign = c.ID
			hb := unit(hash64Pair(p.Visitor, "holdout\x00", c.ID))
			if c.Holdout > 0 {
				in := hb < float64(c.Holdout)/10000
				a.check(wire.Check{Kind: wire.CheckHoldout, Value: float32(hb),
					Hi: float32(c.Holdout) / 10000, Pass: !in})
				if in {
					d.Holdout = true
					a.expose(c, "", now, false)
				}
			}
			if !d.Holdout {
				bucket := unit(hash64(p.Visitor, c.ID))
				v := pickVariant(c.Variants, a.split(c), bucket)
				a.check(wire.Check{Kind: wire.CheckBucket, Name: c.Variants[v].ID, Value: float32(bucket), Pass: true})
				d.Variant, d.Content = c.Variants[v].ID, c.Variants[v].Content
				a.expose(c, c.Variants[v].ID, now, true)
			}
		}
		if len(a.checks) > first {
			ex.Checks = a.checks[first:len(a.checks):len(a.checks)]
		}
		a.expl.Slots = append(a.expl.Slots, ex)
	}
	return d
}

// before reports whether campaign x goes before y in a slot: higher priority, then higher expected
// value, which for two campaigns without an uplift model is the cheaper incentive (no model runs).
func (a *Agent) before(x, y *models.Campaign) bool {
	switch {
	case x.Priority != y.Priority:
		return x.Priority > y.Priority
	case x.Uplift == 0 && y.Uplift == 0:
		return x.Cost < y.Cost
	}
	return a.expectedValue(x) > a.expectedValue(y)
}

// decideAll decides every slot asked, in the order slotRank gives (as asked when it gives none),
// each answer in its slot's place.
func (a *Agent) decideAll(dst []wire.Decision, slots []string, now int64) []wire.Decision {
	order := a.slotRank(slots, now)
	if order == nil {
		for _, slot := range slots {
			dst = append(dst, a.decide(slot, now))
		}
		return dst
	}
	base := len(dst)
	for range slots {
		dst = append(dst, wire.Decision{})
	}
	for _, i := range order {
		dst[base+i] = a.decide(slots[i], now)
	}
	return dst
}

// slotRank orders the slots to decide when the pressure budget left cannot cover every slot but is
// not spent: by their best candidates (pressure aside), by priority, then expected value, slots
// without a candidate last; nil otherwise (as asked). So the last of the budget goes to the better
// campaign, not to the slot that happens to come first in the page; the others meet the spent
// budget (Explain records it).
func (a *Agent) slotRank(slots []string, now int64) []int {
	if left := a.pressureLeft(now); len(slots) < 2 || left <= 0 || left >= len(slots) {
		return nil // nothing to share out: enough for every slot, or none left
	}
	order := a.slotOrder[:0]
	for i := range slots {
		order = append(order, i)
	}
	a.slotOrder = order
	// Each slot's rank: its best candidate's priority (MinInt64 without one), then expected value.
	var prio [maxSlots]int64
	var ev [maxSlots]float64
	a.dry = true
	for i, slot := range slots {
		prio[i] = math.MinInt64
		for _, ci := range a.bySlotPriority(slot) {
			if c := &a.b.Campaigns[ci]; a.eligible(c, now) {
				prio[i], ev[i] = int64(c.Priority), a.expectedValue(c)
				break
			}
		}
	}
	a.dry, a.checks = false, a.checks[:0]
	for k := 1; k < len(order); k++ { // insertion sort: stable, and slots are few
		for j := k; j > 0 && (prio[order[j]] > prio[order[j-1]] || prio[order[j]] == prio[order[j-1]] && ev[order[j]] > ev[order[j-1]]); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	return order
}

// pressureLeft is how many more campaigns the pressure budget lets the visitor see now; a large
// number without a budget.
func (a *Agent) pressureLeft(now int64) int {
	pr := a.b.Pressure
	if pr == nil {
		return 1 << 30
	}
	left := 1 << 30
	if pr.PerDay > 0 {
		left = int(pr.PerDay) - int(countIf(a.p.PressDay == int32(floorDiv(now, dayMs)), a.p.PressCount))
	}
	if pr.PerSession > 0 && a.p.Session != nil {
		left = min(left, int(pr.PerSession)-int(a.p.Session.Shown))
	}
	return left
}

// expectedValue is what showing c to the visitor is expected to earn: uplift × Value − Cost for an
// uplift-targeted campaign, whose incremental effect on this visitor is predicted; −Cost otherwise,
// so that of two campaigns whose effect is not predicted, the cheaper incentive goes first.
func (a *Agent) expectedValue(c *models.Campaign) float64 {
	if m := int(c.Uplift) - 1; m >= 0 {
		return float64(a.uplift(m)*float64(c.Value)) - float64(c.Cost)
	}
	return -float64(c.Cost)
}

// check records a check for Explain. The checks of every slot explanation share one buffer, reused by
// every event: a slice per explanation would cost an allocation per campaign considered, and
// allocating is the dearest thing Go code does in WebAssembly. A buffer that grows moves on, and the
// explanations already written keep the old one.
func (a *Agent) check(c wire.Check) { a.checks = append(a.checks, c) }

// bySlotPriority lists the campaigns of a slot by descending priority, then descending expected
// value, stable in bundle order.
func (a *Agent) bySlotPriority(slot string) []int {
	list := a.order[:0]
	cs := a.b.Campaigns
	for i := range cs {
		if cs[i].Slot != slot {
			continue
		}
		list = append(list, i)
		for j := len(list) - 1; j > 0 && a.before(&cs[list[j]], &cs[list[j-1]]); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	a.order = list
	return list
}

// eligible runs the schedule, targeting, caps and pressure checks, recording each.
func (a *Agent) eligible(c *models.Campaign, now int64) bool {
	sec := now / 1000
	if c.Start != 0 || c.End != 0 {
		in := (c.Start == 0 || sec >= c.Start) && (c.End == 0 || sec < c.End)
		a.check(wire.Check{Kind: wire.CheckSchedule, Value: float32(sec), Pass: in})
		if !in {
			return false
		}
	}
	for i := range c.When {
		pr := &c.When[i]
		ok := a.holds(pr)
		a.check(a.checkOf(pr, ok))
		if !ok {
			return false
		}
	}
	if m := int(c.Uplift) - 1; m >= 0 {
		// Uplift targeting: eligible only where the incentive is expected to earn more than it costs.
		u := a.uplift(m)
		ok := models.ShowIncentive(u, float64(c.Value), float64(c.Cost))
		a.check(wire.Check{Kind: wire.CheckScore, Name: a.b.Uplift[m].Name, Value: float32(u),
			Lo: c.Cost / c.Value, Hi: 1, Pass: ok})
		if !ok {
			return false
		}
	}
	e := a.exposure(c.ID)
	day, week := int32(floorDiv(now, dayMs)), int32(floorDiv(now, weekMs))
	if caps := c.Caps; caps != nil && e != nil {
		counts := [...]struct {
			name  string
			count uint16
			cap   uint16
		}{
			{"session", countIf(e.Visit == a.p.Visits, e.VisitCount), caps.PerSession},
			{"day", countIf(e.Day == day, e.DayCount), caps.PerDay},
			{"week", countIf(e.Week == week, e.WeekCount), caps.PerWeek},
		}
		for _, k := range counts {
			if k.cap == 0 {
				continue
			}
			ok := k.count < k.cap
			a.check(wire.Check{Kind: wire.CheckCap, Name: k.name, Value: float32(k.count), Hi: float32(k.cap), Pass: ok})
			if !ok {
				return false
			}
		}
		if caps.MinGapSec > 0 && e.Last > 0 {
			gap := float32(now-e.Last) / 1000
			ok := gap >= float32(caps.MinGapSec)
			a.check(wire.Check{Kind: wire.CheckCap, Name: "gap", Value: gap, Lo: float32(caps.MinGapSec), Pass: ok})
			if !ok {
				return false
			}
		}
	}
	if pr := a.b.Pressure; pr != nil && !a.dry {
		shown := countIf(a.p.PressDay == day, a.p.PressCount)
		if pr.PerDay > 0 {
			ok := shown < pr.PerDay
			a.check(wire.Check{Kind: wire.CheckPressure, Name: "day", Value: float32(shown), Hi: float32(pr.PerDay), Pass: ok})
			if !ok {
				return false
			}
		}
		if pr.PerSession > 0 && a.p.Session != nil {
			ok := a.p.Session.Shown < pr.PerSession
			a.check(wire.Check{Kind: wire.CheckPressure, Name: "session", Value: float32(a.p.Session.Shown), Hi: float32(pr.PerSession), Pass: ok})
			if !ok {
				return false
			}
		}
	}
	return true
}

func countIf(same bool, n uint16) uint16 {
	if same {
		return n
	}
	return 0
}

// checkOf describes a targeting predicate for Explain.
func (a *Agent) checkOf(p *models.Predicate, pass bool) wire.Check {
	c := wire.Check{Lo: float32(p.Lo), Hi: float32(p.Hi), Pass: pass}
	switch p.Kind {
	case models.PredFeature:
		c.Kind, c.Name, c.Value = wire.CheckFeature, a.b.Features[p.Ref], float32(a.x[a.cb.featOf[p.Ref]])
	case models.PredScore:
		c.Kind, c.Name, c.Value = wire.CheckScore, a.b.Propensity[p.Ref].Name, float32(a.scores[p.Ref])
	case models.PredAppetence:
		c.Kind, c.Name, c.Value = wire.CheckAppetence, a.b.Categories[p.Ref], float32(a.appetenceOf(int(p.Ref)))
	case models.PredStage:
		c.Kind, c.Name, c.Lo, c.Hi = wire.CheckStage, wire.Stage(a.p.Stage).String(), 0, 0
	case models.PredSegment:
		c.Kind, c.Name, c.Lo, c.Hi = wire.CheckSegment, a.b.Segments[p.Ref].Name, 0, 0
	case models.PredPage:
		pg := a.pageInView()
		c.Kind, c.Name, c.Value, c.Lo, c.Hi = wire.CheckPage, pg.String(), float32(pg), 0, 0
	case models.PredValue:
		r := min(int(p.Ref), len(valueNames)-1)
		c.Kind, c.Name = wire.CheckScore, valueNames[r]
		if a.hasVal {
			c.Value = [...]float32{a.value.Alive, a.value.Purchases, a.value.Spend, a.value.Value}[r]
		}
	}
	return c
}

// pageInView is the type of the session's latest page view; "other" before any.
func (a *Agent) pageInView() wire.PageType {
	if s := a.p.Session; s != nil && s.LastPage < wire.NumPageTypes {
		return wire.PageType(s.LastPage)
	}
	return wire.PageOther
}

var valueNames = [...]string{"p_alive", "expected_purchases", "expected_spend", "customer_value"}

// split returns the weights of the visitor's primary segment (the first they belong to) when the
// campaign has a split for it, nil otherwise: the variants' own weights apply.
func (a *Agent) split(c *models.Campaign) []uint16 {
	if len(c.BySegment) == 0 {
		return nil
	}
	for s, in := range a.members {
		if in {
			for i := range c.BySegment {
				if int(c.BySegment[i].Segment) == s {
					return c.BySegment[i].Weights
				}
			}
			return nil
		}
	}
	return nil
}

// pickVariant maps u ∈ [0,1) to a variant by cumulative weight: split's when not nil (one weight
// per variant, checked by validation), else the variants' own.
func pickVariant(vs []models.Variant, split []uint16, u float64) int {
	w := func(i int) uint32 {
		if split != nil {
			return uint32(split[i])
		}
		return uint32(vs[i].Weight)
	}
	var total uint32
	for i := range vs {
		total += w(i)
	}
	target := uint32(u * float64(total))
	var acc uint32
	for i := range vs {
		acc += w(i)
		if target < acc {
			return i
		}
	}
	return len(vs) - 1
}

func (a *Agent) exposure(id string) *Exposure {
	for i := range a.p.Exposures {
		if a.p.Exposures[i].Campaign == id {
			return &a.p.Exposures[i]
		}
	}
	return nil
}

// expose records that a campaign was decided for the visitor: frequency caps and pressure count what
// was shown; the learning buffer counts holdout assignments too, the baseline of incrementality.
func (a *Agent) expose(c *models.Campaign, variant string, now int64, shown bool) {
	p := &a.p
	day, week := int32(floorDiv(now, dayMs)), int32(floorDiv(now, weekMs))
	e := a.exposure(c.ID)
	if e == nil {
		if len(p.Exposures) >= maxExposures {
			oldest := 0
			for i := range p.Exposures {
				if p.Exposures[i].Last < p.Exposures[oldest].Last {
					oldest = i
				}
			}
			p.Exposures = append(p.Exposures[:oldest], p.Exposures[oldest+1:]...)
		}
		p.Exposures = append(p.Exposures, Exposure{Campaign: c.ID})
		e = &p.Exposures[len(p.Exposures)-1]
	}
	e.Variant, e.Segment = variant, a.primary
	// A holdout assignment counts against the campaign's caps and restarts its attribution window
	// as a showing would, so that the control group is decided, counted and credited exactly as
	// often as the treated group; only the pressure budget counts what was really shown.
	e.Last = now
	e.DayCount = countIf(e.Day == day, e.DayCount) + 1
	e.WeekCount = countIf(e.Week == week, e.WeekCount) + 1
	e.VisitCount = countIf(e.Visit == p.Visits, e.VisitCount) + 1
	e.Day, e.Week, e.Visit = day, week, p.Visits
	if shown {
		p.PressCount = countIf(p.PressDay == day, p.PressCount) + 1
		p.PressDay = day
		if p.Session != nil {
			p.Session.Shown = satInc16(p.Session.Shown)
		}
	}
	a.learn(c.ID, variant, a.primary, 1, 0, 0)
}

// uplift is the uplift of uplift model m on the agent's features (compileInputs checks that it reads
// no other): σ(treated) − σ(control).
func (a *Agent) uplift(m int) float64 { return a.b.Uplift[m].Value(a.agentInputs()) }

// credit credits a conversion of objective o, worth value (the event's own), to every campaign
// decided for the visitor within the attribution window whose objective it is, with the campaign's
// Value when it sets one. An exposure to a campaign the bundle no longer has counts orders, as every
// campaign did before objectives.
func (a *Agent) credit(o models.Objective, value float64, t int64) {
	for i := range a.p.Exposures {
		e := &a.p.Exposures[i]
		if e.Last == 0 || t-e.Last > a.set.AttributionMs {
			continue
		}
		obj, v := models.ObjectivePurchase, value
		for j := range a.b.Campaigns {
			if c := &a.b.Campaigns[j]; c.ID == e.Campaign {
				obj = c.Objective
				if c.Value > 0 {
					v = float64(c.Value)
				}
				break
			}
		}
		if obj == o {
			a.learn(e.Campaign, e.Variant, e.Segment, 0, 1, v)
		}
	}
}

// learn adds to the local learning buffer, if the visitor allows learning to leave the device.
func (a *Agent) learn(campaign, variant, segment string, exposures, conversions uint32, revenue float64) {
	if a.consent() != wire.ConsentFull {
		return
	}
	p := &a.p
	for i := range p.Learn {
		c := &p.Learn[i]
		if c.Campaign == campaign && c.Variant == variant && c.Segment == segment {
			c.Exposures += exposures
			c.Conversions += conversions
			c.Revenue += revenue
			return
		}
	}
	if len(p.Learn) >= maxLearn {
		p.Dropped++
		return
	}
	p.Learn = append(p.Learn, LearnCell{Campaign: campaign, Variant: variant, Segment: segment,
		Exposures: exposures, Conversions: conversions, Revenue: revenue})
}

// Drain takes the learning buffer as a batch and empties it. The batch id is drawn from seed; the
// batch carries the day, not the time, and no identifier.
func (a *Agent) Drain(now int64, seed uint64) *wire.Batch {
	bt := &wire.Batch{ID: make([]byte, 16), Day: int32(floorDiv(now, dayMs)), Dropped: a.p.Dropped}
	h1, h2 := mix64(seed^0x5851f42d4c957f2d), mix64(seed^0x14057b7ef767814f)
	for i := range 8 {
		bt.ID[i], bt.ID[8+i] = byte(h1>>(8*i)), byte(h2>>(8*i))
	}
	if a.b != nil {
		bt.Site, bt.Bundle = a.b.Site, a.b.Version
	}
	for _, c := range a.p.Learn {
		bt.Cells = append(bt.Cells, wire.Cell{Campaign: c.Campaign, Variant: c.Variant, Segment: c.Segment,
			Exposures: c.Exposures, Conversions: c.Conversions, Revenue: c.Revenue})
	}
	a.fedDrain(bt, now) // federated.go
	a.p.Learn, a.p.Dropped = nil, 0
	return bt
}

// Explain returns why the last decisions were taken, and the strongest drivers of each score. The
// drivers are computed here, from the last Handle's features, not on every event. It is owned by the
// agent and empty until the visitor's first Handle.
func (a *Agent) Explain() *wire.Explanation {
	if a.expl.Time != 0 && a.b != nil {
		a.drivers()
	}
	return &a.expl
}
