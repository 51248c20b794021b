package agent_test

import (
	"math"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
)

// withoutValue removes the value model (and the segment predicate that needs it).
func withoutValue(b *models.Bundle) {
	b.Value = nil
	b.Segments[segAliveLoyal].When = b.Segments[segAliveLoyal].When[:1]
}

type stageStep struct {
	dt         int64
	evs        []wire.Event
	stage      wire.Stage
	prev       wire.Stage
	segmentsIn []int // hand segments the visitor must be in
}

func runStages(t *testing.T, b *models.Bundle, steps []stageStep) {
	t.Helper()
	a := newAgent(t, b)
	for i, s := range steps {
		ans := step(t, a, T+s.dt, s.evs...)
		if ans.Stage != s.stage || ans.PrevStage != s.prev {
			t.Fatalf("step %d (day %.1f): stage %v (prev %v), want %v (prev %v)", i, float64(s.dt)/float64(day),
				ans.Stage, ans.PrevStage, s.stage, s.prev)
		}
		for _, seg := range s.segmentsIn {
			if !hasSegment(ans, handSegmentNames[seg]) {
				t.Errorf("step %d: not in segment %s (segments %v)", i, handSegmentNames[seg], ans.Segments)
			}
		}
		// A stage read from the one-hot features agrees.
		if got := feature(t, a.Features(), "stage_"+s.stage.String()); got != 1 {
			t.Errorf("step %d: stage_%s feature = %v", i, s.stage, got)
		}
	}
}

// prospect → lead → new → at risk → lapsed by orders and by time, and PrevStage reports each move.
func TestLifeCycleByTime(t *testing.T) {
	const (
		P = wire.StageProspect
		L = wire.StageLead
		N = wire.StageNew
		R = wire.StageAtRisk
		X = wire.StageLapsed
	)
	runStages(t, handBundle(), []stageStep{
		{0, []wire.Event{arrive(wire.ChannelDirect), pv(wire.PageHome)}, P, P, []int{segNonCustomer}},
		{minute, []wire.Event{signUp()}, L, P, []int{segNonCustomer}},
		{2 * minute, []wire.Event{buy(50)}, N, L, []int{segCustomer}},
		{89 * day, []wire.Event{arrive(wire.ChannelDirect), pv(wire.PageHome)}, N, N, []int{segCustomer}},
		{91 * day, []wire.Event{arrive(wire.ChannelDirect), pv(wire.PageHome)}, R, N, []int{segCustomer}},
		{100 * day, nil, R, R, nil},
		{181 * day, nil, X, R, []int{segCustomer}},
		{182 * day, []wire.Event{arrive(wire.ChannelEmail), buy(30)}, N, X, nil},
	})
}

// Repeat customers become loyal, then at risk when P(alive) falls under one half (before the 90
// days), then lapsed; the stage agrees with P(alive) computed by hand from the CDNOW parameters.
func TestLifeCycleLoyalAndAlive(t *testing.T) {
	a := newAgent(t, handBundle())
	step(t, a, T, arrive(wire.ChannelDirect), buy(40))
	step(t, a, T+week, arrive(wire.ChannelDirect), buy(40))
	ans := step(t, a, T+2*week, arrive(wire.ChannelDirect), buy(40))
	if ans.Stage != wire.StageLoyal || ans.PrevStage != wire.StageNew {
		t.Fatalf("after 3 orders: stage %v prev %v, want loyal from new", ans.Stage, ans.PrevStage)
	}
	prev := ans.Stage
	sawAtRiskEarly := false
	for d := int64(15); d <= 220; d += 5 {
		now := T + d*day
		ans := step(t, a, now)
		// By hand: x = 2 repeat orders, t_x = 2 weeks, T = d/7 weeks since the first order.
		x, tx, Tw := 2.0, 2.0, float64(d)/7
		v := cdnow
		alive := 1 / (1 + v.A/(v.B+x-1)*math.Pow((v.Alpha+Tw)/(v.Alpha+tx), v.R+x))
		if ans.Value == nil || !near(float64(ans.Value.Alive), alive, 1e-5) {
			t.Fatalf("day %d: value %+v, want P(alive) %v", d, ans.Value, alive)
		}
		since := float64(d - 14)
		want := wire.StageLoyal
		switch {
		case since >= 180:
			want = wire.StageLapsed
		case since >= 90 || alive < 0.5:
			want = wire.StageAtRisk
		}
		if want == wire.StageAtRisk && since < 90 {
			sawAtRiskEarly = true
		}
		if ans.Stage != want || ans.PrevStage != prev {
			t.Fatalf("day %d (P(alive) %.3f): stage %v prev %v, want %v prev %v", d, alive, ans.Stage, ans.PrevStage, want, prev)
		}
		if in := hasSegment(ans, handSegmentNames[segAliveLoyal]); in != (want == wire.StageLoyal && alive >= 0.5) {
			t.Fatalf("day %d: alive_loyal membership %v", d, in)
		}
		prev = ans.Stage
	}
	if !sawAtRiskEarly {
		t.Fatal("P(alive) never made the customer at risk before 90 days: the test does not cover that rule")
	}
}

// The thresholds come from the bundle's settings.
func TestLifeCycleSettings(t *testing.T) {
	b := handBundle(withoutValue, func(b *models.Bundle) {
		b.Settings.LoyalOrders, b.Settings.AtRiskDays, b.Settings.LapsedDays = 2, 30, 60
	})
	runStages(t, b, []stageStep{
		{0, []wire.Event{arrive(wire.ChannelDirect), buy(10)}, wire.StageNew, wire.StageProspect, nil},
		{day, []wire.Event{arrive(wire.ChannelDirect), buy(10)}, wire.StageLoyal, wire.StageNew, nil},
		{30*day + hour, nil, wire.StageLoyal, wire.StageLoyal, nil},
		{31*day + hour, nil, wire.StageAtRisk, wire.StageLoyal, nil},
		{61*day + hour, nil, wire.StageLapsed, wire.StageAtRisk, nil},
	})
}

// A stage saved with the profile is the PrevStage of the next visit: a customer who comes back
// after months learns of the move in the first answer.
func TestPrevStageAcrossVisits(t *testing.T) {
	b := handBundle(withoutValue)
	a := newAgent(t, b)
	step(t, a, T, arrive(wire.ChannelDirect), buy(10))
	saved := a.SaveProfile(nil)
	a2 := newAgent(t, b)
	if err := a2.LoadProfile(saved, 5); err != nil {
		t.Fatal(err)
	}
	ans := step(t, a2, T+100*day, arrive(wire.ChannelDirect))
	if ans.PrevStage != wire.StageNew || ans.Stage != wire.StageAtRisk {
		t.Fatalf("stage %v prev %v, want at risk from new", ans.Stage, ans.PrevStage)
	}
}

func hasSegment(ans *wire.Answer, name string) bool {
	for _, s := range ans.Segments {
		if s == name {
			return true
		}
	}
	return false
}
