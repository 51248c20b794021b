package learn

import (
	"fmt"
	"math"
	"slices"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/stats"
	"github.com/presage-dev/presage/sync/store"
)

// Config tunes Reallocate. The zero value gets the defaults.
type Config struct {
	// Floor is the least share of traffic a variant keeps, so that a bandit can still notice a
	// change. Default 0.01.
	Floor float64
	// Prior is the Beta prior of every variant's conversion rate. Default uniform, Beta(1, 1).
	Prior stats.Beta
	// Scale is what the weights of one campaign's variants add up to. Default 10,000.
	Scale int
}

func (c Config) withDefaults() Config {
	if c.Floor == 0 {
		c.Floor = 0.01
	}
	if c.Prior == (stats.Beta{}) {
		c.Prior = stats.Uniform
	}
	if c.Scale == 0 {
		c.Scale = 10000
	}
	return c
}

// Allocation is what Reallocate decided for one campaign.
type Allocation struct {
	Campaign   string
	Variants   []string
	Arms       []stats.Arm  // exposures and conversions per variant, summed over segments
	Posteriors []stats.Beta // of each variant's conversion rate
	Best       []float64    // P(variant is best)
	Weights    []uint16     // the new weights in the bundle
}

// Reallocate returns a copy of b, one version newer and created at now (Unix seconds), in which each
// campaign listed in bandits splits its traffic by the probability that each variant converts best,
// given cells. Holdout cells (no variant) do not count: the holdout stays the control. A bandit
// campaign missing from b is an error; cells of other campaigns are ignored.
func Reallocate(b *models.Bundle, cells []store.ReportCell, bandits []string, now int64, cfg Config) (*models.Bundle, []Allocation, error) {
	cfg = cfg.withDefaults()
	next := *b
	next.Campaigns = slices.Clone(b.Campaigns)
	next.Version = b.Version + 1
	if b.Expires != 0 {
		next.Expires = b.Expires + (now - b.Created)
	}
	next.Created = now
	var out []Allocation
	for _, id := range bandits {
		ci := slices.IndexFunc(next.Campaigns, func(c models.Campaign) bool { return c.ID == id })
		if ci < 0 {
			return nil, nil, fmt.Errorf("learn: bandit campaign %q is not in bundle %d", id, b.Version)
		}
		c := &next.Campaigns[ci]
		al, err := allocate(c, cells, cfg)
		if err != nil {
			return nil, nil, err
		}
		c.Variants = slices.Clone(c.Variants)
		for i := range c.Variants {
			c.Variants[i].Weight = al.Weights[i]
		}
		out = append(out, al)
	}
	return &next, out, nil
}

func allocate(c *models.Campaign, cells []store.ReportCell, cfg Config) (Allocation, error) {
	al := Allocation{Campaign: c.ID}
	for _, v := range c.Variants {
		al.Variants = append(al.Variants, v.ID)
		al.Arms = append(al.Arms, stats.Arm{Name: v.ID})
	}
	for _, cell := range cells {
		if cell.Campaign != c.ID || cell.Variant == "" {
			continue
		}
		if i := slices.Index(al.Variants, cell.Variant); i >= 0 {
			al.Arms[i].Visitors += cell.Exposures
			al.Arms[i].Conversions += min(cell.Conversions, cell.Exposures)
			al.Arms[i].Revenue += cell.Revenue
		}
	}
	for _, a := range al.Arms {
		al.Posteriors = append(al.Posteriors, stats.Posterior(a, cfg.Prior))
	}
	floor := cfg.Floor
	if floor*float64(len(al.Arms)) >= 1 {
		floor = 0
	}
	best, err := stats.ThompsonWeights(al.Posteriors, floor)
	if err != nil {
		return al, fmt.Errorf("learn: campaign %q: %w", c.ID, err)
	}
	al.Best = best
	for _, p := range best {
		al.Weights = append(al.Weights, uint16(max(1, math.Round(p*float64(cfg.Scale)))))
	}
	return al, nil
}
