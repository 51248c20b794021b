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
	// PerSegment makes each bandit campaign also learn one split per segment, from the cells of
	// that segment alone, shipped as the campaign's BySegment: a visitor whose primary segment has
	// a split draws with it, every other visitor with the global split (the variants' weights,
	// learnt from all cells as without PerSegment). Without it, Reallocate clears BySegment.
	PerSegment bool
	// MinSegmentExposures is the evidence a segment needs for a split of its own: exposures of the
	// campaign's variants in the segment's cells. A segment with fewer keeps to the global split,
	// whose posterior pools every segment's evidence. Default 1,000.
	MinSegmentExposures int64
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
	if c.MinSegmentExposures == 0 {
		c.MinSegmentExposures = 1000
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
	// Segments are the per-segment splits (Config.PerSegment), one per segment seen in the cells,
	// in the bundle's segment order, whether or not it had the evidence for its own split.
	Segments []SegmentAllocation
}

// SegmentAllocation is what Reallocate decided for one segment of a campaign.
type SegmentAllocation struct {
	Segment    string
	Arms       []stats.Arm  // exposures and conversions per variant, in the segment
	Posteriors []stats.Beta // nil when the segment lacks the evidence
	Best       []float64    // nil when the segment lacks the evidence
	Weights    []uint16     // nil when the segment lacks the evidence: it keeps the global split
}

// Reallocate returns a copy of b, one version newer and created at now (Unix seconds), in which each
// campaign listed in bandits splits its traffic by the probability that each variant converts best,
// given cells. Holdout cells (no variant) do not count: the holdout stays the control. A bandit
// campaign missing from b is an error; cells of other campaigns are ignored. With cfg.PerSegment,
// each segment of b with enough evidence also gets its own split (models.Campaign.BySegment);
// cells of a segment b does not have, or of no segment, count for the global split only.
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
		c.BySegment = nil
		if cfg.PerSegment {
			if al.Segments, c.BySegment, err = allocateSegments(b, c, al.Variants, cells, cfg); err != nil {
				return nil, nil, err
			}
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
	var err error
	if al.Posteriors, al.Best, al.Weights, err = thompson(al.Arms, cfg); err != nil {
		return al, fmt.Errorf("learn: campaign %q: %w", c.ID, err)
	}
	return al, nil
}

// allocateSegments computes the per-segment splits of campaign c, whose variants are variants,
// from the cells of each of b's segments.
func allocateSegments(b *models.Bundle, c *models.Campaign, variants []string, cells []store.ReportCell, cfg Config) ([]SegmentAllocation, []models.SegmentSplit, error) {
	arms := make([][]stats.Arm, len(b.Segments)) // nil: segment not seen
	for _, cell := range cells {
		if cell.Campaign != c.ID || cell.Variant == "" || cell.Segment == "" {
			continue
		}
		s := slices.IndexFunc(b.Segments, func(sg models.Segment) bool { return sg.Name == cell.Segment })
		i := slices.Index(variants, cell.Variant)
		if s < 0 || i < 0 {
			continue
		}
		if arms[s] == nil {
			arms[s] = make([]stats.Arm, len(variants))
			for j, v := range variants {
				arms[s][j].Name = v
			}
		}
		arms[s][i].Visitors += cell.Exposures
		arms[s][i].Conversions += min(cell.Conversions, cell.Exposures)
		arms[s][i].Revenue += cell.Revenue
	}
	var out []SegmentAllocation
	var splits []models.SegmentSplit
	for s, as := range arms {
		if as == nil {
			continue
		}
		sa := SegmentAllocation{Segment: b.Segments[s].Name, Arms: as}
		var n int64
		for _, a := range as {
			n += a.Visitors
		}
		if n >= cfg.MinSegmentExposures {
			var err error
			if sa.Posteriors, sa.Best, sa.Weights, err = thompson(as, cfg); err != nil {
				return nil, nil, fmt.Errorf("learn: campaign %q, segment %q: %w", c.ID, sa.Segment, err)
			}
			splits = append(splits, models.SegmentSplit{Segment: uint16(s), Weights: sa.Weights})
		}
		out = append(out, sa)
	}
	return out, splits, nil
}

// thompson turns arms into posteriors, P(arm is best) with cfg's floor, and weights on cfg's scale.
func thompson(arms []stats.Arm, cfg Config) (post []stats.Beta, best []float64, weights []uint16, err error) {
	for _, a := range arms {
		post = append(post, stats.Posterior(a, cfg.Prior))
	}
	floor := cfg.Floor
	if floor*float64(len(arms)) >= 1 {
		floor = 0
	}
	if best, err = stats.ThompsonWeights(post, floor); err != nil {
		return nil, nil, nil, err
	}
	for _, p := range best {
		weights = append(weights, uint16(max(1, math.Round(p*float64(cfg.Scale)))))
	}
	return post, best, weights, nil
}
