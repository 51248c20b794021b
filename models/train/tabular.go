package train

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/internal/tabular"
)

// Encoding turns columns of a tabular file into the named features of a tabular model, exactly as
// the agent reads them from a request's inputs (agent/inputs.go, wire.Input): a numeric column
// "Col" is one feature "Col" holding the number (an empty cell reads 0, as an absent input does),
// or with Log1p, when no training value is negative, "log1p(Col)" holding ln(1 + the number) (0 for
// a negative number); a categorical column is one 0/1 feature "Col=Level" per level kept, at most
// MaxLevels of them, the most frequent in the training rows. A level not kept, and an empty cell, set none of them: on
// the device, a category the model never saw reads like no input at all.
//
// Keeping the most frequent levels, rather than hashing every level into buckets, keeps each
// feature's name readable in the bundle and in explanations, and leaves the device nothing to hash
// the same way as the trainer: a name either matches a feature or it does not.
//
// A derived feature "A/B" (EncodingOptions.Derive) is the ratio of numeric columns A and B, 0 when
// B is 0 or empty (an empty A reads 0): duration per page, say, which trees, comparing one column at
// a time, cannot form. The agent computes it from inputs A and B the same way. It follows the
// columns' features, and reads A and B even when they are not among the columns trained on.
type Encoding struct {
	Features []string         // feature names, in the order of the encoded matrix's columns
	Sources  []EncodedSource  // the columns read, in file order
	level    []map[string]int // per source: level → feature index
}

// EncodedSource is one column of the file and the features it becomes.
type EncodedSource struct {
	Column string
	Kind   tabular.Kind
	Levels []string // categorical: the levels kept, in feature order
	Log1p  bool     // numeric: the feature is ln(1 + x)
	Over   string   // derived: the feature is Column / Over (0 when Over is 0)
	First  int      // index in Features of its first feature
}

// EncodingOptions tune FitEncoding.
type EncodingOptions struct {
	MaxLevels int // most levels kept per categorical column; 0 means 50
	MinCount  int // fewest training rows a kept level needs; 0 means 1
	// Log1p reads every numeric column with no negative training value as ln(1 + x): a linear model
	// then sees the heavy tails of counts, durations and amounts on a scale where they act
	// additively. Trees, which only compare values, gain nothing from it.
	Log1p bool
	// Derive lists derived features "A/B" (see Encoding), added after the columns' features.
	Derive []string
}

// FitEncoding learns the encoding of the columns cols of t from the rows rows (all rows when nil).
func FitEncoding(t *tabular.Table, cols []int, rows []int, opt EncodingOptions) (*Encoding, error) {
	maxLevels := opt.MaxLevels
	if maxLevels <= 0 {
		maxLevels = 50
	}
	minCount := max(opt.MinCount, 1)
	e := &Encoding{}
	for _, j := range cols {
		c := &t.Columns[j]
		if _, log := logColumn(c.Name); log || strings.ContainsAny(c.Name, "=/") {
			return nil, &tabular.Error{File: t.File, Line: 1, Column: j + 1, Name: c.Name,
				Msg: "'=', '/' and log1p(…) in a column name are reserved for encoded features (Col=Level, A/B, log1p(Col)); rename the column"}
		}
		src := EncodedSource{Column: c.Name, Kind: c.Kind, First: len(e.Features)}
		levels := map[string]int(nil)
		if c.Kind == tabular.Numeric {
			neg := false
			each(rows, t.Rows, func(i int) { neg = neg || c.Num[i] < 0 })
			src.Log1p = opt.Log1p && !neg
			if src.Log1p {
				e.Features = append(e.Features, "log1p("+c.Name+")")
			} else {
				e.Features = append(e.Features, c.Name)
			}
		} else {
			count := make([]int, len(c.Levels))
			each(rows, t.Rows, func(i int) {
				if k := c.Codes[i]; k >= 0 {
					count[k]++
				}
			})
			order := make([]int, 0, len(c.Levels))
			for k, n := range count {
				if n >= minCount {
					order = append(order, k)
				}
			}
			// Most frequent first; ties in order of first appearance.
			slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(count[b], count[a]) })
			if len(order) > maxLevels {
				order = order[:maxLevels]
			}
			levels = make(map[string]int, len(order))
			for _, k := range order {
				lv := c.Levels[k]
				levels[lv] = len(e.Features)
				src.Levels = append(src.Levels, lv)
				e.Features = append(e.Features, c.Name+"="+lv)
			}
		}
		e.Sources = append(e.Sources, src)
		e.level = append(e.level, levels)
	}
	for _, name := range opt.Derive {
		a, b, ok := strings.Cut(name, "/")
		if !ok || a == "" || b == "" || strings.ContainsAny(b, "=/") || strings.Contains(a, "=") {
			return nil, errors.New("train: derived feature " + strconv.Quote(name) + ": want A/B, A and B numeric columns")
		}
		for _, col := range []string{a, b} {
			if _, err := columnOf(t, col, tabular.Numeric); err != nil {
				return nil, err
			}
		}
		if slices.Contains(e.Features, name) {
			return nil, errors.New("train: derived feature " + strconv.Quote(name) + " given twice")
		}
		e.Sources = append(e.Sources, EncodedSource{Column: a, Kind: tabular.Numeric, Over: b, First: len(e.Features)})
		e.level = append(e.level, nil)
		e.Features = append(e.Features, name)
	}
	if len(e.Features) == 0 {
		return nil, errors.New("train: no features to train on")
	}
	if len(e.Features) > math.MaxUint16 {
		return nil, errors.New("train: " + strconv.Itoa(len(e.Features)) + " encoded features, at most 65535")
	}
	return e, nil
}

// each calls fn for every row of rows, or for 0..n−1 when rows is nil.
func each(rows []int, n int, fn func(i int)) {
	if rows == nil {
		for i := range n {
			fn(i)
		}
		return
	}
	for _, i := range rows {
		fn(i)
	}
}

// Encode returns the encoded rows rows of t (all rows when nil), one matrix row per table row. t may
// be another file than the one the encoding was fitted on: columns are found by name, and must have
// the kind they had.
func (e *Encoding) Encode(t *tabular.Table, rows []int) (*mat.Dense, error) {
	n := t.Rows
	if rows != nil {
		n = len(rows)
	}
	if n == 0 {
		return nil, errors.New("train: no rows to encode")
	}
	X := mat.NewDense(n, len(e.Features), nil)
	for s := range e.Sources {
		src := &e.Sources[s]
		c, err := columnOf(t, src.Column, src.Kind)
		if err != nil {
			return nil, err
		}
		r := 0
		if src.Over != "" {
			d, err := columnOf(t, src.Over, tabular.Numeric)
			if err != nil {
				return nil, err
			}
			each(rows, t.Rows, func(i int) {
				X.Set(r, src.First, ratio(c.Num[i], d.Num[i]))
				r++
			})
			continue
		}
		if c.Kind == tabular.Numeric {
			each(rows, t.Rows, func(i int) {
				if v := c.Num[i]; !math.IsNaN(v) {
					if src.Log1p {
						v = detmath.Log1p(max(v, 0)) // as the agent reads it
					}
					X.Set(r, src.First, v)
				}
				r++
			})
			continue
		}
		// Map the file's level codes to features once.
		feat := make([]int, len(c.Levels))
		for k, lv := range c.Levels {
			f, ok := e.level[s][lv]
			if !ok {
				f = -1
			}
			feat[k] = f
		}
		each(rows, t.Rows, func(i int) {
			if k := c.Codes[i]; k >= 0 && feat[k] >= 0 {
				X.Set(r, feat[k], 1)
			}
			r++
		})
	}
	return X, nil
}

// columnOf returns t's column name, or an error when t lacks it or it is not of kind kind.
func columnOf(t *tabular.Table, name string, kind tabular.Kind) (*tabular.Column, error) {
	j, err := t.Lookup(name)
	if err != nil {
		return nil, err
	}
	if c := &t.Columns[j[0]]; c.Kind != kind {
		return nil, t.ColumnError(j[0], -1, "is "+c.Kind.String()+", the model reads it as "+kind.String())
	}
	return &t.Columns[j[0]], nil
}

// ratio is the derived feature a/b as the agent reads it: an empty cell reads 0, and so does a/0.
func ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return 0
	}
	return a / b
}

// Categorical returns the names of the categorical columns the encoding reads.
func (e *Encoding) Categorical() []string {
	var out []string
	for _, s := range e.Sources {
		if s.Kind == tabular.Categorical {
			out = append(out, s.Column)
		}
	}
	return out
}

// SourcesOf returns, for bundle feature names (as the encoding made them), the columns they read
// and whether each is categorical: what a scorer needs to turn a file's rows into request inputs.
func SourcesOf(features []string) (numeric, categorical []string) {
	seenN, seenC := map[string]bool{}, map[string]bool{}
	for _, f := range features {
		if col, _, ok := strings.Cut(f, "="); ok {
			if !seenC[col] {
				seenC[col] = true
				categorical = append(categorical, col)
			}
			continue
		}
		if col, ok := logColumn(f); ok {
			f = col
		}
		a, b, _ := strings.Cut(f, "/")
		for _, col := range []string{a, b} {
			if col != "" && !seenN[col] {
				seenN[col] = true
				numeric = append(numeric, col)
			}
		}
	}
	return numeric, categorical
}

// EncodingOf rebuilds the encoding that named features, as a bundle's tabular model lists them:
// "Col=Level" is a level of categorical column Col, "log1p(Col)" ln(1 + numeric column Col), "A/B"
// the ratio of numeric columns A and B, any other name a numeric column.
func EncodingOf(features []string) *Encoding {
	e := &Encoding{Features: append([]string(nil), features...)}
	cats := map[string]int{} // categorical column → its source
	for f, name := range features {
		if col, lv, ok := strings.Cut(name, "="); ok {
			s, seen := cats[col]
			if !seen {
				s = len(e.Sources)
				cats[col] = s
				e.Sources = append(e.Sources, EncodedSource{Column: col, Kind: tabular.Categorical, First: f})
				e.level = append(e.level, map[string]int{})
			}
			e.Sources[s].Levels = append(e.Sources[s].Levels, lv)
			e.level[s][lv] = f
			continue
		}
		src := EncodedSource{Column: name, Kind: tabular.Numeric, First: f}
		if col, ok := logColumn(name); ok {
			src.Column, src.Log1p = col, true
		} else if a, b, ok := strings.Cut(name, "/"); ok {
			src.Column, src.Over = a, b
		}
		e.Sources = append(e.Sources, src)
		e.level = append(e.level, nil)
	}
	return e
}

// logColumn returns Col for a feature named "log1p(Col)".
func logColumn(name string) (string, bool) {
	if strings.HasPrefix(name, "log1p(") && strings.HasSuffix(name, ")") && len(name) > len("log1p()") {
		return name[len("log1p(") : len(name)-1], true
	}
	return "", false
}
