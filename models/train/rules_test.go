package train

import (
	"context"
	"math"
	"testing"
)

func TestPairRules(t *testing.T) {
	// 10 baskets over items 0..3: item 0 in 5, item 1 in 4, both in 3; item 2 in 2 (with 0 once);
	// item 3 in 1.
	baskets := [][]int{
		{0, 1}, {0, 1, 1}, {1, 0}, {0, 2}, {0}, {1}, {2}, {3}, {}, {},
	}
	tests := []struct {
		name      string
		sup, conf float64
		want      []Rule
	}{
		// {0,1}: count 3, support 0.3; conf 0→1 = 3/5, 1→0 = 3/4; lift 0.3/(0.5·0.4) = 1.5.
		{"both-directions", 0.3, 0.5, []Rule{
			{From: 0, To: 1, Count: 3, Support: 0.3, Confidence: 0.6, Lift: 1.5},
			{From: 1, To: 0, Count: 3, Support: 0.3, Confidence: 0.75, Lift: 1.5},
		}},
		// Confidence exactly at the threshold is kept: 3/4 = 0.75.
		{"confidence-at-threshold", 0.3, 0.75, []Rule{
			{From: 1, To: 0, Count: 3, Support: 0.3, Confidence: 0.75, Lift: 1.5},
		}},
		// {0,2} has support 0.1 and confidences 1/5 and 1/2; lift 0.1/(0.5·0.2) = 1.
		{"low-support", 0.1, 0.5, []Rule{
			{From: 0, To: 1, Count: 3, Support: 0.3, Confidence: 0.6, Lift: 1.5},
			{From: 1, To: 0, Count: 3, Support: 0.3, Confidence: 0.75, Lift: 1.5},
			{From: 2, To: 0, Count: 1, Support: 0.1, Confidence: 0.5, Lift: 1},
		}},
		{"none", 0.4, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PairRules(context.Background(), baskets, 4, tt.sup, tt.conf)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("rules %+v, want %+v", got, tt.want)
			}
			for i, r := range got {
				w := tt.want[i]
				if r.From != w.From || r.To != w.To || r.Count != w.Count || math.Abs(r.Support-w.Support) > 1e-12 ||
					math.Abs(r.Confidence-w.Confidence) > 1e-12 || math.Abs(r.Lift-w.Lift) > 1e-12 {
					t.Errorf("rule %d: %+v, want %+v", i, r, w)
				}
			}
		})
	}
	errs := []struct {
		name    string
		baskets [][]int
		n       int
		sup     float64
	}{
		{"out-of-range", [][]int{{0, 4}}, 4, 0.1},
		{"no-items", nil, 0, 0.1},
		{"zero-support", baskets, 4, 0},
	}
	for _, e := range errs {
		t.Run(e.name, func(t *testing.T) {
			if _, err := PairRules(context.Background(), e.baskets, e.n, e.sup, 0.5); err == nil {
				t.Error("no error")
			}
		})
	}
}
