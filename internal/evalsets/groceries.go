package evalsets

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/presage-dev/presage/internal/csvin"
	"github.com/presage-dev/presage/internal/report"
	"github.com/presage-dev/presage/models/train"
)

// readBaskets reads a basket file: one basket per line, items separated by commas, no header,
// lines of any length (groceries.csv). Items are indexed in order of first appearance.
func readBaskets(path string) (baskets [][]int, names []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	index := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, nil, &csvin.Error{File: path, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
			}
			return nil, nil, err
		}
		var b []int
		for _, s := range rec {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			it, ok := index[s]
			if !ok {
				it = len(names)
				index[s] = it
				names = append(names, s)
			}
			b = append(b, it)
		}
		baskets = append(baskets, b)
	}
	return baskets, names, nil
}

// RuleRow is a rule with item names, for the summary.
type RuleRow struct {
	From       string  `json:"lhs"`
	To         string  `json:"rhs"`
	Count      int     `json:"count"`
	Support    float64 `json:"support"`
	Confidence float64 `json:"confidence"`
	Lift       float64 `json:"lift"`
}

// Groceries counts co-occurrences in the arules Groceries baskets and checks the published
// two-item rule set of apriori(support = 0.006, confidence = 0.25, minlen = 2) (Lantz, Machine
// Learning with R, ch. 8): 150 rules of length 2, the first {potted plants} ⇒ {whole milk} with
// count 68, support 0.006914082, confidence 0.4 and lift 1.565460 (the CSV calls the item "pot
// plants"); and the data's own summary.
func Groceries(ctx context.Context, opt Options) (*Result, error) {
	path, err := file(opt, "groceries", "groceries.csv")
	if err != nil {
		return nil, err
	}
	baskets, names, err := readBaskets(path)
	if err != nil {
		return nil, err
	}
	rules, err := train.PairRules(ctx, baskets, len(names), 0.006, 0.25)
	if err != nil {
		return nil, err
	}
	occ := 0
	counts := make([]int, len(names))
	for _, b := range baskets {
		occ += len(b)
		for _, it := range b {
			counts[it]++
		}
	}
	rows := make([]RuleRow, len(rules))
	for i, r := range rules {
		rows[i] = RuleRow{From: names[r.From], To: names[r.To], Count: r.Count, Support: r.Support, Confidence: r.Confidence, Lift: r.Lift}
	}
	checks := []Check{
		equal("baskets", len(baskets), 9835),
		equal("items", len(names), 169),
		equal("whole milk baskets", counts[slices.Index(names, "whole milk")], 2513),
		equal("two-item rules at support 0.006, confidence 0.25", len(rules), 150),
	}
	// The CSV spells arules' "potted plants" as "pot plants" (170 baskets in both).
	pp := slices.IndexFunc(rows, func(r RuleRow) bool {
		return (r.From == "pot plants" || r.From == "potted plants") && r.To == "whole milk"
	})
	if pp < 0 {
		checks = append(checks, Check{Name: "{pot plants} ⇒ {whole milk} present", Rule: "present"})
	} else {
		r := rows[pp]
		checks = append(checks, equal("{pot plants} ⇒ {whole milk} count", r.Count, 68),
			withinAbs("… support", r.Support, 0.006914082, 5e-10),
			withinAbs("… confidence", r.Confidence, 0.4, 5e-8),
			withinAbs("… lift", r.Lift, 1.565460, 5e-7))
	}
	density := float64(occ) / float64(len(baskets)*len(names))
	lines := []string{
		fmt.Sprintf("baskets %d, items %d, item occurrences %d, density %.7f", len(baskets), len(names), occ, density),
		fmt.Sprintf("two-item rules at support ≥ 0.006 and confidence ≥ 0.25: %d (published: 150)", len(rules)),
	}
	top := report.Table{Caption: "the 15 two-item rules with the highest lift", Header: []string{"rule", "count", "support", "confidence", "lift"}}
	for _, r := range rows[:min(15, len(rows))] {
		top.Rows = append(top.Rows, []string{"{" + r.From + "} ⇒ {" + r.To + "}", fmt.Sprint(r.Count),
			fmt.Sprintf("%.6f", r.Support), fmt.Sprintf("%.4f", r.Confidence), fmt.Sprintf("%.4f", r.Lift)})
		if len(lines) < 7 {
			lines = append(lines, "  "+top.Rows[len(top.Rows)-1][0]+fmt.Sprintf("  support %.4f confidence %.3f lift %.2f", r.Support, r.Confidence, r.Lift))
		}
	}
	xs, ys := make([]float64, len(rows)), make([]float64, len(rows))
	for i, r := range rows {
		xs[i], ys[i] = r.Support, r.Confidence
	}
	scatter, err := report.Lines(fmt.Sprintf("%d two-item rules", len(rows)), "support", "confidence", report.Series{X: xs, Y: ys, NoLine: true})
	if err != nil {
		return nil, err
	}
	freq := make([]int, len(names))
	for i := range freq {
		freq[i] = i
	}
	slices.SortFunc(freq, func(a, b int) int { return cmp.Compare(counts[b], counts[a]) })
	itemTable := report.Table{Caption: "most frequent items", Header: []string{"item", "baskets"}}
	for _, it := range freq[:6] {
		itemTable.Rows = append(itemTable.Rows, []string{names[it], fmt.Sprint(counts[it])})
	}
	rep := &report.Report{
		Title: "Groceries: co-occurrence counts against published association rules",
		Intro: []string{"Data: the arules Groceries baskets (Hahsler, Hornik & Reutterer 2006), one month of a grocery outlet's point-of-sale data, as groceries.csv. " +
			"Published: apriori(support = 0.006, confidence = 0.25, minlen = 2) gives 463 rules, 150 of them with two items (Lantz, Machine Learning with R, ch. 8). Reproduce: make eval-groceries (presage eval groceries).",
			"The rules come from models/train.PairRules, which counts pairs the way FitNeighbours does; matching the published rule set to the last digit checks the counting that the recommendation similarities are built on."},
		Sections: []report.Section{{
			Heading: "Two-item rules",
			Text:    []string{fmt.Sprintf("%d baskets, %d items, density %.7f.", len(baskets), len(names), density)},
			Tables:  []report.Table{checksTable(checks), itemTable, top},
			Figures: []report.Figure{{Name: "groceries-rules", Caption: "Support and confidence of every two-item rule found.", Plot: scatter}},
		}},
		Summary: map[string]any{"dataset": "groceries", "checks": checks, "baskets": len(baskets), "items": len(names),
			"density": density, "rules": rows},
	}
	return &Result{Name: "groceries", Checks: checks, Lines: lines, Report: rep}, nil
}
