package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"strconv"
	"time"

	"github.com/presage-dev/presage/internal/svgchart"

	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/store"
)

// Evaluations of retrained versions (issue 4, section 5): what each retraining measured on the
// evidence it held back — the campaigns' checks (expected conversion under the serving and the
// candidate splits) and the federated round's held-back loss change per model — kept as a JSON
// setting per site and version (no schema change), for the dashboard's model versions.
//
// A published retraining is recorded under the version it produced; one that published nothing
// (refused, or unchanged) under the version it started from, as the last evalKeep attempts. The
// read-modify-write of the latter is serialised by the retraining lock of this process only: two
// nodes retraining the same site at once can lose an attempt, never a version's own record.
//
// The record of a version also keeps the noisy score histograms of its federated models, gathered
// while it served (scoreeval.go): the server sees no label, but the devices send, once per
// visitor-day, the score bin and the label of one example, which the federated round noises with
// its gradients; from them the dashboard computes each version's AUC and calibration.

// evalKeep is how many attempts that published nothing are kept per version.
const evalKeep = 5

// evaluation is one retraining's evaluation.
type evaluation struct {
	At      time.Time     `json:"at"`
	Base    uint64        `json:"base"`
	Outcome string        `json:"outcome"`
	Reason  string        `json:"reason,omitempty"`
	Checks  []learn.Check `json:"checks,omitempty"`
	Fed     *FedReport    `json:"federated,omitempty"`
}

// versionEvaluations is what is recorded for one version.
type versionEvaluations struct {
	Produced *evaluation  `json:"produced,omitempty"` // the retraining that produced it
	Attempts []evaluation `json:"attempts,omitempty"` // retrainings from it that published nothing, newest last
	// Scores are its federated models' noisy score histograms while it served, one per day.
	Scores map[string][]ScoreReport `json:"scores,omitempty"`
}

func evaluationSetting(site string, version uint64) string {
	return "evaluation/" + site + "/" + strconv.FormatUint(version, 10)
}

// evaluations reads what is recorded for a version; nil when nothing is.
func (s *Server) evaluations(ctx context.Context, site string, version uint64) (*versionEvaluations, error) {
	v, err := s.st.Setting(ctx, evaluationSetting(site, version))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ve versionEvaluations
	if err := json.Unmarshal([]byte(v), &ve); err != nil {
		return nil, fmt.Errorf("evaluation of %s version %d: %w", site, version, err)
	}
	return &ve, nil
}

// recordEvaluation keeps a finished retraining's evaluation; failures are logged, not returned:
// the retraining itself is done.
func (s *Server) recordEvaluation(ctx context.Context, site string, rep *RetrainReport) {
	if rep.Outcome == "" {
		return // failed before an outcome: nothing was evaluated
	}
	e := evaluation{At: s.cfg.Now().UTC(), Base: rep.Base, Outcome: rep.Outcome, Reason: rep.Reason, Checks: rep.Checks, Fed: rep.Fed}
	version := rep.Version
	if rep.Outcome != OutcomePublished {
		version = rep.Base
	}
	err := func() error {
		ve, err := s.evaluations(ctx, site, version)
		if err != nil || ve == nil {
			ve = &versionEvaluations{} // an unreadable record is replaced
		}
		if rep.Outcome == OutcomePublished {
			ve.Produced = &e
		} else {
			ve.Attempts = append(ve.Attempts, e)
			if n := len(ve.Attempts); n > evalKeep {
				ve.Attempts = ve.Attempts[n-evalKeep:]
			}
		}
		b, err := json.Marshal(ve)
		if err != nil {
			return err
		}
		return s.st.SetSetting(ctx, evaluationSetting(site, version), string(b))
	}()
	if err != nil {
		s.log.Warn("retraining: recording its evaluation failed", "site", site, "version", version, "err", err)
	}
	s.recordScores(ctx, site, rep) // after: it may write the same record (an unchanged retraining)
}

// evalView is a version's evaluation as the dashboard shows it.
type evalView struct {
	Produced *evalLine
	Attempts []evalLine
	Scores   []scoreLine // ranking and calibration while it served (scoreeval.go)
	Problem  string      // the record does not read
}

type evalLine struct {
	At, Outcome, Reason string
	Base                uint64
	Checks              []checkLine
	Fed                 *FedReport
	FedModels           []fedLine
	checks              []learn.Check
}

type checkLine struct {
	Campaign                      string
	Exposures                     int64
	Current, Candidate, Tolerance string
	Regression                    bool
}

type fedLine struct {
	Model, Change, Tolerance, Reason string
	Batches, HeldBatches             int64
	Applied, Regression, Measured    bool
}

func (ve *versionEvaluations) view(version uint64, k int64) *evalView {
	v := &evalView{Scores: scoreLines(version, ve.Scores, k)}
	if ve.Produced != nil {
		l := ve.Produced.line()
		v.Produced = &l
	}
	for i := len(ve.Attempts) - 1; i >= 0; i-- { // newest first
		v.Attempts = append(v.Attempts, ve.Attempts[i].line())
	}
	return v
}

func (e evaluation) line() evalLine {
	l := evalLine{At: e.At.Format("2006-01-02 15:04"), Outcome: e.Outcome, Reason: e.Reason, Base: e.Base, Fed: e.Fed, checks: e.Checks}
	for _, c := range e.Checks {
		l.Checks = append(l.Checks, checkLine{Campaign: c.Campaign, Exposures: c.Exposures, Current: pctPrecise(c.Current),
			Candidate: pctPrecise(c.Candidate), Tolerance: strconv.FormatFloat(100*c.Tolerance, 'f', 2, 64) + " pt", Regression: c.Regression})
	}
	if e.Fed != nil {
		for _, m := range e.Fed.Models {
			l.FedModels = append(l.FedModels, fedLine{Model: m.Model, Batches: m.Batches, HeldBatches: m.HeldBatches,
				Change: strconv.FormatFloat(m.HeldChange, 'g', 3, 64), Tolerance: strconv.FormatFloat(m.HeldTolerance, 'g', 3, 64),
				Reason: m.Reason, Applied: m.Applied, Regression: m.Regression, Measured: m.HeldTolerance > 0 || m.HeldChange != 0})
		}
	}
	return l
}

func pctPrecise(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) + " %" }

// evalCharts draws what the recorded evaluations of the versions listed measured: each campaign
// check's held-back expected conversion, serving split (± its tolerance) against the candidate's,
// and each federated model's held-back loss change with its tolerance against 0.
func evalCharts(mvs []modelView) (conversion, loss template.HTML, err error) {
	var conv, fedg []svgchart.ForestGroup
	add := func(label string, e *evalLine) {
		for _, c := range e.checks {
			conv = append(conv, svgchart.ForestGroup{Label: label + " · " + c.Campaign, Intervals: []svgchart.Interval{
				{Estimate: c.Current, Lo: c.Current - c.Tolerance, Hi: c.Current + c.Tolerance},
				{Estimate: c.Candidate, Lo: c.Candidate, Hi: c.Candidate, Text: pctPrecise(c.Candidate)}}})
		}
		if e.Fed == nil {
			return
		}
		for _, m := range e.Fed.Models {
			if m.HeldTolerance > 0 {
				fedg = append(fedg, svgchart.ForestGroup{Label: label + " · " + m.Model, Intervals: []svgchart.Interval{
					{Estimate: m.HeldChange, Lo: m.HeldChange - m.HeldTolerance, Hi: m.HeldChange + m.HeldTolerance}}})
			}
		}
	}
	for _, mv := range mvs {
		if mv.Eval == nil {
			continue
		}
		if p := mv.Eval.Produced; p != nil {
			add("v"+strconv.FormatUint(mv.Version, 10), p)
		}
		for i := range mv.Eval.Attempts {
			a := &mv.Eval.Attempts[i]
			add("v"+strconv.FormatUint(mv.Version, 10)+" → "+a.Outcome, a)
		}
	}
	if len(conv) > 0 {
		if conversion, err = (svgchart.Forest{Title: "Held-back expected conversion under the serving and the candidate split",
			Series: []string{"serving split (± tolerance)", "candidate split"}, Groups: conv, NoRef: true,
			Format: func(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) + " %" }, Width: 760}).Render(); err != nil {
			return "", "", err
		}
	}
	if len(fedg) > 0 {
		if loss, err = (svgchart.Forest{Title: "Held-back log-loss change of each federated step (negative: better)",
			Series: []string{"first-order change (± tolerance)"}, Groups: fedg, Width: 760}).Render(); err != nil {
			return "", "", err
		}
	}
	return conversion, loss, nil
}
