package server_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

// TestAdminAuth sends every admin route without the token, with a wrong one, and with a token
// of the right length but a different value: 401 each time, with WWW-Authenticate.
func TestAdminAuth(t *testing.T) {
	s := newServer(t, sqliteStore(t), testConfig())
	h := s.Handler()
	for _, rt := range server.Routes(s) {
		if !strings.HasPrefix(rt[1], "/v1/admin/") {
			continue
		}
		path := strings.NewReplacer("{id}", "x", "{version}", "1").Replace(rt[1])
		for _, auth := range []string{"", "Bearer nope", "Basic " + token, "Bearer " + strings.Repeat("x", len(token))} {
			t.Run(rt[0]+" "+rt[1]+" "+auth, func(t *testing.T) {
				var hdr []string
				if auth != "" {
					hdr = []string{"Authorization", auth}
				}
				w := do(h, rt[0], path, []byte("{}"), hdr...)
				if w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%d, want 401 with WWW-Authenticate", w.Code)
				}
			})
		}
	}
}

func TestCampaignsAPI(t *testing.T) {
	h := newServer(t, sqliteStore(t), testConfig()).Handler()
	camp := map[string]any{"site": "shop", "id": "summer", "status": "draft", "slot": "hero",
		"variants": []any{map[string]any{"id": "A", "weight": 1}, map[string]any{"id": "B", "weight": 3, "content": "<b>-10%</b>"}},
		"when":     []any{map[string]any{"kind": "score", "ref": "buy_session", "lo": 0.52, "hi": 0.6}}}
	var c store.Campaign
	if w := admin(t, h, "POST", "/v1/admin/campaigns", camp, &c); w.Code != 201 || c.Revision != 1 || w.Header().Get("Location") != "/v1/admin/campaigns/summer?site=shop" {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if c.Holdout != store.DefaultHoldout {
		t.Errorf("a campaign defined without holdout_bp has holdout %d, want the default %d", c.Holdout, store.DefaultHoldout)
	}
	for _, tc := range []struct {
		name          string
		method, path  string
		body          any
		code          int
		message, want string
	}{
		{"create twice", "POST", "/v1/admin/campaigns", camp, 409, "already exists", ""},
		{"invalid", "POST", "/v1/admin/campaigns", map[string]any{"id": "x", "status": "live", "slot": "s", "variants": []any{}}, 400, "status", ""},
		{"unknown field", "POST", "/v1/admin/campaigns", map[string]any{"id": "x", "colour": "red"}, 400, "unknown field", ""},
		{"no holdout", "POST", "/v1/admin/campaigns", map[string]any{"site": "shop", "id": "x", "status": "draft", "slot": "s", "holdout_bp": 0,
			"variants": []any{map[string]any{"id": "A", "weight": 1}}}, 400, "every campaign keeps a randomised holdout", ""},
		{"get", "GET", "/v1/admin/campaigns/summer?site=shop", nil, 200, "", `"slot": "hero"`},
		{"get other site", "GET", "/v1/admin/campaigns/summer", nil, 404, "not found", ""},
		{"list", "GET", "/v1/admin/campaigns?site=shop", nil, 200, "", `"id": "summer"`},
		{"update without revision", "PUT", "/v1/admin/campaigns/summer?site=shop", map[string]any{"status": "active", "slot": "hero", "variants": []any{map[string]any{"id": "A", "weight": 1}}}, 400, "revision required", ""},
		{"update", "PUT", "/v1/admin/campaigns/summer?site=shop", map[string]any{"status": "active", "slot": "hero", "revision": 1, "holdout_bp": 1000, "variants": []any{map[string]any{"id": "A", "weight": 1}}}, 200, "", `"holdout_bp": 1000`},
		{"stale update", "PUT", "/v1/admin/campaigns/summer?site=shop", map[string]any{"status": "paused", "slot": "hero", "revision": 1, "variants": []any{map[string]any{"id": "A", "weight": 1}}}, 409, "revision 2", ""},
		{"id change", "PUT", "/v1/admin/campaigns/summer?site=shop", map[string]any{"id": "winter", "revision": 2}, 400, "cannot change", ""},
		{"delete", "DELETE", "/v1/admin/campaigns/summer?site=shop", nil, 204, "", ""},
		{"delete again", "DELETE", "/v1/admin/campaigns/summer?site=shop", nil, 404, "not found", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := admin(t, h, tc.method, tc.path, tc.body, nil)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.message) || !strings.Contains(w.Body.String(), tc.want) {
				t.Errorf("%d %s, want %d with %q%q", w.Code, w.Body, tc.code, tc.message, tc.want)
			}
			if w.Code < 300 && w.Code != 204 && w.Header().Get("Cache-Control") != "no-store" {
				t.Error("admin answer without Cache-Control: no-store")
			}
		})
	}
}

func TestCampaignValidate(t *testing.T) {
	ok := func() store.Campaign {
		return store.Campaign{ID: "c1", Status: store.StatusActive, Slot: "hero", Holdout: 500, Variants: []store.Variant{{ID: "A", Weight: 1}}}
	}
	lo, hi := 0.6, 0.5
	for _, tc := range []struct {
		name   string
		change func(*store.Campaign)
		want   string // "" = valid
	}{
		{"valid", func(*store.Campaign) {}, ""},
		{"bad id", func(c *store.Campaign) { c.ID = "a b" }, "id"},
		{"no status", func(c *store.Campaign) { c.Status = "" }, "status"},
		{"no slot", func(c *store.Campaign) { c.Slot = "" }, "slot"},
		{"no variants", func(c *store.Campaign) { c.Variants = nil }, "variants"},
		{"duplicate variant", func(c *store.Campaign) { c.Variants = append(c.Variants, c.Variants[0]) }, "duplicate"},
		{"zero weight", func(c *store.Campaign) { c.Variants[0].Weight = 0 }, "weight"},
		{"holdout above 100 %", func(c *store.Campaign) { c.Holdout = 10001 }, "holdout"},
		{"no holdout", func(c *store.Campaign) { c.Holdout = 0 }, "every campaign keeps a randomised holdout"},
		{"end before start", func(c *store.Campaign) { c.Start, c.End = now, now.Add(-1) }, "end"},
		{"unknown predicate", func(c *store.Campaign) { c.When = []store.Predicate{{Kind: "mood", Ref: "x"}} }, "kind"},
		{"inverted band", func(c *store.Campaign) { c.When = []store.Predicate{{Kind: "score", Ref: "m", Lo: &lo, Hi: &hi}} }, "lo"},
		{"unknown stage", func(c *store.Campaign) { c.When = []store.Predicate{{Kind: "stage", Stages: []string{"vip"}}} }, "stage"},
		{"value ref", func(c *store.Campaign) { c.When = []store.Predicate{{Kind: "value", Ref: "ltv"}} }, "value ref"},
		{"unknown allocation", func(c *store.Campaign) { c.Allocation = "greedy" }, "allocation"},
		{"multivariate", func(c *store.Campaign) { c.Variants, c.Factors = nil, mvt(2, 3) }, ""},
		{"variants and factors", func(c *store.Campaign) { c.Factors = mvt(2, 2) }, "one or the other"},
		{"one factor", func(c *store.Campaign) { c.Variants, c.Factors = nil, mvt(2)[:1] }, "2 to 4"},
		{"one level", func(c *store.Campaign) { c.Variants, c.Factors = nil, mvt(2, 1) }, "levels"},
		{"too many combinations", func(c *store.Campaign) { c.Variants, c.Factors = nil, mvt(8, 8, 2) }, "128 combinations"},
		{"separator in a level", func(c *store.Campaign) {
			c.Variants, c.Factors = nil, mvt(2, 2)
			c.Factors[0].Levels[0].ID = "a=b"
		}, "levels[0]: id"},
		{"duplicate factor", func(c *store.Campaign) {
			c.Variants, c.Factors = nil, mvt(2, 2)
			c.Factors[1].Name = c.Factors[0].Name
		}, "duplicate name"},
		{"combination id too long", func(c *store.Campaign) {
			c.Variants, c.Factors = nil, mvt(2, 2, 2)
			for i := range c.Factors {
				c.Factors[i].Name = strings.Repeat(string(rune('a'+i)), 20)
			}
		}, "at most 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok()
			tc.change(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid campaign refused: %v", err)
			case tc.want != "" && (err == nil || !errors.Is(err, store.ErrBadCampaign) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("err = %v, want ErrBadCampaign mentioning %q", err, tc.want)
			}
		})
	}
}

// mvt makes factors f0, f1, … with the given numbers of levels l0, l1, ….
func mvt(levels ...int) []store.Factor {
	fs := make([]store.Factor, len(levels))
	for i, n := range levels {
		fs[i].Name = fmt.Sprintf("f%d", i)
		for j := range n {
			fs[i].Levels = append(fs[i].Levels, store.Level{ID: fmt.Sprintf("l%d", j)})
		}
	}
	return fs
}

// bundleVersions reads the admin list: versions and the current one.
func bundleVersions(t *testing.T, h http.Handler, site string) (versions []uint64, current uint64) {
	t.Helper()
	var out struct {
		Current *uint64 `json:"current"`
		Bundles []struct {
			Version    uint64 `json:"version"`
			Source     string `json:"source"`
			RollbackOf uint64 `json:"rollback_of"`
		} `json:"bundles"`
	}
	if w := admin(t, h, "GET", "/v1/admin/bundles?site="+site, nil, &out); w.Code != 200 {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	for _, b := range out.Bundles {
		versions = append(versions, b.Version)
	}
	if out.Current != nil {
		current = *out.Current
	}
	return versions, current
}

// servedVersion fetches /v1/bundle and verifies it as a device would.
func servedVersion(t *testing.T, h http.Handler, site string) uint64 {
	t.Helper()
	w := do(h, "GET", "/v1/bundle?site="+site, nil)
	if w.Code != 200 {
		t.Fatalf("bundle: %d %s", w.Code, w.Body)
	}
	key := newKey(t, 1)
	b, err := signing.Verify(w.Body.Bytes(), key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatalf("served bundle does not verify: %v", err)
	}
	return b.Version
}

func TestBundlesAPI(t *testing.T) {
	key, other := newKey(t, 1), newKey(t, 2)
	cfg := testConfig()
	cfg.SigningKey = key
	h := newServer(t, sqliteStore(t), cfg).Handler()

	for _, tc := range []struct {
		name    string
		body    []byte
		query   string
		code    int
		message string
	}{
		{"foreign key", signedBundle(t, other, "shop", 10), "", 400, "bad signature"},
		{"not an envelope", []byte("hello"), "", 400, "bad bundle"},
		{"upload 10", signedBundle(t, key, "shop", 10), "?publish=true", 201, `"current": true`},
		{"upload 10 again", signedBundle(t, key, "shop", 10), "", 409, "already exists"},
		{"upload 20", signedBundle(t, key, "shop", 20), "", 201, `"current": false`},
		{"bad publish flag", signedBundle(t, key, "shop", 21), "?publish=maybe", 400, "publish"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := admin(t, h, "POST", "/v1/admin/bundles"+tc.query, tc.body, nil)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.message) {
				t.Errorf("%d %s, want %d with %q", w.Code, w.Body, tc.code, tc.message)
			}
		})
	}
	if v := servedVersion(t, h, "shop"); v != 10 {
		t.Fatalf("served version %d, want 10", v)
	}
	// Publish 20, then go back: 10 is older than what devices may run, so its content is re-signed
	// under the next version, 21; each rollback re-signs again, naming the original content.
	steps := []struct {
		name       string
		method     string
		path       string
		code       int
		served     uint64
		rollbackOf uint64
	}{
		{"publish 20", "POST", "/v1/admin/bundles/20/publish?site=shop", 200, 20, 0},
		{"publish 10 again re-signs it", "POST", "/v1/admin/bundles/10/publish?site=shop", 200, 21, 10},
		{"rollback goes back to 20's content", "POST", "/v1/admin/rollback?site=shop", 200, 22, 20},
		{"rollback again", "POST", "/v1/admin/rollback?site=shop", 200, 23, 10},
		{"publish newest as is", "POST", "/v1/admin/bundles/23/publish?site=shop", 200, 23, 10},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var got struct {
				Version    uint64 `json:"version"`
				RollbackOf uint64 `json:"rollback_of"`
				Source     string `json:"source"`
			}
			w := admin(t, h, st.method, st.path, nil, &got)
			if w.Code != st.code || got.Version != st.served || got.RollbackOf != st.rollbackOf {
				t.Fatalf("%d %s, want %d version %d rollback_of %d", w.Code, w.Body, st.code, st.served, st.rollbackOf)
			}
			if v := servedVersion(t, h, "shop"); v != st.served {
				t.Errorf("served %d, want %d", v, st.served)
			}
		})
	}
	versions, current := bundleVersions(t, h, "shop")
	if fmt.Sprint(versions) != "[10 20 21 22 23]" || current != 23 {
		t.Errorf("versions %v current %d", versions, current)
	}
	var hist struct {
		Publications []store.Publication `json:"publications"`
	}
	admin(t, h, "GET", "/v1/admin/publications?site=shop&limit=3", nil, &hist)
	if len(hist.Publications) != 3 || hist.Publications[0].Version != 23 {
		t.Errorf("history %+v", hist.Publications)
	}
	for _, tc := range []struct {
		name, method, path string
		code               int
		message            string
	}{
		{"info", "GET", "/v1/admin/bundles/20?site=shop", 200, `"sha256"`},
		{"info missing", "GET", "/v1/admin/bundles/99?site=shop", 404, "not found"},
		{"bad version", "GET", "/v1/admin/bundles/x", 400, "positive integer"},
		{"publish missing", "POST", "/v1/admin/bundles/99/publish?site=shop", 404, "not found"},
		{"rollback with no history", "POST", "/v1/admin/rollback?site=empty", 409, "nothing to roll back"},
		{"bad limit", "GET", "/v1/admin/publications?limit=0", 400, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := admin(t, h, tc.method, tc.path, nil, nil)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.message) {
				t.Errorf("%d %s, want %d with %q", w.Code, w.Body, tc.code, tc.message)
			}
		})
	}
}

// TestRollbackNeedsKey: without the signing key, going back is refused with the reason, and the
// current bundle keeps serving.
func TestRollbackNeedsKey(t *testing.T) {
	key := newKey(t, 1)
	cfg := testConfig()
	cfg.TrustedKeys = append(cfg.TrustedKeys, key.Public().(ed25519.PublicKey))
	h := newServer(t, sqliteStore(t), cfg).Handler()
	for _, v := range []uint64{1, 2} {
		if w := admin(t, h, "POST", "/v1/admin/bundles?publish=true", signedBundle(t, key, "", v), nil); w.Code != 201 {
			t.Fatalf("upload %d: %d %s", v, w.Code, w.Body)
		}
	}
	w := admin(t, h, "POST", "/v1/admin/rollback", nil, nil)
	if w.Code != 409 || !strings.Contains(w.Body.String(), "signing key") {
		t.Errorf("rollback without key: %d %s", w.Code, w.Body)
	}
	if v := servedVersion(t, h, ""); v != 2 {
		t.Errorf("served %d after a refused rollback, want 2", v)
	}
	noKeys := newServer(t, sqliteStore(t), testConfig()).Handler()
	if w := admin(t, noKeys, "POST", "/v1/admin/bundles", signedBundle(t, key, "", 1), nil); w.Code != 409 || !strings.Contains(w.Body.String(), "no trusted keys") {
		t.Errorf("upload without trusted keys: %d %s", w.Code, w.Body)
	}
}

func TestReportAPI(t *testing.T) {
	st := sqliteStore(t)
	h := newServer(t, st, testConfig()).Handler()
	var bs []*wire.Batch
	for i := range 70 {
		b := sampleBatch(i)
		b.Cells[0].Variant = "A"
		if i >= 60 {
			b.Cells[0].Variant = "rare" // 10 batches: below the default threshold of 50
		}
		bs = append(bs, b)
	}
	if _, err := st.Ingest(context.Background(), bs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query string
		code        int
		want        []string
	}{
		{"default threshold", "?site=shop", 200, []string{`"variant": "A"`, `"batches": 60`, `"suppressed": 1`, `"k": 50`, `"from": "2026-04-21"`, `"to": "2026-05-20"`}},
		{"stricter k", "?site=shop&k=100", 200, []string{`"cells": []`, `"suppressed": 2`}},
		{"k below the server's", "?site=shop&k=5", 400, []string{"at least the server's threshold, 50"}},
		{"date range", "?site=shop&from=2026-05-20&to=2026-05-20&campaign=c", 200, []string{`"batches": 60`, `"totals": {`}},
		{"bad date", "?from=yesterday", 400, []string{"from"}},
		{"inverted range", "?from=2026-05-21&to=2026-05-20", 400, []string{"after"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := admin(t, h, "GET", "/v1/admin/reports"+tc.query, nil, nil)
			if w.Code != tc.code {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, tc.code)
			}
			for _, s := range tc.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("answer lacks %s:\n%s", s, w.Body)
				}
			}
			if strings.Contains(w.Body.String(), `"rare"`) && !strings.Contains(tc.query, "k=") {
				t.Error("a cell below the threshold is shown")
			}
		})
	}
}

func TestInitAdminToken(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	if _, _, err := server.InitAdminToken(ctx, st, "short"); err == nil {
		t.Error("a 5-character token was accepted")
	}
	h1, gen, err := server.InitAdminToken(ctx, st, "")
	if err != nil || !strings.HasPrefix(gen, "psg_") || len(gen) < 40 {
		t.Fatalf("generate: %q %v", gen, err)
	}
	if fmt.Sprint(h1) != fmt.Sprint(hashOf(gen)) {
		t.Error("hash is not the token's")
	}
	if stored, _ := st.Setting(ctx, server.AdminTokenSetting); strings.Contains(stored, gen) || len(stored) != 64 {
		t.Errorf("stored %q: want the hex hash only", stored)
	}
	h2, gen2, err := server.InitAdminToken(ctx, st, "")
	if err != nil || gen2 != "" || fmt.Sprint(h2) != fmt.Sprint(h1) {
		t.Errorf("restart: generated %q again (%v), or another hash", gen2, err)
	}
	h3, gen3, err := server.InitAdminToken(ctx, st, token)
	if err != nil || gen3 != "" || fmt.Sprint(h3) != fmt.Sprint(hashOf(token)) {
		t.Errorf("explicit token: %q %v", gen3, err)
	}
	h4, _, _ := server.InitAdminToken(ctx, st, "")
	if fmt.Sprint(h4) != fmt.Sprint(hashOf(token)) {
		t.Error("the explicit token did not replace the generated one")
	}
}
