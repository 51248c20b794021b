package models

import (
	"math"
	"testing"
)

func TestPredicateHolds(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		name string
		p    Predicate
		v    float64
		want bool
	}{
		{"inside", Predicate{Lo: 0.52, Hi: 0.60}, 0.55, true},
		{"at lo", Predicate{Lo: 0.52, Hi: 0.60}, 0.52, true},
		{"at hi", Predicate{Lo: 0.52, Hi: 0.60}, 0.60, true},
		{"below", Predicate{Lo: 0.52, Hi: 0.60}, 0.5199, false},
		{"above", Predicate{Lo: 0.52, Hi: 0.60}, 0.6001, false},
		{"open above", Predicate{Lo: 3, Hi: inf}, 1e300, true},
		{"open below", Predicate{Lo: -inf, Hi: 0}, -inf, true},
		{"point band", Predicate{Lo: 1, Hi: 1}, 1, true},
		{"empty band", Predicate{Lo: 2, Hi: 1}, 1.5, false},
		{"empty band negated", Predicate{Lo: 2, Hi: 1, Not: true}, 1.5, true},
		{"NaN", Predicate{Lo: -inf, Hi: inf}, nan, false},
		{"NaN negated", Predicate{Lo: -inf, Hi: inf, Not: true}, nan, true},
		{"negated inside", Predicate{Lo: 0, Hi: 1, Not: true}, 0.5, false},
		{"negated outside", Predicate{Lo: 0, Hi: 1, Not: true}, 5, true},
		{"segment member", Predicate{Kind: PredSegment, Lo: 1, Hi: 1}, 1, true},
		{"segment non-member", Predicate{Kind: PredSegment, Lo: 1, Hi: 1}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Holds(tc.v); got != tc.want {
				t.Errorf("%+v.Holds(%v) = %v, want %v", tc.p, tc.v, got, tc.want)
			}
		})
	}
}

func TestPredicateHoldsStage(t *testing.T) {
	p := Predicate{Kind: PredStage, Stages: 1<<2 | 1<<3}
	for s, want := range []bool{false, false, true, true, false, false, false, false} {
		if got := p.HoldsStage(s); got != want {
			t.Errorf("HoldsStage(%d) = %v, want %v", s, got, want)
		}
		n := p
		n.Not = true
		if got := n.HoldsStage(s); got == want {
			t.Errorf("negated HoldsStage(%d) = %v", s, got)
		}
	}
	for _, s := range []int{-1, 8, 100} {
		if p.HoldsStage(s) {
			t.Errorf("HoldsStage(%d) holds", s)
		}
	}
}
