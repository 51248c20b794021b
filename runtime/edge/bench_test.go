package edge

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

// BenchmarkWrap is the middleware's own cost per page view of a returning visitor, in process (no
// network): module calls, cookie, headers and the rewriting of a 6 KB page, with runtime/host's
// interruptible calls off (fast) and on.
func BenchmarkWrap(b *testing.B) {
	pageBody := []byte(`<!doctype html><html><head><title>t</title></head><body><div data-presage-slot="hero">x</div>` +
		strings.Repeat(`<li><a href="/p/1"><img src="/i.jpg" alt=""><span class="n">Product</span><span>9.99</span></a></li>`, 60) +
		`<p data-presage-slot=banner>y</p></body></html>`)
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write(pageBody)
	})
	for _, mode := range []struct {
		name    string
		fast    bool
		rewrite bool
	}{{"fast", true, true}, {"fast-norewrite", true, false}, {"interruptible", false, true}} {
		b.Run(mode.name, func(b *testing.B) {
			h, err := host.New(context.Background(), moduleWasm, host.NewConfig().
				WithCompilationCacheDir(filepath.Join(os.TempDir(), "presage-edge-wazero")).
				WithTrustedKeys(testKey.Public().(ed25519.PublicKey)).
				WithInterruptibleCalls(!mode.fast).WithCallTimeout(10*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			if _, err := h.LoadBundle(context.Background(), signingSign()); err != nil {
				b.Fatal(err)
			}
			e, err := New(Config{Host: h, Keys: [][]byte{bytes.Repeat([]byte{1}, 32)}, DefaultSlots: []string{"hero", "banner"}, NoRewrite: !mode.rewrite})
			if err != nil {
				b.Fatal(err)
			}
			handler := e.Wrap(origin)
			first := get(handler, "/")
			c := first.Result().Cookies()[0]
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				rec := get(handler, "/c/shoes", c)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// BenchmarkPhases splits a personalised page view of a returning visitor into its phases, with the
// conformance corpus's bundle (the demo shop's, as examples/edge-proxy serves it) and its three
// slots: each phase's median over the run is reported in µs (medians, because this machine's
// hiccups make means meaningless), and wrap-total is the whole middleware in process. The
// module's calls run under runtime/host's default interruptible calls, then without (fast).
//
//	go test -run '^$' -bench Phases -count 5 ./runtime/edge
func BenchmarkPhases(b *testing.B) {
	corpus := filepath.Join("..", "..", "testdata", "vectors")
	pub, err := signing.LoadPublic(filepath.Join(corpus, "test.pub"))
	if err != nil {
		b.Fatal(err)
	}
	env, err := os.ReadFile(filepath.Join(corpus, "bundle.cbor"))
	if err != nil {
		b.Fatal(err)
	}
	page := []byte(`<!doctype html><html><head><title>Demo shop</title></head><body>` +
		`<div class="banner" data-presage-slot="banner">Welcome</div><ul>` +
		strings.Repeat(`<li data-presage-product="item-001"><a href="/p/item-001"><img src="/img/001.jpg" alt="">`+
			`<span class="name">Product</span><span class="price">10.99</span></a></li>`, 24) +
		`</ul><section data-presage-slot="carousel"><h2>Popular</h2></section>` +
		`<div class="popin" data-presage-slot="popin" hidden></div></body></html>`)
	for _, mode := range []struct {
		name string
		fast bool
	}{{"interruptible", false}, {"fast", true}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			h, err := host.New(ctx, moduleWasm, host.NewConfig().
				WithCompilationCacheDir(filepath.Join(os.TempDir(), "presage-edge-wazero")).
				WithTrustedKeys(pub).WithPoolSize(1).
				WithInterruptibleCalls(!mode.fast).WithCallTimeout(10*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(ctx)
			if _, err := h.LoadBundle(ctx, env); err != nil {
				b.Fatal(err)
			}
			e, err := New(Config{Host: h, Keys: [][]byte{bytes.Repeat([]byte{1}, 32)},
				DefaultSlots: []string{"popin", "banner", "carousel"}, CallTimeout: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Write(page)
			})
			handler := e.Wrap(origin)
			c := get(handler, "/").Result().Cookies()[0]
			for range 10 { // a returning visitor with a few pages behind them
				c = get(handler, "/c/shoes", c).Result().Cookies()[0]
			}
			r := httptest.NewRequest("GET", "http://shop.example/c/shoes", nil)
			r.Header.Set("Accept", "text/html")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.AddCookie(c)
			var t [9][]time.Duration
			names := [...]string{"cookie-decode", "acquire", "load-profile", "handle", "save-profile",
				"cookie-encode", "headers", "rewrite", "wrap-total"}
			var seeds [24]byte
			filled := &wire.Answer{Decisions: []wire.Decision{
				{Slot: "popin", Campaign: "welcome-offer", Variant: "ten-percent", Content: "10 % off your first order"},
				{Slot: "banner", Campaign: "home-banner", Variant: "new-season", Content: "The new season is here"},
				{Slot: "carousel", Campaign: "carousel", Variant: "for-you", Content: "Picked for you"}}}
			for b.Loop() {
				t0 := time.Now()
				p, err := e.codec.decode(c.Value)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				rand.Read(seeds[:])
				s, err := h.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				if err := s.LoadProfile(p, 1); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				now := e.s.Now()
				ans, err := s.Handle(&wire.Request{Now: now, Seed: 2, Events: e.s.Events(r, now, true), Slots: e.s.Slots(r)})
				if err != nil {
					b.Fatal(err)
				}
				t4 := time.Now()
				prof, err := s.SaveProfile()
				if err != nil {
					b.Fatal(err)
				}
				t5 := time.Now()
				if _, _, err := e.codec.encode(prof); err != nil {
					b.Fatal(err)
				}
				t6 := time.Now()
				e.setHeaders(r.Header.Clone(), ans)
				t7 := time.Now()
				// The visitor's own decisions are often empty (caps and pressure): rewrite with three
				// filled slots, so that this phase is the cost of a page that shows campaigns.
				rw, _ := newRewriter(filled, false, false)
				if err := newStream(rw, io.Discard).write(page, true); err != nil {
					b.Fatal(err)
				}
				t8 := time.Now()
				s.Release()
				get(handler, "/c/shoes", c)
				t9 := time.Now()
				for i, d := range [...]time.Duration{t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3), t5.Sub(t4), t6.Sub(t5), t7.Sub(t6), t8.Sub(t7), t9.Sub(t8)} {
					t[i] = append(t[i], d)
				}
			}
			for i, n := range names {
				slices.Sort(t[i])
				b.ReportMetric(float64(t[i][len(t[i])/2])/1e3, n+"-p50-µs")
			}
			b.ReportMetric(float64(len(c.Value)), "cookie-bytes")
		})
	}
}
