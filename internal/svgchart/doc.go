// Package svgchart draws the few charts the sync server's dashboard needs as inline SVG, on the
// server, with html/template: horizontal bars with optional credible intervals ([HBars]), stacked
// columns ([Columns]), stacked shares over time ([Shares]) and forest plots of intervals per group
// and method ([Forest]). There is no JavaScript, no external font or stylesheet: colours come from
// CSS classes (bar, s0 … s7, interval, ci, ref, axis, grid) that the page styles.
//
// # Invariants
//
//   - Every label, title and number reaches the output through html/template, so a hostile label
//     (a campaign id such as "<script>") is escaped in text and attribute contexts alike; Render
//     returns template.HTML only because it is the output of such a template.
//   - Geometry is computed from the data alone (no clock, no randomness): the same chart renders
//     to the same bytes.
//   - Non-finite values are drawn as zero rather than producing NaN coordinates.
package svgchart
