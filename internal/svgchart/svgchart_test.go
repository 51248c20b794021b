package svgchart

import (
	"encoding/xml"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestLinear(t *testing.T) {
	tests := []struct {
		name string
		s    Linear
		in   float64
		want float64
	}{
		{"start", Linear{0, 10, 100, 200}, 0, 100},
		{"end", Linear{0, 10, 100, 200}, 10, 200},
		{"middle", Linear{0, 10, 100, 200}, 5, 150},
		{"inverted range (y axis)", Linear{0, 1, 200, 40}, 0.25, 160},
		{"outside the domain", Linear{0, 10, 0, 100}, 20, 200},
		{"empty domain", Linear{3, 3, 7, 9}, 3, 7},
		{"NaN maps as 0", Linear{-1, 1, 0, 100}, math.NaN(), 50},
		{"Inf maps as 0", Linear{-1, 1, 0, 100}, math.Inf(1), 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Map(tt.in); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("Map(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNice(t *testing.T) {
	tests := []struct {
		name           string
		lo, hi         float64
		n              int
		wantLo, wantHi float64
		wantTicks      []float64
	}{
		{"unit", 0, 1, 4, 0, 1, []float64{0, 0.25, 0.5, 0.75, 1}},
		{"rates", 0, 0.137, 5, 0, 0.15, []float64{0, 0.05, 0.1, 0.15}},
		{"counts", 0, 873, 4, 0, 1000, []float64{0, 250, 500, 750, 1000}},
		{"no binary noise", 0, 0.3, 3, 0, 0.3, []float64{0, 0.1, 0.2, 0.3}},
		{"all zero", 0, 0, 4, 0, 1, []float64{0, 0.25, 0.5, 0.75, 1}},
		{"one positive value", 7, 7, 1, 0, 10, []float64{0, 10}},
		{"negative", -3, 2, 5, -3, 2, []float64{-3, -2, -1, 0, 1, 2}},
		{"inverted", 1, 0, 2, 0, 1, []float64{0, 0.5, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, ticks := Nice(tt.lo, tt.hi, tt.n)
			if lo != tt.wantLo || hi != tt.wantHi || !slices.Equal(ticks, tt.wantTicks) {
				t.Errorf("Nice(%v, %v, %d) = %v, %v, %v; want %v, %v, %v", tt.lo, tt.hi, tt.n, lo, hi, ticks, tt.wantLo, tt.wantHi, tt.wantTicks)
			}
		})
	}
}

// hostile is a label that would run script or break out of an attribute if it were not escaped.
const hostile = `<script>alert(1)</script>" onload="x`

func TestRender(t *testing.T) {
	tests := []struct {
		name      string
		render    func() (string, error)
		bars      int // rect elements of class bar
		areas     int
		intervals int
		texts     []string // escaped strings the output must hold
	}{
		{"hbars with intervals", str(HBars{Title: "conversion", Format: Percent, Bars: []Bar{
			{Label: "holdout", Value: 0.05, Lo: 0.04, Hi: 0.06, Interval: true, Class: "control"},
			{Label: "A", Value: 0.07, Lo: 0.06, Hi: 0.08, Interval: true},
			{Label: "B", Value: 0.02, Lo: 0.01, Hi: 0.03, Interval: true},
		}}.Render), 3, 0, 3, []string{"7.0 %", `class="bar control"`}},
		{"hbars without intervals", str(HBars{Title: "segments", Bars: []Bar{{Label: "vip", Value: 120}, {Label: "(none)", Value: 900}}}.Render),
			2, 0, 0, []string{"900", "(none)"}},
		{"hbars empty", str(HBars{Title: "nothing"}.Render), 0, 0, 0, []string{"no data"}},
		{"columns stacked", str(Columns{Title: "batches", Labels: []string{"d1", "d2", "d3"}, Series: []Series{
			{Name: "batches", Values: []float64{10, 0, 30}}, {Name: "dropped", Values: []float64{1, 2, math.NaN()}}}}.Render),
			4, 0, 0, []string{"d3 · batches: 30"}}, // zero, NaN and missing values draw nothing
		{"shares", str(Shares{Title: "allocation", Labels: []string{"v1", "v2"}, Series: []Series{
			{Name: "A", Values: []float64{5000, 9000}}, {Name: "B", Values: []float64{5000, 1000}}}}.Render),
			0, 2, 0, []string{"v2"}},
		{"shares of one version", str(Shares{Title: "allocation", Labels: []string{"v1"}, Series: []Series{
			{Name: "A", Values: []float64{1}}}}.Render), 0, 1, 0, nil},
		{"hostile labels are escaped", str(HBars{Title: hostile, Bars: []Bar{{Label: hostile, Value: 1, Text: hostile}}}.Render),
			1, 0, 0, []string{"&lt;script&gt;alert(1)&lt;/script&gt;&#34; onload=&#34;x"}},
		{"hostile series names are escaped", str(Shares{Title: hostile, Labels: []string{hostile}, Series: []Series{{Name: hostile, Values: []float64{1}}}}.Render),
			0, 1, 0, []string{"&lt;script&gt;"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.render()
			if err != nil {
				t.Fatal(err)
			}
			counts := parse(t, out)
			if counts["bar"] != tt.bars || counts["area"] != tt.areas || counts["interval"] != tt.intervals {
				t.Errorf("bars %d, areas %d, intervals %d; want %d, %d, %d\n%s",
					counts["bar"], counts["area"], counts["interval"], tt.bars, tt.areas, tt.intervals, out)
			}
			if strings.Contains(out, "<script") || strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
				t.Errorf("unescaped markup or a non-finite number in the output:\n%s", out)
			}
			for _, s := range tt.texts {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

func str(f func() (template.HTML, error)) func() (string, error) {
	return func() (string, error) {
		h, err := f()
		return string(h), err
	}
}

// parse checks that out is one well-formed SVG element (so that an escaping mistake cannot open
// another element) and counts its elements by their first class.
func parse(t *testing.T, out string) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(out))
	dec.Entity = map[string]string{}
	counts := map[string]int{}
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, out)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if e.Name.Local != "svg" {
					t.Fatalf("root element %s, want svg", e.Name.Local)
				}
			}
			depth++
			for _, a := range e.Attr {
				if a.Name.Local == "class" {
					counts[strings.Fields(a.Value + " -")[0]]++
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		t.Fatalf("%d root elements, want 1", roots)
	}
	return counts
}

func TestForest(t *testing.T) {
	pts := func(v float64) string { return Format(100*v) + " pt" }
	tests := []struct {
		name  string
		chart Forest
		cis   int      // intervals drawn
		texts []string // escaped strings the output must hold
	}{
		{"three methods, two variants", Forest{Title: "differences", Series: []string{"fixed", "sequential", "bayes"}, Format: pts,
			Groups: []ForestGroup{
				{Label: "A", Intervals: []Interval{{Estimate: 0.01, Lo: -0.01, Hi: 0.03}, {Estimate: 0.01, Lo: -0.02, Hi: 0.04}, {Estimate: 0.01, Lo: -0.01, Hi: 0.03}}},
				{Label: "B", Intervals: []Interval{{Estimate: 0.05, Lo: 0.04, Hi: 0.06}, {Estimate: 0.05, Lo: 0.03, Hi: 0.07}, {Estimate: 0.05, Lo: 0.04, Hi: 0.06}}},
			}}, 6, []string{"5 pt (4 pt – 6 pt)", `class="ref"`, "sequential"}},
		{"missing and unbounded intervals are written, not drawn", Forest{Title: "early", Series: []string{"fixed", "sequential"},
			Groups: []ForestGroup{{Label: "A", Intervals: []Interval{
				{Estimate: 0.01, Lo: -0.01, Hi: 0.03},
				{Estimate: 0.01, Lo: math.Inf(-1), Hi: math.Inf(1), Text: "too few exposures"}}}}}, 1, []string{"too few exposures"}},
		{"a group short of intervals", Forest{Title: "short", Series: []string{"fixed", "sequential"},
			Groups: []ForestGroup{{Label: "A", Intervals: []Interval{{Missing: true, Text: "none"}}}}}, 0, []string{"none"}},
		{"empty", Forest{Title: "nothing", Series: []string{"fixed"}}, 0, []string{"no data"}},
		{"no reference line", Forest{Title: "rates", Series: []string{"serving", "candidate"}, NoRef: true, Format: Percent,
			Groups: []ForestGroup{{Label: "v2", Intervals: []Interval{{Estimate: 0.1, Lo: 0.09, Hi: 0.11}, {Estimate: 0.12, Lo: 0.12, Hi: 0.12}}}}},
			2, []string{"12.0 % (12.0 % – 12.0 %)"}},
		{"hostile labels are escaped", Forest{Title: hostile, Series: []string{hostile},
			Groups: []ForestGroup{{Label: hostile, Intervals: []Interval{{Estimate: 1, Lo: 0, Hi: 2, Text: hostile}}}}},
			1, []string{"&lt;script&gt;alert(1)&lt;/script&gt;&#34; onload=&#34;x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := str(tt.chart.Render)()
			if err != nil {
				t.Fatal(err)
			}
			if n := parse(t, out)["ci"]; n != tt.cis {
				t.Errorf("%d intervals drawn, want %d\n%s", n, tt.cis, out)
			}
			if strings.Contains(out, "<script") || strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
				t.Errorf("unescaped markup or a non-finite number in the output:\n%s", out)
			}
			for _, s := range tt.texts {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			if got := strings.Contains(out, `class="ref"`); got == tt.chart.NoRef {
				t.Errorf("reference line drawn: %v, NoRef %v", got, tt.chart.NoRef)
			}
			if again, _ := str(tt.chart.Render)(); again != out {
				t.Errorf("two renderings differ")
			}
		})
	}
}
