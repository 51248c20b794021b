package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/presage-dev/presage/internal/tabular"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/models/train"
)

// runTrainPropensity fits a propensity model on a tabular CSV and writes it as a signed bundle whose
// one tabular model the module scores from request inputs (wire.OpScore).
func runTrainPropensity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("train propensity", "-data FILE.csv -label COLUMN -key FILE -o FILE [flags]", stderr)
	data := fl.String("data", "", "CSV file with a header row")
	label := fl.String("label", "", "the column to predict")
	positive := fl.String("positive", "", "the label value counted as positive (default: 1, TRUE, true or yes)")
	drop := fl.String("drop", "", "comma-separated columns not to train on (ids, leaks)")
	categorical := fl.String("categorical", "", "comma-separated numeric-looking columns to read as categories (codes)")
	derive := fl.String("derive", "", "comma-separated derived features A/B: numeric column A over B, 0 when B is 0 (they may read dropped columns)")
	kind := fl.String("kind", "auto", "model kind: logistic, gbt, or auto (gbt only when its held-out AUC beats logistic by 0.005)")
	name := fl.String("name", "propensity", "the model's name in the bundle and in scores")
	keyPath := fl.String("key", "", "private key that signs the bundle (presage keygen)")
	out := fl.String("o", "", "where to write the signed bundle")
	folds := fl.Int("cv", 5, "folds of the stratified cross-validation reported (0: none)")
	test := fl.Float64("test", 0.2, "share of rows in the stratified held-out split reported (0: no evaluation)")
	seed := fl.Uint64("seed", 1, "seed of the split, the folds, calibration and subsampling")
	jsonOut := fl.String("json", "", "also write the evaluation as JSON to this file")
	version := fl.Uint64("version", 0, "bundle version (0: the creation time)")
	site := fl.String("site", "", "site the bundle is for")
	opt := train.DefaultPropensityOptions()
	fl.IntVar(&opt.GBT.Trees, "trees", opt.GBT.Trees, "gbt: boosting rounds")
	fl.IntVar(&opt.GBT.Depth, "depth", opt.GBT.Depth, "gbt: tree depth (1 to 6)")
	fl.Float64Var(&opt.GBT.LearningRate, "learning-rate", opt.GBT.LearningRate, "gbt: shrinkage")
	fl.Float64Var(&opt.Logistic.L2, "l2", opt.Logistic.L2, "logistic: ridge on standardised weights (0: 1e-4)")
	balanced := fl.Bool("balanced", false, "weigh both classes equally (calibrate to get probabilities back)")
	calibration := fl.Float64("calibration", 0, "share of training rows held out for Platt calibration")
	if err := parse(fl, args); err != nil {
		return err
	}
	if err := required(fl, "data", "label", "key", "o"); err != nil {
		return err
	}
	switch *kind {
	case "auto", train.KindLogistic, train.KindGBT:
	default:
		return usagef("-kind %q: want logistic, gbt or auto", *kind)
	}
	if *test < 0 || *test >= 1 || *folds < 0 || *folds == 1 {
		return usagef("-test must be in [0, 1) and -cv 0 or at least 2")
	}
	if *kind == "auto" && *test == 0 && *folds == 0 {
		return usagef("-kind auto chooses on held-out data: give -test or -cv, or a -kind")
	}
	key, err := signing.LoadPrivate(*keyPath)
	if err != nil {
		return usageError{err}
	}
	opt.Name = *name
	opt.Seed = *seed
	opt.Encoding.Derive = splitList(*derive)
	opt.Logistic.Balanced, opt.GBT.Balanced = *balanced, *balanced
	opt.Logistic.Calibration, opt.GBT.Calibration = *calibration, *calibration

	tb, err := tabular.ReadFile(*data, tabular.Options{Categorical: splitList(*categorical)})
	if err != nil {
		return tabularInputError(err)
	}
	d, err := train.NewLabelled(tb, *label, *positive, splitList(*drop))
	if err != nil {
		return tabularInputError(err)
	}
	if err := train.CheckDerive(d, opt.Encoding.Derive); err != nil {
		return usageError{fmt.Errorf("-derive: %w", err)}
	}
	pos := 0
	for _, v := range d.Y {
		pos += int(v)
	}
	fmt.Fprintf(stdout, "%s: %d rows, %d feature columns, label %s = %q for %d rows (%.1f %%)\n",
		*data, tb.Rows, len(d.Cols), *label, d.Positive, pos, 100*float64(pos)/float64(tb.Rows))

	bar := newProgress(stderr)
	opt.Progress = bar.Update
	chosen := *kind
	var ev *train.Evaluation
	if *test > 0 || *folds > 0 {
		kinds := []string{train.KindLogistic, train.KindGBT}
		if *kind != "auto" {
			kinds = []string{*kind}
		}
		ev, err = train.Evaluate(ctx, d, kinds, *test, *folds, *seed, opt)
		bar.Done()
		if err != nil {
			return err
		}
		printEvaluation(stdout, ev)
		if *kind == "auto" {
			chosen = ev.Chosen
			fmt.Fprintf(stdout, "chosen: %s (%s)\n", ev.Chosen, ev.Reason)
		}
	}

	p, err := train.FitPropensity(ctx, d, nil, chosen, opt)
	bar.Done()
	if err != nil {
		return err
	}
	b := p.Bundle()
	env, err := writeBundle(b, key, *out, *site, *version) // uplift.go
	if err != nil {
		return err
	}
	m := &b.Tabular[0]
	fmt.Fprintf(stdout, "wrote %s: bundle v%d, %d bytes, tabular model %q (%s, %s) fitted on all %d rows in %s\n",
		*out, b.Version, len(env), m.Name, p.Kind, modelShape(m), tb.Rows, p.Elapsed.Round(time.Millisecond))
	if *jsonOut != "" {
		summary := struct {
			Data       string            `json:"data"`
			Label      string            `json:"label"`
			Positive   string            `json:"positive"`
			Evaluation *train.Evaluation `json:"evaluation,omitempty"`
			Kind       string            `json:"kind"`
			Bundle     string            `json:"bundle"`
			Bytes      int               `json:"bundle_bytes"`
			Version    uint64            `json:"version"`
		}{*data, *label, d.Positive, ev, p.Kind, *out, len(env), b.Version}
		js, err := json.MarshalIndent(summary, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFileAtomic(*jsonOut, append(js, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func printEvaluation(w io.Writer, ev *train.Evaluation) {
	fmt.Fprintf(w, "held-out evaluation (seed %d):", ev.Seed)
	if ev.TestShare > 0 {
		fmt.Fprintf(w, " stratified %.0f/%.0f split;", 100*(1-ev.TestShare), 100*ev.TestShare)
	}
	if ev.Folds > 0 {
		fmt.Fprintf(w, " stratified %d-fold cross-validation", ev.Folds)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  %-8s %8s %8s %8s %8s", "kind", "AUC", "logloss", "Brier", "ECE")
	if ev.Folds > 0 {
		fmt.Fprintf(w, " | %15s %8s %8s", "CV AUC (sd)", "logloss", "ECE")
	}
	fmt.Fprintf(w, " | %9s %6s\n", "bytes", "fit")
	for _, k := range ev.Kinds {
		fmt.Fprintf(w, "  %-8s %8.4f %8.4f %8.4f %8.4f", k.Kind, k.Split.AUC, k.Split.LogLoss, k.Split.Brier, k.Split.ECE)
		if ev.Folds > 0 {
			fmt.Fprintf(w, " | %7.4f (%.4f) %8.4f %8.4f", k.CVMean.AUC, k.CVSD, k.CVMean.LogLoss, k.CVMean.ECE)
		}
		fmt.Fprintf(w, " | %9d %5.1fs\n", k.Bytes, k.FitSec)
	}
	if ev.TestShare > 0 {
		for _, k := range ev.Kinds {
			fmt.Fprintf(w, "  %-8s held-out AUC %.4f, 95 %% bootstrap interval [%.4f, %.4f] over the %d test rows\n",
				k.Kind, k.SplitAUC.Estimate, k.SplitAUC.Lo, k.SplitAUC.Hi, k.Split.Rows)
		}
	}
}

// tabularInputError makes an error about the input file exit with status 2.
func tabularInputError(err error) error {
	var te *tabular.Error
	if errors.As(err, &te) || errors.Is(err, os.ErrNotExist) {
		return usageError{err}
	}
	return err
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// modelShape describes a logistic model's size: its features, and its trees if any.
func modelShape(m *models.Logistic) string {
	s := fmt.Sprintf("%d features", len(m.Features))
	if m.Trees != nil {
		s += fmt.Sprintf(", %d trees, %d nodes", len(m.Trees.Roots), len(m.Trees.Value))
	}
	return s
}

// tabularModel returns the named tabular model of b (the only one when name is empty).
func tabularModel(b *models.Bundle, name string) (*models.Logistic, error) {
	switch {
	case len(b.Tabular) == 0:
		return nil, usagef("the bundle has no tabular model (train one with presage train propensity)")
	case name == "" && len(b.Tabular) > 1:
		return nil, usagef("the bundle has %d tabular models: choose one with -model", len(b.Tabular))
	case name == "":
		return &b.Tabular[0], nil
	}
	for i := range b.Tabular {
		if b.Tabular[i].Name == name {
			return &b.Tabular[i], nil
		}
	}
	return nil, usagef("the bundle has no tabular model %q", name)
}
