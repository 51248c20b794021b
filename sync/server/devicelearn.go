package server

import (
	"context"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/store"
)

// Learning from the devices' summaries in a retraining (sync/learn cooc.go, clv.go): the neighbour
// table rebuilt from co-occurrence pairs over the retraining window, and the value model refitted
// from the customer-summary histogram of the last complete week (devices send one summary per
// visitor per Unix week, so that week counts each visitor once). Each is trained on the training
// share and checked on the held-back share (store.HeldBack: one batch in five), and replaces the
// serving model only when it passes; a refused step leaves the rest of the retraining alone.

// deviceLearn returns the neighbour table and the value model that replace base's (nil: keep
// base's) and the steps' reports.
func (s *Server) deviceLearn(ctx context.Context, site string, base *models.Bundle, today int32) (*models.Neighbours, *models.Value, []learn.DeviceStep, error) {
	rc := s.cfg.Retrain
	cfg := rc.Device
	cfg.K = max(cfg.K, s.cfg.KAnonymity)
	cfg.MinHeld = max(cfg.MinHeld, s.cfg.KAnonymity)
	var steps []learn.DeviceStep
	var nb *models.Neighbours
	var val *models.Value
	if base.Neighbours != nil {
		q := store.SummaryQuery{Site: site, From: today - rc.WindowDays + 1, To: today, K: s.cfg.KAnonymity}
		train, held, err := bothShares(ctx, q, s.st.Pairs)
		if err != nil {
			return nil, nil, nil, err
		}
		var st learn.DeviceStep
		nb, st = learn.RetrainNeighbours(base, train, held, cfg)
		steps = append(steps, st)
	}
	if base.Value != nil {
		// The last complete Unix week, which counts each visitor once; k applies to the merged
		// cells that are used (learn.MakeHistogram), so the store's threshold is 1.
		week := today/7 - 1
		q := store.SummaryQuery{Site: site, From: week * 7, To: week*7 + 6, K: 1}
		train, held, err := bothShares(ctx, q, s.st.CustomerCells)
		if err != nil {
			return nil, nil, nil, err
		}
		var st learn.DeviceStep
		val, st = learn.RetrainValue(base, train, held, cfg)
		steps = append(steps, st)
	}
	for _, st := range steps {
		s.log.Info("device learning", "site", site, "model", st.Model, "outcome", st.Outcome, "reason", st.Reason,
			"evidence", st.Evidence, "held_back", st.HeldBack, "current", st.Current, "new", st.New)
	}
	return nb, val, steps, nil
}

// bothShares reads q's training share and its held-back share.
func bothShares[T any](ctx context.Context, q store.SummaryQuery, read func(context.Context, store.SummaryQuery) ([]T, error)) (train, held []T, err error) {
	q.HeldBack = false
	if train, err = read(ctx, q); err != nil {
		return nil, nil, err
	}
	q.HeldBack = true
	held, err = read(ctx, q)
	return train, held, err
}
