package learn

import (
	"fmt"
	"math"
	"reflect"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/stats"
	"github.com/presage-dev/presage/sync/store"
)

// Candidate is a retrained bundle and the evidence for and against publishing it.
type Candidate struct {
	Bundle      *models.Bundle // base's next version, created at the time given to Retrain
	Changed     bool           // the campaigns differ from base's: there is something to publish
	Allocations []Allocation   // one per bandit campaign, from the training cells
	Checks      []Check        // one per bandit campaign with held-back evidence
}

// Regressed reports whether any check found the candidate worse than base on held-back evidence.
func (c *Candidate) Regressed() bool {
	for _, ch := range c.Checks {
		if ch.Regression {
			return true
		}
	}
	return false
}

// Check compares the current and the candidate traffic split of one bandit campaign on evidence the
// reallocation did not see: the conversions per exposure each split would have earned, with each
// variant's held-back rate estimated by its Beta posterior mean.
type Check struct {
	Campaign  string  `json:"campaign"`
	Exposures int64   `json:"exposures"` // held-back exposures of the campaign's variants
	Current   float64 `json:"current"`   // expected conversion rate under base's weights
	Candidate float64 `json:"candidate"` // … under the candidate's weights
	// Tolerance is two standard errors of Current: a difference within it is noise, not a regression.
	Tolerance  float64 `json:"tolerance"`
	Regression bool    `json:"regression"` // Candidate < Current − Tolerance
}

// Retrain builds the next bundle from base (the bundle serving): the active campaigns of cs
// compiled into it (Compile), then the split of every bandit campaign moved by the training cells
// (Reallocate), each move checked on the held-back cells (Check). The caller publishes the
// candidate when it Changed and has not Regressed.
func Retrain(base *models.Bundle, cs []*store.Campaign, train, heldBack []store.ReportCell, now int64, cfg Config) (*Candidate, error) {
	cfg = cfg.withDefaults()
	compiled, err := Compile(base, cs)
	if err != nil {
		return nil, err
	}
	var bandits, global, bySegment []string
	for _, c := range cs {
		switch {
		case c.Status != store.StatusActive:
		case c.Allocation == store.AllocBandit:
			global = append(global, c.ID)
		case c.Allocation == store.AllocBanditBySegment:
			bySegment = append(bySegment, c.ID)
		}
	}
	bandits = append(append(bandits, global...), bySegment...)
	next, allocs, err := Reallocate(compiled, train, global, now, cfg)
	if err != nil {
		return nil, err
	}
	if len(bySegment) > 0 {
		seg := cfg
		seg.PerSegment = true
		var more []Allocation
		if next, more, err = Reallocate(next, train, bySegment, now, seg); err != nil {
			return nil, err
		}
		next.Version = compiled.Version + 1 // one new version, however many passes
		allocs = append(allocs, more...)
	}
	cand := &Candidate{Bundle: next, Allocations: allocs, Changed: !reflect.DeepEqual(base.Campaigns, next.Campaigns)}
	for _, id := range bandits {
		cur, ok := campaignOf(base, id)
		if !ok {
			continue // new in this bundle: its split is the definition's, nothing to compare with
		}
		nc, _ := campaignOf(next, id)
		if ch, ok := check(cur, nc, heldBack, cfg.Prior); ok {
			cand.Checks = append(cand.Checks, ch)
		}
	}
	return cand, nil
}

func campaignOf(b *models.Bundle, id string) (*models.Campaign, bool) {
	for i := range b.Campaigns {
		if b.Campaigns[i].ID == id {
			return &b.Campaigns[i], true
		}
	}
	return nil, false
}

// check compares two splits of one campaign on held-back cells; ok is false when the campaign's
// variants differ between the two or no held-back exposure exists.
func check(cur, cand *models.Campaign, heldBack []store.ReportCell, prior stats.Beta) (Check, bool) {
	if !sameVariants(cur.Variants, cand.Variants) {
		return Check{}, false
	}
	al := Allocation{}
	for _, v := range cur.Variants {
		al.Variants = append(al.Variants, v.ID)
		al.Arms = append(al.Arms, stats.Arm{Name: v.ID})
	}
	ch := Check{Campaign: cur.ID}
	for _, cell := range heldBack {
		if cell.Campaign != cur.ID || cell.Variant == "" {
			continue
		}
		for i, v := range al.Variants {
			if v == cell.Variant {
				al.Arms[i].Visitors += cell.Exposures
				al.Arms[i].Conversions += min(cell.Conversions, cell.Exposures)
				ch.Exposures += cell.Exposures
			}
		}
	}
	if ch.Exposures == 0 {
		return Check{}, false
	}
	var variance float64
	ch.Current, variance = expectedRate(cur.Variants, al.Arms, prior)
	ch.Candidate, _ = expectedRate(cand.Variants, al.Arms, prior)
	ch.Tolerance = 2 * math.Sqrt(variance)
	ch.Regression = ch.Candidate < ch.Current-ch.Tolerance
	return ch, true
}

// expectedRate is Σ wᵢ rᵢ / Σ wᵢ over the variants' posterior means rᵢ, with its posterior variance.
func expectedRate(vs []models.Variant, arms []stats.Arm, prior stats.Beta) (mean, variance float64) {
	var total float64
	for _, v := range vs {
		total += float64(v.Weight)
	}
	if total == 0 {
		return 0, 0
	}
	for i, v := range vs {
		p := stats.Posterior(arms[i], prior)
		w := float64(v.Weight) / total
		n := p.Alpha + p.Beta
		m := p.Mean()
		mean += w * m
		variance += w * w * m * (1 - m) / (n + 1)
	}
	return mean, variance
}

// String summarises a check for logs.
func (c Check) String() string {
	return fmt.Sprintf("%s: current %.4f, candidate %.4f (±%.4f, %d held-back exposures)", c.Campaign, c.Current, c.Candidate, c.Tolerance, c.Exposures)
}
