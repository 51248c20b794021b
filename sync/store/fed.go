package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"

	"github.com/presage-dev/presage/agent/wire"
)

// Federated learning's part of the store: the devices' model updates summed in the transaction
// that counts their batch, and the privacy ledger.

// HeldBackShare: one batch in HeldBackShare has its updates kept apart as held-back evidence
// (HeldBack), to check a federated step on visitor-days it did not learn from.
const HeldBackShare = 5

// HeldBack reports whether the updates of the batch with this id belong to the held-back share:
// FNV-1a of the id, modulo HeldBackShare, is 0. Ids are random, so the share is one batch in
// HeldBackShare, and a retry (the same id) lands in the same share.
func HeldBack(id []byte) bool {
	h := fnv.New32a()
	h.Write(id)
	return h.Sum32()%HeldBackShare == 0
}

// fedKey is the primary key of a fed_updates row.
type fedKey struct {
	site        string
	bundle, day int64
	model       string
	held        int64
}

func (a fedKey) compare(b fedKey) int {
	return cmp.Or(strings.Compare(a.site, b.site), cmp.Compare(a.bundle, b.bundle), cmp.Compare(a.day, b.day),
		strings.Compare(a.model, b.model), cmp.Compare(a.held, b.held))
}

type fedSum struct {
	batches, visitors int64
	grad              []float64
}

// add adds v to s.grad; a vector of another length than the sum's is left out (false).
func (s *fedSum) add(v []float64) bool {
	if len(s.grad) == 0 {
		s.grad = make([]float64, len(v))
	}
	if len(v) != len(s.grad) {
		return false
	}
	for i, x := range v {
		s.grad[i] += x
	}
	return true
}

// encodeGrad writes v as little-endian float64s; decodeGrad reads them back.
func encodeGrad(v []float64) []byte {
	b := make([]byte, 0, 8*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

func decodeGrad(b []byte) ([]float64, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("stored gradient of %d bytes, not a multiple of 8", len(b))
	}
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v, nil
}

// mergeUpdates adds the updates of the fresh batches to fed_updates, inside the ingest
// transaction tx. Each row is read and written back (the sum is a vector): the row is first made
// to exist (an empty sum) and then read with a row lock (FOR UPDATE on PostgreSQL; SQLite's
// transaction already holds the database's write lock), so that nodes adding to the same row at
// once wait for each other instead of losing an update. Rows are visited in key order, as cells
// are. A stored sum of another length than an update's keeps its length, and the update is left
// out: the server checks lengths against the bundle before this (fed.CheckUpdates).
func (s *db) mergeUpdates(ctx context.Context, tx *sql.Tx, batches []*wire.Batch, first []int, fresh []bool) error {
	sums := make(map[fedKey]*fedSum)
	for _, i := range first {
		b := batches[i]
		if !fresh[i] || len(b.Updates) == 0 {
			continue
		}
		held := int64(0)
		if HeldBack(b.ID) {
			held = 1
		}
		for _, u := range b.Updates {
			k := fedKey{b.Site, int64(b.Bundle), int64(b.Day), u.Model, held}
			fs := sums[k]
			if fs == nil {
				fs = new(fedSum)
				sums[k] = fs
			}
			v := make([]float64, len(u.Sum))
			for j, x := range u.Sum {
				v[j] = float64(x)
			}
			if fs.add(v) {
				fs.batches++
				fs.visitors += int64(u.Count)
			}
		}
	}
	keys := make([]fedKey, 0, len(sums))
	for k := range sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, fedKey.compare)
	const where = ` WHERE site = $1 AND bundle = $2 AND day = $3 AND model = $4 AND held = $5`
	lock := ""
	if s.d.name == "postgres" {
		lock = " FOR UPDATE"
	}
	for _, k := range keys {
		args := []any{k.site, k.bundle, k.day, k.model, k.held}
		if _, err := tx.ExecContext(ctx, `INSERT INTO fed_updates (site, bundle, day, model, held, batches, visitors, grad)
VALUES ($1, $2, $3, $4, $5, 0, 0, $6) ON CONFLICT (site, bundle, day, model, held) DO NOTHING`, append(args, []byte{})...); err != nil {
			return fmt.Errorf("insert update row: %w", err)
		}
		var (
			stored            fedSum
			batches, visitors int64
			raw               []byte
		)
		if err := tx.QueryRowContext(ctx, `SELECT batches, visitors, grad FROM fed_updates`+where+lock, args...).Scan(&batches, &visitors, &raw); err != nil {
			return fmt.Errorf("read update row: %w", err)
		}
		g, err := decodeGrad(raw)
		if err != nil {
			return err
		}
		stored.grad = g
		add := sums[k]
		if !stored.add(add.grad) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE fed_updates SET batches = $6, visitors = $7, grad = $8`+where,
			append(args, batches+add.batches, visitors+add.visitors, encodeGrad(stored.grad))...); err != nil {
			return fmt.Errorf("update row: %w", err)
		}
	}
	return nil
}

func (s *db) FedUpdates(ctx context.Context, site string, bundle uint64, from, to int32) ([]FedUpdate, error) {
	if bundle > math.MaxInt64 {
		return []FedUpdate{}, nil
	}
	rows, err := s.sql.QueryContext(ctx, `SELECT day, model, held, batches, visitors, grad FROM fed_updates
WHERE site = $1 AND bundle = $2 AND day >= $3 AND day <= $4 AND batches > 0 ORDER BY day, model, held`,
		site, int64(bundle), int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("store: federated updates: %w", err)
	}
	defer rows.Close()
	out := []FedUpdate{}
	for rows.Next() {
		var (
			u         FedUpdate
			day, held int64
			raw       []byte
		)
		if err := rows.Scan(&day, &u.Model, &held, &u.Batches, &u.Visitors, &raw); err != nil {
			return nil, fmt.Errorf("store: federated updates: %w", err)
		}
		if u.Sum, err = decodeGrad(raw); err != nil {
			return nil, fmt.Errorf("store: federated updates: %w", err)
		}
		u.Day, u.HeldBack = int32(day), held == 1
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: federated updates: %w", err)
	}
	return out, nil
}

func (s *db) ChargePrivacy(ctx context.Context, site string, day int32, rho, budget float64) (LedgerDay, error) {
	if !(rho >= 0) || math.IsInf(rho, 0) || !(budget >= 0) || math.IsInf(budget, 0) {
		return LedgerDay{}, fmt.Errorf("store: charge privacy: ρ %g and budget %g must be finite and ≥ 0", rho, budget)
	}
	limit := budget * (1 + 1e-9)
	// One statement: the check and the charge cannot be separated by another node's charge.
	res, err := s.sql.ExecContext(ctx, `INSERT INTO fed_ledger (site, day, rounds, rho)
SELECT $1, $2, 1, CAST($3 AS DOUBLE PRECISION) WHERE CAST($3 AS DOUBLE PRECISION) <= CAST($4 AS DOUBLE PRECISION)
ON CONFLICT (site, day) DO UPDATE SET rounds = fed_ledger.rounds + 1, rho = fed_ledger.rho + excluded.rho
WHERE fed_ledger.rho + excluded.rho <= CAST($4 AS DOUBLE PRECISION)`, site, int64(day), rho, limit)
	if err != nil {
		return LedgerDay{}, fmt.Errorf("store: charge privacy: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return LedgerDay{}, fmt.Errorf("store: charge privacy: %w", err)
	} else if n == 0 {
		return LedgerDay{}, fmt.Errorf("store: charge ρ = %g to day %d of site %q: %w", rho, day, site, ErrBudget)
	}
	l, err := s.PrivacyLedger(ctx, site, day, day)
	if err != nil {
		return LedgerDay{}, err
	}
	if len(l) != 1 {
		return LedgerDay{}, fmt.Errorf("store: charge privacy: the ledger of day %d is missing after the charge", day)
	}
	return l[0], nil
}

func (s *db) PrivacyLedger(ctx context.Context, site string, from, to int32) ([]LedgerDay, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT day, rounds, rho FROM fed_ledger WHERE site = $1 AND day >= $2 AND day <= $3 ORDER BY day`,
		site, int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("store: privacy ledger: %w", err)
	}
	defer rows.Close()
	out := []LedgerDay{}
	for rows.Next() {
		l := LedgerDay{Site: site}
		var day int64
		if err := rows.Scan(&day, &l.Rounds, &l.Rho); err != nil {
			return nil, fmt.Errorf("store: privacy ledger: %w", err)
		}
		l.Day = int32(day)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: privacy ledger: %w", err)
	}
	return out, nil
}
