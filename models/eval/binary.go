package eval

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
)

// Point is one point of a curve (ROC, cumulative gain).
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Bin is one bin of a reliability curve: the rows whose predicted probability falls in [Lo, Hi)
// (the last bin includes 1), their mean prediction and the share of them that were positive.
type Bin struct {
	Lo            float64 `json:"lo"`
	Hi            float64 `json:"hi"`
	Count         int     `json:"count"`
	MeanPredicted float64 `json:"mean_predicted"`
	ObservedRate  float64 `json:"observed_rate"`
}

// LiftRow describes the top Depth share of rows ranked by score: the share of all positives they
// hold (cumulative gain), that gain divided by Depth (cumulative lift: how many times better than
// targeting at random), and the lift of the slice between the previous row's depth and this one.
type LiftRow struct {
	Depth     float64 `json:"depth"`
	CumGain   float64 `json:"cumulative_gain"`
	CumLift   float64 `json:"cumulative_lift"`
	SliceLift float64 `json:"slice_lift"`
}

// check validates a binary evaluation set: same non-zero length, labels 0 or 1, finite scores, and
// with probs, scores in [0, 1]. Metrics on a mislabelled set would be quietly wrong, so it refuses.
func check(scores, labels []float64, probs bool) error {
	if len(scores) != len(labels) {
		return errors.New("eval: " + strconv.Itoa(len(scores)) + " scores for " + strconv.Itoa(len(labels)) + " labels")
	}
	if len(scores) == 0 {
		return errors.New("eval: no rows")
	}
	for i, y := range labels {
		if y != 0 && y != 1 {
			return errors.New("eval: label " + strconv.Itoa(i) + " is " + strconv.FormatFloat(y, 'g', -1, 64) + ", want 0 or 1")
		}
		s := scores[i]
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return errors.New("eval: score " + strconv.Itoa(i) + " is not finite")
		}
		if probs && (s < 0 || s > 1) {
			return errors.New("eval: score " + strconv.Itoa(i) + " is " + strconv.FormatFloat(s, 'g', -1, 64) + ", not a probability")
		}
	}
	return nil
}

// bothClasses reports an error unless labels hold a positive and a negative: AUC, ROC and gain
// are undefined otherwise.
func bothClasses(labels []float64) error {
	pos := 0
	for _, y := range labels {
		if y == 1 {
			pos++
		}
	}
	if pos == 0 || pos == len(labels) {
		return errors.New("eval: the labels hold one class only (" + strconv.Itoa(pos) + " positives of " + strconv.Itoa(len(labels)) + ")")
	}
	return nil
}

// weight returns row i's weight: 1 without weights, its bootstrap multiplicity otherwise.
func weight(w []float64, i int) float64 {
	if w == nil {
		return 1
	}
	return w[i]
}

// ascending returns the row indices sorted by increasing score (ties by index, which no metric
// here depends on: tied rows are always handled as one group).
func ascending(scores []float64) []int {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(scores[a], scores[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return order
}

// tieGroups calls f for each group of equal scores, in the order of order, with the group's
// weighted count of positives and negatives.
func tieGroups(scores, labels, w []float64, order []int, f func(pos, neg float64)) {
	for i := 0; i < len(order); {
		var pos, neg float64
		j := i
		for ; j < len(order) && scores[order[j]] == scores[order[i]]; j++ {
			k := order[j]
			if labels[k] == 1 {
				pos += weight(w, k)
			} else {
				neg += weight(w, k)
			}
		}
		f(pos, neg)
		i = j
	}
}

// aucSorted is the weighted Mann-Whitney statistic over rows sorted by ascending score: the
// probability that a random positive outscores a random negative, ties counting one half. It is
// NaN when a class has no weight.
func aucSorted(scores, labels, w []float64, order []int) float64 {
	var below, pos, sum float64
	tieGroups(scores, labels, w, order, func(gp, gn float64) {
		sum += gp * (below + gn/2)
		below += gn
		pos += gp
	})
	if pos == 0 || below == 0 {
		return math.NaN()
	}
	return sum / (pos * below)
}

// AUC returns the area under the ROC curve: the probability that a randomly drawn positive row
// scores higher than a randomly drawn negative one, a tie counting one half (Hanley & McNeil 1982,
// "The meaning and use of the area under a receiver operating characteristic (ROC) curve",
// Radiology 143:29–36). It depends only on the ranking, so it judges a score before calibration.
func AUC(scores, labels []float64) (float64, error) {
	if err := check(scores, labels, false); err != nil {
		return 0, err
	}
	if err := bothClasses(labels); err != nil {
		return 0, err
	}
	return aucSorted(scores, labels, nil, ascending(scores)), nil
}

// curve walks the rows by decreasing score and returns, at the end of every tie group, the
// cumulative share of negatives (roc) or of all rows (gain) on X against the share of positives
// captured on Y, from (0, 0) to (1, 1). Straight lines between the points are exact for ties:
// they are the expectation over a random order within the group.
func curve(scores, labels, w []float64, order []int, roc bool) []Point {
	var totPos, totNeg float64
	for i, y := range labels {
		if y == 1 {
			totPos += weight(w, i)
		} else {
			totNeg += weight(w, i)
		}
	}
	desc := slices.Clone(order)
	slices.Reverse(desc)
	pts := []Point{{0, 0}}
	var pos, neg float64
	tieGroups(scores, labels, w, desc, func(gp, gn float64) {
		pos += gp
		neg += gn
		x := (pos + neg) / (totPos + totNeg)
		if roc {
			x = neg / totNeg
		}
		pts = append(pts, Point{x, pos / totPos})
	})
	pts[len(pts)-1] = Point{1, 1} // exactly, whatever the rounding of the sums
	return pts
}

// ROC returns the ROC curve (false-positive rate, true-positive rate), one point per distinct
// score from the highest down.
func ROC(scores, labels []float64) ([]Point, error) {
	if err := check(scores, labels, false); err != nil {
		return nil, err
	}
	if err := bothClasses(labels); err != nil {
		return nil, err
	}
	return curve(scores, labels, nil, ascending(scores), true), nil
}

// Gain returns the cumulative gain curve: targeting the top X share of rows by score captures the
// Y share of all positives. The diagonal is random targeting; the lift at depth X is Y/X.
func Gain(scores, labels []float64) ([]Point, error) {
	if err := check(scores, labels, false); err != nil {
		return nil, err
	}
	if err := bothClasses(labels); err != nil {
		return nil, err
	}
	return curve(scores, labels, nil, ascending(scores), false), nil
}

// interpolate returns the piecewise-linear curve's Y at x (curve X non-decreasing from 0 to 1).
func interpolate(pts []Point, x float64) float64 {
	if x <= 0 {
		return 0
	}
	k, _ := slices.BinarySearchFunc(pts, x, func(p Point, x float64) int { return cmp.Compare(p.X, x) })
	if k >= len(pts) {
		return 1
	}
	if pts[k].X == x || k == 0 {
		return pts[k].Y
	}
	a, b := pts[k-1], pts[k]
	return a.Y + (b.Y-a.Y)*(x-a.X)/(b.X-a.X)
}

// liftTable evaluates the gain curve at depths 1/groups, 2/groups, … 1.
func liftTable(gain []Point, groups int) []LiftRow {
	rows := make([]LiftRow, groups)
	prev := 0.0
	for g := range groups {
		d := float64(g+1) / float64(groups)
		y := interpolate(gain, d)
		rows[g] = LiftRow{Depth: d, CumGain: y, CumLift: y / d, SliceLift: (y - prev) * float64(groups)}
		prev = y
	}
	return rows
}

// Lift returns the lift table at depths 1/groups … 1 (deciles for 10): the cumulative gain and
// lift of targeting the top share of rows by score, and the lift of each slice on its own.
func Lift(scores, labels []float64, groups int) ([]LiftRow, error) {
	if groups < 1 {
		return nil, errors.New("eval: lift needs at least one group")
	}
	g, err := Gain(scores, labels)
	if err != nil {
		return nil, err
	}
	return liftTable(g, groups), nil
}

// PrecisionRecallAtK returns the precision and recall of targeting the k rows with the highest
// scores (k is capped at the number of rows). When k falls inside a group of tied scores, the
// group counts in proportion, the expectation over a random order of the tied rows.
func PrecisionRecallAtK(scores, labels []float64, k int) (precision, recall float64, err error) {
	if k < 1 {
		return 0, 0, errors.New("eval: k must be at least 1")
	}
	g, err := Gain(scores, labels)
	if err != nil {
		return 0, 0, err
	}
	n := len(scores)
	k = min(k, n)
	pos := 0.0
	for _, y := range labels {
		pos += y
	}
	hit := interpolate(g, float64(k)/float64(n)) * pos
	return hit / float64(k), hit / pos, nil
}

// logLossW is the weighted mean log loss; probabilities are clipped to [1e-15, 1−1e-15] so that
// one confident mistake costs a large but finite amount (the convention of scikit-learn).
func logLossW(probs, labels, w []float64) float64 {
	const eps = 1e-15
	var s, sw float64
	for i, p := range probs {
		p = math.Min(math.Max(p, eps), 1-eps)
		l := -math.Log(1 - p)
		if labels[i] == 1 {
			l = -math.Log(p)
		}
		s += weight(w, i) * l
		sw += weight(w, i)
	}
	return s / sw
}

// brierW is the weighted mean squared error of the probabilities.
func brierW(probs, labels, w []float64) float64 {
	var s, sw float64
	for i, p := range probs {
		d := p - labels[i]
		s += weight(w, i) * d * d
		sw += weight(w, i)
	}
	return s / sw
}

// LogLoss returns the mean negative log-likelihood of the labels under the probabilities, in nats
// (Good 1952): the proper scoring rule that logistic regression minimises.
func LogLoss(probs, labels []float64) (float64, error) {
	if err := check(probs, labels, true); err != nil {
		return 0, err
	}
	return logLossW(probs, labels, nil), nil
}

// Brier returns the mean squared difference between probability and label (Brier 1950, "Verification
// of forecasts expressed in terms of probability", Monthly Weather Review 78(1):1–3): a proper score
// that, unlike log loss, stays bounded when a model is confidently wrong.
func Brier(probs, labels []float64) (float64, error) {
	if err := check(probs, labels, true); err != nil {
		return 0, err
	}
	return brierW(probs, labels, nil), nil
}

// reliabilityW bins the rows by predicted probability into equal-width bins and returns the bins
// and the expected calibration error Σ_b (n_b/N)·|mean predicted_b − observed rate_b| (Naeini,
// Cooper & Hauskrecht 2015, "Obtaining well calibrated probabilities using Bayesian binning",
// AAAI'15). Counts are weighted; Count is the weighted count rounded.
func reliabilityW(probs, labels, w []float64, bins int) ([]Bin, float64) {
	sumP := make([]float64, bins)
	sumY := make([]float64, bins)
	cnt := make([]float64, bins)
	tot := 0.0
	for i, p := range probs {
		b := min(int(p*float64(bins)), bins-1)
		wi := weight(w, i)
		sumP[b] += wi * p
		sumY[b] += wi * labels[i]
		cnt[b] += wi
		tot += wi
	}
	out := make([]Bin, bins)
	ece := 0.0
	for b := range bins {
		out[b] = Bin{Lo: float64(b) / float64(bins), Hi: float64(b+1) / float64(bins), Count: int(math.Round(cnt[b]))}
		if cnt[b] > 0 {
			out[b].MeanPredicted = sumP[b] / cnt[b]
			out[b].ObservedRate = sumY[b] / cnt[b]
			ece += cnt[b] / tot * math.Abs(out[b].MeanPredicted-out[b].ObservedRate)
		}
	}
	return out, ece
}

// Reliability returns the reliability curve of the probabilities over bins equal-width bins of
// [0, 1] and the expected calibration error (ECE). A calibrated model's bins lie on the diagonal:
// of the visitors given 30 %, about 30 % convert, which is what a probability band such as
// "52–60 %" in a campaign rule relies on.
func Reliability(probs, labels []float64, bins int) ([]Bin, float64, error) {
	if bins < 1 {
		return nil, 0, errors.New("eval: reliability needs at least one bin")
	}
	if err := check(probs, labels, true); err != nil {
		return nil, 0, err
	}
	b, ece := reliabilityW(probs, labels, nil, bins)
	return b, ece, nil
}

// gainAtW is the weighted cumulative gain at depth d (a share of the total weight), the value of
// curve(…, false) interpolated at d, computed without building the curve: it walks the tie groups
// from the top score down and stops at the group that crosses d.
func gainAtW(scores, labels, w []float64, order []int, d float64) float64 {
	var totPos, tot float64
	for i, y := range labels {
		tot += weight(w, i)
		totPos += weight(w, i) * y
	}
	if totPos == 0 {
		return math.NaN()
	}
	target := d * tot
	var cum, pos float64
	for i := len(order) - 1; i >= 0; {
		var gp, gn float64
		j := i
		for ; j >= 0 && scores[order[j]] == scores[order[i]]; j-- {
			k := order[j]
			if labels[k] == 1 {
				gp += weight(w, k)
			} else {
				gn += weight(w, k)
			}
		}
		if g := gp + gn; cum+g >= target {
			if g > 0 {
				pos += gp * (target - cum) / g
			}
			return pos / totPos
		}
		cum += gp + gn
		pos += gp
		i = j
	}
	return 1
}
