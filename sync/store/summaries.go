package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/presage-dev/presage/agent/wire"
)

// Device summaries' part of the store (migration 0003): item co-occurrence pairs and the
// customer-summary histogram, counted per day and share in the transaction that counts their batch.

// PairCount is the number of batches (visitor-days) that listed one co-occurrence pair, summed
// over a range of days and one share.
type PairCount struct {
	A, B    uint32 // item hashes (agent.ItemHash), A < B
	Batches int64
}

// CellCount is the number of customer summaries (visitor-weeks) in one histogram cell
// (wire.CustomerCell), summed over a range of days and one share.
type CellCount struct {
	Cell    uint32
	Batches int64
}

// SummaryQuery selects device summaries: a site's days [From, To], one share (HeldBack), and
// only pairs or cells to which at least K batches contributed over those days.
type SummaryQuery struct {
	Site     string
	From, To int32
	HeldBack bool
	K        int64
}

// checkSummaries bounds a batch's pairs and customer cell (CheckBatch).
func checkSummaries(b *wire.Batch) error {
	if len(b.Pairs)%2 != 0 || len(b.Pairs) > 2*wire.MaxPairs {
		return fmt.Errorf("%w: %d pair hashes, want an even number up to %d", ErrBadBatch, len(b.Pairs), 2*wire.MaxPairs)
	}
	for i := 0; i < len(b.Pairs); i += 2 {
		if b.Pairs[i] >= b.Pairs[i+1] {
			return fmt.Errorf("%w: pairs[%d]: %d ≥ %d, want the smaller hash first", ErrBadBatch, i/2, b.Pairs[i], b.Pairs[i+1])
		}
	}
	if _, _, _, _, ok := wire.CustomerBins(b.Customer); b.Customer != 0 && !ok {
		return fmt.Errorf("%w: customer cell %#x out of range", ErrBadBatch, b.Customer)
	}
	return nil
}

// hasLearning reports whether any batch listed in first carries model updates or summaries.
func hasLearning(batches []*wire.Batch, first []int) bool {
	return slices.ContainsFunc(first, func(i int) bool {
		b := batches[i]
		return len(b.Updates) > 0 || len(b.Pairs) > 0 || b.Customer != 0
	})
}

type pairKey struct {
	site      string
	day, a, b int64
	held      int64
}

type cellKey3 struct {
	site            string
	day, cell, held int64
}

// mergeLearning adds the fresh batches' model updates (mergeUpdates) and summaries, inside the
// ingest transaction tx. Rows are upserted in key order, as cells are. A pair a batch lists twice
// counts once.
func (s *db) mergeLearning(ctx context.Context, tx *sql.Tx, batches []*wire.Batch, first []int, fresh []bool) error {
	if err := s.mergeUpdates(ctx, tx, batches, first, fresh); err != nil {
		return err
	}
	pairs := map[pairKey]int64{}
	cells := map[cellKey3]int64{}
	for _, i := range first {
		b := batches[i]
		if !fresh[i] || len(b.Pairs) == 0 && b.Customer == 0 {
			continue
		}
		held := int64(0)
		if HeldBack(b.ID) {
			held = 1
		}
		seen := map[pairKey]bool{}
		for j := 0; j+1 < len(b.Pairs); j += 2 {
			k := pairKey{b.Site, int64(b.Day), int64(b.Pairs[j]), int64(b.Pairs[j+1]), held}
			if !seen[k] {
				seen[k] = true
				pairs[k]++
			}
		}
		if b.Customer != 0 {
			cells[cellKey3{b.Site, int64(b.Day), int64(b.Customer), held}]++
		}
	}
	pk := make([]pairKey, 0, len(pairs))
	for k := range pairs {
		pk = append(pk, k)
	}
	slices.SortFunc(pk, func(x, y pairKey) int {
		return cmp.Or(strings.Compare(x.site, y.site), cmp.Compare(x.day, y.day), cmp.Compare(x.a, y.a),
			cmp.Compare(x.b, y.b), cmp.Compare(x.held, y.held))
	})
	for _, k := range pk {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cooc (site, day, a, b, held, batches) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (site, day, a, b, held) DO UPDATE SET batches = cooc.batches + excluded.batches`,
			k.site, k.day, k.a, k.b, k.held, pairs[k]); err != nil {
			return fmt.Errorf("upsert pair: %w", err)
		}
	}
	ck := make([]cellKey3, 0, len(cells))
	for k := range cells {
		ck = append(ck, k)
	}
	slices.SortFunc(ck, func(x, y cellKey3) int {
		return cmp.Or(strings.Compare(x.site, y.site), cmp.Compare(x.day, y.day), cmp.Compare(x.cell, y.cell), cmp.Compare(x.held, y.held))
	})
	for _, k := range ck {
		if _, err := tx.ExecContext(ctx, `INSERT INTO customer_cells (site, day, cell, held, batches) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (site, day, cell, held) DO UPDATE SET batches = customer_cells.batches + excluded.batches`,
			k.site, k.day, k.cell, k.held, cells[k]); err != nil {
			return fmt.Errorf("upsert customer cell: %w", err)
		}
	}
	return nil
}

func heldInt(q SummaryQuery) int64 {
	if q.HeldBack {
		return 1
	}
	return 0
}

func (s *db) Pairs(ctx context.Context, q SummaryQuery) ([]PairCount, error) {
	return querySummary(ctx, s, "pairs", `SELECT a, b, SUM(batches) FROM cooc
WHERE site = $1 AND day >= $2 AND day <= $3 AND held = $4 GROUP BY a, b HAVING SUM(batches) >= $5 ORDER BY a, b`, q,
		func(rows *sql.Rows) (PairCount, error) {
			var a, b, n int64
			err := rows.Scan(&a, &b, &n)
			return PairCount{A: uint32(a), B: uint32(b), Batches: n}, err
		})
}

func (s *db) CustomerCells(ctx context.Context, q SummaryQuery) ([]CellCount, error) {
	return querySummary(ctx, s, "customer cells", `SELECT cell, SUM(batches) FROM customer_cells
WHERE site = $1 AND day >= $2 AND day <= $3 AND held = $4 GROUP BY cell HAVING SUM(batches) >= $5 ORDER BY cell`, q,
		func(rows *sql.Rows) (CellCount, error) {
			var c, n int64
			err := rows.Scan(&c, &n)
			return CellCount{Cell: uint32(c), Batches: n}, err
		})
}

// querySummary runs a summary query with q's site, days, share and threshold as $1 to $5 and
// scans each row.
func querySummary[T any](ctx context.Context, s *db, what, query string, q SummaryQuery, scan func(*sql.Rows) (T, error)) ([]T, error) {
	held := int64(0)
	if q.HeldBack {
		held = 1
	}
	rows, err := s.sql.QueryContext(ctx, query, q.Site, int64(q.From), int64(q.To), held, max(q.K, 1))
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}
