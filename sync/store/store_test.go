package store_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/pgtest"
	"github.com/presage-dev/presage/sync/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// backends are the stores every test of this file runs against: one suite, both backends.
var backends = []struct {
	name string
	open func(t testing.TB) store.Store
}{
	{"sqlite", func(t testing.TB) store.Store {
		return open(t, store.Config{Dir: t.TempDir()})
	}},
	{"postgres", func(t testing.TB) store.Store {
		return open(t, store.Config{PostgresURL: pgtest.NewDatabase(t)})
	}},
}

func open(t testing.TB, cfg store.Config) store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// forEach runs f as a subtest against each backend.
func forEach(t *testing.T, f func(t *testing.T, s store.Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b.open(t)) })
	}
}

const today = int32(20600)

func id(n int) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(n))
	b[15] = 0xa5
	return b
}

func batch(n int, cells ...wire.Cell) *wire.Batch {
	return &wire.Batch{ID: id(n), Site: "shop", Bundle: 7, Day: today, Cells: cells, Dropped: 1}
}

func cell(campaign, variant string, exp, conv uint32, rev float64) wire.Cell {
	return wire.Cell{Campaign: campaign, Variant: variant, Segment: "seg", Exposures: exp, Conversions: conv, Revenue: rev}
}

func TestIngestExactlyOnce(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		first := []*wire.Batch{
			batch(1, cell("c", "A", 3, 1, 10)),
			batch(2, cell("c", "A", 2, 0, 0), cell("c", "B", 5, 2, 7.5)),
			batch(1, cell("c", "A", 3, 1, 10)),                         // the same batch twice in one call
			batch(3, cell("c", "A", 1, 0, 0), cell("c", "A", 1, 1, 2)), // one cell listed twice
		}
		fresh, err := s.Ingest(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if want := []bool{true, true, false, true}; fmt.Sprint(fresh) != fmt.Sprint(want) {
			t.Fatalf("fresh = %v, want %v", fresh, want)
		}
		fresh, err = s.Ingest(ctx, []*wire.Batch{batch(2, cell("c", "A", 2, 0, 0)), batch(4, cell("c", "B", 1, 1, 1))})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(fresh) != "[false true]" {
			t.Fatalf("fresh = %v, want [false true]", fresh)
		}
		tot, err := s.Totals(ctx, "shop", today, today)
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.Totals{Batches: 4, Cells: 6, Dropped: 4}); tot != want {
			t.Errorf("totals = %+v, want %+v", tot, want)
		}
		r, err := s.Report(ctx, store.ReportQuery{Site: "shop", From: today, To: today, K: 1})
		if err != nil {
			t.Fatal(err)
		}
		// The moments are per batch: A's batches carry (n, y) = (3, 10), (2, 0) and, its cell listed
		// twice, (1+1, 0+2); B's (5, 7.5) and (1, 1).
		want := []store.ReportCell{
			{Campaign: "c", Variant: "A", Segment: "seg", Batches: 3, Exposures: 7, Conversions: 2, Revenue: 12,
				RevenueSq: 100 + 0 + 4, ExposuresSq: 9 + 4 + 4, RevenueExposures: 30 + 0 + 4, Moments: 3},
			{Campaign: "c", Variant: "B", Segment: "seg", Batches: 2, Exposures: 6, Conversions: 3, Revenue: 8.5,
				RevenueSq: 56.25 + 1, ExposuresSq: 25 + 1, RevenueExposures: 37.5 + 1, Moments: 2},
		}
		if fmt.Sprint(r.Cells) != fmt.Sprint(want) || r.Suppressed != 0 {
			t.Errorf("report = %+v, want %+v", r, want)
		}
	})
}

// ingestConcurrently runs workers goroutines, worker w ingesting the calls of calls(w) one
// after the other, and fails the test on any error.
func ingestConcurrently(t *testing.T, s store.Store, workers int, calls func(w int) [][]*wire.Batch) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for _, bs := range calls(w) {
				if _, err := s.Ingest(context.Background(), bs); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestIngestConcurrent runs overlapping ingests from several goroutines, as concurrent
// committers (or server nodes) would: every batch is counted exactly once.
func TestIngestConcurrent(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		const workers, rounds, per = 4, 10, 20
		ingestConcurrently(t, s, workers, func(w int) [][]*wire.Batch {
			var calls [][]*wire.Batch
			for r := range rounds {
				var bs []*wire.Batch
				for i := range per {
					// Workers share ids in pairs, in opposite orders, to provoke lock-order conflicts.
					n := (w/2)*rounds*per + r*per + i
					if w%2 == 1 {
						n = (w/2)*rounds*per + r*per + (per - 1 - i)
					}
					bs = append(bs, batch(n, cell("c", "A", 1, 0, 0.5), cell("d", "", 2, 1, 0)))
				}
				calls = append(calls, bs)
			}
			return calls
		})
		distinct := int64(workers / 2 * rounds * per)
		tot, err := s.Totals(context.Background(), "shop", today, today)
		if err != nil {
			t.Fatal(err)
		}
		if tot.Batches != distinct || tot.Cells != 2*distinct {
			t.Errorf("totals = %+v, want %d batches, %d cells", tot, distinct, 2*distinct)
		}
		r, err := s.Report(context.Background(), store.ReportQuery{Site: "shop", From: today, To: today, K: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Cells) != 2 || r.Cells[0].Exposures != distinct || r.Cells[0].Revenue != float64(distinct)/2 || r.Cells[1].Conversions != distinct {
			t.Errorf("report = %+v", r.Cells)
		}
	})
}

func TestReportThreshold(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		var bs []*wire.Batch
		for i := range 60 {
			cs := []wire.Cell{cell("big", "A", 1, 0, 0)}
			if i < 10 {
				cs = append(cs, cell("small", "A", 100, 50, 0)) // many exposures, few batches
			}
			b := batch(i, cs...)
			if i%2 == 1 {
				b.Day = today - 1
			}
			bs = append(bs, b)
		}
		if _, err := s.Ingest(ctx, bs); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name       string
			q          store.ReportQuery
			cells      string
			suppressed int
		}{
			{"default k hides the small cell", store.ReportQuery{Site: "shop", From: today - 1, To: today, K: 50}, "big/60", 1},
			{"k 10 shows both", store.ReportQuery{Site: "shop", From: today - 1, To: today, K: 10}, "big/60 small/10", 0},
			{"one day halves the batches", store.ReportQuery{Site: "shop", From: today, To: today, K: 50}, "", 2},
			{"campaign filter", store.ReportQuery{Site: "shop", Campaign: "small", From: today - 1, To: today, K: 1}, "small/10", 0},
			{"another site", store.ReportQuery{Site: "other", From: today - 1, To: today, K: 1}, "", 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, err := s.Report(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, c := range r.Cells {
					got = append(got, fmt.Sprintf("%s/%d", c.Campaign, c.Batches))
				}
				if strings.Join(got, " ") != tc.cells || r.Suppressed != tc.suppressed {
					t.Errorf("cells %q suppressed %d, want %q and %d", got, r.Suppressed, tc.cells, tc.suppressed)
				}
			})
		}
		if _, err := s.Report(ctx, store.ReportQuery{Site: "shop", K: 0}); err == nil {
			t.Error("k = 0 accepted")
		}
	})
}

func TestPruneBatches(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		old, cur := batch(1), batch(2)
		old.Day = today - 10
		if _, err := s.Ingest(ctx, []*wire.Batch{old, cur}); err != nil {
			t.Fatal(err)
		}
		n, err := s.PruneBatches(ctx, today-5)
		if err != nil || n != 1 {
			t.Fatalf("pruned %d, %v; want 1", n, err)
		}
		fresh, err := s.Ingest(ctx, []*wire.Batch{old, cur})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(fresh) != "[true false]" { // the pruned id is forgotten, the other is not
			t.Errorf("fresh = %v", fresh)
		}
	})
}

func TestCampaigns(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		c := &store.Campaign{Site: "shop", ID: "summer", Status: store.StatusDraft, Slot: "hero",
			Variants: []store.Variant{{ID: "A", Weight: 1}, {ID: "B", Weight: 1}}}
		if err := s.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c.Revision != 1 || c.Created.IsZero() {
			t.Errorf("after create: revision %d created %v", c.Revision, c.Created)
		}
		if err := s.CreateCampaign(ctx, &store.Campaign{Site: "shop", ID: "summer"}); !errors.Is(err, store.ErrExists) {
			t.Errorf("second create: %v, want ErrExists", err)
		}
		other := *c
		other.Site = "other"
		if err := s.CreateCampaign(ctx, &other); err != nil {
			t.Errorf("same id on another site: %v", err)
		}
		got, err := s.Campaign(ctx, "shop", "summer")
		if err != nil || got.Slot != "hero" || len(got.Variants) != 2 || got.Revision != 1 {
			t.Fatalf("get: %+v, %v", got, err)
		}
		got.Status = store.StatusActive
		if err := s.UpdateCampaign(ctx, got); err != nil || got.Revision != 2 {
			t.Fatalf("update: revision %d, %v", got.Revision, err)
		}
		stale := *c // revision 1
		if err := s.UpdateCampaign(ctx, &stale); !errors.Is(err, store.ErrConflict) {
			t.Errorf("stale update: %v, want ErrConflict", err)
		}
		if err := s.UpdateCampaign(ctx, &store.Campaign{Site: "shop", ID: "none", Revision: 1}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("update missing: %v, want ErrNotFound", err)
		}
		list, err := s.Campaigns(ctx, "shop")
		if err != nil || len(list) != 1 || list[0].Status != store.StatusActive {
			t.Fatalf("list: %+v, %v", list, err)
		}
		if err := s.DeleteCampaign(ctx, "shop", "summer"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteCampaign(ctx, "shop", "summer"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		if _, err := s.Campaign(ctx, "shop", "summer"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get deleted: %v, want ErrNotFound", err)
		}
	})
}

func TestBundles(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if _, err := s.Current(ctx, "shop"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("current before any: %v, want ErrNotFound", err)
		}
		for _, v := range []uint64{5, 9} {
			b := &store.Bundle{Site: "shop", Version: v, Envelope: []byte(fmt.Sprint("env", v)), SHA256: fmt.Sprint("h", v),
				KeyID: "k", Created: time.Unix(int64(v), 0), Source: store.SourceUpload}
			if err := s.AddBundle(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddBundle(ctx, &store.Bundle{Site: "shop", Version: 5, Envelope: []byte("x")}); !errors.Is(err, store.ErrExists) {
			t.Errorf("duplicate version: %v, want ErrExists", err)
		}
		if err := s.AddBundle(ctx, &store.Bundle{Site: "shop", Version: math.MaxUint64, Envelope: []byte("x")}); err == nil {
			t.Error("version above MaxInt64 accepted")
		}
		if mv, err := s.MaxVersion(ctx, "shop"); err != nil || mv != 9 {
			t.Errorf("max version %d, %v", mv, err)
		}
		list, err := s.Bundles(ctx, "shop")
		if err != nil || len(list) != 2 || list[0].Version != 5 || list[0].Size != 4 || list[0].Envelope != nil || list[1].Created.Unix() != 9 {
			t.Fatalf("list: %+v, %v", list, err)
		}
		b, err := s.Bundle(ctx, "shop", 9)
		if err != nil || string(b.Envelope) != "env9" {
			t.Fatalf("get: %+v, %v", b, err)
		}
		if _, err := s.Bundle(ctx, "other", 9); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("other site's bundle: %v", err)
		}
		at := time.Unix(1_700_000_000, 0)
		for _, v := range []uint64{9, 5} {
			if err := s.Publish(ctx, "shop", v, at); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Publish(ctx, "shop", 6, at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("publish missing: %v, want ErrNotFound", err)
		}
		cur, err := s.Current(ctx, "shop")
		if err != nil || cur.Version != 5 || cur.Seq != 2 || cur.SHA256 != "h5" || !cur.At.Equal(at) {
			t.Errorf("current: %+v, %v", cur, err)
		}
		hist, err := s.Publications(ctx, "shop", 10)
		if err != nil || len(hist) != 2 || hist[1].Version != 9 {
			t.Errorf("history: %+v, %v", hist, err)
		}
	})
}

func TestSettings(t *testing.T) {
	forEach(t, func(t *testing.T, s store.Store) {
		ctx := context.Background()
		if _, err := s.Setting(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("unset: %v", err)
		}
		v, created, err := s.InitSetting(ctx, "x", "one")
		if err != nil || !created || v != "one" {
			t.Errorf("init: %q %v %v", v, created, err)
		}
		v, created, err = s.InitSetting(ctx, "x", "two")
		if err != nil || created || v != "one" {
			t.Errorf("second init: %q %v %v", v, created, err)
		}
		if err := s.SetSetting(ctx, "x", "three"); err != nil {
			t.Fatal(err)
		}
		if v, err := s.Setting(ctx, "x"); err != nil || v != "three" {
			t.Errorf("after set: %q %v", v, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Error(err)
		}
	})
}

// TestSQLiteReopen checks that what was acknowledged is there after closing and reopening, and
// that a database from a newer binary is refused rather than misread.
func TestSQLiteReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, []*wire.Batch{batch(1, cell("c", "A", 1, 0, 0))}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, store.Config{Dir: dir})
	if tot, err := s.Totals(ctx, "shop", today, today); err != nil || tot.Batches != 1 {
		t.Fatalf("after reopen: %+v, %v", tot, err)
	}
	if fresh, err := s.Ingest(ctx, []*wire.Batch{batch(1)}); err != nil || fresh[0] {
		t.Errorf("retry after reopen counted again: %v %v", fresh, err)
	}
	if err := s.SetSetting(ctx, "x", "y"); err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  store.Config
		want string
	}{
		{"nothing", store.Config{}, "no backend"},
		{"both", store.Config{Dir: "x", PostgresURL: "postgres://x"}, "not both"},
		{"bad url", store.Config{PostgresURL: "postgres://u:secret@[::1"}, "does not parse"},
		{"question mark", store.Config{Dir: "a?b"}, "not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Open(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "secret") {
				t.Errorf("err = %v, want it to say %q (and never the password)", err, tc.want)
			}
		})
	}
}
