package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presage-dev/presage/runtime/edge"
	"github.com/presage-dev/presage/runtime/host"
)

// The load generator: loopback only, bounded in count and in time.
const (
	loadClients  = 2                // concurrent clients: the machine has 2 cores for generator, proxy and origin
	loadVisitors = 64               // visitors the clients take turns being, each with its own cookie
	loadMaxTime  = 10 * time.Second // a run stops here whatever its count
)

// loadResult is one load run.
type loadResult struct {
	n        int
	elapsed  time.Duration
	p50, p99 time.Duration
}

func (r loadResult) String() string {
	return fmt.Sprintf("%d requests, %.0f req/s, p50 %.0f µs, p99 %.0f µs", r.n, float64(r.n)/r.elapsed.Seconds(),
		float64(r.p50)/1e3, float64(r.p99)/1e3)
}

// runLoad sends n page requests (at most, and for at most loadMaxTime) to target from loadClients
// goroutines, as loadVisitors returning visitors whose cookies are kept between their requests, and
// measures each request's latency from the client. Any status but 200 fails the run.
func runLoad(target string, n int) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: loadClients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var (
		next    atomic.Int64
		cookies [loadVisitors]atomic.Value // string
		lats    = make([]time.Duration, n)
		done    atomic.Int64
		firstEr atomic.Value
		wg      sync.WaitGroup
	)
	deadline := time.Now().Add(loadMaxTime)
	start := time.Now()
	for self := range loadClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each client is its own share of the visitors, so that a visitor's requests never overlap
			// and each carries the cookie the previous one set, however slow a request is.
			for k := 0; ; k++ {
				i := int(next.Add(1) - 1)
				if i >= n || time.Now().After(deadline) {
					return
				}
				v := self + loadClients*(k%(loadVisitors/loadClients))
				req, _ := http.NewRequest("GET", target, nil)
				req.Header.Set("Accept", "text/html")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				if c, ok := cookies[v].Load().(string); ok {
					req.Header.Set("Cookie", c)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				lats[i] = time.Since(t0)
				if err != nil {
					firstEr.CompareAndSwap(nil, err)
					return
				}
				for _, c := range resp.Cookies() {
					if c.Name == edge.DefaultCookieName {
						cookies[v].Store(c.Name + "=" + c.Value)
					}
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	r := loadResult{elapsed: time.Since(start)}
	if err, ok := firstEr.Load().(error); ok {
		return r, err
	}
	var got []time.Duration
	for _, l := range lats {
		if l > 0 {
			got = append(got, l)
		}
	}
	r.n = len(got)
	if r.n == 0 {
		return r, fmt.Errorf("no request completed")
	}
	slices.Sort(got)
	r.p50, r.p99 = got[len(got)/2], got[min(len(got)-1, len(got)*99/100)]
	return r, nil
}

// proxyServer starts the demo shop origin and a proxy in front of it: plain (ReverseProxy alone)
// when h is nil, personalised through runtime/edge otherwise, with the HTML rewritten unless
// headersOnly.
func proxyServer(tb testing.TB, h *host.Host, headersOnly bool) (*httptest.Server, *edge.Edge) {
	tb.Helper()
	origin := httptest.NewServer(shopOrigin)
	tb.Cleanup(origin.Close)
	u, _ := url.Parse(origin.URL)
	var (
		handler http.Handler = httputil.NewSingleHostReverseProxy(u)
		e       *edge.Edge
	)
	if h != nil {
		var err error
		handler, e, err = newProxy(u, edge.Config{
			Host:           h,
			Keys:           [][]byte{bytes.Repeat([]byte{0x5a}, 32)},
			DefaultSlots:   []string{"popin", "banner", "carousel"},
			InsecureCookie: true,
			CallTimeout:    10 * time.Second, // a loaded 2-core machine: requests must not fall back here
			NoRewrite:      headersOnly,
		})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { e.Close(context.Background()) })
	}
	srv := httptest.NewServer(handler)
	tb.Cleanup(srv.Close)
	return srv, e
}

// BenchmarkProxy measures the edge proxy from a loopback load generator: requests per second and
// client-side p50/p99 latency, plain (ReverseProxy alone) and personalised through the module, with
// runtime/host's default interruptible calls and without them (fast), and without rewriting the
// HTML (decisions as request headers only).
//
//	go test -run '^$' -bench Proxy -benchtime 3000x ./examples/edge-proxy
func BenchmarkProxy(b *testing.B) {
	for _, mode := range []string{"plain", "personalised", "personalised-fast", "headers-only-fast"} {
		b.Run(mode, func(b *testing.B) {
			var h *host.Host
			if mode != "plain" {
				h = testHost(b, strings.HasSuffix(mode, "-fast"))
			}
			srv, e := proxyServer(b, h, strings.HasPrefix(mode, "headers-only"))
			if _, err := runLoad(srv.URL, 2*loadVisitors); err != nil { // warm: pool, connections, cookies
				b.Fatal(err)
			}
			b.ResetTimer()
			r, err := runLoad(srv.URL, b.N)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if e != nil {
				if m := e.Metrics(); m.ModuleErrors != 0 {
					b.Fatalf("%d requests fell back unpersonalised", m.ModuleErrors)
				}
			}
			b.ReportMetric(float64(r.n)/r.elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(r.p50)/1e3, "p50-µs")
			b.ReportMetric(float64(r.p99)/1e3, "p99-µs")
		})
	}
}

// TestProxyLoad is a short run of the load generator against both proxies: every request must
// succeed and be personalised. It logs the figures (go test -v); the benchmark is the measurement.
func TestProxyLoad(t *testing.T) {
	n := 600
	if testing.Short() {
		n = 100
	}
	for _, mode := range []string{"plain", "personalised-fast"} {
		t.Run(mode, func(t *testing.T) {
			var h *host.Host
			if mode != "plain" {
				h = testHost(t, true)
			}
			srv, e := proxyServer(t, h, false)
			r, err := runLoad(srv.URL, n)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v", mode, r)
			if e == nil {
				return
			}
			m := e.Metrics()
			if m.Personalised != uint64(r.n) || m.ModuleErrors != 0 || m.BadCookies != 0 || m.Returning < uint64(r.n-loadVisitors) {
				t.Errorf("metrics %+v after %d requests", m, r.n)
			}
		})
	}
}

// BenchmarkAdded is BenchmarkProxy with the modes interleaved: five rounds, each sending b.N
// requests to the plain proxy, then to the personalised one (runtime/host's default interruptible
// calls), then to the personalised one without interruptible calls (fast). This machine's speed
// changes by up to 2× from minute to minute, so what personalisation adds is taken within each
// round (personalised p50 − plain p50) and the medians over the rounds are reported.
//
//	go test -run '^$' -bench Added -benchtime 2000x ./examples/edge-proxy
func BenchmarkAdded(b *testing.B) {
	const rounds = 5
	modes := []string{"plain", "personalised", "personalised-fast"}
	srvs := make([]string, len(modes))
	edges := make([]*edge.Edge, len(modes))
	for i, mode := range modes {
		var h *host.Host
		if mode != "plain" {
			h = testHost(b, strings.HasSuffix(mode, "-fast"))
		}
		srv, e := proxyServer(b, h, false)
		srvs[i], edges[i] = srv.URL, e
		if _, err := runLoad(srv.URL, 2*loadVisitors); err != nil { // warm: pool, connections, cookies
			b.Fatal(err)
		}
	}
	res := make([][]loadResult, len(modes))
	b.ResetTimer()
	for range rounds {
		for i := range modes {
			r, err := runLoad(srvs[i], b.N)
			if err != nil {
				b.Fatal(err)
			}
			res[i] = append(res[i], r)
		}
	}
	b.StopTimer()
	for i, e := range edges {
		if e != nil {
			if m := e.Metrics(); m.ModuleErrors != 0 {
				b.Fatalf("%s: %d requests fell back unpersonalised", modes[i], m.ModuleErrors)
			}
		}
	}
	median := func(f func(k int) float64) float64 {
		v := make([]float64, rounds)
		for k := range v {
			v[k] = f(k)
		}
		slices.Sort(v)
		return v[rounds/2]
	}
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	for i, mode := range modes {
		b.ReportMetric(median(func(k int) float64 { return us(res[i][k].p50) }), mode+"-p50-µs")
		b.ReportMetric(median(func(k int) float64 { return us(res[i][k].p99) }), mode+"-p99-µs")
		b.ReportMetric(median(func(k int) float64 { return float64(res[i][k].n) / res[i][k].elapsed.Seconds() }), mode+"-req/s")
		if i > 0 {
			b.ReportMetric(median(func(k int) float64 { return us(res[i][k].p50 - res[0][k].p50) }), mode+"-adds-p50-µs")
		}
	}
}
