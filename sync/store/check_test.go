package store_test

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/sync/store"
)

func TestCheckBatch(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*wire.Batch)
		want   string // "" = accepted
	}{
		{"agent batch", func(*wire.Batch) {}, ""},
		{"no cells", func(b *wire.Batch) { b.Cells = nil }, ""},
		{"holdout and no segment", func(b *wire.Batch) { b.Cells[0].Variant, b.Cells[0].Segment = "", "" }, ""},
		{"yesterday", func(b *wire.Batch) { b.Day = today - 1 }, ""},
		{"tomorrow (clock ahead)", func(b *wire.Batch) { b.Day = today + 1 }, ""},
		{"oldest day of the window", func(b *wire.Batch) { b.Day = today - 6 }, ""},
		{"short id", func(b *wire.Batch) { b.ID = b.ID[:7] }, "id is 7 bytes"},
		{"long id", func(b *wire.Batch) { b.ID = make([]byte, 65) }, "id is 65 bytes"},
		{"two days ahead", func(b *wire.Batch) { b.Day = today + 2 }, "future"},
		{"past the window", func(b *wire.Batch) { b.Day = today - 7 }, "window"},
		{"no day", func(b *wire.Batch) { b.Day = 0 }, "window"},
		{"too many cells", func(b *wire.Batch) { b.Cells = make([]wire.Cell, store.MaxCells+1) }, "cells"},
		{"bundle out of range", func(b *wire.Batch) { b.Bundle = math.MaxUint64 }, "bundle version"},
		{"empty campaign", func(b *wire.Batch) { b.Cells[0].Campaign = "" }, "empty campaign"},
		{"long campaign", func(b *wire.Batch) { b.Cells[0].Campaign = strings.Repeat("x", 129) }, "129 bytes"},
		{"control character", func(b *wire.Batch) { b.Cells[0].Segment = "a\nb" }, "control character"},
		{"long site", func(b *wire.Batch) { b.Site = strings.Repeat("s", 200) }, "site"},
		{"negative revenue", func(b *wire.Batch) { b.Cells[0].Revenue = -1 }, "revenue"},
		{"NaN revenue", func(b *wire.Batch) { b.Cells[0].Revenue = math.NaN() }, "revenue"},
		{"infinite revenue", func(b *wire.Batch) { b.Cells[0].Revenue = math.Inf(1) }, "revenue"},
		{"absurd count", func(b *wire.Batch) { b.Cells[0].Exposures = math.MaxUint32 }, "count"},
		{"model updates", func(b *wire.Batch) { b.Updates = updates("buy", 1, 1, 2) }, ""},
		{"update without a model", func(b *wire.Batch) { b.Updates = updates("", 1, 1) }, "empty model"},
		{"empty update", func(b *wire.Batch) { b.Updates = updates("buy", 1) }, "0 values"},
		{"update count above 1", func(b *wire.Batch) { b.Updates = updates("buy", 2, 1) }, "count 2"},
		{"update not finite", func(b *wire.Batch) { b.Updates = updates("buy", 1, float32(math.Inf(-1))) }, "not finite"},
		{"update too long", func(b *wire.Batch) { b.Updates = updates("buy", 1, make([]float32, store.MaxUpdateLen+1)...) }, "1025 values"},
		{"model twice", func(b *wire.Batch) { b.Updates = append(updates("buy", 1, 1), updates("buy", 0, 1)...) }, "twice"},
		{"too many updates", func(b *wire.Batch) { b.Updates = make([]wire.ModelUpdate, store.MaxUpdates+1) }, "model updates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := batch(1, cell("summer", "A", 3, 1, 59.9))
			tc.change(b)
			err := store.CheckBatch(b, today, 7)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !errors.Is(err, store.ErrBadBatch) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want ErrBadBatch mentioning %q", err, tc.want)
			}
		})
	}
}

// TestNewerSchemaRefused: a database migrated by a newer binary is not opened by an older one,
// which could misread it.
func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, store.Config{Dir: dir})
	s.Close()
	raw, err := sql.Open("sqlite", filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = store.Open(context.Background(), store.Config{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("err = %v, want a refusal naming the newer schema", err)
	}
}

// TestMigrationFromVersion3: cells stored before the revenue moments were kept (schema 3) keep
// their sums after the migration to 4, with moments 0, so that the report tells which batches
// the moments cover; batches ingested afterwards add theirs.
func TestMigrationFromVersion3(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, store.Config{Dir: dir})
	if _, err := s.Ingest(ctx, []*wire.Batch{batch(1, cell("c", "A", 3, 1, 10))}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, err := sql.Open("sqlite", filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"DELETE FROM schema_migrations WHERE version = 4", "ALTER TABLE cells DROP COLUMN revenue_sq",
		"ALTER TABLE cells DROP COLUMN exposures_sq", "ALTER TABLE cells DROP COLUMN revenue_exposures", "ALTER TABLE cells DROP COLUMN moments"} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	raw.Close()
	s = open(t, store.Config{Dir: dir})
	defer s.Close()
	if _, err := s.Ingest(ctx, []*wire.Batch{batch(2, cell("c", "A", 2, 1, 4))}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Report(ctx, store.ReportQuery{Site: "shop", From: today, To: today, K: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := store.ReportCell{Campaign: "c", Variant: "A", Segment: "seg", Batches: 2, Exposures: 5, Conversions: 2, Revenue: 14,
		RevenueSq: 16, ExposuresSq: 4, RevenueExposures: 8, Moments: 1}
	if len(r.Cells) != 1 || r.Cells[0] != want {
		t.Errorf("report %+v, want %+v", r.Cells, want)
	}
}
