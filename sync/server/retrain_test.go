package server_test

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

// retrainFixture is a server with the signing key, site "shop" serving version 1 (one banner
// campaign of three equally weighted variants) and that campaign defined as a bandit.
func retrainFixture(t *testing.T, cfg server.Config) (*server.Server, store.Store, http.Handler) {
	t.Helper()
	key := newKey(t, 1)
	cfg.SigningKey = key
	st := sqliteStore(t)
	s := newServer(t, st, cfg)
	h := s.Handler()
	b := &models.Bundle{Format: models.FormatVersion, Version: 1, Created: now.Unix() - 86400, Site: "shop",
		Campaigns: []models.Campaign{{ID: "banner-test", Slot: "banner", Variants: []models.Variant{{ID: "a", Weight: 1}, {ID: "b", Weight: 1}, {ID: "c", Weight: 1}}}}}
	if w := admin(t, h, "POST", "/v1/admin/bundles?publish=true", signing.Sign(b, key), nil); w.Code != 201 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	def := store.Campaign{Site: "shop", ID: "banner-test", Status: store.StatusActive, Slot: "banner", Allocation: store.AllocBandit,
		Variants: []store.Variant{{ID: "a", Weight: 1}, {ID: "b", Weight: 1}, {ID: "c", Weight: 1}}}
	if w := admin(t, h, "POST", "/v1/admin/campaigns", def, nil); w.Code != 201 {
		t.Fatalf("campaign: %d %s", w.Code, w.Body)
	}
	return s, st, h
}

// ingestDay stores 60 batches per variant on day (above the k-anonymity threshold of 50), each
// with 20 exposures and conversions[variant] conversions.
func ingestDay(t *testing.T, st store.Store, day int32, conversions map[string]uint32) {
	t.Helper()
	var bs []*wire.Batch
	for _, v := range []string{"a", "b", "c"} {
		for i := range 60 {
			id := batchID(int(day)*1000 + len(bs))
			bs = append(bs, &wire.Batch{ID: id, Site: "shop", Bundle: 1, Day: day,
				Cells: []wire.Cell{{Campaign: "banner-test", Variant: v, Exposures: 20, Conversions: conversions[v] * uint32(i%2)}}})
		}
	}
	if _, err := st.Ingest(context.Background(), bs); err != nil {
		t.Fatal(err)
	}
}

func servedWeights(t *testing.T, h http.Handler) []uint16 {
	t.Helper()
	w := do(h, "GET", "/v1/bundle?site=shop", nil)
	b, err := signing.Verify(w.Body.Bytes(), newKey(t, 1).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	var ws []uint16
	for _, v := range b.Campaigns[0].Variants {
		ws = append(ws, v.Weight)
	}
	return ws
}

func storedBundles(t *testing.T, h http.Handler) []store.Bundle {
	t.Helper()
	var list struct{ Bundles []store.Bundle }
	if w := admin(t, h, "GET", "/v1/admin/bundles?site=shop", nil, &list); w.Code != 200 {
		t.Fatalf("bundles: %d %s", w.Code, w.Body)
	}
	return list.Bundles
}

func TestRetrainPublishes(t *testing.T) {
	_, st, h := retrainFixture(t, testConfig())
	for d := today - 5; d < today; d++ {
		ingestDay(t, st, d, map[string]uint32{"a": 2, "b": 4, "c": 1}) // b converts best
	}
	ingestDay(t, st, today, map[string]uint32{"a": 2, "b": 4, "c": 1}) // held back: it agrees
	var rep server.RetrainReport
	if w := admin(t, h, "POST", "/v1/admin/retrain?site=shop", nil, &rep); w.Code != 200 {
		t.Fatalf("retrain: %d %s", w.Code, w.Body)
	}
	if rep.Outcome != server.OutcomePublished || rep.Base != 1 || rep.Version != 2 || len(rep.Checks) != 1 || rep.Checks[0].Regression {
		t.Fatalf("report %+v", rep)
	}
	if v := servedVersion(t, h, "shop"); v != 2 {
		t.Errorf("served version %d, want the retrained 2", v)
	}
	if ws := servedWeights(t, h); ws[1] < 9000 {
		t.Errorf("b converts best: served weights %v", ws)
	}
	if list := storedBundles(t, h); len(list) != 2 || list[1].Source != store.SourceTrain {
		t.Errorf("bundles %+v: every version kept, the new one from training", list)
	}
	if w := admin(t, h, "POST", "/v1/admin/retrain?site=shop", nil, &rep); w.Code != 200 || rep.Outcome != server.OutcomeUnchanged {
		t.Errorf("retraining on the same evidence: %d %+v, want unchanged", w.Code, rep)
	}
	if w := admin(t, h, "POST", "/v1/admin/rollback?site=shop", nil, nil); w.Code != 200 {
		t.Errorf("a retrained version must roll back like any: %d %s", w.Code, w.Body)
	}
}

func TestRetrainRefusesRegression(t *testing.T) {
	_, st, h := retrainFixture(t, testConfig())
	for d := today - 5; d < today; d++ {
		ingestDay(t, st, d, map[string]uint32{"a": 2, "b": 4, "c": 1})
	}
	ingestDay(t, st, today, map[string]uint32{"a": 6, "b": 0, "c": 6}) // held back: b is the worst
	var rep server.RetrainReport
	if w := admin(t, h, "POST", "/v1/admin/retrain?site=shop", nil, &rep); w.Code != 200 {
		t.Fatalf("retrain: %d %s", w.Code, w.Body)
	}
	if rep.Outcome != server.OutcomeRefused || !rep.Checks[0].Regression || rep.Version != 0 {
		t.Errorf("report %+v, want refused", rep)
	}
	if v := servedVersion(t, h, "shop"); v != 1 {
		t.Errorf("served version %d after a refused retraining, want 1", v)
	}
}

func TestRetrainErrors(t *testing.T) {
	cfg := testConfig()
	cfg.TrustedKeys = append(cfg.TrustedKeys, newKey(t, 1).Public().(ed25519.PublicKey))
	noKey := newServer(t, sqliteStore(t), cfg).Handler()
	_, _, h := retrainFixture(t, testConfig())
	bad := store.Campaign{Site: "shop", ID: "popin", Status: store.StatusActive, Slot: "popin",
		Variants: []store.Variant{{ID: "x", Weight: 1}}, When: []store.Predicate{{Kind: "score", Ref: "churn"}}}
	for _, tc := range []struct {
		name    string
		h       http.Handler
		setup   func()
		target  string
		code    int
		message string
	}{
		{"no signing key", noKey, nil, "/v1/admin/retrain?site=shop", 409, "signing key"},
		{"no published bundle", h, nil, "/v1/admin/retrain?site=empty", 409, "no published bundle"},
		{"a campaign naming a missing model", h, func() { admin(t, h, "POST", "/v1/admin/campaigns", bad, nil) }, "/v1/admin/retrain?site=shop", 409, `churn\" is not in bundle 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			w := admin(t, tc.h, "POST", tc.target, nil, nil)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.message) {
				t.Errorf("%d %s, want %d with %q", w.Code, w.Body, tc.code, tc.message)
			}
		})
	}
	if w := do(h, "POST", "/v1/admin/retrain?site=shop", nil); w.Code != 401 {
		t.Errorf("retrain without the token: %d", w.Code)
	}
}

// TestRetrainSchedule: a site is retrained when its period has passed or enough new batches came,
// and not otherwise.
func TestRetrainSchedule(t *testing.T) {
	var clock atomic.Int64
	clock.Store(now.Unix())
	cfg := testConfig()
	cfg.Now = func() time.Time { return time.Unix(clock.Load(), 0) }
	cfg.Retrain = server.RetrainConfig{Sites: []string{"shop"}, Every: 24 * time.Hour, MinBatches: 500}
	s, st, h := retrainFixture(t, cfg)
	for d := today - 5; d < today; d++ {
		ingestDay(t, st, d, map[string]uint32{"a": 2, "b": 4, "c": 1})
	}
	lastRun := func() string {
		v, err := st.Setting(context.Background(), "retrain/shop")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(v)[0]
	}
	server.RetrainScheduled(s) // never retrained: due
	if v := servedVersion(t, h, "shop"); v != 2 {
		t.Fatalf("first scheduled run: served %d, want 2", v)
	}
	first := lastRun()
	older := today - 6 // batches of days not yet sent: late devices
	for _, step := range []struct {
		name    string
		advance time.Duration
		ingest  bool // one more day of 180 batches
		due     bool
	}{
		{"an hour later, 180 new batches", time.Hour, true, false},
		{"two hours later, 360 new batches", time.Hour, true, false},
		{"three hours later, 540 new batches", time.Hour, true, true},
		{"right after", 0, false, false},
		{"a day later", 24 * time.Hour, false, true},
	} {
		before := lastRun()
		clock.Add(int64(step.advance / time.Second))
		if step.ingest {
			ingestDay(t, st, older, map[string]uint32{"a": 2, "b": 4, "c": 1})
			older--
		}
		server.RetrainScheduled(s)
		if ran := lastRun() != before; ran != step.due {
			t.Errorf("%s: retrained %v, want %v", step.name, ran, step.due)
		}
	}
	if lastRun() == first {
		t.Error("the schedule never ran again")
	}
}
