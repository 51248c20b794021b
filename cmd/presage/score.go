package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/internal/tabular"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/models/train"
	"github.com/presage-dev/presage/runtime/host"
)

// nativeTolerance is how far the module's probability may be from the native one: the module
// answers in float32 (|Δ| ≤ 2⁻²⁵ ≈ 3e-8 for p in [0, 1]); anything beyond is a real divergence.
const nativeTolerance = 1e-6

func runScore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("score", "-bundle FILE -data FILE.csv -o FILE [flags]", stderr)
	bundlePath := fl.String("bundle", "", "signed bundle with a tabular model (presage train propensity) or an uplift model (presage train uplift)")
	data := fl.String("data", "", "CSV with a header row holding the model's input columns")
	out := fl.String("o", "", "where to write the scores: a header `score`, then one probability per input row")
	native := fl.Bool("native", false, "score with the Go code of the models directly instead of the module")
	compare := fl.Bool("compare", false, "score both ways and fail if they differ by more than 1e-6")
	modelName := fl.String("model", "", "which tabular or uplift model of the bundle (default: the only one)")
	pubPath := fl.String("public-key", "", "public key that must verify the bundle (default: not verified)")
	modulePath := fl.String("module", "", "generic module to score in (default: build ./wasm with the go command)")
	if err := parse(fl, args); err != nil {
		return err
	}
	if err := required(fl, "bundle", "data", "o"); err != nil {
		return err
	}
	envelope, err := os.ReadFile(*bundlePath)
	if err != nil {
		return usageError{err}
	}
	var b *models.Bundle
	if *pubPath != "" {
		pub, err := signing.LoadPublic(*pubPath)
		if err != nil {
			return usageError{err}
		}
		b, err = signing.Verify(envelope, pub)
		if err != nil {
			return usageError{fmt.Errorf("%s: %w", *bundlePath, err)}
		}
	} else if b, err = models.Open(envelope); err != nil {
		return usageError{fmt.Errorf("%s: %w", *bundlePath, err)}
	}
	sc, err := scorerOf(b, *modelName)
	if err != nil {
		return err
	}
	numeric, categorical := train.SourcesOf(sc.names)
	tb, err := tabular.ReadFile(*data, tabular.Options{Numeric: numeric, Categorical: categorical})
	if err != nil {
		return tabularInputError(err)
	}
	if _, err := tb.Lookup(append(numeric, categorical...)...); err != nil {
		return tabularInputError(err)
	}

	var scores, other []float64
	if *native || *compare {
		if scores, err = sc.native(tb); err != nil {
			return tabularInputError(err)
		}
	}
	if !*native || *compare {
		var mod []byte
		if *modulePath != "" {
			if mod, err = os.ReadFile(*modulePath); err != nil {
				return usageError{err}
			}
		} else if mod, err = modbuild.Build(ctx); err != nil {
			return usagef("no module to score in: %v (run inside the presage source tree, or pass -module)", err)
		}
		bar := newProgress(stderr)
		other, err = scoreModule(ctx, mod, envelope, sc.at, sc.name, tb, numeric, categorical, bar.Update)
		bar.Done()
		if err != nil {
			return err
		}
		if scores == nil {
			scores, other = other, nil
		}
	}
	if *compare {
		d := maxDiff(scores, other)
		fmt.Fprintf(stdout, "module vs native: max |Δp| = %.3g over %d rows (tolerance %g)\n", d, tb.Rows, nativeTolerance)
		if !(d <= nativeTolerance) {
			return fmt.Errorf("the module and the native path disagree: max |Δp| = %g", d)
		}
		scores = other // what the module computed is what is written
	}
	how, bits := "in the module (wazero)", 32 // the module answers float32
	if *native {
		how, bits = "natively", 64
	}
	if err := writeScores(*out, scores, bits); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d %s of model %q, computed %s\n", *out, len(scores), sc.what, sc.name, how)
	return nil
}

// scorer is one model of a bundle as presage score computes it.
type scorer struct {
	name   string
	what   string   // what a score is: "scores" (probabilities) or "uplifts"
	at     int      // the model's position in OpScore's answer: the tabular models, then the uplift ones
	names  []string // the bundle features it reads
	native func(tb *tabular.Table) ([]float64, error)
}

// scorerOf finds the named model of b among its tabular and uplift models (the only one when name
// is empty).
func scorerOf(b *models.Bundle, name string) (*scorer, error) {
	if u, at, err := upliftModel(b, name); u != nil || err != nil { // uplift.go
		if err != nil {
			return nil, err
		}
		names, native := upliftNative(b, u)
		return &scorer{name: u.Name, what: "uplifts", at: len(b.Tabular) + at, names: names, native: native}, nil
	}
	m, err := tabularModel(b, name)
	if err != nil {
		return nil, err
	}
	at := 0 // the model's position among the tabular models: OpScore answers them in bundle order
	for at < len(b.Tabular) && &b.Tabular[at] != m {
		at++
	}
	names := make([]string, len(m.Features))
	for k, f := range m.Features {
		names[k] = b.Features[f]
	}
	return &scorer{name: m.Name, what: "scores", at: at, names: names,
		native: func(tb *tabular.Table) ([]float64, error) { return scoreNative(tb, m, names) }}, nil
}

// scoreNative encodes the file as the trainer does, from the bundle's feature names, and scores
// with the model's Go code and the agent's sigmoid.
func scoreNative(tb *tabular.Table, m *models.Logistic, names []string) ([]float64, error) {
	X, err := train.EncodingOf(names).Encode(tb, nil)
	if err != nil {
		return nil, err
	}
	cols := make([]uint16, len(names)) // model feature k is column k of X
	for k := range cols {
		cols[k] = uint16(k)
	}
	out := make([]float64, tb.Rows)
	for i := range out {
		out[i] = detmath.Sigmoid(m.Logit(X.RawRowView(i), cols))
	}
	return out, nil
}

// scoreModule loads the bundle into the module and scores every row with OpScore: each row becomes a
// request whose inputs are the row's cells (an empty cell is no input).
func scoreModule(ctx context.Context, mod, envelope []byte, at int, model string, tb *tabular.Table,
	numeric, categorical []string, progress func(string, int, int)) ([]float64, error) {
	h, err := host.New(ctx, mod, host.NewConfig().WithInsecureSkipVerify().WithPoolSize(1))
	if err != nil {
		return nil, err
	}
	defer h.Close(ctx)
	if _, err := h.LoadBundle(ctx, envelope); err != nil {
		return nil, err
	}
	s, err := h.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer s.Release()
	num, err := tb.Lookup(numeric...)
	if err != nil {
		return nil, err
	}
	cat, err := tb.Lookup(categorical...)
	if err != nil {
		return nil, err
	}
	out := make([]float64, tb.Rows)
	req := wire.Request{Inputs: make([]wire.Input, 0, len(num)+len(cat))}
	for i := range out {
		req.Inputs = req.Inputs[:0]
		for _, j := range num {
			if v := tb.Columns[j].Num[i]; !math.IsNaN(v) {
				req.Inputs = append(req.Inputs, wire.Input{Name: tb.Columns[j].Name, Num: v})
			}
		}
		for _, j := range cat {
			if v := tb.Columns[j].Value(i); v != "" {
				req.Inputs = append(req.Inputs, wire.Input{Name: tb.Columns[j].Name, Cat: v})
			}
		}
		scores, err := s.Score(&req)
		if we, ok := err.(*wire.Error); ok {
			return nil, tb.ColumnError(-1, i, we.Error())
		} else if err != nil {
			return nil, err
		}
		if len(scores) <= at || scores[at].Model != model {
			return nil, fmt.Errorf("row %d: the module answered no score for %q", i+1, model)
		}
		out[i] = float64(scores[at].Value)
		if progress != nil && (i%1024 == 0 || i == len(out)-1) {
			progress("scoring in the module", i+1, len(out))
		}
	}
	return out, nil
}

func maxDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// writeScores writes the header `score` and one probability per line, in row order, in the
// shortest form that reads back as the same float of bits bits.
func writeScores(path string, scores []float64, bits int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b := append(make([]byte, 0, 6+12*len(scores)), "score\n"...)
	for _, p := range scores {
		b = append(strconv.AppendFloat(b, p, 'g', -1, bits), '\n')
	}
	return writeFileAtomic(path, b, 0o644)
}
