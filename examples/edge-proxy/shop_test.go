package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

// shopPage is the home page of a small demo shop: the three slots of the demo bundle (popin,
// banner, carousel) among 24 product tiles, about 6 KB, as an origin would render it.
var shopPage = func() string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Demo shop</title>` +
		`<link rel="stylesheet" href="/shop.css"></head><body><header><a href="/">Demo shop</a>` +
		`<nav><a href="/c/shoes">Shoes</a> <a href="/c/bags">Bags</a> <a href="/cart">Cart</a></nav></header>` +
		`<div class="banner" data-presage-slot="banner">Welcome to the demo shop</div><main><ul class="tiles">`)
	for i := range 24 {
		fmt.Fprintf(&b, `<li data-presage-product="item-%03d"><a href="/p/item-%03d"><img src="/img/%03d.jpg" alt="">`+
			`<span class="name">Product %d</span><span class="price">%d.99</span></a></li>`, i, i, i, i, 10+i)
	}
	b.WriteString(`</ul><section class="carousel" data-presage-slot="carousel"><h2>Popular</h2></section></main>` +
		`<div class="popin" data-presage-slot="popin" hidden></div><footer>&copy; Demo shop</footer></body></html>`)
	return b.String()
}()

// shopOrigin serves shopPage for every page path, as the origin behind the proxy.
var shopOrigin = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(shopPage)))
	w.Write([]byte(shopPage))
})

var corpus = filepath.Join("..", "..", "testdata", "vectors")

// demoHost runs the module built from source with the conformance corpus's bundle (trained on the
// simulated demo shop, signed with the published TEST key, which only tests may trust). fast turns
// off interruptible calls.
func demoHost(ctx context.Context, fast bool) (*host.Host, error) {
	wasm, err := modbuild.Build(ctx)
	if err != nil {
		return nil, err
	}
	pub, err := signing.LoadPublic(filepath.Join(corpus, "test.pub"))
	if err != nil {
		return nil, err
	}
	env, err := os.ReadFile(filepath.Join(corpus, "bundle.cbor"))
	if err != nil {
		return nil, fmt.Errorf("corpus bundle: %w", err)
	}
	h, err := host.New(ctx, wasm, host.NewConfig().
		WithCompilationCacheDir(filepath.Join(os.TempDir(), "presage-edge-wazero")).
		WithTrustedKeys(pub).
		WithInterruptibleCalls(!fast).
		WithCallTimeout(5*time.Second))
	if err != nil {
		return nil, err
	}
	if _, err := h.LoadBundle(ctx, env); err != nil {
		h.Close(ctx)
		return nil, err
	}
	return h, nil
}

func testHost(tb testing.TB, fast bool) *host.Host {
	tb.Helper()
	h, err := demoHost(context.Background(), fast)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close(context.Background()) })
	return h
}
