package shop_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/examples/shop"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/store"
)

// startDemo trains a small bundle, compiles it into the module and starts the shop and the sync
// server on a loopback port, as `presage demo` does with a bigger bundle. tag holds extra
// attributes of the script tag.
func startDemo(t *testing.T, tag string) (*shop.Demo, *shop.Catalogue, []byte, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := demo.Config{Visitors: 600, Seed: 5}
	b, _, err := demo.Train(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	env := signing.Sign(b, key)
	base, err := modbuild.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	built, err := modbuild.Embed(ctx, base, env, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	sm, err := cfg.Sim()
	if err != nil {
		t.Fatal(err)
	}
	cat := shop.NewCatalogue(sm.Catalogue())
	d, err := shop.Start(ctx, shop.DemoConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Envelope: env, Module: built.Module,
		Key: key, Catalogue: cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Tag: tag})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d, cat, env, built.Module
}

func get(t *testing.T, url string, want int) (string, http.Header) {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != want {
		t.Fatalf("GET %s: %s, want %d: %.200s", url, r.Status, want, body)
	}
	return string(body), r.Header
}

// TestDemo serves the shop and the sync server on one loopback origin and checks what a browser
// gets: pages marked up for presage.js, the tag, the module, the bundle, and a learning batch
// accepted from the shop's origin only.
func TestDemo(t *testing.T) {
	start := time.Now()
	d, cat, env, module := startDemo(t, "")
	t.Logf("trained, built and started in %v at %s", time.Since(start).Round(time.Millisecond), d.URL)

	home, _ := get(t, d.URL+"/", 200)
	for _, want := range []string{`data-presage-page="home"`, `<script src="/v1/presage.js" data-site="demo-shop" data-key="`,
		`data-presage-slot="banner"`, `data-presage-slot="popin"`, `data-presage-slot="carousel"`, `data-presage-recs="8"`,
		`data-presage-variant="new-season"`, `href="/p/` + cat.Popular(1)[0].ID + `"`} {
		if !strings.Contains(home, want) {
			t.Errorf("home page lacks %s", want)
		}
	}
	for _, src := range []string{"https://", "http://", "//cdn"} {
		if i := strings.Index(home, `src="`+src); i >= 0 {
			t.Errorf("home page loads from another origin: %.80s", home[i:])
		}
	}

	p := cat.Products[42]
	prod, _ := get(t, d.URL+"/p/"+p.ID, 200)
	for _, want := range []string{`data-presage-page="product" data-presage-product="` + p.ID + `" data-presage-category="` + p.Category.ID + `"`,
		`data-presage-track="add_to_cart"`, p.Name} {
		if !strings.Contains(prod, want) {
			t.Errorf("product page lacks %s", want)
		}
	}
	list, _ := get(t, d.URL+"/c/"+p.Category.ID, 200)
	if !strings.Contains(list, `data-presage-category="`+p.Category.ID+`"`) || !strings.Contains(list, "/p/"+p.ID) {
		t.Errorf("category page %s lacks its attributes or product %s", p.Category.ID, p.ID)
	}
	found, _ := get(t, d.URL+"/search?q="+p.Category.ID, 200)
	if !strings.Contains(found, `data-presage-page="search" data-presage-query="`+p.Category.ID+`"`) {
		t.Error("search page lacks its query")
	}
	for _, path := range []string{"/cart", "/checkout", "/thanks", "/static/shop.js", "/static/shop.css", "/catalogue.json"} {
		get(t, d.URL+path, 200)
	}
	get(t, d.URL+"/p/sku-nope", 404)

	js, h := get(t, d.URL+"/v1/presage.js", 200)
	if !strings.Contains(h.Get("Content-Type"), "javascript") || !strings.Contains(js, "presage") {
		t.Errorf("presage.js: %s, %d bytes", h.Get("Content-Type"), len(js))
	}
	wasm, h := get(t, d.URL+"/v1/presage.wasm", 200)
	if h.Get("Content-Type") != "application/wasm" || wasm != string(module) {
		t.Errorf("presage.wasm: %s, %d bytes, want the module's %d", h.Get("Content-Type"), len(wasm), len(module))
	}
	// presage.js asks for v1/bundle without a site: the shop names its own.
	bundle, _ := get(t, d.URL+"/v1/bundle?site="+d.Site, 200)
	if bundle != string(env) {
		t.Errorf("bundle: %d bytes, want the published envelope's %d", len(bundle), len(env))
	}
	get(t, d.URL+"/v1/openapi.json", 200)
	get(t, d.URL+"/healthz", 200)

	batch, err := cborx.EncMode.Marshal(&wire.Batch{ID: bytes.Repeat([]byte{7}, 16), Site: d.Site, Bundle: d.Version, Day: store.Day(time.Now()),
		Cells: []wire.Cell{{Campaign: "home-banner", Variant: "new-season", Exposures: 2, Conversions: 1, Revenue: 59.9}}})
	if err != nil {
		t.Fatal(err)
	}
	post := func(origin string) *http.Response {
		req, err := http.NewRequest("POST", d.URL+"/v1/batches", bytes.NewReader(batch))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/cbor")
		req.Header.Set("Origin", origin)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}
	if r := post(d.URL); r.StatusCode != http.StatusNoContent {
		t.Errorf("batch from the shop's origin: %s, want 204", r.Status)
	}
	if r := post("https://elsewhere.example"); r.StatusCode != http.StatusForbidden {
		t.Errorf("batch from another origin: %s, want 403", r.Status)
	}

	req, _ := http.NewRequest("GET", d.URL+"/v1/admin/bundles?site="+d.Site, nil)
	req.Header.Set("Authorization", "Bearer "+d.AdminToken)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Errorf("admin API with the demo's token: %s", r.Status)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("took %v, want < 20 s", el)
	}
}

// TestCatalogue checks that the shop sells what the bundle was trained on.
func TestCatalogue(t *testing.T) {
	cfg := demo.Config{Visitors: 10}
	sm, err := cfg.Sim()
	if err != nil {
		t.Fatal(err)
	}
	cat := shop.NewCatalogue(sm.Catalogue())
	if len(cat.Products) != 300 || len(cat.Categories) != 20 {
		t.Fatalf("%d products in %d categories, want the demo's 300 in 20", len(cat.Products), len(cat.Categories))
	}
	n := 0
	for _, k := range cat.Categories {
		n += len(k.Products)
	}
	if n != len(cat.Products) {
		t.Errorf("categories hold %d products, want %d", n, len(cat.Products))
	}
	again := shop.NewCatalogue(sm.Catalogue())
	for i, p := range cat.Products {
		if q := again.Products[i]; q.ID != p.ID || q.Name != p.Name || q.Price != p.Price {
			t.Fatalf("product %d differs between two builds: %+v, %+v", i, p, q)
		}
		if p.ID != sm.Catalogue().Items[i].ID {
			t.Fatalf("product %d is %s, the simulator's item is %s", i, p.ID, sm.Catalogue().Items[i].ID)
		}
	}
	if got := cat.Search(cat.Products[0].Category.Name, 5); len(got) == 0 {
		t.Errorf("searching %q finds nothing", cat.Products[0].Category.Name)
	}
}
