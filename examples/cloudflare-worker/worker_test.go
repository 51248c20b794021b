package cloudflareworker

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/edge"
	"github.com/presage-dev/presage/runtime/host"
)

// cookieKey is the test's cookie key, shared by the Worker and the Go edge of the interop test.
var cookieKey = bytes.Repeat([]byte{0x42}, 32)

const shopPage = `<!doctype html><html><head><title>Demo shop</title></head><body>` +
	`<div class="banner" data-presage-slot="banner">Welcome</div>` +
	`<ul><li data-presage-product="item-001">Product 1</li><li data-presage-product="item-002">Product 2</li></ul>` +
	`<section data-presage-slot="carousel"><h2>Popular</h2></section><div data-presage-slot="popin" hidden></div>` +
	`<img src="/a.png" data-presage-slot="banner"></body></html>`

// shop is the origin and the sync server behind the Worker, recording what they were sent.
type shop struct {
	mu      sync.Mutex
	headers []http.Header
	batches []wire.Batch
	invalid int // batches that did not decode
}

func (s *shop) origin(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.headers = append(s.headers, r.Header.Clone())
	s.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, ".png") || r.URL.Path == "/__ready" {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte("\x89PNG"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, shopPage)
}

func (s *shop) sync(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b wire.Batch
	if r.URL.Path != edge.BatchPath || minicbor.Unmarshal(body, &b, minicbor.DefaultLimits) != nil || len(b.ID) != 16 {
		s.mu.Lock()
		s.invalid++
		s.mu.Unlock()
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.batches = append(s.batches, b)
	s.mu.Unlock()
}

func (s *shop) lastHeaders() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[len(s.headers)-1]
}

// startShop starts the origin, the sync server and workerd with the Worker on two sockets: "http"
// reuses one instance per isolate (the Worker's strategy), "fresh" instantiates per request (to
// measure what reuse saves).
func startShop(t testing.TB) (*shop, *server) {
	s := &shop{}
	origin := httptest.NewServer(http.HandlerFunc(s.origin))
	t.Cleanup(origin.Close)
	syncSrv := httptest.NewServer(http.HandlerFunc(s.sync))
	t.Cleanup(syncSrv.Close)
	srv := startWorkerd(t, map[string]string{
		"origin": strings.TrimPrefix(origin.URL, "http://"),
		"sync":   strings.TrimPrefix(syncSrv.URL, "http://"),
		"keys":   hex.EncodeToString(cookieKey),
	})
	return s, srv
}

// visit is one page request as a browser navigating the site sends it.
func visit(t testing.TB, base, path, cookie string, extra ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s\n%s", path, resp.Status, body)
	}
	return resp, string(body)
}

func profileCookie(resp *http.Response) string {
	for _, c := range resp.Cookies() {
		if c.Name == "presage" {
			return c.Name + "=" + c.Value
		}
	}
	return ""
}

// TestWorker runs the Worker in workerd in front of a Go origin: cookie, decision headers, slots
// rewritten by HTMLRewriter, instance reuse, bad cookies, assets, and batches to the sync server.
func TestWorker(t *testing.T) {
	s, srv := startShop(t)
	base := srv.urls["http"]

	resp, body := visit(t, base, "/", "", "Presage-Decision-Banner", "forged/by-client")
	cookie := profileCookie(resp)
	if cookie == "" || len(cookie) > 4096+len("presage=") {
		t.Fatalf("profile cookie %q", cookie)
	}
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Errorf("cookie attributes: %s", sc)
	}
	if got := resp.Header.Get("Presage-Debug"); !strings.HasPrefix(got, "new; instance=new") {
		t.Errorf("first request: Presage-Debug %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "private, no-cache" {
		t.Errorf("Cache-Control %q", got)
	}
	oh := s.lastHeaders()
	banner := oh.Get("Presage-Decision-Banner")
	if banner == "" || banner == "forged/by-client" || oh.Get("Presage-Stage") == "" {
		t.Errorf("origin saw decision %q, stage %q", banner, oh.Get("Presage-Stage"))
	}
	for _, want := range []string{
		`data-presage-slot="banner" data-presage-campaign="`,
		`<script type="application/json" id="presage-decisions">{"stage":"prospect"`,
		`<img src="/a.png" data-presage-slot="banner" data-presage-campaign=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	campaign, variant, _ := strings.Cut(banner, "/")
	if !strings.Contains(body, fmt.Sprintf(`data-presage-campaign="%s" data-presage-variant="%s">`, campaign, variant)) {
		t.Errorf("the page's banner is not the decision the origin saw (%s):\n%s", banner, body)
	}
	if strings.Contains(body, ">Welcome</div>") {
		t.Errorf("the banner kept its default content:\n%s", body)
	}

	resp2, _ := visit(t, base, "/c/shoes", cookie)
	if got := resp2.Header.Get("Presage-Debug"); !strings.HasPrefix(got, "returning; instance=reused; instances=1") {
		t.Errorf("second request: Presage-Debug %q", got)
	}
	if c2 := profileCookie(resp2); c2 == "" || c2 == cookie {
		t.Error("the profile cookie was not updated")
	}

	resp3, body3 := visit(t, base, "/", "presage=AAAA-tampered")
	if got := resp3.Header.Get("Presage-Debug"); !strings.HasPrefix(got, "bad-cookie") || !strings.Contains(body3, "data-presage-campaign") {
		t.Errorf("tampered cookie: Presage-Debug %q", got)
	}

	req, _ := http.NewRequest("GET", base+"/a.png", nil)
	req.Header.Set("Accept", "image/avif,image/*")
	asset, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	asset.Body.Close()
	if asset.Header.Get("Set-Cookie") != "" || asset.Header.Get("Presage-Debug") != "" {
		t.Error("an asset went through the module")
	}

	// Learning: with the corpus bundle's default consent, batches arrive only if the visitor is
	// at full consent; ask for it, then look at what the sync server received.
	full := "" // the visitor's cookie
	for range 3 {
		r, _ := visit(t, base, "/?utm_source=news&utm_medium=email", full)
		full = profileCookie(r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		n, invalid := len(s.batches), s.invalid
		s.mu.Unlock()
		if invalid > 0 {
			t.Fatalf("the sync server received %d batches that are not CBOR wire.Batch", invalid)
		}
		if n > 0 || time.Now().After(deadline) {
			t.Logf("the sync server received %d learning batches", n)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCookieInterop checks that a profile cookie written by the Go edge (runtime/edge) is read by
// the Worker and the other way round: same format, same key, same name.
func TestCookieInterop(t *testing.T) {
	_, srv := startShop(t)
	ctx := context.Background()
	wasm, err := os.ReadFile(filepath.Join(moduleDir(t), "presage.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signing.LoadPublic(filepath.Join(corpus, "test.pub"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(ctx, wasm, host.NewConfig().WithTrustedKeys(pub).WithPoolSize(1).
		WithCompilationCacheDir(filepath.Join(os.TempDir(), "presage-edge-wazero")))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	e, err := edge.New(edge.Config{Host: h, Keys: [][]byte{cookieKey}, DefaultSlots: []string{"banner"}, InsecureCookie: true})
	if err != nil {
		t.Fatal(err)
	}
	goEdge := httptest.NewServer(e.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, shopPage)
	})))
	defer goEdge.Close()

	r1, _ := visit(t, goEdge.URL, "/", "")
	goCookie := profileCookie(r1)
	r2, _ := visit(t, srv.urls["http"], "/", goCookie)
	if got := r2.Header.Get("Presage-Debug"); !strings.HasPrefix(got, "returning") {
		t.Fatalf("the Worker did not read the Go edge's cookie: Presage-Debug %q", got)
	}
	visit(t, goEdge.URL, "/", profileCookie(r2))
	if m := e.Metrics(); m.Returning != 1 || m.BadCookies != 0 {
		t.Fatalf("the Go edge did not read the Worker's cookie: %+v", m)
	}
}

// TestWorkerLatency measures, from a loopback client, the Worker's per-request latency in workerd:
// a page personalised with the instance reused (the Worker's strategy), the same with a fresh
// instance per request, and an asset that never reaches the module; plus the first request, which
// pays the instantiation. Bounded by count and by time; the figures are logged (go test -v).
func TestWorkerLatency(t *testing.T) {
	_, srv := startShop(t)
	n, nFresh := 300, 40
	if testing.Short() {
		n, nFresh = 50, 10
	}
	measure := func(base, path, accept string, n int, carryCookie bool) (p50, p99 time.Duration) {
		var lats []time.Duration
		cookie := ""
		deadline := time.Now().Add(15 * time.Second)
		for i := 0; i < n && time.Now().Before(deadline); i++ {
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("Accept", accept)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			t0 := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lats = append(lats, time.Since(t0))
			if c := profileCookie(resp); carryCookie && c != "" {
				cookie = c
			}
		}
		slices.Sort(lats)
		return lats[len(lats)/2], lats[len(lats)*99/100]
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }
	first, _ := measure(srv.urls["http"], "/", "text/html", 1, false)
	t.Logf("first page request (instantiates the module): %s", ms(first))
	measure(srv.urls["http"], "/", "text/html", n, true) // V8 tiers the module's hot code up
	p50, p99 := measure(srv.urls["http"], "/", "text/html", n, true)
	t.Logf("page, instance reused (after %d warm-up requests): p50 %s, p99 %s", n, ms(p50), ms(p99))
	f50, f99 := measure(srv.urls["fresh"], "/", "text/html", nFresh, true)
	t.Logf("page, instance per request:  p50 %s, p99 %s", ms(f50), ms(f99))
	a50, a99 := measure(srv.urls["http"], "/a.png", "image/*", n, false)
	t.Logf("asset, no module:            p50 %s, p99 %s", ms(a50), ms(a99))
	if f50 < p50 {
		t.Logf("note: a fresh instance per request was not slower than reuse here (a busy machine?)")
	}
}
