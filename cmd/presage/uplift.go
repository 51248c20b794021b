package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/presage-dev/presage/internal/csvin"
	"github.com/presage-dev/presage/internal/report"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/internal/tabular"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/eval"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/models/train"
)

// runTrainUplift fits a two-model uplift model on a randomised campaign's CSV (treated rows vs the
// control group), reports it on a held-out split stratified by arm and outcome, refits it on every
// row and writes it as a bundle whose one uplift model the module scores from request inputs
// (wire.OpScore answers the predicted uplift).
func runTrainUplift(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("train uplift", "-data FILE.csv -treatment COLUMN -treated VALUE -outcome COLUMN -o FILE [flags]", stderr)
	data := fl.String("data", "", "CSV file with a header row: one row per person of a randomised campaign")
	treatment := fl.String("treatment", "", "the column that tells the treated from the control group")
	treated := fl.String("treated", "", "the value of -treatment on treated rows; any other value is the control group")
	outcome := fl.String("outcome", "", "the outcome column (converted or not)")
	positive := fl.String("positive", "", "the outcome value counted as a conversion (default: 1, TRUE, true or yes)")
	drop := fl.String("drop", "", "comma-separated columns not to train on (ids, leaks, ground truth)")
	categorical := fl.String("categorical", "", "comma-separated numeric-looking columns to read as categories (codes)")
	kind := fl.String("kind", train.KindLogistic, "model kind of both arms: logistic or gbt")
	name := fl.String("name", "uplift", "the model's name in the bundle and in scores")
	keyPath := fl.String("key", "", "private key that signs the bundle (presage keygen); without it the bundle is written unsigned")
	out := fl.String("o", "", "where to write the bundle")
	test := fl.Float64("test", 0.3, "share of rows in the held-out split reported, stratified by arm and outcome (0: no evaluation)")
	seed := fl.Uint64("seed", 1, "seed of the split, calibration and subsampling")
	reportDir := fl.String("report", "", "write the held-out evaluation's report (HTML, SVG pictures, JSON) to this folder")
	value := fl.Float64("value", 0, "margin of one conversion, for the cost-aware rule (0: not reported)")
	cost := fl.Float64("cost", 0, "cost of showing the incentive to one person, for the cost-aware rule")
	version := fl.Uint64("version", 0, "bundle version (0: the creation time)")
	site := fl.String("site", "", "site the bundle is for")
	opt := train.DefaultPropensityOptions()
	fl.IntVar(&opt.GBT.Trees, "trees", opt.GBT.Trees, "gbt: boosting rounds")
	fl.IntVar(&opt.GBT.Depth, "depth", opt.GBT.Depth, "gbt: tree depth (1 to 6)")
	fl.Float64Var(&opt.Logistic.L2, "l2", opt.Logistic.L2, "logistic: ridge on standardised weights (0: 1e-4)")
	if err := parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected arguments %q", fl.Args())
	}
	if err := required(fl, "data", "treatment", "treated", "outcome", "o"); err != nil {
		return err
	}
	if *kind != train.KindLogistic && *kind != train.KindGBT {
		return usagef("-kind %q: want logistic or gbt", *kind)
	}
	if *test < 0 || *test >= 1 {
		return usagef("-test must be in [0, 1)")
	}
	if *reportDir != "" && *test == 0 {
		return usagef("-report needs a held-out split: give -test")
	}
	if *value < 0 || *cost < 0 {
		return usagef("-value and -cost must not be negative")
	}
	var key ed25519.PrivateKey
	if *keyPath != "" {
		k, err := signing.LoadPrivate(*keyPath)
		if err != nil {
			return usageError{err}
		}
		key = k
	}
	opt.Name, opt.Seed = *name, *seed

	tb, err := tabular.ReadFile(*data, tabular.Options{Categorical: splitList(*categorical)})
	if err != nil {
		return tabularInputError(err)
	}
	d, err := train.NewUpliftData(tb, *treatment, *treated, *outcome, *positive, splitList(*drop))
	if err != nil {
		return tabularInputError(err)
	}
	rt, rc := armRates(d)
	fmt.Fprintf(stdout, "%s: %d rows, %d feature columns; %s = %q: %d treated (%.1f %%), %d control\n",
		*data, tb.Rows, len(d.Cols), *treatment, *treated, d.NTreated, 100*float64(d.NTreated)/float64(tb.Rows), tb.Rows-d.NTreated)
	fmt.Fprintf(stdout, "  %s = %q: %.2f %% treated, %.2f %% control: average uplift %+.2f points\n",
		*outcome, d.Positive, 100*rt, 100*rc, 100*(rt-rc))

	bar := newProgress(stderr)
	opt.Progress = bar.Update
	if *test > 0 {
		ev, err := train.EvaluateUplift(ctx, d, *kind, *test, *seed, opt)
		bar.Done()
		if err != nil {
			return err
		}
		var tg *eval.Targeting
		if *value > 0 {
			y, t := make([]float64, len(ev.Held)), make([]bool, len(ev.Held))
			for k, i := range ev.Held {
				y[k], t[k] = d.Y[i], d.Treated[i]
			}
			g := eval.UpliftTargeting(ev.Scores, y, t, *value, *cost, models.ShowIncentive)
			tg = &g
		}
		fmt.Fprintf(stdout, "held-out evaluation (%s, trained on %d rows, %d held out, seed %d):\n", *kind, ev.Train, len(ev.Held), *seed)
		printUplift(stdout, ev.Report, tg)
		if *reportDir != "" {
			files, err := writeUpliftReport(*reportDir, *name, fmt.Sprintf("Held-out split of %s (%.0f %%, stratified by arm and outcome, seed %d), "+
				"%s model fitted on the other %d rows.", *data, 100**test, *seed, *kind, ev.Train), ev.Report, tg)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s and %s\n", files.HTML, files.JSON)
		}
	}

	u, err := train.FitUplift(ctx, d, nil, *kind, opt)
	bar.Done()
	if err != nil {
		return err
	}
	b := u.Bundle()
	env, err := writeBundle(b, key, *out, *site, *version)
	if err != nil {
		return err
	}
	signed := "unsigned"
	if key != nil {
		signed = "signed"
	}
	m := &b.Uplift[0]
	fmt.Fprintf(stdout, "wrote %s: %s bundle v%d, %d bytes, uplift model %q (%s; treated arm %s; control arm %s) fitted on all %d rows in %s\n",
		*out, signed, b.Version, len(env), m.Name, u.Kind, modelShape(&m.Treated), modelShape(&m.Control), tb.Rows, u.Elapsed.Round(time.Millisecond))
	return nil
}

// writeBundle stamps b (creation time, site, version: the creation time when 0), validates it, and
// writes it to out (creating its folder), signed with key, or unsigned when key is nil. It returns
// the envelope written.
func writeBundle(b *models.Bundle, key ed25519.PrivateKey, out, site string, version uint64) ([]byte, error) {
	now := time.Now()
	b.Created, b.Site, b.Version = now.Unix(), site, version
	if b.Version == 0 {
		b.Version = uint64(now.Unix())
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	env := (&models.Envelope{Payload: b.Encode()}).Encode()
	if key != nil {
		env = signing.Sign(b, key)
	}
	return env, writeOut(out, env)
}

// writeOut writes data to path atomically, creating its folder.
func writeOut(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, data, 0o644)
}

// writeJSON writes v as indented JSON to path, a -json flag's value; nothing when it is empty.
func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeOut(path, append(data, '\n'))
}

// armRates returns the outcome's rate among the treated and the control rows.
func armRates(d *train.UpliftData) (treated, control float64) {
	var yt, yc float64
	for i, t := range d.Treated {
		if t {
			yt += d.Y[i]
		} else {
			yc += d.Y[i]
		}
	}
	return yt / float64(d.NTreated), yc / float64(len(d.Y)-d.NTreated)
}

// printUplift prints uplift@k, the Qini area against random targeting and the cost-aware rule's
// estimated margin.
func printUplift(w io.Writer, rep *eval.UpliftReport, tg *eval.Targeting) {
	fmt.Fprintf(w, "  %d rows (%d treated): average uplift %+.2f points\n", rep.Rows, rep.Treated, 100*rep.Overall)
	for _, a := range rep.At {
		fmt.Fprintf(w, "  uplift@%-3s %+6.2f points  (treated %.3f vs control %.3f over %d rows; predicted %+.2f)\n",
			fmt.Sprintf("%.0f%%", 100*a.Share), 100*a.Uplift, a.TreatedRate, a.ControlRate, a.Rows, 100*a.Predicted)
	}
	fmt.Fprintf(w, "  Qini area %.5f vs random %.5f: coefficient %+.5f\n", rep.QiniArea, rep.RandomArea, rep.QiniCoefficient)
	if tg != nil {
		fmt.Fprintf(w, "  cost-aware rule (show when uplift × %g − %g > 0): shown to %.1f %%, margin %.1f per 1,000 people (everyone: %.1f)\n",
			tg.Value, tg.Cost, 100*tg.Shown, tg.Profit, tg.ProfitAll)
	}
}

// writeUpliftReport writes the uplift evaluation's HTML report, pictures and summary to dir.
func writeUpliftReport(dir, name, intro string, rep *eval.UpliftReport, tg *eval.Targeting) (report.Files, error) {
	secs, err := report.UpliftSections(name, "", rep, tg)
	if err != nil {
		return report.Files{}, err
	}
	summary := struct {
		*eval.UpliftReport
		Targeting *eval.Targeting `json:"targeting,omitempty"`
	}{rep, tg}
	r := &report.Report{Title: "Uplift evaluation of " + name, Intro: []string{intro}, Sections: secs, Summary: summary}
	return r.Write(dir)
}

// upliftModel returns the named uplift model of b and its index, or nil when name names none (or,
// name empty, when the bundle's only model is not an uplift one).
func upliftModel(b *models.Bundle, name string) (*models.Uplift, int, error) {
	if name != "" {
		for i := range b.Uplift {
			if b.Uplift[i].Name == name {
				return &b.Uplift[i], i, nil
			}
		}
		return nil, 0, nil
	}
	switch n := len(b.Tabular) + len(b.Uplift); {
	case len(b.Uplift) == 0:
		return nil, 0, nil
	case n > 1:
		return nil, 0, usagef("the bundle has %d tabular and %d uplift models: choose one with -model", len(b.Tabular), len(b.Uplift))
	}
	return &b.Uplift[0], 0, nil
}

// upliftNative returns the bundle features u reads and its native scorer: the file encoded as the
// trainer does, from the features' names, and the model's Go code (models.Uplift.Value).
func upliftNative(b *models.Bundle, u *models.Uplift) ([]string, func(*tabular.Table) ([]float64, error)) {
	var used []uint16 // bundle features read, in first use
	seen := map[uint16]bool{}
	for _, lr := range []*models.Logistic{&u.Treated, &u.Control} {
		for _, f := range lr.Features {
			if !seen[f] {
				seen[f] = true
				used = append(used, f)
			}
		}
	}
	names := make([]string, len(used))
	for k, f := range used {
		names[k] = b.Features[f]
	}
	return names, func(tb *tabular.Table) ([]float64, error) {
		X, err := train.EncodingOf(names).Encode(tb, nil)
		if err != nil {
			return nil, err
		}
		x := make([]float64, len(b.Features)) // indexed by bundle feature, as OpScore builds it
		out := make([]float64, tb.Rows)
		for i := range out {
			for k, f := range used {
				x[f] = X.At(i, k)
			}
			out[i] = u.Value(x)
		}
		return out, nil
	}
}

// runEvalUplift evaluates predicted uplifts s against a campaign's outcomes y and arms (the
// treatment column of labels): uplift@10/20/30 %, uplift by decile and the Qini curve, with pictures.
func runEvalUplift(s, y []float64, scores, labels, label, treatment, treated, name, out string, value, cost float64, stdout io.Writer) error {
	seen := false
	t, err := readColumn(labels, treatment, func(r *csvin.Reader, rec []string, col int) (float64, error) {
		if v := rec[col]; v == treated {
			seen = true
			return 1, nil
		} else if v == "" {
			return 0, r.Errorf(col, "empty treatment: every row must be treated or in the control group")
		}
		return 0, nil
	})
	if err != nil {
		return inputError(err)
	}
	if !seen {
		return usagef("%s: no row has %s = %q", labels, treatment, treated)
	}
	tr := make([]bool, len(t))
	for i, v := range t {
		tr[i] = v == 1
	}
	rep, err := eval.Uplift(s, y, tr, eval.UpliftOptions{})
	if err != nil {
		return usageError{fmt.Errorf("%s against %s: %w", labels, scores, err)}
	}
	var tg *eval.Targeting
	if value > 0 {
		g := eval.UpliftTargeting(s, y, tr, value, cost, models.ShowIncentive)
		tg = &g
	}
	files, err := writeUpliftReport(out, name, fmt.Sprintf("Predicted uplifts: %s. Outcomes: %s, column %q; treated: %s = %q, every other value the control group.",
		scores, labels, label, treatment, treated), rep, tg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s (uplift):\n", name)
	printUplift(stdout, rep, tg)
	fmt.Fprintf(stdout, "wrote %s and %s\n", files.HTML, files.JSON)
	return nil
}

// runSimulate writes a simulated dataset (uplift) or runs the learning loop (loop, simulate.go).
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "loop" {
		return runSimulateLoop(ctx, args[1:], stdout, stderr) // simulate.go
	}
	if len(args) > 0 && args[0] == "campaigns" {
		return runSimulateCampaigns(ctx, args[1:], stdout, stderr) // simulate_campaigns.go
	}
	if len(args) == 0 || args[0] != "uplift" {
		return usagef("usage: presage simulate uplift -o FILE.csv [-people N] [-treated-share S] [-seed N]\n" +
			"       presage simulate loop [-server URL -key FILE] [-visitors N] [-rounds K] [-module-share S] [-kill | -federated]\n" +
			"       presage simulate campaigns [-only targeting,aa,srm,bandit,pressure] [-seeds N] [-json FILE]")
	}
	fl := newFlags("simulate uplift", "-o FILE.csv [flags]", stderr)
	out := fl.String("o", "", "where to write the CSV")
	var cfg sim.UpliftConfig
	fl.IntVar(&cfg.People, "people", 20000, "people in the campaign")
	fl.Float64Var(&cfg.TreatedShare, "treated-share", 0.5, "share of people treated; the rest is the holdout")
	fl.Uint64Var(&cfg.Seed, "seed", 1, "simulation seed")
	if err := parse(fl, args[1:]); err != nil {
		return err
	}
	if err := required(fl, "o"); err != nil {
		return err
	}
	if cfg.People <= 0 || cfg.TreatedShare <= 0 || cfg.TreatedShare >= 1 {
		return usagef("-people must be positive and -treated-share in (0, 1)")
	}
	people := sim.UpliftCampaign(cfg)
	var buf bytes.Buffer
	if err := sim.WriteUpliftCSV(&buf, people); err != nil {
		return err
	}
	if err := writeOut(*out, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d people of a randomised campaign (treatment column campaign = \"offer\" or \"holdout\", outcome converted; "+
		"ground truth in group and true_uplift, to -drop when training)\n", *out, len(people))
	return nil
}
