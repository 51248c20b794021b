package agent

import (
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/models"
)

// evaluate brings every derived quantity up to date at time now: value model, life-cycle stage,
// features, propensity scores, appetence and segments, in that order (each may use the previous ones).
func (a *Agent) evaluate(now int64) {
	a.decayTo(now)
	a.customerValue(now)
	a.p.Stage = uint8(a.stage(now))
	computeFeatures(&a.x, &a.p, now, a.set.HalfLifeDays)
	for m := range a.b.Propensity {
		a.scores[m] = detmath.Sigmoid(a.b.Propensity[m].Logit(a.x[:], a.cb.cols[m]))
	}
	a.appetence()
	a.primary = ""
	for s := range a.b.Segments {
		in := true
		for i := range a.b.Segments[s].When {
			if !a.holds(&a.b.Segments[s].When[i]) {
				in = false
				break
			}
		}
		a.members[s] = in
		if in && a.primary == "" {
			a.primary = a.b.Segments[s].Name
		}
	}
}

// customerValue evaluates BG/NBD and Gamma-Gamma on the visitor's own purchase history, measured from
// the first order as in the papers: x repeat orders, t_x the time of the last, T the customer's age.
func (a *Agent) customerValue(now int64) {
	v, p := a.b.Value, &a.p
	a.hasVal = v != nil && p.Orders > 0
	if !a.hasVal {
		return
	}
	unit := v.UnitDays
	if unit == 0 {
		unit = 7
	}
	unitMs := unit * dayMs
	x := float64(p.Orders - 1)
	tx := float64(p.LastOrder-p.FirstOrder) / unitMs
	T := float64(now-p.FirstOrder) / unitMs
	if T < tx {
		T = tx
	}
	alive := v.Alive(x, tx, T)
	purchases := v.ConditionalExpected(v.Horizon, x, tx, T)
	spend := p.Revenue / float64(p.Orders)
	if v.P > 0 && x > 0 {
		spend = v.ExpectedSpend(x, spend)
	}
	a.value = wire.CustomerValue{Alive: float32(alive), Purchases: float32(purchases), Spend: float32(spend),
		Value: float32(purchases * spend)}
}

// stage places the visitor in the life cycle.
func (a *Agent) stage(now int64) wire.Stage {
	p := &a.p
	if p.Orders == 0 {
		if p.Lead {
			return wire.StageLead
		}
		return wire.StageProspect
	}
	since := float64(now-p.LastOrder) / dayMs
	switch {
	case since >= a.set.LapsedDays:
		return wire.StageLapsed
	case since >= a.set.AtRiskDays, a.hasVal && p.Orders > 1 && a.value.Alive < atRiskAlive:
		return wire.StageAtRisk
	case p.Orders >= a.set.LoyalOrders:
		return wire.StageLoyal
	}
	return wire.StageNew
}

// atRiskAlive is the P(alive) under which a repeat customer counts as at risk before the day threshold.
const atRiskAlive = 0.5

// appetence folds the visitor's category affinities into the low-rank space and scores every category.
func (a *Agent) appetence() {
	app := a.b.Appetence
	a.hasApp = false
	if app == nil || len(a.p.Affinity) == 0 {
		return
	}
	var cats [maxAffinities]int
	var weights [maxAffinities]float64
	n := 0
	for _, af := range a.p.Affinity {
		if c, ok := lookup(a.cb.cats, af.Category); ok {
			cats[n], weights[n] = c, float64(af.Weight)
			n++
		}
	}
	if n == 0 {
		return
	}
	a.vscale = app.Fold(a.vq, a.cb.projection, cats[:n], weights[:n])
	a.cb.appetence.Scores(a.dots, a.vq)
	a.hasApp = true
}

// appetenceOf is the appetence of category c (0 without an appetence pass).
func (a *Agent) appetenceOf(c int) float64 {
	if !a.hasApp {
		return 0
	}
	return a.b.Appetence.Prob(a.dots[c], a.vscale)
}

func (a *Agent) topAppetence(dst []wire.CategoryScore) []wire.CategoryScore {
	if !a.hasApp {
		return dst
	}
	top := int(a.b.Appetence.Top)
	if top == 0 {
		top = 5
	}
	var idx [64]int
	if top > len(idx) {
		top = len(idx)
	}
	best := models.TopK(idx[:0], a.dots, top)
	for _, c := range best {
		dst = append(dst, wire.CategoryScore{Category: a.b.Categories[c], Value: float32(a.appetenceOf(c))})
	}
	return dst
}

// holds evaluates a segment or targeting predicate against the current state.
func (a *Agent) holds(p *models.Predicate) bool {
	var v float64
	switch p.Kind {
	case models.PredFeature:
		v = a.x[a.cb.featOf[p.Ref]]
	case models.PredScore:
		v = a.scores[p.Ref]
	case models.PredAppetence:
		v = a.appetenceOf(int(p.Ref))
	case models.PredStage:
		in := p.Stages&(1<<a.p.Stage) != 0
		return in != p.Not
	case models.PredSegment:
		return a.members[p.Ref] != p.Not
	case models.PredValue:
		if !a.hasVal {
			return p.Not
		}
		switch p.Ref {
		case 0:
			v = float64(a.value.Alive)
		case 1:
			v = float64(a.value.Purchases)
		case 2:
			v = float64(a.value.Spend)
		default:
			v = float64(a.value.Value)
		}
	}
	return p.Holds(v)
}

// recommend ranks items for the current page from the visitor's recent items (the item in view
// first, then the cart, recent views and purchases, each weighted by recency), excluding what the
// visitor saw this session or bought; the popularity list fills what the neighbours leave empty.
func (a *Agent) recommend(dst []wire.Rec, n int) []wire.Rec {
	b := a.b
	if n <= 0 || len(b.Items) == 0 {
		return dst
	}
	p, s := &a.p, a.p.Session
	recent := a.recent[:0]
	add := func(h uint32, w float64) {
		if i, ok := lookup(a.cb.items, h); ok {
			recent = append(recent, models.Weighted{Item: i, Weight: w})
		}
	}
	if s != nil {
		if s.Item != 0 {
			add(s.Item, 2)
		}
		for _, l := range s.Cart {
			add(l.Item, 1.5)
		}
	}
	w := 1.0
	for i := len(p.Viewed) - 1; i >= 0; i-- {
		add(p.Viewed[i], w)
		w *= 0.85
	}
	for i := len(p.Bought) - 1; i >= 0; i-- {
		add(p.Bought[i], 0.5)
	}
	a.recent = recent
	// What not to recommend, as a bit set over the catalogue: built once per event from at most 73
	// hashes, then each candidate is one bit test instead of a scan of every list.
	words := (len(b.Items) + 63) / 64
	if cap(a.excluded) < words {
		a.excluded = make([]uint64, words)
	}
	ex := a.excluded[:words]
	clear(ex)
	mark := func(h uint32) {
		if i, ok := lookup(a.cb.items, h); ok {
			ex[i>>6] |= 1 << (i & 63)
		}
	}
	for _, h := range p.Bought {
		mark(h)
	}
	if s != nil {
		mark(s.Item)
		for _, h := range s.Seen {
			mark(h)
		}
		for _, l := range s.Cart {
			mark(l.Item)
		}
	}
	exclude := func(item int) bool { return ex[item>>6]&(1<<(item&63)) != 0 }
	var cands []models.Candidate
	if b.Neighbours != nil && len(recent) > 0 {
		cands = b.Neighbours.Recommend(a.cands[:0], recent, exclude, n, &a.recs)
		a.cands = cands
	}
	for _, c := range cands {
		dst = append(dst, wire.Rec{Item: b.Items[c.Item], Score: float32(c.Score)})
	}
	for _, it := range b.Popular {
		if len(dst) >= n {
			break
		}
		i := int(it)
		if exclude(i) || hasRec(dst, b.Items[i]) {
			continue
		}
		dst = append(dst, wire.Rec{Item: b.Items[i]})
	}
	return dst
}

func hasRec(recs []wire.Rec, item string) bool {
	for _, r := range recs {
		if r.Item == item {
			return true
		}
	}
	return false
}

// drivers records, for "why this offer", the three strongest contributions to each propensity score.
func (a *Agent) drivers() {
	a.expl.Drivers = a.expl.Drivers[:0]
	for m := range a.b.Propensity {
		lr := &a.b.Propensity[m]
		var best [3]struct {
			i int
			c float64
		}
		for k := range best {
			best[k].i = -1
		}
		for i, w := range lr.Weights {
			c := float64(w) * a.x[a.cb.cols[m][i]]
			ac := abs(c)
			for k := range best {
				if best[k].i < 0 || ac > abs(best[k].c) {
					copy(best[k+1:], best[k:len(best)-1])
					best[k].i, best[k].c = i, c
					break
				}
			}
		}
		for _, d := range best {
			if d.i >= 0 && d.c != 0 {
				a.expl.Drivers = append(a.expl.Drivers, wire.Driver{Model: lr.Name,
					Feature: FeatureNames[a.cb.cols[m][d.i]], Contribution: float32(d.c)})
			}
		}
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
