package shop_test

import (
	"bufio"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/internal/browsertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Stop()
	os.Exit(code)
}

// TestBrowserVisit walks the real demo shop in headless Chromium: arrival from a brand search, a
// product, the cart, the checkout, the purchase. It checks that the slots render decisions, that the
// purchase reaches the agent through the dataLayer, that every request stays on the shop's origin,
// and that the learning batch reaches the sync server on leaving; the screenshots are the demo's
// pictures (PRESAGE_ARTIFACTS keeps them).
func TestBrowserVisit(t *testing.T) {
	browsertest.Browser(t) // skips without Chromium, before training anything
	// Slots wait up to 10 s for their decision: a busy 2-core machine compiling the module in a fresh
	// browser context can take longer than the default 1.5 s.
	d, cat, _, _ := startDemo(t, `data-timeout="10000"`)
	tb := browsertest.Open(t, "")

	tb.Navigate(d.URL+"/", "https://www.google.com/search?q=demoshop")
	tb.WaitDecided()
	tb.Wait(`document.querySelector('#banner[data-presage-ready]') && document.querySelector('#carousel[data-presage-ready]')`)
	if n := browsertest.Eval[int](tb, `document.querySelectorAll('.grid .tile').length`); n != 12 {
		t.Errorf("home shows %d best sellers, want 12", n)
	}
	tb.Screenshot("1-home")

	p := cat.Popular(3)[2]
	tb.Navigate(d.URL+"/p/"+p.ID, "")
	tb.WaitDecided()
	tb.Wait(`document.querySelector('#carousel[data-presage-ready]')`)
	tb.Click("#add", false)
	tb.Wait(`document.querySelector('[data-cart-count]').textContent === '1'`)
	// Recommendations get the shop's names once presage.js has rendered them.
	tb.Wait(`[...document.querySelectorAll('#carousel [data-sku]')].every((e) => e.hasAttribute('data-named'))`)
	tb.Screenshot("2-product")
	before := browsertest.Eval[string](tb, `String(presage.state.stage)`)

	tb.Click("#cart", true)
	tb.Wait(`document.querySelectorAll('[data-cart-lines] .line').length === 1`)
	tb.WaitDecided()
	tb.Wait(`document.querySelector('#popin[data-presage-ready]')`)
	// The pop-in shows when the visitor falls in the hesitant band; the screenshot shows either way.
	t.Logf("cart: pop-in %q", browsertest.Eval[string](tb, `document.querySelector('#popin').textContent.trim()`))
	tb.Screenshot("3-cart")
	tb.Click("#checkout", true)
	tb.Wait(`document.querySelectorAll('[data-cart-lines] .line').length === 1`)
	tb.Click("#pay", true)
	tb.WaitDecided()
	tb.Wait(`document.querySelector('[data-order-id]').textContent.startsWith('o-')`)
	if ev := browsertest.Eval[string](tb, `(dataLayer.find((e) => e.event === 'purchase') || {}).event || ''`); ev != "purchase" {
		t.Error("no purchase in the dataLayer on the thank-you page")
	}
	tb.Wait(`presage.state && presage.state.stage`)
	stage := browsertest.Eval[string](tb, `String(presage.state.stage)`)
	tb.Screenshot("4-thanks")
	t.Logf("after the purchase: stage %s (was %s), segments %s", stage, before, browsertest.Eval[string](tb, `JSON.stringify(presage.state.segments)`))
	if stage != "new" || before == "new" {
		t.Errorf("stage %s before the purchase and %s after, want a prospect or lead becoming new (a first order)", before, stage)
	}
	if n := browsertest.Eval[int](tb, `JSON.parse(localStorage.getItem('shop:cart') || '[]').length`); n != 0 {
		t.Errorf("the cart holds %d lines after the purchase", n)
	}

	// Leaving the page sends the learning batch (pagehide); /healthz is a page without the tag.
	tb.Navigate(d.URL+"/healthz", "")
	deadline := time.Now().Add(15 * time.Second)
	for accepted(t, d.URL) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no learning batch reached the sync server; console: %s", strings.Join(tb.Console(), "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	for _, u := range tb.Requests() {
		if !strings.HasPrefix(u, d.URL+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("request to another origin: %s", u)
		}
	}
	for _, l := range tb.Console() {
		if strings.HasPrefix(l, "exception") || strings.HasPrefix(l, "error") {
			t.Errorf("console: %s", l)
		}
	}
}

// accepted reads the sync server's count of accepted batches from /metrics.
func accepted(t *testing.T, origin string) float64 {
	t.Helper()
	r, err := http.Get(origin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `presage_ingest_batches_total{result="accepted"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
