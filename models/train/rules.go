package train

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
)

// Rule is a two-item association rule {From} ⇒ {To}: of the baskets holding From, Confidence
// also hold To. Support is the share of all baskets holding both (Count of them), Lift is
// Confidence over the share of baskets holding To (1 = independent).
type Rule struct {
	From, To   int
	Count      int
	Support    float64
	Confidence float64
	Lift       float64
}

// PairRules returns every two-item association rule of the baskets with support ≥ minSupport and
// confidence ≥ minConfidence (Agrawal, Imieliński & Swami 1993, "Mining association rules between
// sets of items in large databases", SIGMOD'93), from the same co-occurrence counts that
// FitNeighbours turns into similarities. It is what apriori(support, confidence, minlen = 2)
// returns for rules of length 2, and it is here as a check that the counting is right against
// published rule sets (Groceries), and as an explanation of a neighbour ("bought together in 68
// baskets, 40 % of those with potted plants").
//
// Items repeated within a basket count once; every basket counts in N, including those of one
// item. By the apriori property only items that alone reach the support can be in a rule, so pairs
// are counted over those items only. The support and confidence thresholds are compared on counts,
// with a relative slack of 1e-12 so that a rule exactly at a threshold (68/272 = 0.25) is kept
// whatever the rounding. Rules come sorted by decreasing lift, then From, then To.
func PairRules(ctx context.Context, baskets [][]int, nItems int, minSupport, minConfidence float64) ([]Rule, error) {
	if nItems < 1 {
		return nil, errors.New("train: rules: no items")
	}
	if !(minSupport > 0 && minSupport <= 1) || !(minConfidence >= 0 && minConfidence <= 1) {
		return nil, errors.New("train: rules: support must be in (0, 1] and confidence in [0, 1]")
	}
	const slack = 1 - 1e-12
	n := len(baskets)
	if n == 0 {
		return nil, nil
	}
	minCount := minSupport * float64(n) * slack
	support := make([]int, nItems)
	var buf []int
	dedup := func(b []int) []int {
		buf = append(buf[:0], b...)
		slices.Sort(buf)
		return slices.Compact(buf)
	}
	for bi, b := range baskets {
		for _, it := range dedup(b) {
			if it < 0 || it >= nItems {
				return nil, errors.New("train: rules: item index out of range in basket " + strconv.Itoa(bi))
			}
			support[it]++
		}
	}
	counts := map[[2]int]int{}
	var freq []int
	for bi, b := range baskets {
		if bi%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		freq = freq[:0]
		for _, it := range dedup(b) {
			if float64(support[it]) >= minCount {
				freq = append(freq, it)
			}
		}
		for x, i := range freq {
			for _, j := range freq[x+1:] {
				counts[[2]int{i, j}]++
			}
		}
	}
	var rules []Rule
	add := func(from, to, c int) {
		if float64(c) < minConfidence*float64(support[from])*slack {
			return
		}
		conf := float64(c) / float64(support[from])
		rules = append(rules, Rule{From: from, To: to, Count: c, Support: float64(c) / float64(n),
			Confidence: conf, Lift: conf * float64(n) / float64(support[to])})
	}
	for pair, c := range counts {
		if float64(c) < minCount {
			continue
		}
		add(pair[0], pair[1], c)
		add(pair[1], pair[0], c)
	}
	slices.SortFunc(rules, func(a, b Rule) int {
		if c := cmp.Compare(b.Lift, a.Lift); c != 0 {
			return c
		}
		if c := cmp.Compare(a.From, b.From); c != 0 {
			return c
		}
		return cmp.Compare(a.To, b.To)
	})
	return rules, nil
}
