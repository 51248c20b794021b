package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Report is one evaluation.
type Report struct {
	Title    string
	Intro    []string // paragraphs under the title
	Sections []Section
	Summary  any // written as summary.json; nil writes {}
}

// Section is a heading with paragraphs, tables and figures, in that order.
type Section struct {
	Heading string
	Text    []string
	Tables  []Table
	Figures []Figure
}

// Table is a captioned table of preformatted cells.
type Table struct {
	Caption string
	Header  []string
	Rows    [][]string
}

// Figure is a plot with a caption. Name is the file stem of its .svg (unique in a report).
type Figure struct {
	Name    string
	Caption string
	Plot    *plot.Plot
	// Width and Height of the drawing; zero means 16 cm × 10 cm.
	Width, Height vg.Length
}

// Files are the paths Write produced.
type Files struct {
	HTML, JSON string
	SVG        []string
}

var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:1rem 0;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding-bottom:.3rem}
th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}
figure{margin:1.2rem 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.9rem;color:#555}
footer{margin-top:3rem;font-size:.8rem;color:#777}
</style></head><body>
<h1>{{.Title}}</h1>
{{range .Intro}}<p>{{.}}</p>
{{end}}{{range .Sections}}<section><h2>{{.Heading}}</h2>
{{range .Text}}<p>{{.}}</p>
{{end}}{{range .Tables}}<table>{{if .Caption}}<caption>{{.Caption}}</caption>{{end}}
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{range .Figures}}<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}</section>
{{end}}<footer>Written by presage. The figures and numbers are in summary.json next to this page.</footer>
</body></html>
`))

var xmlProlog = regexp.MustCompile(`^<\?xml[^>]*\?>\s*`)

// svg draws a figure as SVG.
func svg(f Figure) ([]byte, error) {
	w, h := f.Width, f.Height
	if w == 0 {
		w = 16 * vg.Centimeter
	}
	if h == 0 {
		h = 10 * vg.Centimeter
	}
	wt, err := f.Plot.WriterTo(w, h, "svg")
	if err != nil {
		return nil, fmt.Errorf("report: figure %s: %w", f.Name, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("report: figure %s: %w", f.Name, err)
	}
	return buf.Bytes(), nil
}

// Write creates dir and writes report.html, summary.json and one .svg per figure in it.
func (r *Report) Write(dir string) (Files, error) {
	var files Files
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return files, fmt.Errorf("report: %w", err)
	}
	type fig struct {
		SVG     template.HTML
		Caption string
	}
	type sec struct {
		Section
		Figures []fig
	}
	view := struct {
		Title    string
		Intro    []string
		Sections []sec
	}{Title: r.Title, Intro: r.Intro}
	seen := map[string]bool{}
	for _, s := range r.Sections {
		vs := sec{Section: s}
		for _, f := range s.Figures {
			if f.Name == "" || seen[f.Name] || strings.ContainsAny(f.Name, `/\`) {
				return files, fmt.Errorf("report: figure name %q is empty, repeated or has a slash", f.Name)
			}
			seen[f.Name] = true
			b, err := svg(f)
			if err != nil {
				return files, err
			}
			p := filepath.Join(dir, f.Name+".svg")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return files, fmt.Errorf("report: %w", err)
			}
			files.SVG = append(files.SVG, p)
			// The SVG comes from gonum/plot, not from user input: safe to inline.
			vs.Figures = append(vs.Figures, fig{SVG: template.HTML(xmlProlog.ReplaceAll(b, nil)), Caption: f.Caption})
		}
		view.Sections = append(view.Sections, vs)
	}
	var html bytes.Buffer
	if err := page.Execute(&html, view); err != nil {
		return files, fmt.Errorf("report: %w", err)
	}
	files.HTML = filepath.Join(dir, "report.html")
	if err := os.WriteFile(files.HTML, html.Bytes(), 0o644); err != nil {
		return files, fmt.Errorf("report: %w", err)
	}
	sum := r.Summary
	if sum == nil {
		sum = struct{}{}
	}
	js, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return files, fmt.Errorf("report: summary: %w", err)
	}
	files.JSON = filepath.Join(dir, "summary.json")
	if err := os.WriteFile(files.JSON, append(js, '\n'), 0o644); err != nil {
		return files, fmt.Errorf("report: %w", err)
	}
	return files, nil
}
