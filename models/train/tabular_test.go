package train

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/internal/tabular"
)

func parse(t *testing.T, data string, opt tabular.Options) *tabular.Table {
	t.Helper()
	tb, err := tabular.Parse([]byte(data), "t.csv", opt)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestEncoding(t *testing.T) {
	tb := parse(t, "n,c,k,label\n"+
		"1,a,x,1\n"+
		",b,x,0\n"+
		"3,a,,1\n"+
		"4,c,y,0\n"+
		"5,a,y,1\n", tabular.Options{})
	e, err := FitEncoding(tb, []int{0, 1, 2}, nil, EncodingOptions{MaxLevels: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Levels: most frequent first, ties in order of first appearance; c keeps 2 of 3 levels.
	if want := []string{"n", "c=a", "c=b", "k=x", "k=y"}; !slices.Equal(e.Features, want) {
		t.Fatalf("features %v, want %v", e.Features, want)
	}
	X, err := e.Encode(tb, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{
		{1, 1, 0, 1, 0},
		{0, 0, 1, 1, 0}, // empty number reads 0
		{3, 1, 0, 0, 0}, // empty category: no level
		{4, 0, 0, 0, 1}, // level c not kept: no level
		{5, 1, 0, 0, 1},
	}
	for i, row := range want {
		if got := X.RawRowView(i); !slices.Equal(got, row) {
			t.Errorf("row %d: %v, want %v", i, got, row)
		}
	}
	t.Run("rows and another file", func(t *testing.T) {
		other := parse(t, "k,n,c\ny,7,c\nx,8,b\n", tabular.Options{})
		X, err := e.Encode(other, []int{1})
		if err != nil {
			t.Fatal(err)
		}
		if got := X.RawRowView(0); !slices.Equal(got, []float64{8, 0, 1, 1, 0}) {
			t.Errorf("row %v", got)
		}
	})
	t.Run("the same features rebuilt from their names", func(t *testing.T) {
		X2, err := EncodingOf(e.Features).Encode(tb, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(X.RawMatrix().Data, X2.RawMatrix().Data) {
			t.Error("EncodingOf encodes differently")
		}
		num, cat := SourcesOf(e.Features)
		if !slices.Equal(num, []string{"n"}) || !slices.Equal(cat, []string{"c", "k"}) {
			t.Errorf("sources %v %v", num, cat)
		}
	})
	t.Run("errors", func(t *testing.T) {
		missing := parse(t, "n,c\n1,a\n", tabular.Options{})
		var te *tabular.Error
		if _, err := e.Encode(missing, nil); !errors.As(err, &te) || te.Name != "k" {
			t.Errorf("missing column: %v", err)
		}
		kind := parse(t, "n,c,k\nx,a,x\n", tabular.Options{})
		if _, err := e.Encode(kind, nil); !errors.As(err, &te) || te.Column != 1 || !strings.Contains(te.Msg, "numeric") {
			t.Errorf("kind: %v", err)
		}
		eq := parse(t, "a=b,c\n1,2\n", tabular.Options{})
		if _, err := FitEncoding(eq, []int{0, 1}, nil, EncodingOptions{}); !errors.As(err, &te) || te.Column != 1 {
			t.Errorf("'=' in a name: %v", err)
		}
	})
}

// fitEncode fits the encoding of cols of tb, requires its features to be want, and returns it with
// the encoded rows, after checking that EncodingOf its features encodes them the same.
func fitEncode(t *testing.T, tb *tabular.Table, cols []int, opt EncodingOptions, want ...string) (*Encoding, *mat.Dense) {
	t.Helper()
	e, err := FitEncoding(tb, cols, nil, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Features, want) {
		t.Fatalf("features %v, want %v", e.Features, want)
	}
	X, err := e.Encode(tb, nil)
	if err != nil {
		t.Fatal(err)
	}
	X2, err := EncodingOf(e.Features).Encode(tb, nil)
	if err != nil || !slices.Equal(X.RawMatrix().Data, X2.RawMatrix().Data) {
		t.Errorf("EncodingOf differs (%v)", err)
	}
	return e, X
}

func TestEncodingLog1p(t *testing.T) {
	tb := parse(t, "count,delta,c\n0,1,a\n3,-2,b\n,4,a\n", tabular.Options{})
	// A column with a negative value stays as it is.
	e, X := fitEncode(t, tb, []int{0, 1, 2}, EncodingOptions{Log1p: true}, "log1p(count)", "delta", "c=a", "c=b")
	if got := []float64{X.At(0, 0), X.At(1, 0), X.At(2, 0), X.At(1, 1)}; !slices.Equal(got, []float64{0, detmath.Log1p(3), 0, -2}) {
		t.Errorf("values %v", got)
	}
	// Another file may hold a negative value: it reads as 0, as on the device.
	neg := parse(t, "count,delta,c\n-5,0,a\n", tabular.Options{})
	if X, err := e.Encode(neg, nil); err != nil || X.At(0, 0) != 0 {
		t.Errorf("negative count encodes to %v (%v)", X.At(0, 0), err)
	}
	if num, cat := SourcesOf(e.Features); !slices.Equal(num, []string{"count", "delta"}) || !slices.Equal(cat, []string{"c"}) {
		t.Errorf("sources %v %v", num, cat)
	}
	reserved := parse(t, "log1p(x),y\n1,2\n", tabular.Options{})
	var te *tabular.Error
	if _, err := FitEncoding(reserved, []int{0, 1}, nil, EncodingOptions{}); !errors.As(err, &te) || te.Column != 1 {
		t.Errorf("reserved name: %v", err)
	}
}

func TestEncodingDerive(t *testing.T) {
	tb := parse(t, "dur,pages,c,y\n10,4,a,1\n5,0,b,0\n,2,a,1\n-3,,b,0\n", tabular.Options{})
	// The ratio reads dur even though only pages and c are trained on.
	e, X := fitEncode(t, tb, []int{1, 2}, EncodingOptions{Derive: []string{"dur/pages"}}, "pages", "c=a", "c=b", "dur/pages")
	// 10/4; a zero denominator, an empty numerator and an empty denominator read 0.
	if got := []float64{X.At(0, 3), X.At(1, 3), X.At(2, 3), X.At(3, 3)}; !slices.Equal(got, []float64{2.5, 0, 0, 0}) {
		t.Errorf("ratios %v", got)
	}
	if num, cat := SourcesOf(e.Features); !slices.Equal(num, []string{"pages", "dur"}) || !slices.Equal(cat, []string{"c"}) {
		t.Errorf("sources %v %v", num, cat)
	}
	for _, bad := range []string{"dur", "/pages", "dur/", "dur/c", "dur/none", "c=a/pages", "dur/pages/x"} {
		if _, err := FitEncoding(tb, []int{1}, nil, EncodingOptions{Derive: []string{bad}}); err == nil {
			t.Errorf("derive %q: no error", bad)
		}
	}
	if _, err := FitEncoding(tb, []int{1}, nil, EncodingOptions{Derive: []string{"dur/pages", "dur/pages"}}); err == nil {
		t.Error("a derived feature twice: no error")
	}
	d, err := NewLabelled(tb, "y", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckDerive(d, []string{"y/pages"}); err == nil || !strings.Contains(err.Error(), "label") {
		t.Errorf("a ratio of the label: %v", err)
	}
	if err := CheckDerive(d, []string{"dur/pages"}); err != nil {
		t.Error(err)
	}
	slash := parse(t, "a/b,c\n1,2\n", tabular.Options{})
	var te *tabular.Error
	if _, err := FitEncoding(slash, []int{0, 1}, nil, EncodingOptions{}); !errors.As(err, &te) || te.Column != 1 {
		t.Errorf("'/' in a name: %v", err)
	}
}

func TestNewLabelled(t *testing.T) {
	tests := []struct {
		name, data, label, positive string
		drop                        []string
		wantY                       []float64
		wantPos                     string
		err                         string // "" for success
		line, col                   int
	}{
		{"boolean", "a,y\n1,TRUE\n2,FALSE\n", "y", "", nil, []float64{1, 0}, "TRUE", "", 0, 0},
		{"numeric 0/1", "a,y\n1,0\n2,1\n", "y", "", nil, []float64{0, 1}, "1", "", 0, 0},
		{"yes/no", "a,y\nq,no\nr,yes\n", "y", "", nil, []float64{0, 1}, "yes", "", 0, 0},
		{"given positive", "a,y\n1,buy\n2,browse\n3,leave\n", "y", "buy", nil, []float64{1, 0, 0}, "buy", "", 0, 0},
		{"numeric positive", "a,y\n1,2\n2,3\n", "y", "3", nil, []float64{0, 1}, "3", "", 0, 0},
		{"one class", "a,y\n1,TRUE\n2,TRUE\n", "y", "", nil, nil, "", "one class", 0, 2},
		{"ambiguous", "a,y\n1,buy\n2,leave\n", "y", "", nil, nil, "", "positive", 0, 2},
		{"absent positive", "a,y\n1,0\n2,1\n", "y", "2", nil, nil, "", "no row has", 0, 2},
		{"empty label", "a,y\n1,0\n2,\n", "y", "", nil, nil, "", "empty label", 3, 2},
		{"missing label", "a,y\n1,0\n", "z", "", nil, nil, "", "no such column", 1, 0},
		{"missing drop", "a,y\n1,0\n", "y", "", []string{"id"}, nil, "", "no such column", 1, 0},
		{"nothing left", "a,y\n1,0\n2,1\n", "y", "", []string{"a"}, nil, "", "no feature columns", 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := parse(t, tc.data, tabular.Options{})
			d, err := NewLabelled(tb, tc.label, tc.positive, tc.drop)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(d.Y, tc.wantY) || d.Positive != tc.wantPos || !slices.Equal(d.Cols, []int{0}) {
					t.Fatalf("labels %v positive %q cols %v", d.Y, d.Positive, d.Cols)
				}
				return
			}
			var te *tabular.Error
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.err) || te.File != "t.csv" || te.Line != tc.line || te.Column != tc.col {
				t.Fatalf("error %v (%+v), want a *tabular.Error at line %d column %d containing %q", err, te, tc.line, tc.col, tc.err)
			}
		})
	}
}

func TestStratified(t *testing.T) {
	y := make([]float64, 1000)
	for i := range 150 {
		y[i*6] = 1
	}
	tr, te := StratifiedSplit(y, 0.2, 1)
	if len(te) != 200 || len(tr) != 800 || count(y, te) != 30 {
		t.Errorf("split %d/%d with %d positives held out", len(tr), len(te), count(y, te))
	}
	tr2, te2 := StratifiedSplit(y, 0.2, 1)
	if !slices.Equal(tr, tr2) || !slices.Equal(te, te2) {
		t.Error("the same seed splits differently")
	}
	if _, te3 := StratifiedSplit(y, 0.2, 2); slices.Equal(te, te3) {
		t.Error("another seed splits the same")
	}
	folds := StratifiedFolds(y, 5, 1)
	seen := make([]bool, len(y))
	for _, f := range folds {
		if len(f) != 200 || count(y, f) != 30 {
			t.Errorf("fold of %d rows, %d positives", len(f), count(y, f))
		}
		for _, i := range f {
			if seen[i] {
				t.Fatalf("row %d in two folds", i)
			}
			seen[i] = true
		}
	}
}

func count(y []float64, rows []int) int {
	n := 0
	for _, i := range rows {
		n += int(y[i])
	}
	return n
}

// TestFitPropensity: both kinds fit a tabular file into a valid bundle whose features are the
// encoded names, and Predict (the bundle's own scoring) ranks the held-out rows well.
func TestFitPropensity(t *testing.T) {
	var b strings.Builder
	b.WriteString("pages,month,device,bought\n")
	X, y := interactionData(3000, 5)
	months := []string{"Feb", "Mar", "Nov"}
	for i := range 3000 {
		r := X.RawRowView(i)
		m := months[int(r[0]*3)%3]
		dev := "mobile"
		if r[2] == 1 {
			dev = "desktop"
		}
		label := "no"
		if y[i] == 1 {
			label = "yes"
		}
		b.WriteString(strings.Join([]string{strconv.FormatFloat(10*r[1], 'g', 8, 64), m, dev, label}, ",") + "\n")
	}
	tb := parse(t, b.String(), tabular.Options{})
	d, err := NewLabelled(tb, "bought", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	opt := DefaultPropensityOptions()
	opt.GBT.Trees = 30
	ev, err := Evaluate(ctx, d, []string{KindLogistic, KindGBT}, 0.25, 3, 1, opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ev.Kinds {
		if k.Split.Rows != 750 || len(k.Folds) != 3 || k.Split.AUC < 0.65 || k.Bytes == 0 || math.IsNaN(k.CVMean.ECE) {
			t.Errorf("%s: %+v", k.Kind, k)
		}
		// The split's AUC comes with a bootstrap interval over its 750 test rows: around the
		// estimate, and as wide as 750 rows make it (a few hundredths), neither a point nor [0, 1].
		if iv := k.SplitAUC; iv.Estimate != k.Split.AUC || !(iv.Lo < iv.Estimate && iv.Estimate < iv.Hi) ||
			iv.Hi-iv.Lo < 0.005 || iv.Hi-iv.Lo > 0.2 {
			t.Errorf("%s: split AUC %.4f, interval %+v", k.Kind, k.Split.AUC, iv)
		}
	}
	if ev.Chosen == "" || ev.Reason == "" {
		t.Errorf("chose %q (%s)", ev.Chosen, ev.Reason)
	}
	for _, kind := range []string{KindLogistic, KindGBT} {
		p, err := FitPropensity(ctx, d, nil, kind, opt)
		if err != nil {
			t.Fatal(err)
		}
		bu := p.Bundle()
		bu.Version = 1
		if err := bu.Validate(); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		for _, f := range bu.Features {
			if !slices.Contains([]string{"pages", "log1p(pages)", "month=Feb", "month=Mar", "month=Nov", "device=mobile", "device=desktop"}, f) {
				t.Errorf("%s: feature %q", kind, f)
			}
		}
		// The bundle's model on the bundle's features scores as Predict does.
		pr, err := p.Predict(tb, []int{0, 1, 2})
		if err != nil {
			t.Fatal(err)
		}
		m := &bu.Tabular[0]
		names := make([]string, len(m.Features))
		for k, f := range m.Features {
			names[k] = bu.Features[f]
		}
		Xb, err := EncodingOf(names).Encode(tb, []int{0, 1, 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			cols := make([]uint16, len(names))
			for k := range cols {
				cols[k] = uint16(k)
			}
			if got := sigmoid(m.Logit(Xb.RawRowView(i), cols)); got != pr[i] {
				t.Errorf("%s row %d: bundle %v, Predict %v", kind, i, got, pr[i])
			}
		}
	}
}
