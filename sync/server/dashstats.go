package server

import (
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/presage-dev/presage/internal/svgchart"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/stats"
)

// The campaign page's statistics (issue 7, section 3): each variant against the control with the
// fixed-horizon, always-valid (sequential) and Bayesian results side by side, revenue per visitor,
// the sample-ratio-mismatch check and the incrementality of the campaign against its holdout. All
// are computed from the report window's aggregates: exposures stand for visitors (a cell counts
// decisions shown), conversions are attributed ones.

// statsView is a campaign's statistics: all of them on its page, a line on the overview.
type statsView struct {
	Rows       []statRow
	Family     int           // comparisons against the control, the family Holm adjusts for
	SeqWins    int           // of them, those the always-valid test finds different
	FixedWins  int           // … and the fixed-horizon test
	Intervals  template.HTML // the forest plot of the differences
	Revenue    template.HTML // revenue per visitor, per arm, with its interval where known
	HasRevenue bool          // some arm reported revenue
	RevRows    []revenueRow  // revenue per exposure against the control
	RevFamily  int           // comparisons Holm adjusts for
	SRM        srmView
	Lift       *liftView // against the holdout, when one is reported
}

// statRow is one arm against the control; the control's row has only its own figures.
type statRow struct {
	Name, Rate                         string
	Control                            bool
	Diff, FixedCI, FixedP, SeqCI, SeqP string
	BayesCI, Relative                  string
	FixedSignificant, SeqSignificant   bool
	Compared                           bool // a difference was computed
	SeqWaiting                         bool // too few exposures for the sequential test
	fixed, seq, bayes                  svgchart.Interval
	Exposures                          int64
}

// revenueRow is one arm's revenue per exposure: the mean and its interval, and against the control
// the difference, its interval, the Holm-adjusted p-value and the chance to beat the control.
type revenueRow struct {
	Name, Mean, MeanCI string
	Control, Compared  bool
	Diff, DiffCI, P    string
	Beats              string
	Significant        bool
	Missing            string // why there is no interval
}

// liftView is the campaign's incrementality: every variant pooled against the holdout.
type liftView struct {
	Treated, Holdout                      int64 // exposures
	Abs, AbsCI, Rel, RelCI, SeqCI, SeqP   string
	SeqSignificant                        bool
	Conversions, ConversionsCI, RevenueUp string
	RevenueCI, RevenueP                   string // RevenueCI says "no interval" without the moments
	P                                     string
	Significant, RevenueSignificant       bool
}

// srmView is the sample-ratio-mismatch check against the split the published bundles asked for.
type srmView struct {
	Rows       []srmRow
	Chi2, P    string
	Computed   bool
	Flagged    bool   // p < stats.SRMThreshold, with a split that stayed fixed over the window
	Changed    bool   // the split changed within the window: expected shares are time-weighted
	Unexpected bool   // exposures in an arm the split gives no traffic
	Versions   int    // published versions whose split was used
	Problem    string // why it was not computed
	Suppressed int    // cells of the campaign under the k-anonymity threshold
}

type srmRow struct {
	Name                       string
	Observed                   int64
	Expected, Share, Expectedp string
}

const dashAlpha = 1 - dashLevel

// pts formats a difference of rates in percentage points, signed.
func pts(v float64) string { return signed(100*v) + " pt" }

// ptsRange formats an interval of differences in points, signed, without the unit.
func ptsRange(lo, hi float64) string {
	return strings.TrimSuffix(pts(lo), " pt") + " – " + strings.TrimSuffix(pts(hi), " pt")
}

// pIs writes "p = 0.0123", or "p < 0.0001".
func pIs(p float64) string {
	if p < 1e-4 {
		return "p " + pval(p)
	}
	return "p = " + pval(p)
}

func pval(p float64) string {
	if p < 1e-4 {
		return "< 0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// detail fills a campaign's statistics from its arms (c.all: [0] the holdout, then the variants),
// the publications of h over the window [start, end], and the number of its suppressed cells.
// Without full, only what the overview's line shows is computed: no Bayesian interval, no chart.
func (c *campaignView) detail(h *history, start, end time.Time, suppressed int, full bool) error {
	sv := &statsView{}
	c.Stats = sv
	sv.SRM = srm(c.ID, c.all, h, start, end)
	sv.SRM.Suppressed = suppressed
	if c.control < 0 {
		return nil
	}
	arms := c.arms
	control := arms[c.control]
	var compared []int
	var variants []stats.Arm
	for i, a := range arms {
		if i != c.control && a.Visitors > 0 {
			compared = append(compared, i)
			variants = append(variants, a)
		}
	}
	results, err := stats.Compare(control, variants, dashLevel)
	if err != nil {
		return nil // only invalid counts fail, which layout already keeps out
	}
	sv.Family = len(results)
	seqP := make([]float64, len(results))
	seqD := make([]stats.Diff, len(results))
	waiting := make([]bool, len(results))
	for k, v := range variants {
		seq := stats.NewSequential()
		d, err := seq.Look(v, control)
		if err != nil {
			return nil
		}
		seqD[k], seqP[k], waiting[k] = d, d.P, seq.Looks() == 0
	}
	seqP = stats.Holm(seqP)
	pc := stats.Posterior(control, stats.Uniform)
	var groups []svgchart.ForestGroup
	for i, a := range arms {
		row := statRow{Name: a.Name, Control: i == c.control, Rate: "—", Exposures: a.Visitors}
		if a.Visitors > 0 {
			row.Rate = svgchart.Percent(a.Rate())
		}
		if k := slices.Index(compared, i); k >= 0 {
			r, sd := results[k], seqD[k]
			row.Compared = true
			row.Diff, row.Relative = pts(r.Fixed.Estimate), relPct(r.Fixed.Relative, control)
			row.FixedCI, row.FixedP = ptsRange(r.Fixed.Lo, r.Fixed.Hi), pval(r.Fixed.P)
			row.FixedSignificant = r.Fixed.P < dashAlpha
			if row.FixedSignificant {
				sv.FixedWins++
			}
			row.fixed = svgchart.Interval{Estimate: r.Fixed.Estimate, Lo: r.Fixed.Lo, Hi: r.Fixed.Hi}
			row.SeqWaiting = waiting[k]
			if waiting[k] {
				row.SeqCI, row.SeqP = "—", "—"
				row.seq = svgchart.Interval{Missing: true, Text: "sequential: too few exposures"}
			} else {
				row.SeqCI, row.SeqP = ptsRange(sd.Lo, sd.Hi), pval(seqP[k])
				row.SeqSignificant = seqP[k] < dashAlpha
				if row.SeqSignificant {
					sv.SeqWins++
				}
				row.seq = svgchart.Interval{Estimate: sd.Estimate, Lo: sd.Lo, Hi: sd.Hi}
			}
			if full {
				pv := stats.Posterior(a, stats.Uniform)
				lo, hi := diffInterval(pv, pc, dashLevel)
				row.BayesCI = ptsRange(lo, hi)
				row.bayes = svgchart.Interval{Estimate: pv.Mean() - pc.Mean(), Lo: lo, Hi: hi}
				groups = append(groups, svgchart.ForestGroup{Label: a.Name, Intervals: []svgchart.Interval{row.fixed, row.seq, row.bayes}})
			}
		}
		sv.Rows = append(sv.Rows, row)
	}
	if c.hasHoldout && c.control == 0 {
		sv.Lift = lift(arms, &groups, full)
	}
	if !full {
		return nil
	}
	if len(groups) > 0 {
		if sv.Intervals, err = (svgchart.Forest{
			Title:  "Difference in conversion rate of each variant against " + control.Name + ", 95 % intervals",
			Series: []string{"fixed-horizon (Wald, unadjusted)", "always-valid (sequential)", "Bayesian (credible)"},
			Groups: groups, Format: shortPts, Width: 760,
		}).Render(); err != nil {
			return err
		}
	}
	bars := revenue(sv, arms, c.control)
	sv.Revenue, err = svgchart.HBars{Title: "Revenue per exposure of " + c.ID + " per variant", Bars: bars,
		Format: func(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }}.Render()
	return err
}

// revenue fills the revenue rows of sv (Holm-adjusted across the comparisons with the control)
// and returns the chart's bars, each with the 95 % interval of its mean where the moments are known.
func revenue(sv *statsView, arms []stats.Arm, control int) []svgchart.Bar {
	z := distuv.UnitNormal.Quantile(1 - dashAlpha/2)
	var bars []svgchart.Bar
	var ps []float64
	var diffs []int // rows with a difference, in the order of ps
	for i, a := range arms {
		if a.Visitors == 0 {
			continue
		}
		sv.HasRevenue = sv.HasRevenue || a.Revenue != 0
		m := a.RevenuePerVisitor()
		row := revenueRow{Name: a.Name, Control: i == control, Mean: money(m), MeanCI: "—", Diff: "—", DiffCI: "—", P: "—", Beats: "—"}
		bar := svgchart.Bar{Label: a.Name, Value: m, Text: money(m)}
		if i == control {
			bar.Class = "control"
		}
		if v, err := a.RevenueVariance(); err == nil {
			lo, hi := m-z*math.Sqrt(v), m+z*math.Sqrt(v)
			row.MeanCI = money(lo) + " – " + money(hi)
			bar.Lo, bar.Hi, bar.Interval = lo, hi, true
			bar.Text = money(m) + " (" + row.MeanCI + ")"
		} else {
			row.Missing = "batches stored before revenue moments were kept, or fewer than 2"
		}
		if i != control && control >= 0 {
			if d, err := stats.DiffRevenue(a, arms[control], dashLevel); err == nil {
				row.Compared = true
				row.Diff, row.DiffCI = signed(d.Estimate), money(d.Lo)+" – "+money(d.Hi)
				row.Beats = svgchart.Percent(d.ProbPositive())
				ps = append(ps, d.P)
				diffs = append(diffs, len(sv.RevRows))
			}
		}
		sv.RevRows = append(sv.RevRows, row)
		bars = append(bars, bar)
	}
	sv.RevFamily = len(ps)
	for k, p := range stats.Holm(ps) {
		r := &sv.RevRows[diffs[k]]
		r.P, r.Significant = pval(p), p < dashAlpha
	}
	return bars
}

func signed(v float64) string {
	if v >= 0 {
		return "+" + money(v)
	}
	return money(v)
}

func shortPts(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + " pt" }

func relPct(rel float64, control stats.Arm) string {
	if control.Conversions == 0 {
		return "—"
	}
	s := strconv.FormatFloat(100*rel, 'f', 1, 64)
	if rel >= 0 {
		s = "+" + s
	}
	return s + " %"
}

// lift pools every variant against the holdout (arms[0]) and adds its intervals to the chart.
func lift(arms []stats.Arm, groups *[]svgchart.ForestGroup, full bool) *liftView {
	hold := arms[0]
	treated := stats.Arm{Name: "all variants"}
	known := true
	for _, a := range arms[1:] {
		treated.Visitors += a.Visitors
		treated.Conversions += a.Conversions
		treated.Revenue += a.Revenue
		treated.Units += a.Units
		treated.RevenueSq += a.RevenueSq
		treated.VisitorsSq += a.VisitorsSq
		treated.RevenueVisitors += a.RevenueVisitors
		known = known && (a.Units > 0 || a.Visitors == 0)
	}
	if !known {
		treated.Units = 0
	}
	if treated.Visitors == 0 || hold.Visitors == 0 {
		return nil
	}
	d, err := stats.DiffProportions(treated, hold, dashLevel)
	if err != nil {
		return nil
	}
	n := float64(treated.Visitors)
	l := &liftView{Treated: treated.Visitors, Holdout: hold.Visitors, Abs: pts(d.Estimate), AbsCI: pts(d.Lo) + " – " + pts(d.Hi),
		P: pIs(d.P), Significant: d.P < dashAlpha, Rel: relPct(d.Relative, hold), RelCI: "—",
		Conversions: strconv.FormatFloat(d.Estimate*n, 'f', 1, 64), ConversionsCI: strconv.FormatFloat(d.Lo*n, 'f', 1, 64) + " – " + strconv.FormatFloat(d.Hi*n, 'f', 1, 64),
		RevenueUp: money((treated.RevenuePerVisitor() - hold.RevenuePerVisitor()) * n), RevenueCI: "no interval"}
	if rd, err := stats.DiffRevenue(treated, hold, dashLevel); err == nil {
		l.RevenueCI = "95 % CI " + money(rd.Lo*n) + " – " + money(rd.Hi*n)
		l.RevenueP, l.RevenueSignificant = pIs(rd.P), rd.P < dashAlpha
	}
	if pc := hold.Rate(); pc > 0 {
		l.RelCI = relPct(d.Lo/pc, hold) + " – " + relPct(d.Hi/pc, hold)
	}
	seq := stats.NewSequential()
	sd, err := seq.Look(treated, hold)
	seqIv := svgchart.Interval{Missing: true, Text: "sequential: too few exposures"}
	l.SeqCI, l.SeqP = "—", "—"
	if err == nil && seq.Looks() > 0 {
		l.SeqCI, l.SeqP, l.SeqSignificant = pts(sd.Lo)+" – "+pts(sd.Hi), pIs(sd.P), sd.P < dashAlpha
		seqIv = svgchart.Interval{Estimate: sd.Estimate, Lo: sd.Lo, Hi: sd.Hi}
	}
	if !full {
		return l
	}
	pt, ph := stats.Posterior(treated, stats.Uniform), stats.Posterior(hold, stats.Uniform)
	lo, hi := diffInterval(pt, ph, dashLevel)
	*groups = append(*groups, svgchart.ForestGroup{Label: "all variants vs holdout", Intervals: []svgchart.Interval{
		{Estimate: d.Estimate, Lo: d.Lo, Hi: d.Hi}, seqIv, {Estimate: pt.Mean() - ph.Mean(), Lo: lo, Hi: hi}}})
	return l
}

// diffInterval is the equal-tailed credible interval of rate(b) − rate(a) at level, from the
// distribution function P(X_b − X_a ≤ d) = ∫ f_a(y) F_b(y + d) dy, inverted by bisection.
func diffInterval(b, a stats.Beta, level float64) (lo, hi float64) {
	da, db := distuv.Beta{Alpha: a.Alpha, Beta: a.Beta}, distuv.Beta{Alpha: b.Alpha, Beta: b.Beta}
	y0, y1 := da.Quantile(5e-13), da.Quantile(1-5e-13)
	cdf := func(d float64) float64 {
		return quad.Fixed(func(y float64) float64 { return da.Prob(y) * db.CDF(y+d) }, y0, y1, 256, nil, 0)
	}
	// The difference lies within ten standard deviations of its mean: bisect there, to well under
	// the displayed precision.
	mean := b.Mean() - a.Mean()
	sd := math.Sqrt(da.Variance() + db.Variance())
	quantile := func(q float64) float64 {
		l, h := max(-1, mean-10*sd), min(1, mean+10*sd)
		for range 36 {
			m := (l + h) / 2
			if cdf(m) < q {
				l = m
			} else {
				h = m
			}
		}
		return (l + h) / 2
	}
	tail := (1 - level) / 2
	return quantile(tail), quantile(1 - tail)
}

// srm checks the exposures of all (the holdout first, then the variants) against the split the
// published bundles asked for over [start, end]: each version's shares weighted by the time it
// served within the window. Only a split that stayed the same is flagged: with a moving split
// (a bandit) time is a proxy for traffic, and traffic is not steady over days.
func srm(id string, all []stats.Arm, h *history, start, end time.Time) srmView {
	var v srmView
	type span struct {
		shares []float64
		dt     float64
	}
	var spans []span
	for i, p := range h.pubs {
		b := h.bundles[p.Version]
		if b == nil {
			continue
		}
		k := slices.IndexFunc(b.Campaigns, func(bc models.Campaign) bool { return bc.ID == id })
		if k < 0 {
			continue
		}
		from, to := p.At, end
		if i+1 < len(h.pubs) {
			to = h.pubs[i+1].At
		}
		if from.Before(start) {
			from = start
		}
		spans = append(spans, span{splitShares(b.Campaigns[k], all), max(to.Sub(from).Seconds(), 0)})
	}
	expected := make([]float64, len(all))
	var total float64
	var first []float64
	for _, sp := range spans {
		if sp.dt == 0 {
			continue // replaced before the window began, or at once
		}
		if first == nil {
			first = sp.shares
		} else if !slices.Equal(first, sp.shares) {
			v.Changed = true
		}
		v.Versions++
		for j := range expected {
			expected[j] += sp.dt * sp.shares[j]
		}
		total += sp.dt
	}
	if total == 0 && len(spans) > 0 {
		// Every version was published at this very instant: the last split is the one serving,
		// but the window's exposures may have come under the others.
		last := spans[len(spans)-1].shares
		expected, total, v.Versions = last, 1, 1
		for _, sp := range spans {
			v.Changed = v.Changed || !slices.Equal(sp.shares, last)
		}
	}
	if len(spans) == 0 {
		v.Problem = "no recently published bundle carries this campaign: there is no split to check against"
		return v
	}
	if total == 0 {
		v.Problem = "no published version of this campaign served within the report window"
		return v
	}
	var obs []int64
	var weights []float64
	var n int64
	for _, a := range all {
		n += a.Visitors
	}
	for j, a := range all {
		share := expected[j] / total
		if share == 0 && a.Visitors == 0 {
			continue
		}
		row := srmRow{Name: a.Name, Observed: a.Visitors, Expectedp: svgchart.Percent(share),
			Expected: strconv.FormatFloat(share*float64(n), 'f', 1, 64), Share: "—"}
		if n > 0 {
			row.Share = svgchart.Percent(float64(a.Visitors) / float64(n))
		}
		v.Rows = append(v.Rows, row)
		if share == 0 {
			v.Unexpected = true
			continue
		}
		obs, weights = append(obs, a.Visitors), append(weights, share)
	}
	if n == 0 {
		v.Problem = "no exposure reported"
		return v
	}
	if len(obs) < 2 {
		v.Problem = "fewer than two arms with traffic in the split"
		return v
	}
	chi2, p, err := stats.SampleRatio(obs, weights)
	if err != nil {
		v.Problem = err.Error()
		return v
	}
	v.Computed = true
	v.Chi2, v.P = strconv.FormatFloat(chi2, 'f', 2, 64), pIs(p)
	v.Flagged = (p < stats.SRMThreshold && !v.Changed) || v.Unexpected
	return v
}

// splitShares is the share of the traffic bc sends to each arm of all ([0] the holdout, then
// variants by name); an arm bc does not carry gets 0.
func splitShares(bc models.Campaign, all []stats.Arm) []float64 {
	out := make([]float64, len(all))
	hold := float64(bc.Holdout) / 10000
	var sum float64
	for _, v := range bc.Variants {
		sum += float64(v.Weight)
	}
	for j, a := range all {
		if j == 0 {
			out[0] = hold
			continue
		}
		k := slices.IndexFunc(bc.Variants, func(v models.Variant) bool { return v.ID == a.Name })
		if k >= 0 && sum > 0 {
			out[j] = (1 - hold) * float64(bc.Variants[k].Weight) / sum
		}
	}
	return out
}
