package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/fed"
	"github.com/presage-dev/presage/sync/store"
)

// Federated learning on the sync server (issue 4, section 2; sync/fed is the mathematics, and its
// package documentation the privacy argument).
//
// At ingest, a batch's model updates are kept only when they were gathered under the bundle the
// site serves now (the only weights a round can step from), and only after fed.CheckUpdates has
// checked them against that bundle and clipped them to its bound C; otherwise they are dropped and
// the batch's cells still count. The store sums them per bundle version × day × model × share in
// the transaction that counts the batch (exactly once).
//
// Each retraining then runs one round (fedRound) for the serving bundle's federated models: the
// most recent complete day of the window with updates under the serving version; the models whose
// training and held-back shares each have at least KAnonymity batches; the day's privacy charged
// in the store before any noise is drawn (refused past the budget: the round does nothing, the
// serving weights stay); one noisy step with the held-back check (fed.Config.CheckHeldBack); the
// stepped models' weights put in the candidate bundle.
//
// # Held-back evidence
//
// The server never sees a label, only sums of log-loss gradients. One batch in five
// (store.HeldBack, by its id) is kept apart: its updates are gradients at the same serving weights
// from visitor-days the step does not learn from. They are noised like the rest (one query: a
// visitor-day's updates split across the shares still have joint norm ≤ C, so the round costs the
// same ρ), and a step β → β' is refused when the first-order change of the held-back mean log loss,
// ĝ_H·(β' − β), is positive by more than two standard errors of the noise. Limits: it checks that
// the step points downhill on held-back data, to first order, not that its length does not
// overshoot (the curvature is not measured); the shares are disjoint in batches, not in visitors
// (a visitor whose day spans several drains can be in both, which makes the check a little
// optimistic); a fifth of the evidence is not learned from; and the check is noisy: with a small
// held-back cohort it passes almost any step (the tolerance grows as σ/n̂_H), and a held-back
// cohort below the minimum refuses the step.

// Outcomes of a federated round (FedReport.Outcome).
const (
	FedApplied = "applied" // some model moved: the candidate has new weights
	FedRefused = "refused" // the budget, a cohort or the held-back check stopped every model
	FedSkipped = "skipped" // nothing to learn from: no federated model, no updates, too few batches
)

// FedReport is what the federated round of a retraining did.
type FedReport struct {
	Outcome    string           `json:"outcome"`
	Reason     string           `json:"reason,omitempty"`
	Day        int32            `json:"day,omitempty"` // the Unix day of the updates
	Bundle     uint64           `json:"bundle"`        // the version they were gathered under
	Rho        float64          `json:"rho,omitempty"` // zCDP charged by this round
	DayRho     float64          `json:"day_rho,omitempty"`
	DayEpsilon float64          `json:"day_epsilon,omitempty"` // the day's spending so far, as ε at the budget's δ
	Sigma      float64          `json:"sigma,omitempty"`
	Models     []FedModelReport `json:"models,omitempty"`
}

// FedModelReport is one federated model's part of a round. The counts are the noisy ones; the
// batches are raw (k-anonymity threshold), for the operator.
type FedModelReport struct {
	Model         string  `json:"model"`
	Batches       int64   `json:"batches"`
	HeldBatches   int64   `json:"held_batches"`
	NoisyCount    float64 `json:"noisy_count,omitempty"`
	HeldCount     float64 `json:"held_noisy_count,omitempty"`
	HeldChange    float64 `json:"held_loss_change,omitempty"` // first-order change of the held-back mean log loss
	HeldTolerance float64 `json:"held_tolerance,omitempty"`
	Applied       bool    `json:"applied"`
	Regression    bool    `json:"regression,omitempty"`
	Reason        string  `json:"reason,omitempty"`
	// Scores is the noisy score histogram of the serving version on the round's day, when at least
	// KAnonymity evaluation cells are behind it.
	Scores *ScoreReport `json:"scores,omitempty"`
}

// ScoreReport is a federated model's noisy score histogram of one day under one bundle version.
type ScoreReport struct {
	Day    int32     `json:"day"`
	Counts []float64 `json:"counts"` // 2·wire.ScoreBins: label 0 by bin, then label 1 by bin
	Sigma  float64   `json:"sigma"`  // the noise sd of each count
}

// splitScores separates the score rows (scoreSuffix) of base's federated models from the updates,
// and sums each model's over both shares.
func splitScores(base *models.Bundle, ups []store.FedUpdate) ([]store.FedUpdate, map[string][]float64) {
	scores := map[string][]float64{}
	var rest []store.FedUpdate
	for _, u := range ups {
		name, ok := strings.CutSuffix(u.Model, scoreSuffix)
		if !ok || len(u.Sum) != 2*wire.ScoreBins || !slices.ContainsFunc(base.Propensity, func(lr models.Logistic) bool { return lr.Fed != nil && lr.Name == name }) {
			rest = append(rest, u)
			continue
		}
		h := scores[name]
		if h == nil {
			h = make([]float64, 2*wire.ScoreBins)
			scores[name] = h
		}
		for i, v := range u.Sum {
			h[i] += v
		}
	}
	return rest, scores
}

// rawCells is the number of evaluation cells in a raw histogram.
func rawCells(h []float64) int64 {
	var n float64
	for _, v := range h {
		n += v
	}
	return int64(math.Round(n))
}

// reasonFewBatches: a model's share had fewer batches than the k-anonymity threshold.
const reasonFewBatches = "fewer batches than the k-anonymity threshold in the training or the held-back share"

// fedRound runs the federated round of a retraining of site from base, the serving bundle. It
// returns the report (nil when base has no federated model) and base's propensity models with the
// stepped weights, or nil when none moved.
func (s *Server) fedRound(ctx context.Context, site string, base *models.Bundle, today int32) (*FedReport, []models.Logistic, error) {
	if !slices.ContainsFunc(base.Propensity, func(lr models.Logistic) bool { return lr.Fed != nil }) {
		return nil, nil, nil
	}
	rc := s.cfg.Retrain
	fr := &FedReport{Bundle: base.Version, Outcome: FedSkipped}
	var ups []store.FedUpdate
	for d := today - 1; d > today-rc.WindowDays && ups == nil; d-- {
		u, err := s.st.FedUpdates(ctx, site, base.Version, d, d)
		if err != nil {
			return nil, nil, err
		}
		if len(u) > 0 {
			ups, fr.Day = u, d
		}
	}
	if ups == nil {
		fr.Reason = "no model updates under the serving bundle on a complete day of the window"
		return fr, nil, nil
	}
	ups, scores := splitScores(base, ups)
	cfg := rc.Fed
	cfg.CheckHeldBack = true
	noise := rc.FedNoise
	if noise == nil {
		noise = fed.NewNoise()
	}
	tr, err := fed.NewTrainer(cfg, noise)
	if err != nil {
		return nil, nil, fmt.Errorf("server: federated round: %w", err)
	}
	round, err := tr.NewRound(base, fr.Day)
	if err != nil {
		return nil, nil, fmt.Errorf("server: federated round: %w", err)
	}
	// The k-anonymity threshold on raw batches, per model and share.
	byModel := map[string]*FedModelReport{}
	for _, u := range ups {
		m := byModel[u.Model]
		if m == nil {
			m = &FedModelReport{Model: u.Model}
			byModel[u.Model] = m
		}
		if u.HeldBack {
			m.HeldBatches += u.Batches
		} else {
			m.Batches += u.Batches
		}
	}
	enough := func(m *FedModelReport) bool {
		return m != nil && m.Batches >= s.cfg.KAnonymity && m.HeldBatches >= s.cfg.KAnonymity
	}
	for _, m := range byModel {
		if !enough(m) {
			m.Reason = reasonFewBatches
		}
	}
	if !slices.ContainsFunc(ups, func(u store.FedUpdate) bool { return enough(byModel[u.Model]) }) {
		fr.Reason = reasonFewBatches
		fr.Models = fedModels(base, byModel)
		return fr, nil, nil
	}
	for _, u := range ups {
		if !enough(byModel[u.Model]) {
			continue
		}
		if err := round.AddSum(u.Model, u.Sum, float64(u.Visitors), int(u.Batches), u.HeldBack); err != nil {
			// Stored sums were checked against this bundle at ingest: a mismatch is a bug or a
			// tampered database; the round cannot be trusted.
			return nil, nil, fmt.Errorf("server: federated round: stored updates of %q: %w", u.Model, err)
		}
	}
	for model, h := range scores {
		if !enough(byModel[model]) {
			continue
		}
		if err := round.AddScores(model, h); err != nil {
			return nil, nil, fmt.Errorf("server: federated round: stored score histogram of %q: %w", model, err)
		}
	}
	// Charge the day in the store first: that is the ledger every node shares.
	eps, delta, budget := tr.Accountant().Budget()
	rho := budget / float64(max(cfg.RoundsPerDay, 1))
	fr.Rho = rho
	l, err := s.st.ChargePrivacy(ctx, site, fr.Day, rho, budget)
	if errors.Is(err, store.ErrBudget) {
		fr.Outcome = FedRefused
		fr.Reason = fmt.Sprintf("day %d has spent its privacy budget (ε = %g, δ = %g per visitor per day): the round is refused", fr.Day, eps, delta)
		fr.Models = fedModels(base, byModel)
		fr.Rho = 0
		return fr, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	fr.DayRho, fr.DayEpsilon = l.Rho, fed.Epsilon(l.Rho, delta)
	next, rep, err := round.Apply()
	if err != nil {
		return nil, nil, fmt.Errorf("server: federated round: %w", err)
	}
	fr.Sigma = rep.Sigma
	moved := false
	props := slices.Clone(base.Propensity)
	for _, mr := range rep.Models {
		m := byModel[mr.Name]
		if m == nil { // no update of this model on that day
			m = &FedModelReport{Model: mr.Name, Reason: "no updates"}
			byModel[mr.Name] = m
		}
		if !enough(m) {
			continue // not in the round: whatever the noise did is not applied
		}
		m.NoisyCount, m.HeldCount, m.HeldChange, m.HeldTolerance = mr.NoisyCount, mr.HeldCount, mr.HeldChange, mr.HeldTolerance
		m.Applied, m.Regression, m.Reason = mr.Applied, mr.Regression, mr.Reason
		if n := rawCells(scores[mr.Name]); n >= s.cfg.KAnonymity {
			m.Scores = &ScoreReport{Day: fr.Day, Counts: mr.Scores, Sigma: rep.Sigma}
		}
		if mr.Applied {
			i := slices.IndexFunc(props, func(lr models.Logistic) bool { return lr.Name == mr.Name })
			props[i] = next.Propensity[i]
			moved = true
		}
	}
	fr.Models = fedModels(base, byModel)
	if !moved {
		fr.Outcome, fr.Reason = FedRefused, "no model was stepped (see models)"
		return fr, nil, nil
	}
	fr.Outcome = FedApplied
	return fr, props, nil
}

// fedModels lists the reports of base's federated models in the bundle's order.
func fedModels(base *models.Bundle, byModel map[string]*FedModelReport) []FedModelReport {
	var out []FedModelReport
	for _, lr := range base.Propensity {
		if lr.Fed == nil {
			continue
		}
		if m := byModel[lr.Name]; m != nil {
			out = append(out, *m)
		} else {
			out = append(out, FedModelReport{Model: lr.Name, Reason: "no updates"})
		}
	}
	return out
}

// logFed logs a federated round.
func (s *Server) logFed(site string, fr *FedReport) {
	if fr == nil {
		return
	}
	s.log.Info("federated round", "site", site, "outcome", fr.Outcome, "reason", fr.Reason, "day", fr.Day,
		"bundle", fr.Bundle, "rho", fr.Rho, "day_epsilon", fr.DayEpsilon, "sigma", fr.Sigma)
	for _, m := range fr.Models {
		log := s.log.Info
		if m.Regression {
			log = s.log.Warn
		}
		log("federated model", "site", site, "model", m.Model, "applied", m.Applied, "regression", m.Regression,
			"reason", m.Reason, "held_loss_change", m.HeldChange, "tolerance", m.HeldTolerance)
	}
}

// ledgerView is the answer of GET /v1/admin/privacy: the privacy ledger of federated learning.
type ledgerView struct {
	Site string `json:"site"`
	From string `json:"from"`
	To   string `json:"to"`
	// The budget per visitor per day, and its ρ (zCDP).
	Epsilon   float64     `json:"epsilon"`
	Delta     float64     `json:"delta"`
	BudgetRho float64     `json:"budget_rho"`
	Days      []ledgerDay `json:"days"`
	// A visitor who contributed on every listed day has lost at most TotalEpsilon (at δ).
	TotalRho     float64 `json:"total_rho"`
	TotalEpsilon float64 `json:"total_epsilon"`
}

type ledgerDay struct {
	Day     string  `json:"day"`
	Rounds  int64   `json:"rounds"`
	Rho     float64 `json:"rho"`
	Epsilon float64 `json:"epsilon"`
}

// privacy is GET /v1/admin/privacy?site=S&from=&to=.
func (s *Server) privacy(w http.ResponseWriter, r *http.Request, site string) {
	from, to, ok := s.dayRange(w, r.URL.Query())
	if !ok {
		return
	}
	v, err := s.ledger(r.Context(), site, from, to)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// ledger reads a site's privacy ledger over days [from, to] (the API's and the dashboard's).
func (s *Server) ledger(ctx context.Context, site string, from, to int32) (ledgerView, error) {
	v := ledgerView{Site: site, From: dayString(from), To: dayString(to), Days: []ledgerDay{}}
	l, err := s.st.PrivacyLedger(ctx, site, from, to)
	if err != nil {
		return v, err
	}
	acc, err := fed.NewAccountant(cmp.Or(s.cfg.Retrain.Fed.Epsilon, fed.DefaultEpsilon), cmp.Or(s.cfg.Retrain.Fed.Delta, fed.DefaultDelta))
	if err != nil {
		return v, err
	}
	v.Epsilon, v.Delta, v.BudgetRho = acc.Budget()
	for _, d := range l {
		v.Days = append(v.Days, ledgerDay{Day: dayString(d.Day), Rounds: d.Rounds, Rho: d.Rho, Epsilon: fed.Epsilon(d.Rho, v.Delta)})
		v.TotalRho += d.Rho
	}
	v.TotalEpsilon = fed.Epsilon(v.TotalRho, v.Delta)
	return v, nil
}

// Ingest's part: the updates a batch may keep.

// Reasons a batch's updates are dropped at ingest (presage_ingest_updates_dropped_total).
const (
	dropStale   = "stale_bundle" // not gathered under the bundle the site serves now
	dropInvalid = "invalid"      // do not fit that bundle's federated models (fed.CheckUpdates)
)

// checkUpdates keeps b's updates only if they were gathered under the bundle site serves now and
// fit it, clipped to its bound C (fed.CheckUpdates); otherwise it drops them, and the batch's cells
// still count. The evaluation cells of the updates kept become score rows (scoreRows).
func (s *Server) checkUpdates(ctx context.Context, b *wire.Batch) {
	if len(b.Updates) == 0 {
		return
	}
	reason := dropStale
	if cur, err := s.bundles.get(ctx, b.Site); err == nil && cur != nil && cur.version == b.Bundle {
		reason = ""
		if fb := cur.decoded(); fb == nil || fed.CheckUpdates(fb, b) != nil {
			reason = dropInvalid
		}
	}
	if reason != "" {
		b.Updates = nil
		s.m.updatesDropped.WithLabelValues(reason).Inc()
		return
	}
	scoreRows(b)
}

// Score histograms (the dashboard's AUC and calibration of each federated model version).
//
// A kept update's evaluation cell (wire.ModelUpdate.Cell, one of the visitor-day's examples: its
// score bin at the serving weights and its label) is stored as one more update row of the batch,
// model name + scoreSuffix, whose vector is the cell as a one-hot of 2·wire.ScoreBins counts
// (label 0 by bin, then label 1 by bin): the store sums it per bundle version × day × share like
// the gradients, in the same transaction, exactly once. A cell is kept only in an update of Count
// 1 (a visitor's first of the day), so that a visitor-day adds at most one count per model. The
// federated round reads the rows of its day back (both shares), adds them to its Gaussian query
// (fed.Round.AddScores: the sensitivity grows from √(C² + M) to √(C² + 2M), the day's ρ does not
// change) and reports the noisy histogram, which recordScores keeps with the serving version's
// evaluation. Nothing of it is shown unless the raw number of cells behind it reaches the
// k-anonymity threshold.
const scoreSuffix = "#scores"

// scoreRows moves the kept updates' evaluation cells into score rows.
func scoreRows(b *wire.Batch) {
	for i := range b.Updates {
		u := &b.Updates[i]
		bin, y, ok := wire.ScoreBin(u.Cell)
		if ok && u.Count == 1 {
			v := make([]float32, 2*wire.ScoreBins)
			v[y*wire.ScoreBins+bin] = 1
			b.Updates = append(b.Updates, wire.ModelUpdate{Model: u.Model + scoreSuffix, Sum: v})
			u = &b.Updates[i] // append may have moved the slice
		}
		u.Cell = 0
	}
}

// decodedBundle is a served bundle decoded once, for checking updates; nil if it does not decode.
type decodedBundle struct {
	once sync.Once
	b    *models.Bundle
}

func (sb *servedBundle) decoded() *models.Bundle {
	sb.dec.once.Do(func() {
		if b, err := models.Open(sb.body); err == nil {
			sb.dec.b = b
		}
	})
	return sb.dec.b
}
