package report

import (
	"errors"
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named line (and/or set of points) of a line plot.
type Series struct {
	Name   string
	X, Y   []float64
	Points bool // draw a glyph at each point
	NoLine bool // points only (a scatter)
	Dashed bool // a reference line (the diagonal, a baseline)
}

// Grey is the colour of reference series.
var Grey = color.Gray{Y: 140}

func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

// Lines plots series against shared axes; each non-dashed series gets the next colour of
// plotutil's palette, dashed ones are grey.
func Lines(title, xlabel, ylabel string, series ...Series) (*plot.Plot, error) {
	p := newPlot(title, xlabel, ylabel)
	colour := 0
	for _, s := range series {
		if len(s.X) != len(s.Y) {
			return nil, fmt.Errorf("report: series %q has %d x and %d y", s.Name, len(s.X), len(s.Y))
		}
		xy := make(plotter.XYs, len(s.X))
		for i := range s.X {
			xy[i] = plotter.XY{X: s.X[i], Y: s.Y[i]}
		}
		c := color.Color(Grey)
		if !s.Dashed {
			c = plotutil.Color(colour)
			colour++
		}
		var thumbs []plot.Thumbnailer
		if !s.NoLine {
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, fmt.Errorf("report: series %q: %w", s.Name, err)
			}
			l.Color = c
			l.Width = vg.Points(1.5)
			if s.Dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
				l.Width = vg.Points(1)
			}
			p.Add(l)
			thumbs = append(thumbs, l)
		}
		if s.Points || s.NoLine {
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, fmt.Errorf("report: series %q: %w", s.Name, err)
			}
			sc.Color = c
			sc.Shape = draw.CircleGlyph{}
			sc.Radius = vg.Points(2.5)
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		if s.Name != "" {
			p.Legend.Add(s.Name, thumbs...)
		}
	}
	return p, nil
}

// Bars draws grouped vertical bars: one group per label, one bar per series in each group.
func Bars(title, xlabel, ylabel string, labels []string, names []string, values ...[]float64) (*plot.Plot, error) {
	if len(names) != len(values) || len(values) == 0 {
		return nil, errors.New("report: bars need one name per series")
	}
	p := newPlot(title, xlabel, ylabel)
	p.Legend.Left = false
	n := len(values)
	w := vg.Points(min(18, 220/float64(len(labels)*n)))
	for k, v := range values {
		if len(v) != len(labels) {
			return nil, fmt.Errorf("report: series %q has %d values for %d labels", names[k], len(v), len(labels))
		}
		b, err := plotter.NewBarChart(plotter.Values(v), w)
		if err != nil {
			return nil, fmt.Errorf("report: series %q: %w", names[k], err)
		}
		b.LineStyle.Width = 0
		b.Color = plotutil.Color(k)
		b.Offset = w * vg.Length(float64(k)-float64(n-1)/2)
		p.Add(b)
		p.Legend.Add(names[k], b)
	}
	p.NominalX(labels...)
	// Headroom above the tallest bar for the legend, which sits in the top right corner.
	top := 0.0
	for _, v := range values {
		for _, x := range v {
			top = max(top, x)
		}
	}
	p.Y.Min, p.Y.Max = 0, 1.3*top
	return p, nil
}

// Histogram draws the distribution of values over bins equal-width bins.
func Histogram(title, xlabel string, values []float64, bins int) (*plot.Plot, error) {
	p := newPlot(title, xlabel, "customers")
	h, err := plotter.NewHist(plotter.Values(values), bins)
	if err != nil {
		return nil, fmt.Errorf("report: histogram: %w", err)
	}
	h.FillColor = plotutil.Color(0)
	h.LineStyle.Color = color.White
	p.Add(h)
	return p, nil
}
