package report

import (
	"fmt"
	"math"

	"github.com/presage-dev/presage/models/eval"
)

// CI formats an estimate with its interval to prec decimals: "0.912 [0.901, 0.923]".
func CI(iv eval.Interval, prec int) string {
	if math.IsNaN(iv.Lo) {
		return fmt.Sprintf("%.*f", prec, iv.Estimate)
	}
	return fmt.Sprintf("%.*f [%.*f, %.*f]", prec, iv.Estimate, prec, iv.Lo, prec, iv.Hi)
}

// diagonal is the reference line of ROC, gain and reliability plots.
var diagonal = Series{Name: "random / perfect calibration", X: []float64{0, 1}, Y: []float64{0, 1}, Dashed: true}

func xy(pts []eval.Point) (x, y []float64) {
	for _, p := range pts {
		x, y = append(x, p.X), append(y, p.Y)
	}
	return x, y
}

// BinarySections lays out a binary classifier's evaluation: the metrics with their intervals,
// precision and recall at k, the lift table, and ROC, cumulative gain, lift and reliability plots.
// prefix keeps figure names unique when a report holds several models.
func BinarySections(name, prefix string, rep *eval.BinaryReport) ([]Section, error) {
	level := fmt.Sprintf("%.0f %%", 100*rep.Level)
	metrics := Table{Caption: fmt.Sprintf("%s: %d rows, %d positive (%.2f %%); %s bootstrap intervals over %d resamples of the rows",
		name, rep.Rows, rep.Positives, 100*rep.BaseRate, level, rep.BootstrapN),
		Header: []string{"metric", "value [interval]", "what it says"}}
	metrics.Rows = append(metrics.Rows,
		[]string{"AUC", CI(rep.AUC, 4), "chance that a positive outscores a negative (0.5 = random)"},
		[]string{"top-decile lift", CI(rep.TopDecile, 2), "positives in the top 10 % vs. random targeting"})
	if rep.LogLoss != nil {
		metrics.Rows = append(metrics.Rows,
			[]string{"log loss", CI(*rep.LogLoss, 4), "mean −log p(label); lower is better"},
			[]string{"Brier score", CI(*rep.Brier, 4), "mean (p − label)²; lower is better"},
			[]string{"ECE", CI(*rep.ECE, 4), "mean |predicted − observed| over probability bins"})
	}
	atk := Table{Caption: "precision and recall when targeting the top k rows", Header: []string{"k", "share of rows", "precision", "recall"}}
	for _, a := range rep.AtK {
		atk.Rows = append(atk.Rows, []string{fmt.Sprint(a.K), fmt.Sprintf("%.1f %%", 100*a.Depth), CI(a.Precision, 3), CI(a.Recall, 3)})
	}
	lift := Table{Caption: "lift by depth", Header: []string{"top share", "cumulative gain", "cumulative lift", "slice lift"}}
	var lx, ly []float64
	for _, r := range rep.Lift {
		lift.Rows = append(lift.Rows, []string{fmt.Sprintf("%.0f %%", 100*r.Depth), fmt.Sprintf("%.3f", r.CumGain),
			fmt.Sprintf("%.2f", r.CumLift), fmt.Sprintf("%.2f", r.SliceLift)})
		lx, ly = append(lx, r.Depth), append(ly, r.CumLift)
	}
	rx, ry := xy(rep.ROC)
	roc, err := Lines("ROC curve", "false-positive rate", "true-positive rate",
		Series{Name: fmt.Sprintf("%s (AUC %.3f)", name, rep.AUC.Estimate), X: rx, Y: ry}, diagonal)
	if err != nil {
		return nil, err
	}
	gx, gy := xy(rep.Gain)
	gain, err := Lines("Cumulative gain", "share of rows targeted (by score)", "share of positives captured",
		Series{Name: name, X: gx, Y: gy}, diagonal)
	if err != nil {
		return nil, err
	}
	liftPlot, err := Lines("Cumulative lift", "share of rows targeted (by score)", "lift",
		Series{Name: name, X: lx, Y: ly, Points: true}, Series{Name: "random", X: []float64{0, 1}, Y: []float64{1, 1}, Dashed: true})
	if err != nil {
		return nil, err
	}
	out := []Section{
		{Heading: name + ": quality", Tables: []Table{metrics, atk}},
		{Heading: name + ": ranking", Tables: []Table{lift}, Figures: []Figure{
			{Name: prefix + "roc", Caption: "ROC curve: each point is a score threshold.", Plot: roc},
			{Name: prefix + "gain", Caption: "Cumulative gain: targeting the top x share of rows captures the y share of positives.", Plot: gain},
			{Name: prefix + "lift", Caption: "Cumulative lift at each decile.", Plot: liftPlot},
		}},
	}
	if rep.Reliability != nil {
		var px, py []float64
		rel := Table{Caption: "reliability bins", Header: []string{"predicted", "rows", "mean predicted", "observed rate"}}
		for _, b := range rep.Reliability {
			rel.Rows = append(rel.Rows, []string{fmt.Sprintf("%.1f–%.1f", b.Lo, b.Hi), fmt.Sprint(b.Count),
				fmt.Sprintf("%.3f", b.MeanPredicted), fmt.Sprintf("%.3f", b.ObservedRate)})
			if b.Count > 0 {
				px, py = append(px, b.MeanPredicted), append(py, b.ObservedRate)
			}
		}
		p, err := Lines("Reliability", "mean predicted probability", "observed rate",
			Series{Name: fmt.Sprintf("%s (ECE %.3f)", name, rep.ECE.Estimate), X: px, Y: py, Points: true}, diagonal)
		if err != nil {
			return nil, err
		}
		out = append(out, Section{Heading: name + ": calibration", Tables: []Table{rel},
			Figures: []Figure{{Name: prefix + "reliability", Caption: "Reliability curve: a calibrated model's points lie on the diagonal.", Plot: p}}})
	}
	return out, nil
}
