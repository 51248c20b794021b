package edge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
)

const page = `<!doctype html><html><head><title>shop</title></head><body>` +
	`<div data-presage-slot="hero">default hero</div><p data-presage-slot=banner>default banner</p><img src=a.png></body></html>`

// origin is the site behind the edge: it records the headers it was sent and answers page.
type origin struct {
	mu      sync.Mutex
	headers []http.Header
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.headers = append(o.headers, r.Header.Clone())
	o.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, ".png") {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=60")
	io.WriteString(w, page)
}

func (o *origin) last() http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.headers[len(o.headers)-1]
}

var cookieKey = bytes.Repeat([]byte("k"), 32)

func newEdge(t *testing.T, cfg Config) *Edge {
	t.Helper()
	if cfg.Host == nil {
		cfg.Host = newTestHost(t)
	}
	if cfg.Keys == nil {
		cfg.Keys = [][]byte{cookieKey}
	}
	if cfg.DefaultSlots == nil {
		cfg.DefaultSlots = []string{"hero", "banner"}
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

// get requests path through h as a browser navigating would, with the cookies given.
func get(h http.Handler, path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "http://shop.example"+path, nil)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Presage-Decision-Hero", "forged/by-the-client")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func profileCookie(t *testing.T, rec *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == DefaultCookieName {
			return c
		}
	}
	return nil
}

func TestEdgeVisit(t *testing.T) {
	o := &origin{}
	e := newEdge(t, Config{InlineJSON: true})
	h := e.Wrap(o)

	first := get(h, "/")
	if first.Code != 200 {
		t.Fatalf("status %d", first.Code)
	}
	c := profileCookie(t, first)
	switch {
	case c == nil:
		t.Fatal("no profile cookie set")
	case !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != int(DefaultCookieMaxAge/time.Second):
		t.Errorf("cookie attributes: %s", c.String())
	case len(c.Value) > DefaultMaxCookieBytes:
		t.Errorf("cookie value is %d bytes", len(c.Value))
	}
	body := first.Body.String()
	for _, want := range []string{
		`<div data-presage-slot="hero" data-presage-campaign="welcome" data-presage-variant="a">Welcome &lt;b&gt;back&lt;/b&gt; &amp; enjoy</div>`,
		`<p data-presage-slot=banner data-presage-campaign="ship" data-presage-variant="free">Free shipping</p>`,
		`<script type="application/json" id="presage-decisions">{"stage":"prospect"`,
		`<img src=a.png></body></html>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %s:\n%s", want, body)
		}
	}
	if got := first.Header().Get("Cache-Control"); got != "private, no-cache" {
		t.Errorf("Cache-Control %q on a personalised page", got)
	}
	oh := o.last()
	if got := oh.Get("Presage-Decision-Hero"); got != "welcome/a" {
		t.Errorf("origin saw Presage-Decision-Hero %q, want welcome/a (the client's forgery removed)", got)
	}
	if got := oh.Get("Presage-Decision-Banner"); got != "ship/free" {
		t.Errorf("origin saw Presage-Decision-Banner %q", got)
	}
	if got := oh.Get("Presage-Stage"); got != "prospect" {
		t.Errorf("origin saw Presage-Stage %q", got)
	}
	if got := oh.Get("Presage-Moments"); got != "welcome@site" {
		t.Errorf("origin saw Presage-Moments %q, want the first visit's welcome@site", got)
	}
	if oh.Get("Accept-Encoding") != "" {
		t.Error("Accept-Encoding reached the origin: it could compress what the edge must rewrite")
	}

	second := get(h, "/products/1", c)
	if c2 := profileCookie(t, second); c2 == nil || c2.Value == c.Value {
		t.Error("the second visit did not update the profile cookie")
	}
	m := e.Metrics()
	if m.Personalised != 2 || m.NewVisitors != 1 || m.Returning != 1 || m.BadCookies != 0 || m.ModuleErrors != 0 {
		t.Errorf("metrics %+v", m)
	}
	rec := httptest.NewRecorder()
	e.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "\npresage_edge_personalised_total 2\n") {
		t.Errorf("metrics page:\n%s", rec.Body.String())
	}
}

func TestEdgeFallbacks(t *testing.T) {
	h := newTestHost(t)
	bad := func(v string) *http.Cookie { return &http.Cookie{Name: DefaultCookieName, Value: v} }
	otherKey := &cookieCodec{name: DefaultCookieName, keys: [][]byte{bytes.Repeat([]byte("o"), 32)}, maxLen: 4096}
	forged, _, _ := otherKey.encode([]byte{0xa0})
	tests := []struct {
		name       string
		cfg        Config
		path       string
		cookie     *http.Cookie
		failModule bool   // a call timeout too short for any call
		wantCookie string // "set", "none", "delete"
		wantFilled bool
		want       func(Metrics) bool
	}{
		{"garbage cookie: new visitor", Config{}, "/", bad("%%%garbage"), false, "set", true,
			func(m Metrics) bool { return m.BadCookies == 1 && m.NewVisitors == 1 && m.Personalised == 1 }},
		{"cookie signed with an unknown key: new visitor", Config{}, "/", bad(forged), false, "set", true,
			func(m Metrics) bool { return m.BadCookies == 1 && m.NewVisitors == 1 }},
		{"asset: passed through without a module call", Config{}, "/a.png", nil, false, "none", false,
			func(m Metrics) bool { return m.Passed == 1 && m.Personalised == 0 }},
		{"module down: page served unpersonalised", Config{}, "/", nil, true, "none", false,
			func(m Metrics) bool { return m.ModuleErrors == 1 && m.Personalised == 0 }},
		{"profile does not fit: cookie not set, counted", Config{MaxCookieBytes: 64}, "/", nil, false, "none", true,
			func(m Metrics) bool { return m.CookiesDropped == 1 }},
		{"consent denied: cookie deleted", Config{Events: func(r *http.Request, now int64, _ bool) []wire.Event {
			return []wire.Event{{Type: wire.EventConsent, Time: now, Consent: wire.ConsentDenied}, {Type: wire.EventPageView, Time: now}}
		}}, "/", &http.Cookie{Name: DefaultCookieName, Value: "x"}, false, "delete", true,
			func(m Metrics) bool { return m.CookiesDeleted == 1 }},
		{"no rewrite: headers only", Config{NoRewrite: true}, "/", nil, false, "set", false,
			func(m Metrics) bool { return m.Personalised == 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Host = h
			if tc.failModule {
				cfg.CallTimeout = time.Nanosecond
			}
			e := newEdge(t, cfg)
			var cookies []*http.Cookie
			if tc.cookie != nil {
				cookies = append(cookies, tc.cookie)
			}
			req := httptest.NewRequest("GET", "http://shop.example"+tc.path, nil)
			req.Header.Set("Accept", "text/html")
			if strings.HasSuffix(tc.path, ".png") {
				req.Header.Set("Accept", "image/avif,image/*")
			}
			for _, c := range cookies {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			e.Wrap(&origin{}).ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			c := profileCookie(t, rec)
			got := "none"
			if c != nil {
				got = "set"
				if c.MaxAge < 0 {
					got = "delete"
				}
			}
			if got != tc.wantCookie {
				t.Errorf("cookie %s (%v), want %s", got, c, tc.wantCookie)
			}
			if filled := strings.Contains(rec.Body.String(), "Free shipping"); filled != tc.wantFilled {
				t.Errorf("slots filled = %v, want %v", filled, tc.wantFilled)
			}
			if m := e.Metrics(); !tc.want(m) {
				t.Errorf("metrics %+v", m)
			}
		})
	}
}

// TestEdgeSync checks that learning reaches the sync server as CBOR batches, off the request path.
func TestEdgeSync(t *testing.T) {
	var (
		mu      sync.Mutex
		batches []wire.Batch
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var b wire.Batch
		if err := minicbor.Unmarshal(body, &b, minicbor.DefaultLimits); err != nil {
			t.Errorf("batch does not decode: %v", err)
		}
		mu.Lock()
		batches = append(batches, b)
		mu.Unlock()
	}))
	defer srv.Close()
	full := func(r *http.Request, now int64, returning bool) []wire.Event {
		return append([]wire.Event{{Type: wire.EventConsent, Time: now, Consent: wire.ConsentFull}}, RequestEvents(r, now, returning)...)
	}
	e := newEdge(t, Config{SyncURL: srv.URL + "/", SyncClient: srv.Client(), Events: full})
	h := e.Wrap(&origin{})
	var c *http.Cookie
	for i := range 3 {
		rec := get(h, "/", cookiesOf(c)...)
		if c = profileCookie(t, rec); c == nil {
			t.Fatalf("request %d: no cookie", i)
		}
	}
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := e.Metrics()
	if m.BatchesSent == 0 || m.BatchesSent != m.BatchesQueued || m.BatchesDropped+m.BatchesFailed != 0 {
		t.Fatalf("metrics %+v", m)
	}
	mu.Lock()
	defer mu.Unlock()
	exposures := uint32(0)
	for _, b := range batches {
		if b.Site != "shop.example" || len(b.ID) != 16 {
			t.Errorf("batch %+v", b)
		}
		for _, c := range b.Cells {
			exposures += c.Exposures
		}
	}
	if exposures == 0 {
		t.Errorf("no exposure in %d batches", len(batches))
	}
}

func cookiesOf(c *http.Cookie) []*http.Cookie {
	if c == nil {
		return nil
	}
	return []*http.Cookie{c}
}

func TestConfigValidate(t *testing.T) {
	h := newTestHost(t)
	key := bytes.Repeat([]byte{1}, 16)
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{Host: h, Keys: [][]byte{key}}, true},
		{"no host", Config{Keys: [][]byte{key}}, false},
		{"no keys", Config{Host: h}, false},
		{"short key", Config{Host: h, Keys: [][]byte{key[:15]}}, false},
		{"bad cookie name", Config{Host: h, Keys: [][]byte{key}, CookieName: "a b"}, false},
		{"cookie too large", Config{Host: h, Keys: [][]byte{key}, MaxCookieBytes: 5000}, false},
		{"bad sync URL", Config{Host: h, Keys: [][]byte{key}, SyncURL: "ftp://x"}, false},
		{"negative queue", Config{Host: h, Keys: [][]byte{key}, QueueSize: -1}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New: %v, want ok=%v", err, tc.ok)
			}
			if e != nil {
				e.Close(context.Background())
			}
		})
	}
}

// TestEdgeLargeProfile fills the profile to the module's 4,096-byte limit (16 slots whose campaign
// and variant ids are 64 bytes long, learning kept in the profile for want of a sync server): too
// large for the cookie in plain base64, it is stored compressed, and read back on the next visit.
func TestEdgeLargeProfile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a host of its own")
	}
	b := testBundle()
	b.Version = 2
	b.Campaigns = nil
	var slots []string
	for i := range 16 {
		slot := fmt.Sprintf("slot-%02d", i)
		slots = append(slots, slot)
		b.Campaigns = append(b.Campaigns, models.Campaign{
			ID: fmt.Sprintf("campaign-%02d-", i) + strings.Repeat("c", 52), Slot: slot, Support: "banner",
			Variants: []models.Variant{{ID: fmt.Sprintf("variant-%02d-", i) + strings.Repeat("v", 53), Weight: 1, Content: "x"}},
		})
	}
	h := startHost(t)
	defer h.Close(context.Background())
	if _, err := h.LoadBundle(context.Background(), signing.Sign(b, testKey)); err != nil {
		t.Fatal(err)
	}
	full := func(r *http.Request, now int64, returning bool) []wire.Event {
		return append([]wire.Event{{Type: wire.EventConsent, Time: now, Consent: wire.ConsentFull}}, RequestEvents(r, now, returning)...)
	}
	e := newEdge(t, Config{Host: h, DefaultSlots: slots, Events: full})
	var c *http.Cookie
	for i := range 4 {
		rec := get(e.Wrap(&origin{}), "/", cookiesOf(c)...)
		next := profileCookie(t, rec)
		if next == nil {
			t.Fatalf("visit %d: no cookie (metrics %+v)", i, e.Metrics())
		}
		if len(next.Value) > DefaultMaxCookieBytes {
			t.Fatalf("visit %d: cookie value of %d bytes", i, len(next.Value))
		}
		c = next
	}
	m := e.Metrics()
	if m.CookiesCompressed == 0 || m.Returning != 3 || m.BadCookies+m.BadProfiles+m.CookiesDropped != 0 {
		t.Errorf("metrics %+v", m)
	}
	t.Logf("cookie value %d bytes; metrics %+v", len(c.Value), m)
}
