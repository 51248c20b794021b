package report

import (
	"fmt"

	"gonum.org/v1/plot"

	"github.com/presage-dev/presage/models/eval"
)

// UpliftSections lays out an uplift model's evaluation on a randomised campaign: uplift at the top
// shares, per decile, the Qini curve against random targeting, and, when tg is not nil, what the
// cost-aware rule would have earned. prefix keeps figure names unique in a report.
func UpliftSections(name, prefix string, rep *eval.UpliftReport, tg *eval.Targeting) ([]Section, error) {
	pct := func(v float64) string { return fmt.Sprintf("%+.2f pt", 100*v) }
	summary := Table{Caption: fmt.Sprintf("%s: %d rows, %d treated, %d control; average effect of the treatment %s",
		name, rep.Rows, rep.Treated, rep.Rows-rep.Treated, pct(rep.Overall)),
		Header: []string{"top share by predicted uplift", "rows (treated)", "treated rate", "control rate", "observed uplift", "mean predicted"}}
	for _, a := range rep.At {
		summary.Rows = append(summary.Rows, []string{fmt.Sprintf("%.0f %%", 100*a.Share), fmt.Sprintf("%d (%d)", a.Rows, a.Treated),
			fmt.Sprintf("%.3f", a.TreatedRate), fmt.Sprintf("%.3f", a.ControlRate), pct(a.Uplift), pct(a.Predicted)})
	}
	qini := Table{Caption: "Qini: incremental conversions per person of the population, integrated over the share targeted",
		Header: []string{"curve", "area"}}
	qini.Rows = append(qini.Rows,
		[]string{name, fmt.Sprintf("%.5f", rep.QiniArea)},
		[]string{"random targeting", fmt.Sprintf("%.5f", rep.RandomArea)},
		[]string{"Qini coefficient (difference)", fmt.Sprintf("%+.5f", rep.QiniCoefficient)})
	var qx, qy []float64
	for _, p := range rep.Qini {
		qx, qy = append(qx, p.X), append(qy, p.Y)
	}
	end := 0.0
	if len(qy) > 0 {
		end = qy[len(qy)-1]
	}
	qp, err := Lines("Qini curve", "share of people targeted (by predicted uplift)", "incremental conversions per person",
		Series{Name: fmt.Sprintf("%s (area %.4f)", name, rep.QiniArea), X: qx, Y: qy},
		Series{Name: fmt.Sprintf("random (area %.4f)", rep.RandomArea), X: []float64{0, 1}, Y: []float64{0, end}, Dashed: true})
	if err != nil {
		return nil, err
	}
	labels := make([]string, len(rep.Deciles))
	obs := make([]float64, len(rep.Deciles))
	pred := make([]float64, len(rep.Deciles))
	for d, a := range rep.Deciles {
		labels[d] = fmt.Sprintf("%d", d+1)
		obs[d], pred[d] = 100*a.Uplift, 100*a.Predicted
	}
	dp, err := Bars("Uplift by decile of predicted uplift", "decile (1 = highest predicted uplift)", "uplift (percentage points)",
		labels, []string{"observed", "predicted"}, obs, pred)
	if err != nil {
		return nil, err
	}
	signedRange(dp, obs, pred)
	atLabels := make([]string, len(rep.At))
	atObs := make([]float64, len(rep.At))
	for i, a := range rep.At {
		atLabels[i] = fmt.Sprintf("top %.0f %%", 100*a.Share)
		atObs[i] = 100 * a.Uplift
	}
	atLabels = append(atLabels, "everyone")
	atObs = append(atObs, 100*rep.Overall)
	ap, err := Bars("Uplift@k", "people targeted", "observed uplift (percentage points)", atLabels, []string{name}, atObs)
	if err != nil {
		return nil, err
	}
	signedRange(ap, atObs)
	out := []Section{
		{Heading: name + ": uplift@k", Text: []string{"Observed uplift is the treated conversion rate minus the control rate " +
			"among the people ranked together: an unbiased estimate of their average effect, since the treatment was assigned at random."},
			Tables: []Table{summary}, Figures: []Figure{
				{Name: prefix + "uplift_at_k", Caption: "Observed uplift among the top 10, 20 and 30 % by predicted uplift, and among everyone.", Plot: ap},
				{Name: prefix + "uplift_deciles", Caption: "Observed and mean predicted uplift in each tenth of the ranking: a good model's bars fall from left to right.", Plot: dp},
			}},
		{Heading: name + ": Qini curve", Tables: []Table{qini}, Figures: []Figure{
			{Name: prefix + "qini", Caption: "Qini curve: treating the top x share by predicted uplift adds y conversions per person; the dashed line is random targeting.", Plot: qp},
		}},
	}
	if tg != nil {
		out = append(out, Section{Heading: name + ": cost-aware targeting",
			Text: []string{fmt.Sprintf("Rule: show the incentive when predicted uplift × %.4g − %.4g > 0 (margin per conversion, cost per person shown).", tg.Value, tg.Cost)},
			Tables: []Table{{Caption: "estimated incremental margin per 1,000 people", Header: []string{"policy", "shown", "margin"},
				Rows: [][]string{
					{"the rule", fmt.Sprintf("%.1f %%", 100*tg.Shown), fmt.Sprintf("%.1f", tg.Profit)},
					{"everyone", "100 %", fmt.Sprintf("%.1f", tg.ProfitAll)},
					{"no one", "0 %", "0"},
				}}}})
	}
	return out, nil
}

// signedRange widens a bar chart's y axis (Bars starts it at 0) to show negative uplifts, with
// headroom for the legend.
func signedRange(p *plot.Plot, values ...[]float64) {
	lo, hi := 0.0, 0.0
	for _, v := range values {
		for _, x := range v {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	if hi == lo {
		hi = 1
	}
	p.Y.Min, p.Y.Max = lo-0.1*(hi-lo), hi+0.3*(hi-lo)
}
