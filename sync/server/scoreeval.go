package server

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"html/template"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/internal/svgchart"
)

// The ranking and calibration of each federated model version (issue 4, section 5), from the
// noisy score histograms of the federated rounds (fedround.go, scoreRows; sync/fed's package
// documentation has the privacy argument: they ride in the round's Gaussian query, at no extra ρ).
//
// A round on day d under the serving version v reports, per federated model, the noisy counts of
// its visitor-days' evaluation cells by (label, score bin); recordScores keeps them in v's
// evaluation record, one entry per day (a later round of the same day replaces it). The dashboard
// sums a version's days and computes, all post-processing of the noisy counts:
//
//   - the AUC of the binned scores, by the trapezoid over bins: Σ_b P_b·(N_<b + N_b/2) / (P·N), P_b
//     and N_b the positives and negatives in bin b (the noisy counts as they are: see binnedAUC). Its resolution: the exact AUC of the unbinned
//     scores of the same examples differs from it by at most half the tied share Σ_b P_b·N_b/(P·N)
//     (the pairs inside one bin, counted half); the bins are one logit wide (wire.ScoreBins).
//   - its noise: the standard deviation of the AUC over 200 redraws of every count with the noise
//     the counts carry (N(0, Σ_d σ_d²)), from a seed fixed by version and model (the same page
//     twice shows the same figure);
//   - a reliability curve: per bin with at least KAnonymity noisy examples (negative counts read as
//     0), the observed rate
//     P_b/(P_b+N_b) (± two noise standard deviations, by the delta method) against the bin's
//     predicted probability, σ of its central logit (−7.5 and 7.5 for the open end bins), and
//     the expected calibration error Σ_b (n_b/n)·|observed − predicted| over those bins. The
//     predicted value is the bin's centre, not the mean score of its examples (which the device
//     does not send): within a bin the predictions spread by up to σ(hi) − σ(lo).
//
// The examples are the visitors' own (one per visitor-day, the day's last before the drain), scored
// by weights fitted before that day: a held-out evaluation by construction.

// scoreBoots is the number of noise redraws behind a version's AUC noise.
const scoreBoots = 200

// recordScores keeps the noisy score histograms of a retraining's federated round with the
// evaluation of the version they were gathered under (the serving one, rep.Fed.Bundle). Failures
// are logged: the retraining itself is done.
func (s *Server) recordScores(ctx context.Context, site string, rep *RetrainReport) {
	fr := rep.Fed
	if fr == nil || !slices.ContainsFunc(fr.Models, func(m FedModelReport) bool { return m.Scores != nil }) {
		return
	}
	err := func() error {
		ve, err := s.evaluations(ctx, site, fr.Bundle)
		if err != nil || ve == nil {
			ve = &versionEvaluations{}
		}
		if ve.Scores == nil {
			ve.Scores = map[string][]ScoreReport{}
		}
		for _, m := range fr.Models {
			if m.Scores == nil {
				continue
			}
			days := slices.DeleteFunc(ve.Scores[m.Model], func(r ScoreReport) bool { return r.Day == m.Scores.Day })
			ve.Scores[m.Model] = append(days, *m.Scores)
		}
		b, err := json.Marshal(ve)
		if err != nil {
			return err
		}
		return s.st.SetSetting(ctx, evaluationSetting(site, fr.Bundle), string(b))
	}()
	if err != nil {
		s.log.Warn("retraining: recording the score histograms failed", "site", site, "version", fr.Bundle, "err", err)
	}
}

// scoreLine is one federated model's ranking and calibration under one version.
type scoreLine struct {
	Model                     string
	Days                      int
	N, Pos                    float64 // noisy examples and positives
	AUC, AUCSD, Tie, ECE      float64
	ECESD                     float64
	AUCText, ECEText, Resolve string
	Bins                      []reliabilityBin // the bins shown (n ≥ k)
	Hidden                    float64          // noisy examples in bins not shown
}

type reliabilityBin struct {
	Bin                        int
	Predicted, Observed, SD, N float64
	LoLogit, HiLogit           float64
}

// scoreLines computes the lines of a version's recorded histograms, models in name order.
func scoreLines(version uint64, scores map[string][]ScoreReport, k int64) []scoreLine {
	var out []scoreLine
	for _, model := range slices.Sorted(mapKeys(scores)) {
		days := scores[model]
		counts, vars := make([]float64, 2*wire.ScoreBins), make([]float64, 2*wire.ScoreBins)
		for _, d := range days {
			if len(d.Counts) != len(counts) {
				continue
			}
			for i, v := range d.Counts {
				counts[i] += v
				vars[i] += d.Sigma * d.Sigma
			}
		}
		l := scoreLine{Model: model, Days: len(days)}
		var tie float64
		l.AUC, tie, l.N, l.Pos = binnedAUC(counts)
		l.Tie = tie / 2
		h := fnv.New64a()
		h.Write([]byte(model))
		r := rand.New(rand.NewPCG(version, h.Sum64()))
		var a1, a2, e1, e2 float64
		draw := make([]float64, len(counts))
		for range scoreBoots {
			for i := range counts {
				draw[i] = counts[i] + math.Sqrt(vars[i])*r.NormFloat64()
			}
			a, _, _, _ := binnedAUC(draw)
			e := binnedECE(draw, k)
			a1, a2, e1, e2 = a1+a, a2+a*a, e1+e, e2+e*e
		}
		l.AUCSD = math.Sqrt(max(a2/scoreBoots-(a1/scoreBoots)*(a1/scoreBoots), 0))
		l.ECESD = math.Sqrt(max(e2/scoreBoots-(e1/scoreBoots)*(e1/scoreBoots), 0))
		var used, absErr float64
		for b := range wire.ScoreBins {
			neg, pos := max(counts[b], 0), max(counts[wire.ScoreBins+b], 0)
			n := neg + pos
			if n < float64(k) {
				l.Hidden += n
				continue
			}
			lo, hi := wire.ScoreBinLogits(b)
			rb := reliabilityBin{Bin: b, Predicted: binPredicted(b), Observed: pos / n, N: n, LoLogit: lo, HiLogit: hi}
			rb.SD = math.Sqrt(vars[b]*pos*pos+vars[wire.ScoreBins+b]*neg*neg) / (n * n)
			l.Bins = append(l.Bins, rb)
			used += n
			absErr += n * math.Abs(rb.Observed-rb.Predicted)
		}
		l.ECE = math.NaN()
		if used > 0 {
			l.ECE = absErr / used
		}
		l.AUCText = "n/a"
		if !math.IsNaN(l.AUC) {
			l.AUCText = strconv.FormatFloat(l.AUC, 'f', 3, 64) + " ± " + strconv.FormatFloat(l.AUCSD, 'f', 3, 64)
			l.Resolve = strconv.FormatFloat(l.Tie, 'f', 3, 64)
		}
		l.ECEText = "n/a"
		if !math.IsNaN(l.ECE) {
			l.ECEText = strconv.FormatFloat(l.ECE, 'f', 3, 64) + " ± " + strconv.FormatFloat(l.ECESD, 'f', 3, 64)
		}
		out = append(out, l)
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// binPredicted is the probability at bin b's central logit (7.5 from 0 for the open end bins).
func binPredicted(b int) float64 {
	lo, hi := wire.ScoreBinLogits(b)
	switch b {
	case 0:
		return detmath.Sigmoid(hi - 0.5)
	case wire.ScoreBins - 1:
		return detmath.Sigmoid(lo + 0.5)
	}
	return detmath.Sigmoid((lo + hi) / 2)
}

// binnedECE is the expected calibration error over the bins of at least k examples (negative
// counts read as 0); NaN when there is none.
func binnedECE(counts []float64, k int64) float64 {
	var used, absErr float64
	for b := range wire.ScoreBins {
		neg, pos := max(counts[b], 0), max(counts[wire.ScoreBins+b], 0)
		if n := neg + pos; n >= float64(k) && n > 0 {
			used += n
			absErr += math.Abs(pos - n*binPredicted(b))
		}
	}
	if used == 0 {
		return math.NaN()
	}
	return absErr / used
}

// binnedAUC is the trapezoid AUC of a histogram (label 0 by bin, then label 1 by bin), the tied
// share Σ_b P_b·N_b/(P·N), and the totals; NaN without both labels. The noisy counts are used as
// they are, negative ones too: numerator and denominator are sums of products of independent
// noisy counts, unbiased, where clamping at 0 would spread mass into the empty bins and pull the
// AUC towards ½. The tied share is computed on counts clamped at 0.
func binnedAUC(counts []float64) (auc, tie, n, pos float64) {
	var below, num, ties, neg float64
	for b := range wire.ScoreBins {
		nb, pb := counts[b], counts[wire.ScoreBins+b]
		num += pb * (below + nb/2)
		ties += max(pb, 0) * max(nb, 0)
		below += nb
		pos += pb
	}
	neg = below
	if pos <= 0 || neg <= 0 {
		return math.NaN(), math.NaN(), neg + pos, pos
	}
	return num / (pos * neg), ties / (pos * neg), neg + pos, pos
}

// scoreCharts draws the AUC of each version's federated models (± two noise standard deviations)
// and the reliability curve of the newest version that has one.
func scoreCharts(mvs []modelView) (auc, reliability template.HTML, err error) {
	var groups []svgchart.ForestGroup
	var newest *scoreLine
	var newestV uint64
	for i := len(mvs) - 1; i >= 0; i-- { // oldest first
		mv := mvs[i]
		if mv.Eval == nil {
			continue
		}
		for j := range mv.Eval.Scores {
			l := &mv.Eval.Scores[j]
			if math.IsNaN(l.AUC) {
				continue
			}
			groups = append(groups, svgchart.ForestGroup{Label: "v" + strconv.FormatUint(mv.Version, 10) + " · " + l.Model,
				Intervals: []svgchart.Interval{{Estimate: l.AUC, Lo: l.AUC - 2*l.AUCSD, Hi: l.AUC + 2*l.AUCSD}}})
			if len(l.Bins) > 0 {
				newest, newestV = l, mv.Version
			}
		}
	}
	if len(groups) > 0 {
		if auc, err = (svgchart.Forest{Title: "AUC of each version on the visitors it served (binned scores, ± 2 noise sd)",
			Series: []string{"AUC"}, Groups: groups, Ref: 0.5,
			Format: func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }, Width: 760}).Render(); err != nil {
			return "", "", err
		}
	}
	if newest != nil {
		var bins []svgchart.ForestGroup
		for _, b := range newest.Bins {
			label := "logit [" + fmtLogit(b.LoLogit) + ", " + fmtLogit(b.HiLogit) + ")"
			bins = append(bins, svgchart.ForestGroup{Label: label, Intervals: []svgchart.Interval{
				{Estimate: b.Observed, Lo: max(b.Observed-2*b.SD, 0), Hi: min(b.Observed+2*b.SD, 1)}, // a rate: within [0, 1]
				{Estimate: b.Predicted, Lo: b.Predicted, Hi: b.Predicted, Text: svgchart.Percent(b.Predicted)}}})
		}
		if reliability, err = (svgchart.Forest{Title: "Reliability of v" + strconv.FormatUint(newestV, 10) + " · " + newest.Model + ": observed conversion per score bin against predicted",
			Series: []string{"observed (± 2 noise sd)", "predicted (bin centre)"}, Groups: bins, NoRef: true,
			Format: svgchart.Percent, Width: 760}).Render(); err != nil {
			return "", "", err
		}
	}
	return auc, reliability, nil
}

func fmtLogit(v float64) string {
	switch {
	case math.IsInf(v, -1):
		return "−∞"
	case math.IsInf(v, 1):
		return "∞"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
