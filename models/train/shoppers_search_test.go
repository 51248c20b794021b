//go:build shopsearch

package train

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/presage-dev/presage/internal/tabular"
	"github.com/presage-dev/presage/models/eval"
)

// TestShoppersColumnSearch reproduces how the columns left out of make eval-shoppers
// (shoppersDrop) were chosen, looking only at the training part of the seed-1 80/20 split: its
// test part is never fitted on or measured. It is not part of the test suite (about 4 minutes):
//
//	go test -tags shopsearch -run TestShoppersColumnSearch -v -timeout 30m ./models/train
//
// Step 1 leaves out one more column at a time from OperatingSystems, Browser and Region, in 5-fold
// CV inside the training part (fold seed 7); the columns whose removal raised the mean AUC by more
// than 0.0002 are left out too. (That threshold was set after seeing these figures: removing
// Informational_Duration, SpecialDay or Weekend moved it by 0.0001 or less, and on 15 folds
// removing SpecialDay or Weekend as well cost 0.0001 each.) Step 2 checks the three column sets on 15 folds (fold seeds 7, 8 and 9) and prints each
// one's mean AUC difference from all columns, fold by fold, with its standard error.
func TestShoppersColumnSearch(t *testing.T) {
	tb, all, train := shoppersTrainPart(t)
	inner := func(drop []string, seed uint64) []float64 {
		d, err := NewLabelled(tb, "Revenue", "", drop)
		if err != nil {
			t.Fatal(err)
		}
		return innerCVAUC(t, d, train, DefaultPropensityOptions(), seed)
	}
	mean := meanOf
	three := []string{"OperatingSystems", "Browser", "Region"}
	ref := mean(inner(three, 7))
	t.Logf("step 1, fold seed 7: without %v: CV AUC %.4f", three, ref)
	var more []string
	for _, c := range all.Cols {
		name := tb.Columns[c].Name
		if slices.Contains(three, name) {
			continue
		}
		m := mean(inner(append(slices.Clone(three), name), 7))
		t.Logf("  and without %-24s %.4f (%+.4f)", name, m, m-ref)
		if m > ref+0.0002 {
			more = append(more, name)
		}
	}
	t.Logf("step 1 leaves out %v as well", more)
	base := slices.Concat(inner(nil, 7), inner(nil, 8), inner(nil, 9))
	for _, drop := range [][]string{three, append(slices.Clone(three), more...)} {
		aucs := slices.Concat(inner(drop, 7), inner(drop, 8), inner(drop, 9))
		m, se := pairedDiff(aucs, base)
		t.Logf("step 2, 15 folds: without %v: CV AUC %.4f vs %.4f with every column: %+.4f (se %.4f)",
			drop, mean(aucs), mean(base), m, se)
	}
}

// innerCVAUC fits the boosted trees in 5-fold stratified CV over the rows rows of d (fold seed
// seed) and returns each fold's AUC.
func innerCVAUC(t *testing.T, d *Labelled, rows []int, opt PropensityOptions, seed uint64) []float64 {
	var aucs []float64
	innerFolds(d, rows, seed, func(tr, te []int, yt []float64) {
		p, err := FitPropensity(context.Background(), d, tr, KindGBT, opt)
		if err != nil {
			t.Fatal(err)
		}
		pr, err := p.Predict(d.Table, te)
		if err != nil {
			t.Fatal(err)
		}
		a, err := eval.AUC(pr, yt)
		if err != nil {
			t.Fatal(err)
		}
		aucs = append(aucs, a)
	})
	return aucs
}

// innerFolds calls fold with the training rows (sorted), test rows and test labels of each of the
// 5 stratified folds of rows drawn with seed.
func innerFolds(d *Labelled, rows []int, seed uint64, fold func(tr, te []int, yt []float64)) {
	y := make([]float64, len(rows))
	for k, i := range rows {
		y[k] = d.Y[i]
	}
	folds := StratifiedFolds(y, 5, seed)
	for f := range folds {
		var tr, te []int
		var yt []float64
		for g := range folds {
			for _, k := range folds[g] {
				if g == f {
					te = append(te, rows[k])
					yt = append(yt, y[k])
				} else {
					tr = append(tr, rows[k])
				}
			}
		}
		slices.Sort(tr)
		fold(tr, te, yt)
	}
}

// TestShoppersDeriveSearch asks, inside the training part of the seed-1 split only, whether
// derived ratio features (EncodingOptions.Derive) help the trees on make eval-shoppers's columns
// (shoppersDrop left out; a ratio may still read a column left out). About 2 minutes:
//
//	go test -tags shopsearch -run TestShoppersDeriveSearch -v -timeout 30m ./models/train
func TestShoppersDeriveSearch(t *testing.T) {
	tb, _, train := shoppersTrainPart(t)
	d, err := NewLabelled(tb, "Revenue", "", shoppersDrop)
	if err != nil {
		t.Fatal(err)
	}
	perPage := []string{"Administrative_Duration/Administrative", "Informational_Duration/Informational", "ProductRelated_Duration/ProductRelated"}
	sets := [][]string{
		{"ProductRelated_Duration/ProductRelated"},
		perPage,
		{"PageValues/ProductRelated"},
		{"ExitRates/BounceRates"},
		append(slices.Clone(perPage), "PageValues/ProductRelated", "ExitRates/BounceRates"),
	}
	pairedSearch(t, sets, func(set []string) []float64 {
		opt := DefaultPropensityOptions()
		opt.Encoding.Derive = set
		return inner15(t, d, train, opt)
	})
}

// TestShoppersSumSearch asks the same way whether derived features other than ratios would help,
// before the agent is taught to compute them: each is added to the file as a column. About 2
// minutes:
//
//	go test -tags shopsearch -run TestShoppersSumSearch -v -timeout 30m ./models/train
func TestShoppersSumSearch(t *testing.T) {
	tb, _, train := shoppersTrainPart(t)
	col := func(name string) []float64 {
		c, err := columnOf(tb, name, tabular.Numeric)
		if err != nil {
			t.Fatal(err)
		}
		return c.Num
	}
	a, ad, in, ind, pr, prd := col("Administrative"), col("Administrative_Duration"), col("Informational"),
		col("Informational_Duration"), col("ProductRelated"), col("ProductRelated_Duration")
	er, br, pv := col("ExitRates"), col("BounceRates"), col("PageValues")
	extra := map[string]func(i int) float64{
		"TotalPages":              func(i int) float64 { return a[i] + in[i] + pr[i] },
		"TotalDuration":           func(i int) float64 { return ad[i] + ind[i] + prd[i] },
		"ExitMinusBounce":         func(i int) float64 { return er[i] - br[i] },
		"PageValuesTimesProducts": func(i int) float64 { return pv[i] * pr[i] },
		"PageValuesTimesStay":     func(i int) float64 { return pv[i] * (1 - er[i]) },
	}
	sets := [][]string{{"TotalPages"}, {"TotalDuration"}, {"TotalPages", "TotalDuration"}, {"ExitMinusBounce"},
		{"PageValuesTimesProducts"}, {"PageValuesTimesStay"},
		{"TotalPages", "TotalDuration", "ExitMinusBounce", "PageValuesTimesProducts", "PageValuesTimesStay"}}
	pairedSearch(t, sets, func(set []string) []float64 {
		t2 := *tb
		t2.Columns = slices.Clone(tb.Columns)
		for _, name := range set {
			c := tabular.Column{Name: name, Kind: tabular.Numeric, Num: make([]float64, tb.Rows)}
			for i := range tb.Rows {
				c.Num[i] = extra[name](i)
			}
			t2.Columns = append(t2.Columns, c)
		}
		d, err := NewLabelled(&t2, "Revenue", "", shoppersDrop)
		if err != nil {
			t.Fatal(err)
		}
		return inner15(t, d, train, DefaultPropensityOptions())
	})
}

// pairedSearch compares each set of derived features with none, fold by fold on the 15 folds
// aucs returns (aucs(nil) is the reference): mean paired AUC difference and its standard error.
// The rule, fixed before the run: a set is adopted only if its mean difference exceeds twice its
// standard error, the largest such. The test split is scored once, after (make eval-shoppers).
func pairedSearch(t *testing.T, sets [][]string, aucs func(set []string) []float64) {
	base := aucs(nil)
	t.Logf("no derived feature: CV AUC %.4f on %d folds", meanOf(base), len(base))
	var best []string
	bestGain := 0.0
	for _, set := range sets {
		v := aucs(set)
		m, se := pairedDiff(v, base)
		t.Logf("%v: CV AUC %.4f: %+.4f (se %.4f)", set, meanOf(v), m, se)
		if m > 2*se && m > bestGain {
			best, bestGain = set, m
		}
	}
	t.Logf("adopted: %v", best)
}

// shoppersTrainPart reads Online Shoppers, with every column, and returns the rows of the training
// part of the seed-1 80/20 split.
func shoppersTrainPart(t *testing.T) (*tabular.Table, *Labelled, []int) {
	tb := readShoppers(t)
	all, err := NewLabelled(tb, "Revenue", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	train, _ := StratifiedSplit(all.Y, 0.2, 1)
	return tb, all, train
}

// inner15 is innerCVAUC with fold seeds 7, 8 and 9: 15 folds.
func inner15(t *testing.T, d *Labelled, rows []int, opt PropensityOptions) []float64 {
	return slices.Concat(innerCVAUC(t, d, rows, opt, 7), innerCVAUC(t, d, rows, opt, 8), innerCVAUC(t, d, rows, opt, 9))
}

func meanOf(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// pairedDiff returns the mean of v − base, element by element, and its standard error.
func pairedDiff(v, base []float64) (float64, float64) {
	diff := make([]float64, len(v))
	for k := range v {
		diff[k] = v[k] - base[k]
	}
	m, s := meanOf(diff), 0.0
	for _, x := range diff {
		s += (x - m) * (x - m) / float64(len(diff)-1)
	}
	return m, math.Sqrt(s / float64(len(diff)))
}

// TestShoppersBlendSearch asks, inside the training part of the seed-1 split only, whether two
// ensembles that the bundle's Logistic could carry (a linear part and trees sum into one logit) beat
// the boosted trees alone on 15 inner folds: the trees' logit blended with logistic regression's
// (every column but the three codes, log1p), and three boosted models of different subsampling
// seeds averaged (bagging). On 22 November 2026 neither did: blends −0.0000 (α 0.9) to −0.0032 (α
// 0.5), bagging +0.0002 (se 0.0001), bagging with 0.2 of the linear logit −0.0001.
func TestShoppersBlendSearch(t *testing.T) {
	tb, _, train := shoppersTrainPart(t)
	d, err := NewLabelled(tb, "Revenue", "", shoppersDrop)
	if err != nil {
		t.Fatal(err)
	}
	dLin, err := NewLabelled(tb, "Revenue", "", []string{"OperatingSystems", "Browser", "Region"})
	if err != nil {
		t.Fatal(err)
	}
	logit := func(p float64) float64 { return math.Log(p / (1 - p)) }
	res := map[string][]float64{}
	var names []string
	for _, seed := range []uint64{7, 8, 9} {
		innerFolds(d, train, seed, func(tr, te []int, yt []float64) {
			pred := func(dd *Labelled, kind string, s uint64) []float64 {
				o := DefaultPropensityOptions()
				o.Seed = s
				p, err := FitPropensity(context.Background(), dd, tr, kind, o)
				if err != nil {
					t.Fatal(err)
				}
				pr, err := p.Predict(dd.Table, te)
				if err != nil {
					t.Fatal(err)
				}
				return pr
			}
			g := [3][]float64{pred(d, KindGBT, 1), pred(d, KindGBT, 2), pred(d, KindGBT, 3)}
			lr := pred(dLin, KindLogistic, 1)
			auc := func(name string, f func(k int) float64) {
				s := make([]float64, len(te))
				for k := range s {
					s[k] = f(k) // AUC needs only the order: a logit will do
				}
				a, err := eval.AUC(s, yt)
				if err != nil {
					t.Fatal(err)
				}
				if res[name] == nil {
					names = append(names, name)
				}
				res[name] = append(res[name], a)
			}
			bag := func(k int) float64 { return (logit(g[0][k]) + logit(g[1][k]) + logit(g[2][k])) / 3 }
			for _, a := range []float64{1, 0.9, 0.8, 0.7, 0.5} {
				auc(fmt.Sprintf("trees %.1f + linear %.1f", a, 1-a), func(k int) float64 { return a*logit(g[0][k]) + (1-a)*logit(lr[k]) })
			}
			auc("3 trees bagged", bag)
			auc("bagged 0.8 + linear 0.2", func(k int) float64 { return 0.8*bag(k) + 0.2*logit(lr[k]) })
		})
	}
	base := res[names[0]]
	for _, name := range names {
		m, se := pairedDiff(res[name], base)
		t.Logf("%-26s CV AUC %.4f: %+.4f (se %.4f)", name, meanOf(res[name]), m, se)
	}
}
