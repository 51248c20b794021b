package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/sync/server"
)

func TestBundleEndpoint(t *testing.T) {
	key := newKey(t, 1)
	cfg := testConfig()
	cfg.SigningKey = key
	cfg.BundleMaxAge = 90 * time.Second
	cfg.Wasm = []byte("\x00asm\x01\x00\x00\x00")
	h := newServer(t, sqliteStore(t), cfg).Handler()

	if w := do(h, "GET", "/v1/bundle?site=shop", nil); w.Code != 404 || !strings.Contains(w.Body.String(), "no bundle") {
		t.Fatalf("before any publication: %d %s", w.Code, w.Body)
	}
	env := signedBundle(t, key, "shop", 5)
	if w := admin(t, h, "POST", "/v1/admin/bundles?publish=1", env, nil); w.Code != 201 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	w := do(h, "GET", "/v1/bundle?site=shop", nil)
	etag := w.Header().Get("ETag")
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), env) {
		t.Fatalf("bundle: %d, %d bytes, want the uploaded %d", w.Code, w.Body.Len(), len(env))
	}
	for k, want := range map[string]string{
		"Cache-Control":               "public, max-age=90, stale-if-error=86400",
		"Content-Type":                "application/cbor",
		"Presage-Bundle-Version":      "5",
		"Access-Control-Allow-Origin": "*",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if len(etag) < 10 || etag[0] != '"' {
		t.Errorf("ETag %q: want a strong ETag", etag)
	}
	for _, tc := range []struct {
		name, method, inm string
		code              int
		body              bool
	}{
		{"revalidate", "GET", etag, 304, false},
		{"revalidate among several", "GET", `"other", ` + etag, 304, false},
		{"stale etag", "GET", `"other"`, 200, true},
		{"head", "HEAD", "", 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.inm != "" {
				hdr = []string{"If-None-Match", tc.inm}
			}
			w := do(h, tc.method, "/v1/bundle?site=shop", nil, hdr...)
			if w.Code != tc.code || (w.Body.Len() > 0) != tc.body || w.Header().Get("ETag") != etag {
				t.Errorf("%d, %d bytes, ETag %q; want %d", w.Code, w.Body.Len(), w.Header().Get("ETag"), tc.code)
			}
		})
	}
	// A new publication changes the ETag at once on the node that made it.
	if w := admin(t, h, "POST", "/v1/admin/bundles?publish=true", signedBundle(t, key, "shop", 6), nil); w.Code != 201 {
		t.Fatal(w.Body)
	}
	if w := do(h, "GET", "/v1/bundle?site=shop", nil, "If-None-Match", etag); w.Code != 200 || w.Header().Get("Presage-Bundle-Version") != "6" {
		t.Errorf("after publishing 6: %d version %s", w.Code, w.Header().Get("Presage-Bundle-Version"))
	}
	w = do(h, "GET", "/v1/presage.wasm", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/wasm" || w.Body.String() != string(cfg.Wasm) {
		t.Errorf("wasm: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if w2 := do(h, "GET", "/v1/presage.wasm", nil, "If-None-Match", w.Header().Get("ETag")); w2.Code != 304 {
		t.Errorf("wasm revalidation: %d", w2.Code)
	}
	for _, name := range []string{"presage.js", "presage.mjs"} {
		w := do(h, "GET", "/v1/"+name, nil, "Accept-Encoding", "gzip")
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") || w.Header().Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: %d %q %q", name, w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Encoding"))
		}
	}
	if w := do(h, "GET", "/v1/bundle?site="+strings.Repeat("x", 200), nil); w.Code != 400 {
		t.Errorf("long site: %d", w.Code)
	}
}

// TestTwoNodes runs two servers on one store, as two nodes behind a load balancer: a publication
// on one is served by the other within the refresh interval, and a batch retried on the other
// node is recognised.
func TestTwoNodes(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			key := newKey(t, 1)
			cfg := testConfig()
			cfg.SigningKey = key
			cfg.BundleRefresh = 50 * time.Millisecond
			clock := now
			var mu sync.Mutex
			cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			a, bb := newServer(t, st, cfg).Handler(), newServer(t, st, cfg).Handler()
			admin(t, a, "POST", "/v1/admin/bundles?publish=true", signedBundle(t, key, "", 1), nil)
			if w := do(bb, "GET", "/v1/bundle", nil); w.Header().Get("Presage-Bundle-Version") != "1" {
				t.Fatalf("node B: %d version %q", w.Code, w.Header().Get("Presage-Bundle-Version"))
			}
			admin(t, a, "POST", "/v1/admin/bundles?publish=true", signedBundle(t, key, "", 2), nil)
			if w := do(bb, "GET", "/v1/bundle", nil); w.Header().Get("Presage-Bundle-Version") != "1" {
				t.Errorf("node B refreshed before its interval: version %q", w.Header().Get("Presage-Bundle-Version"))
			}
			mu.Lock()
			clock = clock.Add(time.Second)
			mu.Unlock()
			if w := do(bb, "GET", "/v1/bundle", nil); w.Header().Get("Presage-Bundle-Version") != "2" {
				t.Errorf("node B after its interval: version %q, want 2", w.Header().Get("Presage-Bundle-Version"))
			}
			body := encode(t, sampleBatch(1))
			if w := do(a, "POST", "/v1/batches", body); w.Header().Get("Presage-Batch") != "accepted" {
				t.Fatalf("node A: %d %s", w.Code, w.Body)
			}
			if w := do(bb, "POST", "/v1/batches", body); w.Header().Get("Presage-Batch") != "duplicate" {
				t.Errorf("retry on node B: %d %q", w.Code, w.Header().Get("Presage-Batch"))
			}
		})
	}
}

// TestOpenAPIDocumentsEveryRoute keeps openapi.json and the router equal, both ways.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	data, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	s := newServer(t, sqliteStore(t), testConfig())
	routed := map[string]bool{}
	for _, r := range server.Routes(s) {
		routed[r[0]+" "+r[1]] = true
		if !documented[r[0]+" "+r[1]] {
			t.Errorf("route %s %s is not in openapi.json", r[0], r[1])
		}
	}
	for op := range documented {
		if !routed[op] {
			t.Errorf("openapi.json documents %s, which no route serves", op)
		}
	}
	w := do(s.Handler(), "GET", "/v1/openapi.json", nil)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), data) || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("served document: %d, %d bytes, version %q", w.Code, w.Body.Len(), doc.OpenAPI)
	}
}

// TestNothingAboutTheClient sends requests with an address, a user agent and a cookie through
// every public endpoint, with debug logs on: no answer sets a cookie, no log line holds the
// address or the user agent, and the store's tables have no column for them.
func TestNothingAboutTheClient(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	cfg := testConfig()
	cfg.Logger = slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Rate, cfg.Burst = 1000, 1000
	st := sqliteStore(t)
	s := newServer(t, st, cfg)
	ts := httptest.NewServer(s.Handler())
	const ua = "Mozilla/5.0 (UniqueAgent 4242)"
	for _, tc := range []struct{ method, path string }{
		{"POST", "/v1/batches"}, {"POST", "/v1/batches"}, {"GET", "/v1/bundle"}, {"GET", "/healthz"}, {"GET", "/readyz"},
		{"GET", "/metrics"}, {"GET", "/v1/openapi.json"}, {"GET", "/v1/presage.wasm"}, {"GET", "/nope"},
		{"GET", "/v1/admin/campaigns"},
	} {
		req, _ := http.NewRequest(tc.method, ts.URL+tc.path, bytes.NewReader(encode(t, sampleBatch(1))))
		req.Header.Set("User-Agent", ua)
		req.Header.Set("Cookie", "session=abc")
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if c := resp.Header.Get("Set-Cookie"); c != "" {
			t.Errorf("%s %s set a cookie: %s", tc.method, tc.path, c)
		}
	}
	ts.Close()
	s.Shutdown(context.Background())
	mu.Lock()
	defer mu.Unlock()
	for _, secret := range []string{"127.0.0.1", "UniqueAgent", "session=abc"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs hold %q:\n%s", secret, logs.String())
		}
	}
}

func TestRedactHTTPLog(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http: panic serving 192.0.2.1:5000: boom", "http: panic serving <client>: boom"},
		{"http: panic serving [2001:db8::1]:443: boom", "http: panic serving <client>: boom"},
		{"http: TLS handshake error from 203.0.113.9:61000: EOF", "http: TLS handshake error from <client>: EOF"},
		{"http: Accept error: too many open files; retrying in 5ms", "http: Accept error: too many open files; retrying in 5ms"},
	} {
		if got := server.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestHealthAndMetrics(t *testing.T) {
	s := newServer(t, sqliteStore(t), testConfig())
	h := s.Handler()
	do(h, "POST", "/v1/batches", encode(t, sampleBatch(1)))
	do(h, "POST", "/v1/batches", []byte{0xff})
	for _, tc := range []struct {
		path string
		code int
		want []string
	}{
		{"/healthz", 200, []string{"ok"}},
		{"/readyz", 200, []string{"ready"}},
		{"/metrics", 200, []string{
			`presage_ingest_batches_total{result="accepted"} 1`,
			`presage_ingest_rejected_total{reason="decode"} 1`,
			`presage_http_requests_total{code="204",route="POST /v1/batches"} 1`,
			`presage_ingest_commit_seconds_count 1`,
			`go_goroutines`,
		}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			w := do(h, "GET", tc.path, nil)
			if w.Code != tc.code {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			for _, s := range tc.want {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("no %q in:\n%s", s, w.Body)
				}
			}
		})
	}
	s.Shutdown(context.Background())
	if w := do(h, "GET", "/readyz", nil); w.Code != 503 {
		t.Errorf("readyz after shutdown: %d, want 503", w.Code)
	}
	if w := do(h, "POST", "/v1/batches", encode(t, sampleBatch(2))); w.Code != 503 {
		t.Errorf("batch after shutdown: %d, want 503", w.Code)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*server.Config)
		want   string
	}{
		{"no token", func(c *server.Config) { c.AdminTokenHash = nil }, "AdminTokenHash"},
		{"origin with a path", func(c *server.Config) { c.Origins = []string{"https://shop.example/page"} }, "origin"},
		{"origin without scheme", func(c *server.Config) { c.Origins = []string{"shop.example"} }, "origin"},
		{"short signing key", func(c *server.Config) { c.SigningKey = ed25519.PrivateKey{1, 2} }, "SigningKey"},
		{"negative privacy budget", func(c *server.Config) { c.Retrain.Fed.Epsilon = -1 }, "federated rounds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.change(&cfg)
			_, err := server.New(sqliteStore(t), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %q", err, tc.want)
			}
		})
	}
}
