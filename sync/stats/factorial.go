package stats

import (
	"fmt"
	"strings"
)

// Factor is one dimension of a multivariate (full-factorial) test: its name and its levels, the
// first of which is the factor's control.
type Factor struct {
	Name   string
	Levels []string
}

// Combination is one cell of a full-factorial test: a level of every factor.
type Combination struct {
	ID     string // "factor=level&factor=level", in the order of the factors: the variant's id
	Levels []int  // the level of each factor
}

// Combinations lists every combination of the factors' levels, the last factor varying fastest.
func Combinations(factors []Factor) []Combination {
	out := []Combination{{}}
	for _, f := range factors {
		next := make([]Combination, 0, len(out)*len(f.Levels))
		for _, c := range out {
			for l := range f.Levels {
				next = append(next, Combination{Levels: append(append([]int(nil), c.Levels...), l)})
			}
		}
		out = next
	}
	for i := range out {
		parts := make([]string, len(factors))
		for f, l := range out[i].Levels {
			parts[f] = factors[f].Name + "=" + factors[f].Levels[l]
		}
		out[i].ID = strings.Join(parts, "&")
	}
	return out
}

// Effect is the main effect of one level of one factor: the visitors of every combination with that
// level, pooled over the other factors, against those with the factor's first level. In a full
// factorial with equal weights the other factors are balanced between the two pools, so the
// difference estimates the level's own effect.
type Effect struct {
	Factor string
	Level  string
	Result // Fixed.P is Holm-adjusted over every effect of the test
}

// MainEffects reports the main effect of every level but the first of every factor, from the arms of
// the combinations (by combination id; a missing combination counts as no visitor), at level (e.g.
// 0.95). The p-values are adjusted for all the effects at once (Holm), as an A/B/n test is for its
// variants.
func MainEffects(factors []Factor, arms map[string]Arm, level float64) ([]Effect, error) {
	combos := Combinations(factors)
	var out []Effect
	var family []Result
	for f, fac := range factors {
		pooled := make([]Arm, len(fac.Levels))
		for l := range pooled {
			pooled[l].Name = fac.Name + "=" + fac.Levels[l]
		}
		for _, c := range combos {
			a := arms[c.ID]
			p := &pooled[c.Levels[f]]
			p.Visitors += a.Visitors
			p.Conversions += a.Conversions
			p.Revenue += a.Revenue
		}
		for l := 1; l < len(pooled); l++ {
			r, err := compare(pooled[l], pooled[0], level)
			if err != nil {
				return nil, fmt.Errorf("stats: factor %q, level %q: %w", fac.Name, fac.Levels[l], err)
			}
			out = append(out, Effect{Factor: fac.Name, Level: fac.Levels[l]})
			family = append(family, r)
		}
	}
	adjust(family)
	for i := range out {
		out[i].Result = family[i]
	}
	return out, nil
}
