package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/presage-dev/presage/internal/csvin"
	"github.com/presage-dev/presage/internal/evalsets"
	"github.com/presage-dev/presage/internal/report"
	"github.com/presage-dev/presage/models/eval"
)

const evalUsage = `--scores FILE --labels FILE --label COL [flags]
       presage eval cdnow|retail|groceries [--datasets DIR] [flags]

The first form evaluates predicted probabilities against what happened: --scores is a CSV with a
header holding a column "score" (what presage score writes), one row per row of --labels, in the
same order; --label names the outcome column of --labels (1/0, true/false, yes/no, or any value
with --positive). It writes report.html (metrics with bootstrap intervals, ROC, cumulative gain,
lift and reliability plots, drawn with gonum/plot), summary.json and the plots as .svg to -o, and
prints AUC, log loss, Brier score, ECE and top-decile lift. With --treatment COL --treated VALUE,
--scores are predicted uplifts (presage score on an uplift bundle) and --labels a randomised
campaign's rows: it reports uplift@10/20/30 %, uplift by decile and the Qini curve and its area
against random targeting, with pictures (and the cost-aware rule's margin with --value, --cost).

The second form reproduces the published figures on a public dataset (read from --datasets,
$PRESAGE_DATASETS or ../shared/datasets), prints them against the targets and writes the report;
it exits with status 1 if a target is missed:
  cdnow      BG/NBD and Gamma-Gamma parameters from CDNOW's raw transactions (Fader, Hardie & Lee 2005)
  retail     Online Retail: item-to-item recommendations vs popularity (HR@10, NDCG@10), BG/NBD, P(alive)
  groceries  Groceries: the 150 two-item association rules at support 0.006, confidence 0.25`

// evalSets are the dataset runs of `presage eval NAME`.
var evalSets = map[string]func(context.Context, evalsets.Options) (*evalsets.Result, error){
	"cdnow":     evalsets.CDNOW,
	"retail":    evalsets.Retail,
	"groceries": evalsets.Groceries,
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	set := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		set, args = args[0], args[1:]
		if evalSets[set] == nil {
			return usagef("unknown dataset %q (want cdnow, retail or groceries)", set)
		}
	}
	fl := newFlags("eval", evalUsage, stderr)
	scores := fl.String("scores", "", "CSV of predicted probabilities with a header column \"score\"")
	scoreCol := fl.String("score-column", "score", "the column of --scores to read")
	labels := fl.String("labels", "", "CSV holding the outcome column, rows in the order of --scores")
	label := fl.String("label", "", "the outcome column of --labels")
	positive := fl.String("positive", "", "the value of --label that counts as positive (default: 1, true or yes)")
	name := fl.String("name", "model", "the model's name in the report")
	datasets := fl.String("datasets", "", "public datasets folder (default $PRESAGE_DATASETS, else ../shared/datasets)")
	out := fl.String("o", "", "report folder (default dist/eval/<dataset>, or dist/eval/<name>)")
	var bo eval.BootstrapOptions
	fl.IntVar(&bo.Reps, "bootstrap", 1000, "bootstrap resamples for the intervals (negative: none)")
	fl.Uint64Var(&bo.Seed, "seed", 1, "bootstrap seed")
	bins := fl.Int("bins", 10, "reliability bins")
	treatment := fl.String("treatment", "", "uplift: the column of --labels that tells the treated rows (--scores are predicted uplifts)")
	treated := fl.String("treated", "", "uplift: the value of --treatment on treated rows; any other value is the control group")
	value := fl.Float64("value", 0, "uplift: margin of one conversion, to report the cost-aware rule (0: not reported)")
	cost := fl.Float64("cost", 0, "uplift: cost of showing the incentive to one person")
	if err := parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected arguments %q", fl.Args())
	}
	if set != "" {
		if *out == "" {
			*out = filepath.Join("dist", "eval", set)
		}
		dir, err := evalsets.Dir(*datasets)
		if err != nil {
			return usageError{err}
		}
		return runEvalSet(ctx, set, evalsets.Options{Datasets: dir, Bootstrap: bo}, *out, stdout, stderr)
	}
	if err := required(fl, "scores", "labels", "label"); err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("dist", "eval", *name)
	}
	uplift := *treatment != "" || *treated != ""
	if uplift {
		if err := required(fl, "treatment", "treated"); err != nil {
			return err
		}
	}
	s, err := readColumn(*scores, *scoreCol, func(r *csvin.Reader, rec []string, col int) (float64, error) {
		return r.Float(rec, col)
	})
	if err != nil {
		return inputError(err)
	}
	y, err := readColumn(*labels, *label, func(r *csvin.Reader, rec []string, col int) (float64, error) {
		return parseLabel(r, rec, col, *positive)
	})
	if err != nil {
		return inputError(err)
	}
	if len(s) != len(y) {
		return usagef("%s has %d rows and %s has %d: one score per labelled row, in order", *scores, len(s), *labels, len(y))
	}
	if uplift {
		return runEvalUplift(s, y, *scores, *labels, *label, *treatment, *treated, *name, *out, *value, *cost, stdout) // uplift.go
	}
	rep, err := eval.Binary(s, y, eval.BinaryOptions{Bins: *bins, Bootstrap: bo})
	if err != nil {
		return usageError{fmt.Errorf("%s column %q against %s: %w", *labels, *label, *scores, err)}
	}
	secs, err := report.BinarySections(*name, "", rep)
	if err != nil {
		return err
	}
	r := &report.Report{Title: "Evaluation of " + *name,
		Intro:    []string{fmt.Sprintf("Scores: %s. Labels: %s, column %q.", *scores, *labels, *label)},
		Sections: secs, Summary: rep}
	files, err := r.Write(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d rows, %d positive (%.2f %%)\n", *name, rep.Rows, rep.Positives, 100*rep.BaseRate)
	fmt.Fprintf(stdout, "  AUC             %s\n", report.CI(rep.AUC, 4))
	if rep.LogLoss != nil {
		fmt.Fprintf(stdout, "  log loss        %s\n  Brier           %s\n  ECE             %s\n",
			report.CI(*rep.LogLoss, 4), report.CI(*rep.Brier, 4), report.CI(*rep.ECE, 4))
	}
	fmt.Fprintf(stdout, "  top-decile lift %s\n", report.CI(rep.TopDecile, 2))
	fmt.Fprintf(stdout, "wrote %s and %s\n", files.HTML, files.JSON)
	return nil
}

// runEvalSet runs one public-dataset evaluation, prints its figures and targets, and writes its
// report. A missed target (other than a documented known miss) is an error.
func runEvalSet(ctx context.Context, set string, opt evalsets.Options, out string, stdout, stderr io.Writer) error {
	bar := newProgress(stderr)
	opt.Progress = bar.Update
	res, err := evalSets[set](ctx, opt)
	bar.Done()
	if err != nil {
		return inputError(err)
	}
	for _, l := range res.Lines {
		fmt.Fprintln(stdout, l)
	}
	fmt.Fprintln(stdout, "targets:")
	for _, c := range res.Checks {
		fmt.Fprintf(stdout, "  %-62s %12.6g  target %-10.6g %-12s %s\n", c.Name, c.Got, c.Want, c.Rule, c.Status())
	}
	files, err := res.Report.Write(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", files.HTML, files.JSON)
	if failed := res.Failed(); len(failed) > 0 {
		return fmt.Errorf("%d of %d targets missed", len(failed), len(res.Checks))
	}
	return nil
}

// readColumn reads one column of a CSV through parse, which names the place of a bad value.
func readColumn(path, col string, parse func(r *csvin.Reader, rec []string, col int) (float64, error)) ([]float64, error) {
	r, err := csvin.Open(path, csvin.Options{Format: csvin.Comma})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	c, err := r.Col(col)
	if err != nil {
		return nil, err
	}
	var out []float64
	err = r.Each(func(rec []string) error {
		v, err := parse(r, rec, c)
		out = append(out, v)
		return err
	})
	return out, err
}

// parseLabel reads an outcome: with positive set, 1 exactly when the value equals it; otherwise
// 1/0, true/false or yes/no in any case.
func parseLabel(r *csvin.Reader, rec []string, col int, positive string) (float64, error) {
	v := strings.TrimSpace(rec[col])
	if positive != "" {
		if v == positive {
			return 1, nil
		}
		return 0, nil
	}
	switch strings.ToLower(v) {
	case "1", "true", "yes":
		return 1, nil
	case "0", "false", "no":
		return 0, nil
	}
	return 0, r.Errorf(col, "label %q is not 1/0, true/false or yes/no (set --positive)", rec[col])
}
