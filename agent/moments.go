package agent

import "github.com/presage-dev/presage/agent/wire"

// moments appends the key moments the request's events reached: the visitor's first visit or
// becoming a lead (welcome), their first and second orders, a customer moving to at risk or lapsed,
// and, with it, a churn risk when their expected value is high. Each fires once, on the request
// that reaches it, with the channel to act through.
func (a *Agent) moments(dst []wire.Moment, prevStage wire.Stage, prevVisits, prevOrders uint32) []wire.Moment {
	p, stage := &a.p, wire.Stage(a.p.Stage)
	var kinds [5]wire.MomentKind
	n := 0
	if prevVisits == 0 && p.Visits > 0 || stage == wire.StageLead && prevStage == wire.StageProspect {
		kinds[n], n = wire.MomentWelcome, n+1
	}
	if prevOrders == 0 && p.Orders > 0 {
		kinds[n], n = wire.MomentFirstPurchase, n+1
	}
	if prevOrders < 2 && p.Orders >= 2 {
		kinds[n], n = wire.MomentSecondPurchase, n+1
	}
	if stage != prevStage && (stage == wire.StageAtRisk || stage == wire.StageLapsed) {
		kinds[n], n = wire.MomentLapsing, n+1
		if a.hasVal && float64(a.value.Value) >= a.set.HighValue {
			kinds[n], n = wire.MomentChurnRisk, n+1
		}
	}
	if n == 0 {
		return dst
	}
	ch := a.preferredChannel()
	for _, k := range kinds[:n] {
		dst = append(dst, wire.Moment{Kind: k, Channel: ch})
	}
	return dst
}

// preferredChannel is where the visitor is best reached, from their decayed arrivals: email, social or
// paid media when that channel brought them more often than every way they come to the site by
// themselves together (direct, searches, referrals); the site itself otherwise.
func (a *Agent) preferredChannel() wire.Channel {
	best, bestW, onsite := wire.ChannelDirect, float32(0), float32(0)
	for c, w := range a.p.Channels {
		switch ch := wire.Channel(c); ch {
		case wire.ChannelEmail, wire.ChannelSocial, wire.ChannelPaid:
			if w > bestW {
				best, bestW = ch, w
			}
		default:
			onsite += w
		}
	}
	if bestW > onsite {
		return best
	}
	return wire.ChannelDirect
}
