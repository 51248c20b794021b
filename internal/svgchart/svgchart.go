package svgchart

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"strconv"
)

//go:embed charts.tmpl
var chartsSrc string

var charts = template.Must(template.New("charts").Parse(chartsSrc))

// Palette is the number of series classes (s0 … s7) the page styles; series beyond it reuse them.
const Palette = 8

// Linear maps the domain [D0, D1] linearly onto the range [R0, R1]. Values outside the domain
// map outside the range; a non-finite value maps as 0, an empty domain (D0 == D1) onto R0.
type Linear struct{ D0, D1, R0, R1 float64 }

// Map returns the image of v.
func (s Linear) Map(v float64) float64 {
	v = finite(v)
	if s.D1 == s.D0 {
		return s.R0
	}
	return s.R0 + (v-s.D0)/(s.D1-s.D0)*(s.R1-s.R0)
}

// Nice widens [lo, hi] to multiples of a "nice" step (1, 2, 2.5 or 5 × 10^k) chosen so that at
// most n intervals cover it, and returns the widened bounds and the ticks. An inverted range is
// swapped; an empty one is widened to 0 (to [0, 1] when it is {0}), so that a chart of zeros still
// has an axis.
func Nice(lo, hi float64, n int) (nlo, nhi float64, ticks []float64) {
	lo, hi = finite(lo), finite(hi)
	if hi < lo {
		lo, hi = hi, lo
	}
	if n < 1 {
		n = 1
	}
	if hi == lo {
		switch {
		case hi > 0:
			lo = 0
		case hi < 0:
			hi = 0
		default:
			hi = 1
		}
	}
	step := niceStep((hi - lo) / float64(n))
	first, last := math.Floor(lo/step+1e-9), math.Ceil(hi/step-1e-9)
	for i := first; i <= last; i++ {
		// i·step rather than a running sum: no accumulated rounding error in the labels.
		ticks = append(ticks, roundTo(i*step, step))
	}
	return roundTo(first*step, step), roundTo(last*step, step), ticks
}

// niceStep is the smallest step of the form 1, 2, 2.5 or 5 × 10^k at least raw.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// roundTo removes binary noise below the step's precision (0.30000000000000004 → 0.3).
func roundTo(v, step float64) float64 {
	digits := max(0, -int(math.Floor(math.Log10(step)))+1)
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', digits, 64), 64)
	return r
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// Format is the default number format of ticks and values: three significant digits.
func Format(v float64) string { return strconv.FormatFloat(v, 'g', 3, 64) }

// Percent formats a share as a percentage with one decimal: 0.1234 → "12.3 %".
func Percent(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + " %" }

// px formats a coordinate with at most one decimal.
func px(v float64) string { return strconv.FormatFloat(math.Round(finite(v)*10)/10, 'f', -1, 64) }

// Series is one named series of values, one per label of its chart.
type Series struct {
	Name   string
	Values []float64
}

// Bar is one row of an [HBars] chart.
type Bar struct {
	Label string
	Value float64
	// Lo and Hi bound an interval drawn as a whisker over the bar when Interval is set.
	Lo, Hi   float64
	Interval bool
	// Text is written after the bar; empty means the chart's Format of Value.
	Text string
	// Class is added to the bar's classes (e.g. "control" to set the control apart).
	Class string
}

// HBars is a horizontal bar chart, one bar per row, each optionally with an interval: conversion
// rates with their credible intervals, or sizes. The axis starts at 0 (or at the smallest
// negative value).
type HBars struct {
	Title  string // the chart's accessible name
	Bars   []Bar
	Format func(float64) string // ticks and values; nil means Format
	Width  int                  // pixels; 0 means 640
}

const (
	labelW  = 170 // the label column of HBars
	rowH    = 22
	rowGap  = 8
	padTop  = 8
	axisH   = 24
	padSide = 12
	legendH = 22
)

type tick struct{ X, Y, Label string }

type hrow struct {
	Y, TextY, Label, X, W, Class, Text, TextX string
	Interval                                  bool
	Lo, Hi, Mid, Top, Bot                     string
}

type hbarsView struct {
	Title, W, H, PlotX, PlotR, AxisY, LabelX string
	Rows                                     []hrow
	Ticks                                    []tick
	Empty                                    bool
}

// Render draws the chart as an inline <svg> element.
func (c HBars) Render() (template.HTML, error) {
	format := orFormat(c.Format)
	w := float64(orWidth(c.Width))
	lo, hi := 0.0, 0.0
	for _, b := range c.Bars {
		lo, hi = math.Min(lo, finite(b.Value)), math.Max(hi, finite(b.Value))
		if b.Interval {
			lo, hi = math.Min(lo, finite(b.Lo)), math.Max(hi, finite(b.Hi))
		}
	}
	lo, hi, ticks := Nice(lo, hi, 5)
	// Room for the text after the longest bar: about 6.5 px per character at the page's 11 px,
	// at most a third of the chart.
	room := 30.0
	for _, b := range c.Bars {
		text := b.Text
		if text == "" {
			text = format(b.Value)
		}
		room = math.Max(room, 6.5*float64(len([]rune(text)))+10)
	}
	plotR := w - padSide - math.Min(room, w/3)
	x := Linear{lo, hi, labelW, plotR}
	h := padTop + len(c.Bars)*(rowH+rowGap) + axisH
	v := hbarsView{Title: c.Title, W: px(w), H: strconv.Itoa(h), PlotX: px(labelW), PlotR: px(plotR),
		AxisY: strconv.Itoa(h - axisH), LabelX: px(labelW - 6), Empty: len(c.Bars) == 0}
	for _, t := range ticks {
		v.Ticks = append(v.Ticks, tick{X: px(x.Map(t)), Y: strconv.Itoa(h - axisH + 16), Label: format(t)})
	}
	for i, b := range c.Bars {
		y := float64(padTop + i*(rowH+rowGap))
		x0, x1 := x.Map(math.Min(0, b.Value)), x.Map(math.Max(0, b.Value))
		text := b.Text
		if text == "" {
			text = format(b.Value)
		}
		end := x1
		if b.Interval {
			end = math.Max(end, x.Map(b.Hi))
		}
		r := hrow{Y: px(y), TextY: px(y + rowH/2 + 4), Label: b.Label, X: px(x0), W: px(x1 - x0),
			Class: b.Class, Text: text, TextX: px(end + 6), Interval: b.Interval}
		if b.Interval {
			r.Lo, r.Hi, r.Mid = px(x.Map(b.Lo)), px(x.Map(b.Hi)), px(y+rowH/2)
			r.Top, r.Bot = px(y+4), px(y+rowH-4)
		}
		v.Rows = append(v.Rows, r)
	}
	return render("hbars", v)
}

// Columns is a chart of vertical columns, one per label, the series stacked in each: batches per
// day, say. Negative and non-finite values count as 0.
type Columns struct {
	Title  string
	Labels []string
	Series []Series
	Format func(float64) string
	Width  int // 0 means 640
	Height int // of the plot; 0 means 160
}

type rect struct{ X, Y, W, H, Class, Title string }

type legend struct{ X, Y, TextX, Class, Name string }

type plotView struct {
	Title, W, H, PlotX, PlotR, PlotT, AxisY string
	Rects                                   []rect
	Areas                                   []area
	Ticks, XTicks                           []tick
	Legend                                  []legend
	Empty                                   bool
}

type area struct{ Points, Class, Title string }

// Render draws the chart as an inline <svg> element.
func (c Columns) Render() (template.HTML, error) {
	format := orFormat(c.Format)
	w, ph := float64(orWidth(c.Width)), float64(orHeight(c.Height))
	n := len(c.Labels)
	totals := make([]float64, n)
	for _, s := range c.Series {
		for i := range min(n, len(s.Values)) {
			totals[i] += max(0, finite(s.Values[i]))
		}
	}
	top := 0.0
	for _, t := range totals {
		top = math.Max(top, t)
	}
	_, top, ticks := Nice(0, top, 4)
	y := Linear{0, top, padTop + legendH + ph, padTop + legendH}
	v := frame(c.Title, w, ph, ticks, y, format)
	slot := (w - 2*padSide - 48) / float64(max(n, 1))
	bw := math.Max(1, slot*0.8)
	base := make([]float64, n)
	for j, s := range c.Series {
		for i := range min(n, len(s.Values)) {
			val := max(0, finite(s.Values[i]))
			if val == 0 {
				continue
			}
			x := padSide + 48 + float64(i)*slot + (slot-bw)/2
			y0, y1 := y.Map(base[i]), y.Map(base[i]+val)
			v.Rects = append(v.Rects, rect{X: px(x), Y: px(y1), W: px(bw), H: px(y0 - y1),
				Class: seriesClass(j), Title: c.Labels[i] + " · " + s.Name + ": " + format(val)})
			base[i] += val
		}
	}
	v.XTicks = xTicks(c.Labels, func(i int) float64 { return padSide + 48 + (float64(i)+0.5)*slot }, v.AxisY)
	v.Legend = legends(c.Series)
	v.Empty = n == 0 || len(c.Series) == 0
	return render("plot", v)
}

// Shares is a stacked-area chart of each series' share at each label (time, left to right): how a
// bandit split its traffic over successive bundle versions. Each label's values are normalised to
// sum to 1; a label whose values sum to 0 is drawn empty.
type Shares struct {
	Title  string
	Labels []string
	Series []Series
	Width  int // 0 means 640
	Height int // of the plot; 0 means 160
}

// Render draws the chart as an inline <svg> element.
func (c Shares) Render() (template.HTML, error) {
	w, ph := float64(orWidth(c.Width)), float64(orHeight(c.Height))
	n := len(c.Labels)
	_, _, ticks := Nice(0, 1, 4)
	y := Linear{0, 1, padTop + legendH + ph, padTop + legendH}
	v := frame(c.Title, w, ph, ticks, y, func(v float64) string { return strconv.FormatFloat(100*v, 'f', 0, 64) + " %" })
	left, right := float64(padSide+48), w-padSide
	xAt := func(i int) float64 {
		if n < 2 {
			return left
		}
		return Linear{0, float64(n - 1), left, right}.Map(float64(i))
	}
	sums := make([]float64, n)
	for _, s := range c.Series {
		for i := range min(n, len(s.Values)) {
			sums[i] += max(0, finite(s.Values[i]))
		}
	}
	base := make([]float64, n)
	for j, s := range c.Series {
		var upper, lower []string
		for i := range n {
			share := 0.0
			if i < len(s.Values) && sums[i] > 0 {
				share = max(0, finite(s.Values[i])) / sums[i]
			}
			xs := []float64{xAt(i)}
			if n == 1 { // one version: a band across the plot
				xs = []float64{left, right}
			}
			for _, x := range xs {
				lower = append(lower, px(x)+","+px(y.Map(base[i])))
				upper = append(upper, px(x)+","+px(y.Map(base[i]+share)))
			}
			base[i] += share
		}
		pts := upper
		for k := len(lower) - 1; k >= 0; k-- {
			pts = append(pts, lower[k])
		}
		if n > 0 {
			v.Areas = append(v.Areas, area{Points: join(pts), Class: seriesClass(j), Title: s.Name})
		}
	}
	v.XTicks = xTicks(c.Labels, xAt, v.AxisY)
	v.Legend = legends(c.Series)
	v.Empty = n == 0 || len(c.Series) == 0
	return render("plot", v)
}

// frame lays out what plots with a vertical value axis share: size, grid lines and legend row.
func frame(title string, w, ph float64, ticks []float64, y Linear, format func(float64) string) plotView {
	h := padTop + legendH + ph + axisH
	v := plotView{Title: title, W: px(w), H: px(h), PlotX: px(padSide + 48), PlotR: px(w - padSide),
		PlotT: px(padTop + legendH), AxisY: px(padTop + legendH + ph)}
	for _, t := range ticks {
		v.Ticks = append(v.Ticks, tick{Y: px(y.Map(t)), X: px(padSide + 42), Label: format(t)})
	}
	return v
}

// xTicks labels the horizontal axis, skipping labels so that about twelve at most are written.
func xTicks(labels []string, x func(int) float64, axisY string) []tick {
	every := max(1, (len(labels)+11)/12)
	ay, _ := strconv.ParseFloat(axisY, 64)
	var out []tick
	for i, l := range labels {
		if i%every == 0 || i == len(labels)-1 && len(labels) <= 12 {
			out = append(out, tick{X: px(x(i)), Y: px(ay + 16), Label: l})
		}
	}
	return out
}

func legends(series []Series) []legend {
	out := make([]legend, len(series))
	x := float64(padSide + 48)
	for j, s := range series {
		out[j] = legend{X: px(x), Y: px(padTop + 4), TextX: px(x + 16), Class: seriesClass(j), Name: s.Name}
		x += 28 + 7*float64(len([]rune(s.Name)))
	}
	return out
}

func seriesClass(j int) string { return "s" + strconv.Itoa(j%Palette) }

func join(pts []string) string {
	var b bytes.Buffer
	for i, p := range pts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p)
	}
	return b.String()
}

func orFormat(f func(float64) string) func(float64) string {
	if f == nil {
		return Format
	}
	return f
}

func orWidth(w int) int {
	if w <= 0 {
		return 640
	}
	return w
}

func orHeight(h int) int {
	if h <= 0 {
		return 160
	}
	return h
}

func render(name string, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := charts.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("svgchart: %s: %w", name, err)
	}
	// The bytes are html/template's output, every value in them escaped for its context.
	return template.HTML(b.String()), nil
}

// Forest is a forest plot: for each group (a variant), one interval per series (a method of
// inference) around its estimate, on one horizontal axis with a reference line at Ref (0: no
// difference). It shows at a glance whether the methods agree and which intervals exclude Ref.
type Forest struct {
	Title  string
	Series []string // the methods, one colour (s0 …) each; every group has an interval per series
	Groups []ForestGroup
	Ref    float64
	NoRef  bool                 // draw no reference line (Ref is ignored)
	Format func(float64) string // ticks and values; nil means Format
	Width  int                  // pixels; 0 means 640
}

// ForestGroup is one row label of a [Forest] and its intervals, in the order of the chart's Series.
type ForestGroup struct {
	Label     string
	Intervals []Interval
}

// Interval is one estimate with its bounds. An interval whose bounds are not finite, or that is
// Missing, is not drawn: its Text (say "not enough visitors yet") is written instead.
type Interval struct {
	Estimate, Lo, Hi float64
	Missing          bool
	Text             string // empty means "estimate (lo – hi)" in the chart's Format
}

const (
	forestRow  = 14  // height of one interval's line
	forestText = 200 // the value column on the right
)

type forestLine struct {
	Y, TextY, Class, Text, Lo, Hi, Est, Top, Bot string
	Drawn                                        bool
}

type forestGroup struct {
	Label, LabelY string
	Lines         []forestLine
}

type forestView struct {
	Title, W, H, PlotX, PlotR, AxisY, LabelX, TextX, RefX string
	Groups                                                []forestGroup
	Ticks                                                 []tick
	Legend                                                []legend
	Empty                                                 bool
}

// drawn reports whether an interval has finite bounds to draw.
func (iv Interval) drawn() bool {
	return !iv.Missing && !math.IsNaN(iv.Lo+iv.Hi+iv.Estimate) && !math.IsInf(iv.Lo, 0) && !math.IsInf(iv.Hi, 0) &&
		!math.IsInf(iv.Estimate, 0)
}

// Render draws the chart as an inline <svg> element.
func (c Forest) Render() (template.HTML, error) {
	format := orFormat(c.Format)
	w := float64(orWidth(c.Width))
	ref := finite(c.Ref)
	lo, hi := ref, ref
	first := c.NoRef
	for _, g := range c.Groups {
		for _, iv := range g.Intervals {
			if !iv.drawn() {
				continue
			}
			if first { // no reference to include: the domain is the intervals'
				lo, hi, first = iv.Lo, iv.Hi, false
			}
			lo, hi = math.Min(lo, iv.Lo), math.Max(hi, iv.Hi)
		}
	}
	lo, hi, ticks := Nice(lo, hi, 5)
	// The label column fits the longest label (about 6.5 px per character at 12 px), within a
	// third of the chart.
	lw := float64(labelW)
	for _, g := range c.Groups {
		lw = math.Max(lw, 6.5*float64(len([]rune(g.Label)))+12)
	}
	lw = math.Min(lw, w/3)
	plotR := w - padSide - forestText
	x := Linear{lo, hi, lw, plotR}
	n := len(c.Series)
	groupH := max(n, 1)*forestRow + rowGap
	h := padTop + legendH + len(c.Groups)*groupH + axisH
	axisY := h - axisH
	v := forestView{Title: c.Title, W: px(w), H: strconv.Itoa(h), PlotX: px(lw), PlotR: px(plotR),
		AxisY: strconv.Itoa(axisY), LabelX: px(lw - 6), TextX: px(plotR + 10), Empty: len(c.Groups) == 0}
	if !c.NoRef {
		v.RefX = px(x.Map(ref))
	}
	for _, t := range ticks {
		v.Ticks = append(v.Ticks, tick{X: px(x.Map(t)), Y: strconv.Itoa(axisY + 16), Label: format(t)})
	}
	series := make([]Series, n)
	for j, name := range c.Series {
		series[j].Name = name
	}
	v.Legend = legends(series)
	for i, g := range c.Groups {
		top := float64(padTop + legendH + i*groupH)
		fg := forestGroup{Label: g.Label, LabelY: px(top + float64(max(n, 1)*forestRow)/2 + 4)}
		for j := range n {
			iv := Interval{Missing: true} // a group short of intervals lacks the last ones
			if j < len(g.Intervals) {
				iv = g.Intervals[j]
			}
			y := top + float64(j*forestRow) + forestRow/2
			l := forestLine{Y: px(y), TextY: px(y + 4), Class: seriesClass(j), Text: iv.Text, Drawn: iv.drawn(),
				Top: px(y - 4), Bot: px(y + 4)}
			if l.Drawn {
				l.Lo, l.Hi, l.Est = px(x.Map(iv.Lo)), px(x.Map(iv.Hi)), px(x.Map(iv.Estimate))
				if l.Text == "" {
					l.Text = format(iv.Estimate) + " (" + format(iv.Lo) + " – " + format(iv.Hi) + ")"
				}
			}
			fg.Lines = append(fg.Lines, l)
		}
		v.Groups = append(v.Groups, fg)
	}
	return render("forest", v)
}
