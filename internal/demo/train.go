package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/train"
)

// Config sizes the demo's simulated shop and its training.
type Config struct {
	Seed       uint64 // everything derives from it; 0 means 1
	Visitors   int    // training population; 0 means 20,000
	Items      int    // 0 means 300
	Categories int    // 0 means 20
	Days       int    // observation period; 0 means 90
	Version    uint64 // bundle version; 0 means the creation time in seconds
	Created    time.Time
	Neighbours int // K; 0 means 20
	Rank       int // appetence rank; 0 means a fifth of the categories, at least 2, at most 32
	// Progress, if set, is told what is happening: a stage name and done/total of it.
	Progress func(stage string, done, total int)
}

func (c Config) withDefaults() Config {
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.Visitors == 0 {
		c.Visitors = 20000
	}
	if c.Items == 0 {
		c.Items = 300
	}
	if c.Categories == 0 {
		c.Categories = 20
	}
	if c.Days == 0 {
		c.Days = 90
	}
	if c.Created.IsZero() {
		c.Created = time.Unix(1767225600, 0) // 2026-01-01: a fixed default keeps the demo reproducible
	}
	if c.Version == 0 {
		c.Version = uint64(c.Created.Unix())
	}
	if c.Neighbours == 0 {
		c.Neighbours = 20
	}
	if c.Rank == 0 {
		// A rank near the number of categories only reproduces the visitor's own affinities; a fifth
		// keeps the factors general (measured on the simulator: rank 4 of 20 categories calibrates,
		// rank 8 does not).
		c.Rank = min(max(c.Categories/5, 2), 32)
	}
	if c.Progress == nil {
		c.Progress = func(string, int, int) {}
	}
	return c
}

// Sim returns the simulator the demo trains on (and runs fresh visitors from).
func (c Config) Sim() (*sim.Sim, error) {
	c = c.withDefaults()
	return sim.New(sim.Config{Seed: c.Seed, Visitors: c.Visitors, Items: c.Items, Categories: c.Categories,
		Days: c.Days, HoldoutDays: horizonDays, Start: c.Created.AddDate(0, 0, -c.Days-horizonDays).UnixMilli()})
}

// horizonDays is the horizon of the "within 14 days" models.
const horizonDays = 14

// Report tells how training went: held-out quality of every model, on visitors not trained on.
type Report struct {
	Rows      map[string]int     // training rows per propensity model
	AUC       map[string]float64 // held-out AUC per propensity model
	BaseRate  map[string]float64 // share of positive rows per model
	Value     *models.Value
	Customers int
	Warnings  []string // what training could not do, and why
	Elapsed   time.Duration
}

// Propensity models of the demo bundle, in bundle order (segments refer to them by index).
const (
	ModelBuySession = iota // converts in this session, scored before checkout
	ModelBuy14d            // orders within 14 days of the end of a session
	ModelEmail14d          // comes back through an email click within 14 days
	numModels
)

var modelNames = [numModels]string{"buy_session", "buy_14d", "email_14d"}

// Train simulates the shop, replays every visitor through the agent to collect training rows, fits
// every model kind and assembles the demo bundle: models, segments, campaigns, pressure.
func Train(ctx context.Context, cfg Config) (*models.Bundle, *Report, error) {
	cfg = cfg.withDefaults()
	start := time.Now()
	s, err := cfg.Sim()
	if err != nil {
		return nil, nil, err
	}
	cat := s.Catalogue()
	b := schemaBundle(cat, cfg)
	names := agent.FeatureNames[:]
	b.Features = slices.Clone(names)

	// 1. Replay: rows for the propensity models, baskets, category counts, customer summaries.
	rows := make([]rowSet, numModels)
	var baskets [][]int
	var appRows [][]train.Entry
	var customers []train.Customer
	var spend []float64
	itemIndex := make(map[string]int, len(cat.Items))
	for i, it := range cat.Items {
		itemIndex[it.ID] = i
	}
	catIndex := make(map[string]int, len(cat.Categories))
	for i, c := range cat.Categories {
		catIndex[c.ID] = i
	}
	rep := agent.New()
	if err := rep.SetBundle(b, 0); err != nil {
		return nil, nil, fmt.Errorf("demo: schema bundle: %w", err)
	}
	for i, v := range s.Visitors(cfg.Visitors) {
		if i%500 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			cfg.Progress("replaying visitors", i, cfg.Visitors)
		}
		test := i%5 == 4 // a fixed 80/20 split by visitor, so no visitor is on both sides
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)))
		if err := replay(rep, &v, rng, rows, test); err != nil {
			return nil, nil, fmt.Errorf("demo: visitor %d: %w", i, err)
		}
		for _, ss := range v.Sessions {
			var basket []int
			for _, e := range v.Events[ss.Start:ss.End] {
				if idx, ok := itemIndex[e.Item]; ok && (e.Type == wire.EventProductView || e.Type == wire.EventAddToCart) {
					basket = append(basket, idx)
				}
				for _, l := range e.Lines {
					if idx, ok := itemIndex[l.Item]; ok {
						basket = append(basket, idx)
					}
				}
			}
			if len(basket) > 1 {
				baskets = append(baskets, basket)
			}
		}
		appRows = append(appRows, categoryCounts(v.Events, catIndex))
		if p := rep.Profile(); p.Orders > 0 {
			const weekMs = 7 * 24 * 3600 * 1000
			customers = append(customers, train.Customer{
				X:  float64(p.Orders - 1),
				Tx: float64(p.LastOrder-p.FirstOrder) / weekMs,
				T:  float64(v.End-p.FirstOrder) / weekMs,
			})
			spend = append(spend, p.Revenue/float64(p.Orders))
		}
	}
	cfg.Progress("replaying visitors", cfg.Visitors, cfg.Visitors)

	// 2. Fit.
	report := &Report{Rows: map[string]int{}, AUC: map[string]float64{}, BaseRate: map[string]float64{}, Customers: len(customers)}
	for m := range numModels {
		cfg.Progress("fitting propensity models", m, numModels)
		lr, auc, err := fitPropensity(ctx, &rows[m], names)
		if err != nil {
			return nil, nil, fmt.Errorf("demo: %s: %w", modelNames[m], err)
		}
		lr.Name = modelNames[m]
		b.Propensity = append(b.Propensity, lr)
		report.Rows[lr.Name] = len(rows[m].trainY)
		report.AUC[lr.Name] = auc
		report.BaseRate[lr.Name] = mean(rows[m].trainY)
	}
	cfg.Progress("fitting propensity models", numModels, numModels)
	cfg.Progress("fitting neighbours", 0, 1)
	nb, popular, err := train.FitNeighbours(ctx, baskets, len(cat.Items), cfg.Neighbours, train.NeighbourOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: neighbours: %w", err)
	}
	b.Neighbours, b.Popular = nb, popular
	cfg.Progress("fitting neighbours", 1, 1)
	cfg.Progress("fitting appetence", 0, 1)
	app, _, err := train.FitAppetence(ctx, appRows, len(cat.Categories), cfg.Rank, train.AppetenceOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: appetence: %w", err)
	}
	b.Appetence = app
	cfg.Progress("fitting appetence", 1, 1)
	cfg.Progress("fitting customer value", 0, 1)
	// The value models need repeat customers; on too little history the likelihood has no interior
	// maximum, and a bundle without a value model is better than none.
	if len(customers) < 50 {
		report.Warnings = append(report.Warnings, fmt.Sprintf("value model skipped: %d customers, at least 50 needed", len(customers)))
	} else if val, err := train.FitValue(customers, spend, train.ValueOptions{Horizon: 13}); err != nil {
		report.Warnings = append(report.Warnings, fmt.Sprintf("value model skipped: %v", err))
	} else {
		b.Value = val
		report.Value = val
	}
	cfg.Progress("fitting customer value", 1, 1)
	addMarketing(b)
	if err := b.Validate(); err != nil {
		return nil, nil, fmt.Errorf("demo: trained bundle: %w", err)
	}
	report.Elapsed = time.Since(start)
	return b, report, nil
}

// Schema is a bundle with cat's catalogue, full consent by default and no model (no features
// either): what the demo's replay runs on, for tests that fit their own models on the simulator.
func Schema(cat *sim.Catalogue, cfg Config) *models.Bundle {
	return schemaBundle(cat, cfg.withDefaults())
}

// schemaBundle is a bundle with the catalogue and no model: what the replay runs on.
func schemaBundle(cat *sim.Catalogue, cfg Config) *models.Bundle {
	b := &models.Bundle{Format: models.FormatVersion, Version: cfg.Version, Created: cfg.Created.Unix(),
		Site: "demo-shop", Brand: []string{"presage", "demoshop"},
		Settings: &models.Settings{DefaultConsent: uint8(wire.ConsentFull)}}
	for _, it := range cat.Items {
		b.Items = append(b.Items, it.ID)
		b.ItemCategory = append(b.ItemCategory, uint16(it.Category))
	}
	for _, c := range cat.Categories {
		b.Categories = append(b.Categories, c.ID)
	}
	return b
}

// rowSet collects one model's rows, split into train and test by visitor.
type rowSet struct {
	trainX, testX [][]float64
	trainY, testY []float64
}

func (r *rowSet) add(x *agent.Vector, y bool, test bool) {
	row := slices.Clone(x[:])
	label := 0.0
	if y {
		label = 1
	}
	if test {
		r.testX, r.testY = append(r.testX, row), append(r.testY, label)
	} else {
		r.trainX, r.trainY = append(r.trainX, row), append(r.trainY, label)
	}
}

// replay runs a visitor's events through the agent one at a time, taking the feature vector at the
// points each model is scored at in production:
//   - buy_session: at a random point of the session before checkout (so the label does not leak);
//   - buy_14d and email_14d: at the end of each session whose 14-day horizon is observed.
func replay(a *agent.Agent, v *sim.Visitor, rng *rand.Rand, rows []rowSet, test bool) error {
	a.Start(nil, uint64(v.Index)+1)
	events := append(slices.Clone(v.Events), v.Holdout...)
	sessions := v.Sessions
	horizon := int64(horizonDays) * 24 * 3600 * 1000
	end := v.End + horizon // the simulation observes at least 14 days past the observation period
	snap := make([]int, len(sessions))
	for si, ss := range sessions {
		snap[si] = -1
		if ss.Checkout > ss.Start+1 {
			snap[si] = ss.Start + 1 + rng.IntN(ss.Checkout-ss.Start-1)
		}
	}
	si := 0
	var req wire.Request
	for i := range v.Events {
		req = wire.Request{Now: v.Events[i].Time, Events: v.Events[i : i+1]}
		if _, err := a.Handle(&req); err != nil {
			return err
		}
		for si < len(sessions) && sessions[si].End <= i {
			si++
		}
		if si >= len(sessions) {
			continue
		}
		ss := sessions[si]
		if i+1 == snap[si] {
			rows[ModelBuySession].add(a.Features(), ss.Converted, test)
		}
		if i+1 == ss.End {
			t := v.Events[i].Time
			if t+horizon <= end {
				buys, email := future(events, i+1, t, t+horizon)
				rows[ModelBuy14d].add(a.Features(), buys, test)
				rows[ModelEmail14d].add(a.Features(), email, test)
			}
		}
	}
	return nil
}

// future reports whether, among events[from:] within (t0, t1], there is a purchase, and an arrival
// by email click.
func future(events []wire.Event, from int, t0, t1 int64) (buys, email bool) {
	for _, e := range events[from:] {
		if e.Time > t1 {
			break
		}
		if e.Time <= t0 {
			continue
		}
		switch e.Type {
		case wire.EventPurchase:
			buys = true
		case wire.EventArrival:
			if e.Channel == wire.ChannelEmail || e.Medium == "email" {
				email = true
			}
		}
	}
	return buys, email
}

// categoryCounts weighs a visitor's category interactions as the agent's affinities do.
func categoryCounts(events []wire.Event, catIndex map[string]int) []train.Entry {
	w := map[int]float64{}
	for _, e := range events {
		var add float64
		switch e.Type {
		case wire.EventProductView:
			add = 1
		case wire.EventCategoryView:
			add = 0.5
		case wire.EventAddToCart:
			add = 2
		case wire.EventPurchase:
			for _, l := range e.Lines {
				if c, ok := catIndex[l.Category]; ok {
					w[c] += 3
				}
			}
		}
		if c, ok := catIndex[e.Category]; ok && add > 0 {
			w[c] += add
		}
	}
	out := make([]train.Entry, 0, len(w))
	for c, v := range w {
		out = append(out, train.Entry{Col: c, Val: v})
	}
	slices.SortFunc(out, func(a, b train.Entry) int { return a.Col - b.Col })
	return out
}

func fitPropensity(ctx context.Context, r *rowSet, names []string) (models.Logistic, float64, error) {
	if len(r.trainY) < 100 {
		return models.Logistic{}, 0, errors.New("fewer than 100 training rows")
	}
	X := mat.NewDense(len(r.trainX), len(names), nil)
	for i, row := range r.trainX {
		X.SetRow(i, row)
	}
	lr, _, err := train.FitLogistic(ctx, X, r.trainY, names, train.LogisticOptions{})
	if err != nil {
		return lr, 0, err
	}
	scores := make([]float64, len(r.testX))
	cols := make([]uint16, len(lr.Features))
	for i, f := range lr.Features {
		cols[i] = f
	}
	for i, row := range r.testX {
		scores[i] = lr.Logit(row, cols)
	}
	return lr, AUC(scores, r.testY), nil
}

// AUC is the area under the ROC curve: the chance that a random positive scores above a random
// negative (ties count half).
func AUC(scores, labels []float64) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return 0
	})
	var pos, neg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avgRank := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			if labels[idx[k]] > 0.5 {
				pos++
				rankSum += avgRank
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return 0.5
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
