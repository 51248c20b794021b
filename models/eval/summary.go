package eval

import (
	"errors"
	"math"
)

// BinaryOptions tune Binary. The zero value gives 10 reliability bins, deciles for lift, precision
// and recall at the top 1, 5, 10 and 20 % of rows, and the default bootstrap.
type BinaryOptions struct {
	Bins      int       // reliability bins; 0 means 10
	Groups    int       // lift-table groups; 0 means 10 (deciles)
	Depths    []float64 // shares of rows for precision/recall at k; nil means 0.01, 0.05, 0.1, 0.2
	Bootstrap BootstrapOptions
}

// AtK is precision and recall when targeting the top K rows (Depth of all rows).
type AtK struct {
	K         int      `json:"k"`
	Depth     float64  `json:"depth"`
	Precision Interval `json:"precision"`
	Recall    Interval `json:"recall"`
}

// BinaryReport is the evaluation of one binary classifier on one held-out set. The probability
// metrics (LogLoss, Brier, ECE, Reliability) are present only when every score is in [0, 1].
type BinaryReport struct {
	Rows      int     `json:"rows"`
	Positives int     `json:"positives"`
	BaseRate  float64 `json:"base_rate"`

	AUC           Interval  `json:"auc"`
	LogLoss       *Interval `json:"log_loss,omitempty"`
	Brier         *Interval `json:"brier,omitempty"`
	ECE           *Interval `json:"ece,omitempty"`
	TopDecile     Interval  `json:"top_decile_lift"` // cumulative lift of the top 10 %
	Reliability   []Bin     `json:"reliability,omitempty"`
	ROC           []Point   `json:"roc"`
	Gain          []Point   `json:"gain"`
	Lift          []LiftRow `json:"lift"`
	AtK           []AtK     `json:"at_k"`
	BootstrapN    int       `json:"bootstrap_replicates"`
	Level         float64   `json:"confidence_level"`
	BootstrapSeed uint64    `json:"bootstrap_seed"`
}

// Binary evaluates scores against 0/1 labels: AUC, log loss, Brier score, ECE, top-decile lift
// and precision/recall at k, each with a bootstrap interval over rows (one seeded resample stream
// shared by every metric, so the intervals of one report are mutually consistent), plus the ROC,
// gain, lift and reliability curves on the full set. The rows are sorted once; each replicate
// costs a few passes over them.
func Binary(scores, labels []float64, opt BinaryOptions) (*BinaryReport, error) {
	if err := check(scores, labels, false); err != nil {
		return nil, err
	}
	if err := bothClasses(labels); err != nil {
		return nil, err
	}
	bins, groups := opt.Bins, opt.Groups
	if bins == 0 {
		bins = 10
	}
	if groups == 0 {
		groups = 10
	}
	if bins < 1 || groups < 1 {
		return nil, errors.New("eval: bins and groups must be positive")
	}
	depths := opt.Depths
	if depths == nil {
		depths = []float64{0.01, 0.05, 0.1, 0.2}
	}
	bo, err := opt.Bootstrap.norm()
	if err != nil {
		return nil, err
	}
	n := len(scores)
	order := ascending(scores)
	rep := &BinaryReport{Rows: n, BootstrapN: max(bo.Reps, 0), Level: bo.Level, BootstrapSeed: bo.Seed}
	for _, y := range labels {
		rep.Positives += int(y)
	}
	rep.BaseRate = float64(rep.Positives) / float64(n)
	probs := check(scores, labels, true) == nil

	// Bootstrap is called once per metric with the same options, hence on the same resamples.
	boot := func(stat func(w []float64) float64) (Interval, error) {
		return Bootstrap(n, bo, stat)
	}
	if rep.AUC, err = boot(func(w []float64) float64 { return aucSorted(scores, labels, w, order) }); err != nil {
		return nil, err
	}
	gainAt := func(w []float64, d float64) float64 { return gainAtW(scores, labels, w, order, d) }
	if rep.TopDecile, err = boot(func(w []float64) float64 { return gainAt(w, 0.1) / 0.1 }); err != nil {
		return nil, err
	}
	if probs {
		ll, err := boot(func(w []float64) float64 { return logLossW(scores, labels, w) })
		if err != nil {
			return nil, err
		}
		br, err := boot(func(w []float64) float64 { return brierW(scores, labels, w) })
		if err != nil {
			return nil, err
		}
		ece, err := boot(func(w []float64) float64 { _, e := reliabilityW(scores, labels, w, bins); return e })
		if err != nil {
			return nil, err
		}
		rep.LogLoss, rep.Brier, rep.ECE = &ll, &br, &ece
		rep.Reliability, _ = reliabilityW(scores, labels, nil, bins)
	}
	rep.ROC = curve(scores, labels, nil, order, true)
	rep.Gain = curve(scores, labels, nil, order, false)
	rep.Lift = liftTable(rep.Gain, groups)
	for _, d := range depths {
		if !(d > 0 && d <= 1) {
			return nil, errors.New("eval: precision/recall depths must be in (0, 1]")
		}
		k := max(1, int(math.Round(d*float64(n))))
		dk := float64(k) / float64(n)
		a := AtK{K: k, Depth: dk}
		// Precision = captured positives / targeted rows; recall = captured / all positives.
		prec := func(w []float64) float64 {
			var pos, tot float64
			for i, y := range labels {
				pos += weight(w, i) * y
				tot += weight(w, i)
			}
			return gainAt(w, dk) * pos / (dk * tot)
		}
		if a.Precision, err = boot(prec); err != nil {
			return nil, err
		}
		if a.Recall, err = boot(func(w []float64) float64 { return gainAt(w, dk) }); err != nil {
			return nil, err
		}
		rep.AtK = append(rep.AtK, a)
	}
	return rep, nil
}
