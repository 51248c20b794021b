package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presage-dev/presage/agent/wire"
)

//go:embed migrations/*.sql
var migrations embed.FS

// dialect is what differs between the backends: everything else is one implementation over
// database/sql with one SQL text ($n placeholders read the same in both).
type dialect struct {
	name string
	// bulk: ingest a group as one statement over arrays (PostgreSQL, where every statement is a
	// network round trip), rather than one prepared statement per row (SQLite, in-process, where
	// a statement costs microseconds and very wide statements bind slowly).
	bulk bool
	// migrationLock serialises nodes migrating one database at the same time; "" if the
	// transaction itself already does (SQLite's BEGIN IMMEDIATE).
	migrationLock string
	// retryable reports errors after which the whole transaction may simply be run again:
	// deadlocks and serialisation failures, a locked SQLite file.
	retryable func(error) bool
}

// db implements Store for both backends.
type db struct {
	sql    *sql.DB
	d      dialect
	closed atomic.Bool

	// The row-at-a-time ingest statements, prepared once: database/sql then reuses each one's
	// preparation on every connection, and SQLite parses nothing per group commit.
	prepOnce                   sync.Once
	prepErr                    error
	insBatch, upsCell, upsDays *sql.Stmt

	// SQLite's background checkpointer (nil channels for PostgreSQL).
	stopBg, bgDone chan struct{}
}

// ingestAttempts bounds the retries of an ingest transaction that failed for a retryable
// reason (PostgreSQL deadlocks between nodes, a busy SQLite file).
const ingestAttempts = 4

// migrate brings the schema to the newest embedded version, in one transaction.
func migrate(ctx context.Context, sqldb *sql.DB, d dialect) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	slices.Sort(names)
	tx, err := sqldb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: begin: %w", err)
	}
	defer tx.Rollback()
	if d.migrationLock != "" {
		if _, err := tx.ExecContext(ctx, d.migrationLock); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var have int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("store: migrate: read version: %w", err)
	}
	if have > int64(len(names)) {
		return fmt.Errorf("store: database schema is version %d, newer than this binary's %d: upgrade presage", have, len(names))
	}
	for i, name := range names {
		v := int64(i + 1)
		if want := fmt.Sprintf("migrations/%04d_", v); !strings.HasPrefix(name, want) {
			return fmt.Errorf("store: migration %s: want a name starting %q", name, want)
		}
		if v <= have {
			continue
		}
		text, err := migrations.ReadFile(name)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
		for _, stmt := range splitStatements(string(text)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("store: migration %s: %w", name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, v, time.Now().Unix()); err != nil {
			return fmt.Errorf("store: migration %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: commit: %w", err)
	}
	return nil
}

// splitStatements splits a migration at semicolons that end a line, after dropping "--" comments.
// Migrations are ours and hold no semicolons inside strings, so this is enough, and it spares
// relying on each driver's handling of several statements in one call.
func splitStatements(text string) []string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i] + "\n"
		}
		b.WriteString(line)
	}
	var out []string
	for stmt := range strings.SplitSeq(b.String(), ";\n") {
		if s := strings.TrimSpace(stmt); s != "" {
			out = append(out, strings.TrimSuffix(s, ";"))
		}
	}
	return out
}

func (s *db) Backend() string { return s.d.name }

func (s *db) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.sql.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.name, err)
	}
	return nil
}

func (s *db) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if s.stopBg != nil {
		close(s.stopBg)
		<-s.bgDone
	}
	for _, st := range []*sql.Stmt{s.insBatch, s.upsCell, s.upsDays} {
		if st != nil {
			st.Close()
		}
	}
	if err := s.sql.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// cellKey is the primary key of a cells row.
type cellKey struct {
	site, campaign, variant, segment string
	bundle, day                      int64
}

func (a cellKey) compare(b cellKey) int {
	return cmp.Or(strings.Compare(a.site, b.site), strings.Compare(a.campaign, b.campaign),
		strings.Compare(a.variant, b.variant), strings.Compare(a.segment, b.segment),
		cmp.Compare(a.bundle, b.bundle), cmp.Compare(a.day, b.day))
}

type cellSum struct {
	batches, exposures, conversions int64
	revenue                         float64
	last                            int     // 1 + the index of the last batch counted in batches
	moments                                 // over the batches before last
	y, n                            float64 // the last batch's revenue and exposures in the cell
}

// moments are the second moments of per-batch revenue y and exposures n (migration 0004).
type moments struct{ yy, nn, yn float64 }

// flush adds the last batch's totals to the moments.
func (cs *cellSum) flush() {
	cs.yy += cs.y * cs.y
	cs.nn += cs.n * cs.n
	cs.yn += cs.y * cs.n
	cs.y, cs.n = 0, 0
}

type dayKey struct {
	site string
	day  int64
}

type daySum struct{ batches, cells, dropped int64 }

func (s *db) Ingest(ctx context.Context, batches []*wire.Batch) ([]bool, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	// The first occurrence of each id, in key order: every transaction then takes its row locks
	// in the same order, so that two PostgreSQL nodes ingesting overlapping retries cannot
	// deadlock each other (and if they still do, the transaction is retried).
	first := make([]int, 0, len(batches))
	seen := make(map[string]struct{}, len(batches))
	for i, b := range batches {
		if _, dup := seen[string(b.ID)]; !dup {
			seen[string(b.ID)] = struct{}{}
			first = append(first, i)
		}
	}
	slices.SortFunc(first, func(i, j int) int {
		return cmp.Or(cmp.Compare(batches[i].Day, batches[j].Day), bytes.Compare(batches[i].ID, batches[j].ID))
	})

	var fresh []bool
	var err error
	for attempt := 1; ; attempt++ {
		if s.d.bulk {
			fresh, err = s.ingestBulk(ctx, batches, first)
		} else {
			fresh, err = s.ingestTx(ctx, batches, first)
		}
		if err == nil || attempt == ingestAttempts || !s.d.retryable(err) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(attempt) * 5 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("store: ingest %d batches: %w", len(batches), err)
	}
	return fresh, nil
}

// ingestTx is SQLite's ingest: one transaction of prepared statements, a row each.
func (s *db) ingestTx(ctx context.Context, batches []*wire.Batch, first []int) ([]bool, error) {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	fresh := make([]bool, len(batches))
	if err := s.insertBatchesEach(ctx, tx, batches, first, fresh); err != nil {
		return nil, err
	}

	cells := make(map[cellKey]*cellSum)
	days := make(map[dayKey]*daySum)
	for _, i := range first {
		if !fresh[i] {
			continue
		}
		b := batches[i]
		dk := dayKey{b.Site, int64(b.Day)}
		ds := days[dk]
		if ds == nil {
			ds = new(daySum)
			days[dk] = ds
		}
		ds.batches++
		ds.cells += int64(len(b.Cells))
		ds.dropped += int64(b.Dropped)
		for _, c := range b.Cells {
			k := cellKey{b.Site, c.Campaign, c.Variant, c.Segment, int64(b.Bundle), int64(b.Day)}
			cs := cells[k]
			if cs == nil {
				cs = new(cellSum)
				cells[k] = cs
			}
			if cs.last != i+1 { // a batch counts once per cell, even if it lists the cell twice
				cs.flush()
				cs.batches++
				cs.last = i + 1
			}
			cs.exposures += int64(c.Exposures)
			cs.conversions += int64(c.Conversions)
			cs.revenue += c.Revenue
			cs.y += c.Revenue
			cs.n += float64(c.Exposures)
		}
	}
	ckeys := make([]cellKey, 0, len(cells))
	for k, cs := range cells {
		cs.flush()
		ckeys = append(ckeys, k)
	}
	slices.SortFunc(ckeys, cellKey.compare)
	dkeys := make([]dayKey, 0, len(days))
	for k := range days {
		dkeys = append(dkeys, k)
	}
	slices.SortFunc(dkeys, func(a, b dayKey) int { return cmp.Or(strings.Compare(a.site, b.site), cmp.Compare(a.day, b.day)) })

	if err := s.upsertEach(ctx, tx, ckeys, cells, dkeys, days); err != nil {
		return nil, err
	}
	if hasLearning(batches, first) { // summaries.go
		if err := s.mergeLearning(context.WithoutCancel(ctx), tx, batches, first, fresh); err != nil { // see insertBatchesEach
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	// A later occurrence of an id in the same call is a duplicate: fresh stays false.
	return fresh, nil
}

const (
	insertBatch = `INSERT INTO batches (id, site, day) VALUES ($1, $2, $3) ON CONFLICT (day, id) DO NOTHING`
	upsertCell  = `INSERT INTO cells (site, campaign, variant, segment, bundle, day, batches, exposures, conversions, revenue,
  revenue_sq, exposures_sq, revenue_exposures, moments)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $7)
ON CONFLICT (site, campaign, variant, segment, bundle, day) DO UPDATE SET` + addCellMoments
	// addCellMoments adds a cell's new sums to its row, for both ingest paths.
	addCellMoments = `
  batches = cells.batches + excluded.batches, exposures = cells.exposures + excluded.exposures,
  conversions = cells.conversions + excluded.conversions, revenue = cells.revenue + excluded.revenue,
  revenue_sq = cells.revenue_sq + excluded.revenue_sq, exposures_sq = cells.exposures_sq + excluded.exposures_sq,
  revenue_exposures = cells.revenue_exposures + excluded.revenue_exposures, moments = cells.moments + excluded.moments`
	upsertDay = `INSERT INTO ingest_days (site, day, batches, cells, dropped) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (site, day) DO UPDATE SET batches = ingest_days.batches + excluded.batches,
  cells = ingest_days.cells + excluded.cells, dropped = ingest_days.dropped + excluded.dropped`
)

// prepare prepares the row-at-a-time statements once.
func (s *db) prepare(ctx context.Context) error {
	s.prepOnce.Do(func() {
		for _, p := range []struct {
			dst  **sql.Stmt
			text string
		}{{&s.insBatch, insertBatch}, {&s.upsCell, upsertCell}, {&s.upsDays, upsertDay}} {
			if *p.dst, s.prepErr = s.sql.PrepareContext(ctx, p.text); s.prepErr != nil {
				s.prepErr = fmt.Errorf("prepare: %w", s.prepErr)
				return
			}
		}
	})
	return s.prepErr
}

func (s *db) insertBatchesEach(ctx context.Context, tx *sql.Tx, batches []*wire.Batch, first []int, fresh []bool) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	// Each statement runs without ctx's cancellation: the SQLite driver watches a cancellable
	// context with one goroutine per statement, a third of the ingest's allocations. The
	// transaction still ends with ctx (database/sql rolls it back), and no statement of SQLite's,
	// which runs in-process, waits on anything but the write lock, bounded by busy_timeout.
	ctx = context.WithoutCancel(ctx)
	stmt := tx.StmtContext(ctx, s.insBatch)
	for _, i := range first {
		b := batches[i]
		res, err := stmt.ExecContext(ctx, b.ID, b.Site, int64(b.Day))
		if err != nil {
			return fmt.Errorf("insert batch: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("insert batch: %w", err)
		}
		fresh[i] = n == 1
	}
	return nil
}

func (s *db) upsertEach(ctx context.Context, tx *sql.Tx, ckeys []cellKey, cells map[cellKey]*cellSum, dkeys []dayKey, days map[dayKey]*daySum) error {
	ctx = context.WithoutCancel(ctx) // see insertBatchesEach
	cellStmt := tx.StmtContext(ctx, s.upsCell)
	for _, k := range ckeys {
		v := cells[k]
		if _, err := cellStmt.ExecContext(ctx, k.site, k.campaign, k.variant, k.segment, k.bundle, k.day,
			v.batches, v.exposures, v.conversions, v.revenue, v.yy, v.nn, v.yn); err != nil {
			return fmt.Errorf("upsert cell: %w", err)
		}
	}
	dayStmt := tx.StmtContext(ctx, s.upsDays)
	for _, k := range dkeys {
		v := days[k]
		if _, err := dayStmt.ExecContext(ctx, k.site, k.day, v.batches, v.cells, v.dropped); err != nil {
			return fmt.Errorf("upsert day: %w", err)
		}
	}
	return nil
}

// pgIngest is PostgreSQL's ingest of a group: one statement, hence one round trip and one
// implicit transaction. The batches' rows go in first and return the ids that were new; the
// cells and day totals of those batches only are then summed and upserted, in key order (so that
// nodes ingesting at the same time lock rows in the same order), by data-modifying CTEs that
// PostgreSQL runs to completion whether or not the final SELECT reads them.
const pgIngest = `WITH
b AS (SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
      AS b(id, site, day, bundle, ncells, dropped)),
new AS (INSERT INTO batches (id, site, day) SELECT id, site, day FROM b ORDER BY day, id
        ON CONFLICT (day, id) DO NOTHING RETURNING id),
c AS (SELECT * FROM unnest($7::bytea[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::float8[])
      AS c(bid, campaign, variant, segment, exposures, conversions, revenue)),
cb AS (SELECT c.bid, c.campaign, c.variant, c.segment, sum(c.exposures) AS n, sum(c.conversions) AS conversions,
          sum(c.revenue) AS y
        FROM c JOIN new ON new.id = c.bid GROUP BY c.bid, c.campaign, c.variant, c.segment),
agg AS (SELECT b.site, cb.campaign, cb.variant, cb.segment, b.bundle, b.day, count(*) AS batches,
          sum(cb.n) AS exposures, sum(cb.conversions) AS conversions, sum(cb.y) AS revenue,
          sum(cb.y * cb.y) AS revenue_sq, sum(CAST(cb.n AS float8) * cb.n) AS exposures_sq, sum(cb.y * CAST(cb.n AS float8)) AS revenue_exposures,
          count(*) AS moments
        FROM cb JOIN b ON b.id = cb.bid
        GROUP BY b.site, cb.campaign, cb.variant, cb.segment, b.bundle, b.day),
ins_cells AS (INSERT INTO cells (site, campaign, variant, segment, bundle, day, batches, exposures, conversions, revenue,
          revenue_sq, exposures_sq, revenue_exposures, moments)
        SELECT * FROM agg ORDER BY site, campaign, variant, segment, bundle, day
        ON CONFLICT (site, campaign, variant, segment, bundle, day) DO UPDATE SET` + addCellMoments + `),
ins_days AS (INSERT INTO ingest_days (site, day, batches, cells, dropped)
        SELECT b.site, b.day, count(*), sum(b.ncells), sum(b.dropped) FROM b JOIN new ON new.id = b.id
        GROUP BY b.site, b.day ORDER BY b.site, b.day
        ON CONFLICT (site, day) DO UPDATE SET batches = ingest_days.batches + excluded.batches,
          cells = ingest_days.cells + excluded.cells, dropped = ingest_days.dropped + excluded.dropped)
SELECT id FROM new`

// ingestBulk is PostgreSQL's ingest (see pgIngest). first lists each id once, so that ids join
// back to one batch.
func (s *db) ingestBulk(ctx context.Context, batches []*wire.Batch, first []int) ([]bool, error) {
	n := len(first)
	ids, sites := make([][]byte, n), make([]string, n)
	days, bundles, ncells, dropped := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	index := make(map[string]int, n)
	var cbid [][]byte
	var camp, vari, seg []string
	var exp, conv []int64
	var rev []float64
	for j, i := range first {
		b := batches[i]
		ids[j], sites[j], days[j], bundles[j] = b.ID, b.Site, int64(b.Day), int64(b.Bundle)
		ncells[j], dropped[j] = int64(len(b.Cells)), int64(b.Dropped)
		index[string(b.ID)] = i
		for _, c := range b.Cells {
			cbid = append(cbid, b.ID)
			camp, vari, seg = append(camp, c.Campaign), append(vari, c.Variant), append(seg, c.Segment)
			exp, conv, rev = append(exp, int64(c.Exposures)), append(conv, int64(c.Conversions)), append(rev, c.Revenue)
		}
	}
	args := []any{ids, sites, days, bundles, ncells, dropped, cbid, camp, vari, seg, exp, conv, rev}
	if !hasLearning(batches, first) {
		rows, err := s.sql.QueryContext(ctx, pgIngest, args...)
		if err != nil {
			return nil, err
		}
		return scanFresh(rows, len(batches), index)
	}
	// Model updates are summed into vectors, which takes a read and a write per row after the
	// batches are known fresh: an explicit transaction around the statement (a few more round
	// trips, only for groups that carry updates).
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, pgIngest, args...)
	if err != nil {
		return nil, err
	}
	fresh, err := scanFresh(rows, len(batches), index)
	if err != nil {
		return nil, err
	}
	if err := s.mergeLearning(ctx, tx, batches, first, fresh); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return fresh, nil
}

// scanFresh reads the ids pgIngest returns (the batches counted now) into fresh flags, by index
// of the first occurrence of each id.
func scanFresh(rows *sql.Rows, n int, index map[string]int) ([]bool, error) {
	defer rows.Close()
	fresh := make([]bool, n)
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		if i, ok := index[string(id)]; ok {
			fresh[i] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return fresh, nil
}

// PruneBatches deletes day by day and, within a day, in 256 slices of the id space (ids are
// random, so the slices are even): each slice is its own short statement, so that ingest, which
// needs the same write lock, waits milliseconds between slices rather than for the whole prune.
func (s *db) PruneBatches(ctx context.Context, before int32) (int64, error) {
	var total int64
	last := int64(math.MinInt64)
	for {
		var oldest sql.NullInt64
		if err := s.sql.QueryRowContext(ctx, `SELECT MIN(day) FROM batches`).Scan(&oldest); err != nil {
			return total, fmt.Errorf("store: prune batches: %w", err)
		}
		if !oldest.Valid || oldest.Int64 >= int64(before) {
			return total, nil
		}
		if oldest.Int64 == last {
			return total, fmt.Errorf("store: prune batches: day %d still has rows after deleting every id slice", last)
		}
		last = oldest.Int64
		for k := range 256 {
			q, args := `DELETE FROM batches WHERE day = $1 AND id >= $2 AND id < $3`, []any{oldest.Int64, []byte{byte(k)}, []byte{byte(k + 1)}}
			if k == 255 {
				q, args = `DELETE FROM batches WHERE day = $1 AND id >= $2`, args[:2]
			}
			res, err := s.sql.ExecContext(ctx, q, args...)
			if err != nil {
				return total, fmt.Errorf("store: prune batches of day %d: %w", oldest.Int64, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return total, fmt.Errorf("store: prune batches: %w", err)
			}
			total += n
		}
	}
}

func (s *db) Totals(ctx context.Context, site string, from, to int32) (Totals, error) {
	var t Totals
	err := s.sql.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(batches), 0) AS BIGINT), CAST(COALESCE(SUM(cells), 0) AS BIGINT),
  CAST(COALESCE(SUM(dropped), 0) AS BIGINT) FROM ingest_days WHERE site = $1 AND day >= $2 AND day <= $3`,
		site, int64(from), int64(to)).Scan(&t.Batches, &t.Cells, &t.Dropped)
	if err != nil {
		return Totals{}, fmt.Errorf("store: totals: %w", err)
	}
	return t, nil
}

func (s *db) Report(ctx context.Context, q ReportQuery) (*Report, error) {
	if q.K < 1 {
		return nil, fmt.Errorf("store: report: k-anonymity threshold %d, want at least 1", q.K)
	}
	rows, err := s.sql.QueryContext(ctx, `SELECT campaign, variant, segment, CAST(SUM(batches) AS BIGINT), CAST(SUM(exposures) AS BIGINT),
  CAST(SUM(conversions) AS BIGINT), SUM(revenue), SUM(revenue_sq), SUM(exposures_sq), SUM(revenue_exposures), CAST(SUM(moments) AS BIGINT)
FROM cells WHERE site = $1 AND day >= $2 AND day <= $3 AND ($4 = '' OR campaign = $4)
GROUP BY campaign, variant, segment ORDER BY campaign, variant, segment`, q.Site, int64(q.From), int64(q.To), q.Campaign)
	if err != nil {
		return nil, fmt.Errorf("store: report: %w", err)
	}
	defer rows.Close()
	r := &Report{Cells: []ReportCell{}}
	for rows.Next() {
		var c ReportCell
		if err := rows.Scan(&c.Campaign, &c.Variant, &c.Segment, &c.Batches, &c.Exposures, &c.Conversions, &c.Revenue,
			&c.RevenueSq, &c.ExposuresSq, &c.RevenueExposures, &c.Moments); err != nil {
			return nil, fmt.Errorf("store: report: %w", err)
		}
		if c.Batches < q.K {
			r.Suppressed++
			continue
		}
		r.Cells = append(r.Cells, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: report: %w", err)
	}
	return r, nil
}

// Campaigns.

func (s *db) CreateCampaign(ctx context.Context, c *Campaign) error {
	now := time.Now().UTC().Truncate(time.Second)
	c.Revision, c.Created, c.Updated = 1, now, now
	spec, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("store: create campaign %q: %w", c.ID, err)
	}
	res, err := s.sql.ExecContext(ctx, `INSERT INTO campaigns (site, id, status, revision, created, updated, spec)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (site, id) DO NOTHING`,
		c.Site, c.ID, string(c.Status), c.Revision, now.Unix(), now.Unix(), string(spec))
	if err != nil {
		return fmt.Errorf("store: create campaign %q: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: create campaign %q: %w", c.ID, err)
	} else if n == 0 {
		return fmt.Errorf("store: campaign %q of site %q: %w", c.ID, c.Site, ErrExists)
	}
	return nil
}

func (s *db) UpdateCampaign(ctx context.Context, c *Campaign) error {
	old, err := s.Campaign(ctx, c.Site, c.ID)
	if err != nil {
		return err
	}
	if c.Revision != old.Revision {
		return fmt.Errorf("store: campaign %q is at revision %d, not %d: %w", c.ID, old.Revision, c.Revision, ErrConflict)
	}
	nc := *c
	nc.Revision, nc.Created, nc.Updated = old.Revision+1, old.Created, time.Now().UTC().Truncate(time.Second)
	spec, err := json.Marshal(&nc)
	if err != nil {
		return fmt.Errorf("store: update campaign %q: %w", c.ID, err)
	}
	res, err := s.sql.ExecContext(ctx, `UPDATE campaigns SET status = $1, revision = $2, updated = $3, spec = $4
WHERE site = $5 AND id = $6 AND revision = $7`,
		string(nc.Status), nc.Revision, nc.Updated.Unix(), string(spec), c.Site, c.ID, old.Revision)
	if err != nil {
		return fmt.Errorf("store: update campaign %q: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: update campaign %q: %w", c.ID, err)
	} else if n == 0 { // changed or deleted between the read and the write
		return fmt.Errorf("store: campaign %q changed concurrently: %w", c.ID, ErrConflict)
	}
	*c = nc
	return nil
}

func (s *db) Campaign(ctx context.Context, site, id string) (*Campaign, error) {
	var spec string
	err := s.sql.QueryRowContext(ctx, `SELECT spec FROM campaigns WHERE site = $1 AND id = $2`, site, id).Scan(&spec)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: campaign %q of site %q: %w", id, site, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: campaign %q: %w", id, err)
	}
	c := new(Campaign)
	if err := json.Unmarshal([]byte(spec), c); err != nil {
		return nil, fmt.Errorf("store: campaign %q: stored spec: %w", id, err)
	}
	return c, nil
}

func (s *db) Campaigns(ctx context.Context, site string) ([]*Campaign, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT spec FROM campaigns WHERE site = $1 ORDER BY id`, site)
	if err != nil {
		return nil, fmt.Errorf("store: campaigns: %w", err)
	}
	defer rows.Close()
	out := []*Campaign{}
	for rows.Next() {
		var spec string
		if err := rows.Scan(&spec); err != nil {
			return nil, fmt.Errorf("store: campaigns: %w", err)
		}
		c := new(Campaign)
		if err := json.Unmarshal([]byte(spec), c); err != nil {
			return nil, fmt.Errorf("store: campaigns: stored spec: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: campaigns: %w", err)
	}
	return out, nil
}

func (s *db) DeleteCampaign(ctx context.Context, site, id string) error {
	res, err := s.sql.ExecContext(ctx, `DELETE FROM campaigns WHERE site = $1 AND id = $2`, site, id)
	if err != nil {
		return fmt.Errorf("store: delete campaign %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete campaign %q: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("store: campaign %q of site %q: %w", id, site, ErrNotFound)
	}
	return nil
}

// Bundles.

func (s *db) AddBundle(ctx context.Context, b *Bundle) error {
	if b.Version == 0 || b.Version > math.MaxInt64 {
		return fmt.Errorf("store: add bundle: version %d out of range", b.Version)
	}
	if b.Added.IsZero() {
		b.Added = time.Now().UTC().Truncate(time.Second)
	}
	b.Size = int64(len(b.Envelope))
	res, err := s.sql.ExecContext(ctx, `INSERT INTO bundles (site, version, envelope, sha256, key_id, created, expires, added, source, rollback_of)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (site, version) DO NOTHING`,
		b.Site, int64(b.Version), b.Envelope, b.SHA256, b.KeyID, unixOrZero(b.Created), unixOrZero(b.Expires),
		b.Added.Unix(), b.Source, int64(b.RollbackOf))
	if err != nil {
		return fmt.Errorf("store: add bundle %d: %w", b.Version, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: add bundle %d: %w", b.Version, err)
	} else if n == 0 {
		return fmt.Errorf("store: bundle version %d of site %q: %w", b.Version, b.Site, ErrExists)
	}
	return nil
}

const bundleColumns = `site, version, sha256, key_id, created, expires, added, source, rollback_of, length(envelope)`

func scanBundle(sc interface{ Scan(...any) error }, extra ...any) (*Bundle, error) {
	var (
		b                                   Bundle
		version, created, expires, added, r int64
	)
	dst := append([]any{&b.Site, &version, &b.SHA256, &b.KeyID, &created, &expires, &added, &b.Source, &r, &b.Size}, extra...)
	if err := sc.Scan(dst...); err != nil {
		return nil, err
	}
	b.Version, b.RollbackOf = uint64(version), uint64(r)
	b.Created, b.Expires, b.Added = fromUnix(created), fromUnix(expires), fromUnix(added)
	return &b, nil
}

func (s *db) Bundle(ctx context.Context, site string, version uint64) (*Bundle, error) {
	if version > math.MaxInt64 {
		return nil, fmt.Errorf("store: bundle version %d of site %q: %w", version, site, ErrNotFound)
	}
	var env []byte
	b, err := scanBundle(s.sql.QueryRowContext(ctx, `SELECT `+bundleColumns+`, envelope FROM bundles WHERE site = $1 AND version = $2`,
		site, int64(version)), &env)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: bundle version %d of site %q: %w", version, site, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: bundle %d: %w", version, err)
	}
	b.Envelope = env
	return b, nil
}

func (s *db) Bundles(ctx context.Context, site string) ([]*Bundle, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT `+bundleColumns+` FROM bundles WHERE site = $1 ORDER BY version`, site)
	if err != nil {
		return nil, fmt.Errorf("store: bundles: %w", err)
	}
	defer rows.Close()
	out := []*Bundle{}
	for rows.Next() {
		b, err := scanBundle(rows)
		if err != nil {
			return nil, fmt.Errorf("store: bundles: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: bundles: %w", err)
	}
	return out, nil
}

func (s *db) MaxVersion(ctx context.Context, site string) (uint64, error) {
	var v int64
	if err := s.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM bundles WHERE site = $1`, site).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: max version: %w", err)
	}
	return uint64(v), nil
}

func (s *db) MaxPublished(ctx context.Context, site string) (uint64, error) {
	var v int64
	if err := s.sql.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM publications WHERE site = $1`, site).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: max published version: %w", err)
	}
	return uint64(v), nil
}

func (s *db) Publish(ctx context.Context, site string, version uint64, at time.Time) error {
	if version > math.MaxInt64 {
		return fmt.Errorf("store: publish: bundle version %d of site %q: %w", version, site, ErrNotFound)
	}
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: publish: begin: %w", err)
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM bundles WHERE site = $1 AND version = $2`, site, int64(version)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: publish: bundle version %d of site %q: %w", version, site, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: publish: %w", err)
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM publications WHERE site = $1`, site).Scan(&seq); err != nil {
		return fmt.Errorf("store: publish: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO publications (site, seq, version, at) VALUES ($1, $2, $3, $4) ON CONFLICT (site, seq) DO NOTHING`,
		site, seq+1, int64(version), at.Unix())
	if err != nil {
		return fmt.Errorf("store: publish: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: publish: %w", err)
	} else if n == 0 {
		return fmt.Errorf("store: publish version %d: another publication came first: %w", version, ErrConflict)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: publish: commit: %w", err)
	}
	return nil
}

const publicationQuery = `SELECT p.site, p.seq, p.version, p.at, b.sha256 FROM publications p
JOIN bundles b ON b.site = p.site AND b.version = p.version WHERE p.site = $1 ORDER BY p.seq DESC LIMIT $2`

func (s *db) Current(ctx context.Context, site string) (Publication, error) {
	ps, err := s.publications(ctx, site, 1)
	if err != nil {
		return Publication{}, fmt.Errorf("store: current bundle: %w", err)
	}
	if len(ps) == 0 {
		return Publication{}, fmt.Errorf("store: site %q has no published bundle: %w", site, ErrNotFound)
	}
	return ps[0], nil
}

func (s *db) Publications(ctx context.Context, site string, limit int) ([]Publication, error) {
	ps, err := s.publications(ctx, site, limit)
	if err != nil {
		return nil, fmt.Errorf("store: publications: %w", err)
	}
	return ps, nil
}

func (s *db) publications(ctx context.Context, site string, limit int) ([]Publication, error) {
	rows, err := s.sql.QueryContext(ctx, publicationQuery, site, int64(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Publication{}
	for rows.Next() {
		var (
			p           Publication
			version, at int64
		)
		if err := rows.Scan(&p.Site, &p.Seq, &version, &at, &p.SHA256); err != nil {
			return nil, err
		}
		p.Version, p.At = uint64(version), fromUnix(at)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Settings.

func (s *db) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.sql.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: setting %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("store: setting %q: %w", name, err)
	}
	return v, nil
}

func (s *db) SetSetting(ctx context.Context, name, value string) error {
	if _, err := s.sql.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value); err != nil {
		return fmt.Errorf("store: set setting %q: %w", name, err)
	}
	return nil
}

func (s *db) InitSetting(ctx context.Context, name, value string) (string, bool, error) {
	res, err := s.sql.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value)
	if err != nil {
		return "", false, fmt.Errorf("store: init setting %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return "", false, fmt.Errorf("store: init setting %q: %w", name, err)
	}
	if n == 1 {
		return value, true, nil
	}
	v, err := s.Setting(ctx, name)
	return v, false, err
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
