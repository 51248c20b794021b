package train

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/presage-dev/presage/internal/tabular"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/eval"
)

// Uplift modelling from a randomised campaign: the two-model method ("T-learner", Künzel et al.
// 2019). One propensity model of the outcome is fitted on the treated rows, one on the control rows,
// each of the kinds FitPropensity knows, and the uplift of a person is the difference of their
// probabilities (models.Uplift). It needs no new fitting code, each arm's model is calibrated on
// its own, and either arm's model can be checked like any propensity model; its weakness, that the
// difference of two noisy estimates is noisier than either, matters little at the hundreds of rows
// per arm and the few dozen features of a campaign export. The transformed-outcome method (one
// regression on Z = Y·(T/e − (1−T)/(1−e))) is the alternative this code does not take: it needs a
// regression trainer where this package has classifiers.

// UpliftData is a tabular file from a randomised campaign: the outcome (Labelled.Y, the label),
// the arm of each row, and the feature columns (every column but the outcome, the treatment and
// the dropped ones).
type UpliftData struct {
	Labelled
	Treated   []bool // the row's treatment column holds TreatedValue
	Treatment string // the treatment column
	// TreatedValue is the treatment column's value of the treated rows; every other value marks
	// the control group.
	TreatedValue string
	NTreated     int
}

// NewUpliftData reads a campaign's file: outcome and positive as NewLabelled reads a label, the
// treatment column treatment whose value treated marks the treated rows (any other value, the
// control group). An empty treatment cell, a treated value no row holds, an arm with no row, or an
// outcome with one class in either arm (nothing to learn in that arm) is a *tabular.Error naming the
// file, line and column.
func NewUpliftData(t *tabular.Table, treatment, treated, outcome, positive string, drop []string) (*UpliftData, error) {
	if treatment == outcome {
		return nil, &tabular.Error{File: t.File, Line: 1, Name: treatment, Msg: "the treatment and the outcome are the same column"}
	}
	if treated == "" {
		return nil, &tabular.Error{File: t.File, Line: 1, Name: treatment, Msg: "no treated value given"}
	}
	idx, err := t.Lookup(treatment)
	if err != nil {
		return nil, err
	}
	lab, err := NewLabelled(t, outcome, positive, append(slices.Clip(drop), treatment))
	if err != nil {
		return nil, err
	}
	d := &UpliftData{Labelled: *lab, Treatment: treatment, TreatedValue: treated, Treated: make([]bool, t.Rows)}
	tj := idx[0]
	c := &t.Columns[tj]
	var values []string // the treatment's values, in order of first appearance
	for i := range t.Rows {
		v := c.Value(i)
		if v == "" {
			return nil, t.ColumnError(tj, i, "empty treatment: every row must be treated or in the control group")
		}
		if !slices.Contains(values, v) {
			values = append(values, v)
		}
		if v == treated {
			d.Treated[i] = true
			d.NTreated++
		}
	}
	switch {
	case d.NTreated == 0:
		return nil, t.ColumnError(tj, -1, "no row has the treated value "+strconv.Quote(treated)+" (values: "+quoteList(values, 5)+")")
	case d.NTreated == t.Rows:
		return nil, t.ColumnError(tj, -1, "every row has the treated value "+strconv.Quote(treated)+": no control group to compare with")
	}
	oj := t.Index(outcome)
	for _, arm := range []bool{true, false} {
		n, pos := 0, 0
		for i, tr := range d.Treated {
			if tr == arm {
				n++
				pos += int(d.Y[i])
			}
		}
		if pos == 0 || pos == n {
			what := "the control group"
			if arm {
				what = "the treated group"
			}
			return nil, t.ColumnError(oj, -1, "the outcome has one class in "+what+" ("+strconv.Itoa(pos)+
				" positive of "+strconv.Itoa(n)+" rows): nothing to learn")
		}
	}
	return d, nil
}

// Arms returns rows (all rows when nil) split by arm, in their order.
func (d *UpliftData) Arms(rows []int) (treated, control []int) {
	each(rows, len(d.Treated), func(i int) {
		if d.Treated[i] {
			treated = append(treated, i)
		} else {
			control = append(control, i)
		}
	})
	return treated, control
}

// UpliftSplit splits the rows into a training and a test part with the test share of each stratum
// of arm × outcome (rounded), drawn with seed: both parts keep the campaign's treated share and each
// arm's conversion rate. Each arm is split by StratifiedSplit.
func UpliftSplit(d *UpliftData, test float64, seed uint64) (train, held []int) {
	tr, co := d.Arms(nil)
	for a, rows := range [2][]int{tr, co} {
		y := make([]float64, len(rows))
		for k, i := range rows {
			y[k] = d.Y[i]
		}
		part, te := StratifiedSplit(y, test, seed+uint64(a))
		for _, k := range part {
			train = append(train, rows[k])
		}
		for _, k := range te {
			held = append(held, rows[k])
		}
	}
	slices.Sort(train)
	slices.Sort(held)
	return train, held
}

// UpliftFit is a fitted two-model uplift model.
type UpliftFit struct {
	Name             string
	Kind             string
	Treated, Control *Propensity // each arm's outcome model, with its own encoding
	Elapsed          time.Duration
}

// FitUplift fits the treated and the control model of the given kind (KindLogistic, KindGBT) on
// rows of d (all rows when nil), each on its arm's rows, with opt (opt.Name names the uplift
// model; empty: "uplift").
func FitUplift(ctx context.Context, d *UpliftData, rows []int, kind string, opt PropensityOptions) (*UpliftFit, error) {
	start := time.Now()
	tr, co := d.Arms(rows)
	u := &UpliftFit{Name: opt.Name, Kind: kind}
	if u.Name == "" {
		u.Name = "uplift"
	}
	for _, arm := range []struct {
		what string
		rows []int
		dst  **Propensity
	}{{"treated", tr, &u.Treated}, {"control", co, &u.Control}} {
		if err := checkArm(d, arm.what, arm.rows); err != nil {
			return nil, err
		}
		o := opt
		if opt.Progress != nil {
			o.Progress = func(stage string, done, total int) { opt.Progress(arm.what+" arm, "+stage, done, total) }
		}
		p, err := FitPropensity(ctx, &d.Labelled, arm.rows, kind, o)
		if err != nil {
			return nil, err
		}
		*arm.dst = p
	}
	u.Elapsed = time.Since(start)
	return u, nil
}

// checkArm refuses to fit an arm whose rows hold one class of the outcome.
func checkArm(d *UpliftData, what string, rows []int) error {
	pos := 0
	for _, i := range rows {
		pos += int(d.Y[i])
	}
	if pos == 0 || pos == len(rows) {
		return &tabular.Error{File: d.Table.File, Name: d.Label, Msg: "the " + what + " rows to fit hold one class of the outcome (" +
			strconv.Itoa(pos) + " positive of " + strconv.Itoa(len(rows)) + "): nothing to learn"}
	}
	return nil
}

// Model returns the uplift model and the bundle features its arms read, by name: the union of the
// arms' features, the treated arm's first.
func (u *UpliftFit) Model() (models.Uplift, []string) {
	var features []string
	at := map[string]uint16{}
	arm := func(p *Propensity) models.Logistic {
		m := p.Model
		m.Name = ""
		m.Features = make([]uint16, len(p.Model.Features))
		for k, f := range p.Model.Features {
			name := p.Encoding.Features[f]
			i, ok := at[name]
			if !ok {
				i = uint16(len(features))
				at[name] = i
				features = append(features, name)
			}
			m.Features[k] = i
		}
		return m
	}
	m := models.Uplift{Name: u.Name, Treated: arm(u.Treated), Control: arm(u.Control)}
	return m, features
}

// Bundle returns a bundle that carries the model as its one uplift model. The caller sets the
// version, creation time and site, and signs it.
func (u *UpliftFit) Bundle() *models.Bundle {
	m, features := u.Model()
	return &models.Bundle{Format: models.FormatVersion, Features: features, Uplift: []models.Uplift{m}}
}

// Predict returns the predicted uplift of rows of t (all when nil), through the model's own scoring
// code (models.Uplift.Value) on the inputs encoded as the device reads them.
func (u *UpliftFit) Predict(t *tabular.Table, rows []int) ([]float64, error) {
	m, features := u.Model()
	X, err := EncodingOf(features).Encode(t, rows)
	if err != nil {
		return nil, err
	}
	n, _ := X.Dims()
	out := make([]float64, n)
	for i := range out {
		out[i] = m.Value(X.RawRowView(i))
	}
	return out, nil
}

// UpliftEvaluation is the held-out evaluation of a two-model uplift fit.
type UpliftEvaluation struct {
	Rows      int                `json:"rows"`
	Treated   int                `json:"treated"`
	Kind      string             `json:"kind"`
	TestShare float64            `json:"test_share"`
	Seed      uint64             `json:"seed"`
	Train     int                `json:"train_rows"`
	Report    *eval.UpliftReport `json:"held_out"`
	// Held are the test rows, Scores their predicted uplifts, in that order.
	Held   []int     `json:"-"`
	Scores []float64 `json:"-"`
}

// EvaluateUplift fits on the training part of UpliftSplit(d, test, seed) and evaluates the
// predicted uplifts of its test part (eval.Uplift, at 10, 20 and 30 %).
func EvaluateUplift(ctx context.Context, d *UpliftData, kind string, test float64, seed uint64, opt PropensityOptions) (*UpliftEvaluation, error) {
	tr, held := UpliftSplit(d, test, seed)
	o := opt
	if opt.Progress != nil {
		o.Progress = func(stage string, done, total int) { opt.Progress("held-out split, "+stage, done, total) }
	}
	u, err := FitUplift(ctx, d, tr, kind, o)
	if err != nil {
		return nil, err
	}
	s, err := u.Predict(d.Table, held)
	if err != nil {
		return nil, err
	}
	y := make([]float64, len(held))
	t := make([]bool, len(held))
	for k, i := range held {
		y[k], t[k] = d.Y[i], d.Treated[i]
	}
	rep, err := eval.Uplift(s, y, t, eval.UpliftOptions{})
	if err != nil {
		return nil, err
	}
	return &UpliftEvaluation{Rows: d.Table.Rows, Treated: d.NTreated, Kind: kind, TestShare: test, Seed: seed,
		Train: len(tr), Report: rep, Held: held, Scores: s}, nil
}
