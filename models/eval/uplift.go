package eval

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
)

// Uplift evaluation: how well predicted uplifts rank the people of a randomised campaign by the
// treatment's true effect, which no single row shows (a person is either treated or not). Every
// figure compares the treated and the control rows of a group of people ranked together: the group's
// observed uplift is its treated conversion rate minus its control rate, an unbiased estimate of the
// group's mean effect when the treatment was assigned at random.

// UpliftAt is the observed uplift among the top Share of rows by predicted uplift.
type UpliftAt struct {
	Share       float64 `json:"share"` // of all rows, e.g. 0.1
	Rows        int     `json:"rows"`
	Treated     int     `json:"treated"` // treated rows among them; the rest are control rows
	TreatedRate float64 `json:"treated_rate"`
	ControlRate float64 `json:"control_rate"`
	// Uplift is TreatedRate − ControlRate; 0 when the top rows hold no treated or no control row.
	Uplift    float64 `json:"uplift"`
	Predicted float64 `json:"predicted"` // the mean predicted uplift of the rows
}

// UpliftReport is the evaluation of predicted uplifts against a randomised campaign's outcomes.
type UpliftReport struct {
	Rows    int `json:"rows"`
	Treated int `json:"treated"`
	// Overall is the campaign's average effect: treated rate − control rate over all rows.
	Overall float64    `json:"overall_uplift"`
	At      []UpliftAt `json:"uplift_at"`      // at the shares asked for (UpliftOptions.Shares)
	Deciles []UpliftAt `json:"uplift_deciles"` // each tenth of the ranking on its own, best first
	// Qini is the Qini curve (Radcliffe 2007): at x, the share of rows targeted best first, the
	// incremental conversions y of treating them, per row of the whole population:
	// (Y_T − Y_C·N_T/N_C)/N, where N_T, N_C count the treated and control rows among the targeted and
	// Y_T, Y_C their conversions. It starts at (0, 0) and ends at (1, Overall·Treated/Rows); it
	// keeps at most UpliftOptions.MaxPoints points (the area uses every tie group).
	Qini []Point `json:"qini"`
	// QiniArea is the area under the Qini curve; RandomArea that under the straight line from (0, 0)
	// to its end, what targeting at random gives; QiniCoefficient their difference: positive when the
	// ranking puts the persuadable first.
	QiniArea        float64 `json:"qini_area"`
	RandomArea      float64 `json:"random_area"`
	QiniCoefficient float64 `json:"qini_coefficient"`
}

// UpliftOptions tune UpliftReport. The zero value asks for uplift at 10, 20 and 30 %.
type UpliftOptions struct {
	Shares    []float64 // shares of rows for UpliftAt; nil means 0.1, 0.2, 0.3
	MaxPoints int       // most points kept on the Qini curve; 0 means 201
}

// Uplift evaluates predicted uplifts scores against the outcomes labels (0 or 1) of rows that
// were treated or not (treated). It needs both arms and at least 10 rows.
func Uplift(scores, labels []float64, treated []bool, opt UpliftOptions) (*UpliftReport, error) {
	if len(treated) != len(labels) {
		return nil, errors.New("eval: " + strconv.Itoa(len(treated)) + " treatment flags for " + strconv.Itoa(len(labels)) + " labels")
	}
	if err := check(scores, labels, false); err != nil {
		return nil, err
	}
	n := len(scores)
	if n < 10 {
		return nil, errors.New("eval: uplift needs at least 10 rows, got " + strconv.Itoa(n))
	}
	shares := opt.Shares
	if shares == nil {
		shares = []float64{0.1, 0.2, 0.3}
	}
	for _, s := range shares {
		if !(s > 0 && s <= 1) {
			return nil, errors.New("eval: uplift share " + strconv.FormatFloat(s, 'g', -1, 64) + " not in (0, 1]")
		}
	}
	maxPoints := opt.MaxPoints
	if maxPoints <= 0 {
		maxPoints = 201
	}
	// Best first; ties keep row order, so that the ranking is deterministic.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })

	rep := &UpliftReport{Rows: n}
	for _, t := range treated {
		if t {
			rep.Treated++
		}
	}
	if rep.Treated == 0 || rep.Treated == n {
		return nil, errors.New("eval: uplift needs treated and control rows, got " + strconv.Itoa(rep.Treated) + " treated of " + strconv.Itoa(n))
	}
	rep.Overall = sliceUplift(order, scores, labels, treated, 1).Uplift
	for _, s := range shares {
		rep.At = append(rep.At, sliceUplift(order[:topRows(s, n)], scores, labels, treated, s))
	}
	for d := range 10 {
		lo, hi := topRows(float64(d)/10, n), topRows(float64(d+1)/10, n)
		if d == 0 {
			lo = 0
		}
		rep.Deciles = append(rep.Deciles, sliceUplift(order[lo:hi], scores, labels, treated, 0.1))
	}

	// The Qini curve, one point per tie group, trapezoids between them.
	var nt, nc, yt, yc float64
	q := func() float64 {
		v := yt
		if nc > 0 {
			v -= yc * nt / nc
		}
		return v / float64(n)
	}
	full := []Point{{0, 0}}
	for i := 0; i < n; {
		j := i
		for ; j < n && scores[order[j]] == scores[order[i]]; j++ {
			r := order[j]
			if treated[r] {
				nt++
				yt += labels[r]
			} else {
				nc++
				yc += labels[r]
			}
		}
		p := Point{X: float64(j) / float64(n), Y: q()}
		prev := full[len(full)-1]
		rep.QiniArea += (p.X - prev.X) * (p.Y + prev.Y) / 2
		full = append(full, p)
		i = j
	}
	end := full[len(full)-1].Y
	rep.RandomArea = end / 2
	rep.QiniCoefficient = rep.QiniArea - rep.RandomArea
	rep.Qini = thin(full, maxPoints)
	return rep, nil
}

// topRows is how many rows the top share of n rows holds (rounded, at least 1).
func topRows(share float64, n int) int {
	return min(n, max(1, int(math.Round(share*float64(n)))))
}

// sliceUplift measures the rows rows (indices in ranking order) as one group of the given share.
func sliceUplift(rows []int, scores, labels []float64, treated []bool, share float64) UpliftAt {
	a := UpliftAt{Share: share, Rows: len(rows)}
	var yt, yc, pred float64
	for _, r := range rows {
		pred += scores[r]
		if treated[r] {
			a.Treated++
			yt += labels[r]
		} else {
			yc += labels[r]
		}
	}
	if nc := len(rows) - a.Treated; a.Treated > 0 && nc > 0 {
		a.TreatedRate, a.ControlRate = yt/float64(a.Treated), yc/float64(nc)
		a.Uplift = a.TreatedRate - a.ControlRate
	}
	if len(rows) > 0 {
		a.Predicted = pred / float64(len(rows))
	}
	return a
}

// thin keeps at most k ≥ 2 points of a curve, about evenly spaced in x, its first and last included.
func thin(pts []Point, k int) []Point {
	if len(pts) <= k {
		return pts
	}
	out := append(make([]Point, 0, k), pts[0])
	for i := 1; i < len(pts)-1 && len(out) < k-1; i++ {
		if pts[i].X >= float64(len(out))/float64(k-1) {
			out = append(out, pts[i])
		}
	}
	return append(out, pts[len(pts)-1])
}

// Targeting is what a cost-aware rule (show the incentive when uplift × Value − Cost > 0, see
// models.ShowIncentive) would have earned on the evaluated rows, estimated from the randomised arms.
// The incremental margin of showing the incentive to a set S of people is estimated as
// |S| · (observed uplift in S × Value − Cost); figures are per 1,000 people of the whole population.
type Targeting struct {
	Value     float64 `json:"value"`
	Cost      float64 `json:"cost"`
	Shown     float64 `json:"shown"`      // share of rows the rule shows the incentive to
	Profit    float64 `json:"profit"`     // per 1,000 people, targeting by the rule
	ProfitAll float64 `json:"profit_all"` // per 1,000 people, showing it to everyone
}

// UpliftTargeting estimates Targeting for predicted uplifts scores, outcomes labels and arms treated
// (as Uplift takes them), at a margin value per conversion and a cost per person shown. show is the
// rule; nil means uplift × value − cost > 0.
func UpliftTargeting(scores, labels []float64, treated []bool, value, cost float64, show func(uplift, value, cost float64) bool) Targeting {
	if show == nil {
		show = func(u, v, c float64) bool { return v > 0 && float64(u*v)-c > 0 }
	}
	t := Targeting{Value: value, Cost: cost}
	n := len(scores)
	if n == 0 {
		return t
	}
	var rows, all []int
	for i, s := range scores {
		all = append(all, i)
		if show(s, value, cost) {
			rows = append(rows, i)
		}
	}
	profit := func(rows []int) float64 {
		a := sliceUplift(rows, scores, labels, treated, 0)
		return float64(len(rows)) * (float64(a.Uplift*value) - cost) * 1000 / float64(n)
	}
	t.Shown = float64(len(rows)) / float64(n)
	t.Profit, t.ProfitAll = profit(rows), profit(all)
	return t
}
