package sim

import (
	"errors"
	"fmt"
)

// Time units in Unix milliseconds.
const (
	second = int64(1000)
	minute = 60 * second
	hour   = 60 * minute
	day    = 24 * hour
	week   = 7 * day
)

// DefaultStart is 2025-01-06 00:00 UTC, a Monday: a fixed date so that default runs are reproducible.
const DefaultStart int64 = 1736121600000

// Config describes a simulation. The zero value of every field means its default (see
// [DefaultConfig]), so Config{Seed: 7} is a complete configuration; fields where zero is a
// meaningful choice take a negative value to mean "none".
type Config struct {
	// Seed makes the simulation reproducible: the same Config gives the same catalogue and the
	// same visitors, event for event. Zero is a valid seed.
	Seed uint64

	// Visitors is the population that [Sim.All] generates (default 10,000). [Sim.Visitor] and
	// [Sim.Visitors] accept any index regardless, so a caller can draw more.
	Visitors int

	// Items and Categories size the catalogue (defaults 1,000 and 24). Every category gets at
	// least one item, so Items must be at least Categories. Category ids are readable words
	// ("shoes", "memory-cards") for the first forty and "cat-0123" beyond.
	Items, Categories int

	// Days is the observation period (default 90): the events a model is trained on.
	Days int

	// HoldoutDays is the period simulated after the observation period (default 28; negative:
	// none). Its events are kept apart ([Visitor.Holdout]) and its purchases give the labels of
	// "buys in the next N days" and of the value models.
	HoldoutDays int

	// Start is the first instant of the observation period, in Unix milliseconds (default
	// [DefaultStart]). It should be a midnight: hours of the day are counted from it.
	Start int64

	// Brand is the shop's name, used in brand-search terms (default "acme").
	Brand string

	// RawArrivals is the share of arrivals that carry a referrer and UTM fields instead of a
	// classified channel, to exercise the agent's channel classification (default 0.25; negative:
	// none, every arrival carries its channel).
	RawArrivals float64

	// SpecialDays are days (counted from Start, holdout included) such as sales or holidays, on
	// which visitors come twice as often and are more inclined to buy.
	SpecialDays []int

	// Responder, when set, plays the site's side of an interactive simulation: it decides what
	// each session is shown, and the exposure changes the visitor's intent by Uplift. Nil means
	// no campaigns. See [Responder] for the concurrency and determinism it must offer.
	Responder Responder

	// Uplift is the true effect of an exposure on the logit of a session's buying intent, per
	// archetype: the answer key of the uplift models and of the bandits. Nil means [DefaultUplift].
	Uplift func(Archetype, Exposure) float64
}

// DefaultConfig returns the configuration that the zero Config stands for, with every default
// filled in: useful to print or to tweak one field.
func DefaultConfig() Config { return Config{}.withDefaults() }

// withDefaults fills the zero fields with their defaults and turns the negative "none" values
// into zero.
func (c Config) withDefaults() Config {
	if c.Visitors == 0 {
		c.Visitors = 10000
	}
	if c.Items == 0 {
		c.Items = 1000
	}
	if c.Categories == 0 {
		c.Categories = 24
	}
	if c.Days == 0 {
		c.Days = 90
	}
	switch {
	case c.HoldoutDays == 0:
		c.HoldoutDays = 28
	case c.HoldoutDays < 0:
		c.HoldoutDays = 0
	}
	if c.Start == 0 {
		c.Start = DefaultStart
	}
	if c.Brand == "" {
		c.Brand = "acme"
	}
	switch {
	case c.RawArrivals == 0:
		c.RawArrivals = 0.25
	case c.RawArrivals < 0:
		c.RawArrivals = 0
	}
	if c.Uplift == nil {
		c.Uplift = DefaultUplift
	}
	return c
}

// Limits that keep a mistyped configuration from exhausting memory.
const (
	maxItems      = 10_000_000
	maxCategories = 100_000
	maxDays       = 3650
)

// validate checks a configuration whose defaults are filled in.
func (c Config) validate() error {
	switch {
	case c.Visitors < 0:
		return fmt.Errorf("sim: Visitors must not be negative, got %d", c.Visitors)
	case c.Items < 0 || c.Items > maxItems:
		return fmt.Errorf("sim: Items must be between 1 and %d, got %d", maxItems, c.Items)
	case c.Categories < 0 || c.Categories > maxCategories:
		return fmt.Errorf("sim: Categories must be between 1 and %d, got %d", maxCategories, c.Categories)
	case c.Items < c.Categories:
		return fmt.Errorf("sim: Items (%d) must be at least Categories (%d): every category needs an item", c.Items, c.Categories)
	case c.Days < 0 || c.Days > maxDays:
		return fmt.Errorf("sim: Days must be between 1 and %d, got %d", maxDays, c.Days)
	case c.HoldoutDays > maxDays:
		return fmt.Errorf("sim: HoldoutDays must be at most %d, got %d", maxDays, c.HoldoutDays)
	case c.Start < 0:
		return fmt.Errorf("sim: Start must not be negative, got %d", c.Start)
	case c.Start > 1<<53:
		return errors.New("sim: Start is too far in the future")
	case c.RawArrivals > 1:
		return fmt.Errorf("sim: RawArrivals is a share and must be at most 1, got %g", c.RawArrivals)
	}
	for _, d := range c.SpecialDays {
		if d < 0 || d >= c.Days+c.HoldoutDays {
			return fmt.Errorf("sim: special day %d is outside the simulated days [0, %d)", d, c.Days+c.HoldoutDays)
		}
	}
	return nil
}
