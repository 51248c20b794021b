// Package report writes an evaluation as one self-contained HTML page (tables, and figures drawn by
// gonum.org/v1/plot as SVG and inlined, so the page opens offline and from a CI artefact) plus a
// JSON summary of the same figures for tools and for comparing runs. Each figure is also written
// as its own .svg file next to the page, for slides and the README.
//
// Figures are drawn with a plotting library rather than hand-written SVG so that axes, ticks,
// legends and text layout are right without us maintaining a renderer.
package report
