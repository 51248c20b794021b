package report

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presage-dev/presage/models/eval"
)

func binaryReport(t *testing.T) *eval.BinaryReport {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	s, y := make([]float64, 500), make([]float64, 500)
	for i := range s {
		s[i] = rng.Float64()
		if rng.Float64() < s[i] {
			y[i] = 1
		}
	}
	rep, err := eval.Binary(s, y, eval.BinaryOptions{Bootstrap: eval.BootstrapOptions{Reps: 50}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestWrite(t *testing.T) {
	rep := binaryReport(t)
	secs, err := BinarySections("model", "m-", rep)
	if err != nil {
		t.Fatal(err)
	}
	bars, err := Bars("holdout", "group", "purchases", []string{"0", "1", "2+"}, []string{"predicted", "actual"},
		[]float64{0.2, 0.5, 1.1}, []float64{0.25, 0.7, 1.0})
	if err != nil {
		t.Fatal(err)
	}
	hist, err := Histogram("P(alive)", "P(alive)", []float64{0.1, 0.5, 0.9, 1, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	secs = append(secs, Section{Heading: "other <&> things", Text: []string{"a < b"},
		Figures: []Figure{{Name: "bars", Plot: bars}, {Name: "hist", Plot: hist}}})
	dir := t.TempDir()
	r := &Report{Title: "Test report", Intro: []string{"intro"}, Sections: secs, Summary: rep}
	files, err := r.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(files.HTML)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "AUC", "other &lt;&amp;&gt; things", "a &lt; b", "Reliability"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(string(html), "<?xml") {
		t.Error("XML prolog inlined into HTML")
	}
	if n := strings.Count(string(html), "<svg"); n != 6 {
		t.Errorf("%d inline SVGs, want 6", n)
	}
	if len(files.SVG) != 6 {
		t.Errorf("%d SVG files, want 6", len(files.SVG))
	}
	var back eval.BinaryReport
	js, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err := json.Unmarshal(js, &back); err != nil || back.Rows != 500 {
		t.Errorf("summary.json: %v, rows %d", err, back.Rows)
	}
}

func TestWriteErrors(t *testing.T) {
	p, _ := Lines("x", "x", "y", Series{X: []float64{0, 1}, Y: []float64{0, 1}})
	tests := []struct {
		name string
		figs []Figure
	}{
		{"empty-name", []Figure{{Plot: p}}},
		{"repeated", []Figure{{Name: "a", Plot: p}, {Name: "a", Plot: p}}},
		{"slash", []Figure{{Name: "a/b", Plot: p}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Sections: []Section{{Figures: tt.figs}}}
			if _, err := r.Write(t.TempDir()); err == nil {
				t.Error("no error")
			}
		})
	}
	if _, err := Lines("x", "x", "y", Series{X: []float64{0}, Y: nil}); err == nil {
		t.Error("ragged series accepted")
	}
	if _, err := Bars("x", "x", "y", []string{"a"}, []string{"one"}, []float64{1, 2}); err == nil {
		t.Error("ragged bars accepted")
	}
}
