package jsbridge_test

// A small shop for the browser tests: pages marked up as a site integrator would, the script tag,
// the module with the conformance corpus's bundle compiled in, and a loopback endpoint that records
// the learning batches presage.js sends.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/presage-dev/presage/conformance"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/jsbridge"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
)

const vectorsDir = "../testdata/vectors"

// fixture is what every browser test shares: built once per test binary.
type fixture struct {
	generic  []byte             // the module without a bundle (the conformance corpus loads its own)
	module   []byte             // the module with the corpus bundle compiled in, as `presage build` makes it
	envelope []byte             // the corpus bundle, signed
	bundle   *models.Bundle     // decoded
	key      ed25519.PrivateKey // the corpus's TEST-ONLY signing key
	assets   http.Handler       // jsbridge.Handler(module), shared so that encodings are computed once
	genericA http.Handler       // the generic module as an asset
}

var (
	fixtureOnce sync.Once
	fixtureVal  *fixture
	fixtureErr  error
)

func getFixture(t testing.TB) *fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		f := &fixture{key: conformance.TestKey()}
		if f.generic, fixtureErr = modbuild.Build(ctx); fixtureErr != nil {
			return
		}
		if f.envelope, fixtureErr = os.ReadFile(vectorsDir + "/bundle.cbor"); fixtureErr != nil {
			return
		}
		pub := f.key.Public().(ed25519.PublicKey)
		if f.bundle, fixtureErr = signing.Verify(f.envelope, pub); fixtureErr != nil {
			return
		}
		res, err := modbuild.Embed(ctx, f.generic, f.envelope, pub)
		if err != nil {
			fixtureErr = err
			return
		}
		f.module = res.Module
		f.assets = jsbridge.Handler(f.module)
		f.genericA = jsbridge.NewAsset("application/wasm", f.generic)
		fixtureVal = f
	})
	if fixtureErr != nil {
		t.Fatalf("build the module: %v", fixtureErr)
	}
	return fixtureVal
}

// item is one product of the corpus bundle's catalogue.
type item struct {
	ID, Category string
	Price        float64
}

func (f *fixture) item(i int) item {
	i %= len(f.bundle.Items)
	// Prices are the shop's, not the bundle's: some integral, some not, as on any site.
	return item{f.bundle.Items[i], f.bundle.Categories[f.bundle.ItemCategory[i]], 5 + float64(i%40)*2.5}
}

// itemsIn returns the catalogue's items of category c.
func (f *fixture) itemsIn(c string) []item {
	var out []item
	for i := range f.bundle.Items {
		if it := f.item(i); it.Category == c {
			out = append(out, it)
		}
	}
	return out
}

// batch is one request that reached the learning endpoint.
type batch struct {
	Header http.Header
	Body   []byte
}

// shop serves the pages, the assets and the endpoints of one test, on its own loopback origin (so
// that each test has its own localStorage too).
type shop struct {
	t   testing.TB
	f   *fixture
	srv *httptest.Server

	// Tag holds extra attributes of the script tag (data-consent="denied", …).
	Tag string
	// Isolated serves pages cross-origin isolated (COOP and COEP), which gives performance.now()
	// a resolution of microseconds instead of 100 µs: for the measurements.
	Isolated bool

	mu      sync.Mutex
	batches []batch
	hits    []string // "METHOD path" of every request the server saw
	bundle  []byte   // served at /v1/bundle when set
	wasm    []byte   // served instead of the real module when set
	wasmCT  string   // its Content-Type (default application/wasm)
	wasmTag string   // its ETag, served with Cache-Control: no-cache (default none, no caching headers)
}

// envScript names a file the shops serve as /presage.js instead of the built one, for A/B runs of
// the metrics: git show HEAD:jsbridge/presage.js >/tmp/head.js, then PRESAGE_SCRIPT=/tmp/head.js go
// test -run TestBrowserMetrics -v ./jsbridge, in turns with the working tree's script.
const envScript = "PRESAGE_SCRIPT"

func newShop(t testing.TB) *shop {
	t.Helper()
	// Slots wait up to 10 s for their decision: the tests check decisions, and a busy 2-core machine
	// compiling a first module in a fresh browser context can take longer than the default 1.5 s.
	s := &shop{t: t, f: getFixture(t), Tag: `data-timeout="10000"`}
	assets := s.f.assets
	mux := http.NewServeMux()
	var script http.Handler = assets
	if path := os.Getenv(envScript); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", envScript, err)
		}
		script = jsbridge.NewAsset("text/javascript; charset=utf-8", b)
	}
	mux.Handle("/presage.js", script)
	mux.Handle("/presage.mjs", assets)
	mux.HandleFunc("/presage.wasm", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		other, ct, tag := s.wasm, s.wasmCT, s.wasmTag
		s.mu.Unlock()
		if other != nil {
			if ct == "" {
				ct = "application/wasm"
			}
			w.Header().Set("Content-Type", ct)
			if tag != "" {
				w.Header().Set("ETag", tag)
				w.Header().Set("Cache-Control", "no-cache")
				http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(other))
				return
			}
			w.Write(other)
			return
		}
		assets.ServeHTTP(w, r)
	})
	mux.Handle("/generic.wasm", s.f.genericA)
	mux.HandleFunc("/vectors.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(corpusJSON(t))
	})
	// TODO(sync): the real sync server (sync/server, POST /v1/batches and GET /v1/bundle) plugs in
	// here once it exists; until then this endpoint records what arrives, and the tests decode and
	// check it as the server will.
	mux.HandleFunc("/v1/batches", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		s.mu.Lock()
		s.batches = append(s.batches, batch{r.Header.Clone(), body})
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/v1/bundle", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		env := s.bundle
		s.mu.Unlock()
		if env == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", fmt.Sprintf(`"%x"`, len(env)))
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(env))
	})
	mux.HandleFunc("/", s.page)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.hits = append(s.hits, r.Method+" "+r.URL.Path)
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *shop) url(path string) string { return s.srv.URL + path }

func (s *shop) received() []batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]batch(nil), s.batches...)
}

func (s *shop) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.hits...)
}

// pageData is what the page template shows.
type pageData struct {
	Title, Body, Tag, Layer string
	Main                    string
	Links                   []link
}

type link struct{ ID, Href, Text string }

func (s *shop) page(w http.ResponseWriter, r *http.Request) {
	f := s.f
	first := f.item(2)
	s.mu.Lock()
	tag := s.Tag // a test may change it between pages
	s.mu.Unlock()
	d := pageData{Tag: tag, Links: []link{{"home", "/", "Home"}, {"cat", "/c/" + first.Category, first.Category},
		{"cart", "/cart", "Cart"}, {"checkout", "/checkout", "Checkout"}, {"bye", "/bye", "Leave"}}}
	path := r.URL.Path
	switch {
	case path == "/":
		d.Title, d.Body = "Home", `data-presage-page="home"`
		d.Main = fmt.Sprintf(`<h1>Welcome to the demo shop</h1><p>Today: <a id="p0" href="/p/%s">%s</a></p>`, first.ID, first.ID)
	case strings.HasPrefix(path, "/c/"):
		c := strings.TrimPrefix(path, "/c/")
		d.Title, d.Body = "Category "+c, fmt.Sprintf(`data-presage-page="category" data-presage-category="%s"`, c)
		d.Main = "<h1>" + c + "</h1><ul>"
		for i, it := range f.itemsIn(c) {
			d.Main += fmt.Sprintf(`<li><a id="p%d" href="/p/%s">%s</a> %.2f</li>`, i, it.ID, it.ID, it.Price)
		}
		d.Main += "</ul>"
	case strings.HasPrefix(path, "/p/"):
		id := strings.TrimPrefix(path, "/p/")
		var it item
		for i := range f.bundle.Items {
			if f.item(i).ID == id {
				it = f.item(i)
			}
		}
		if it.ID == "" {
			http.NotFound(w, r)
			return
		}
		d.Title = "Product " + id
		d.Body = fmt.Sprintf(`data-presage-page="product" data-presage-product="%s" data-presage-category="%s" data-presage-price="%g"`, it.ID, it.Category, it.Price)
		d.Main = fmt.Sprintf(`<h1>%s</h1><p>%s, %.2f</p><button id="add" data-presage-track="add_to_cart" data-presage-quantity="2">Add two to cart</button>`, it.ID, it.Category, it.Price)
		for i, o := range f.itemsIn(it.Category) {
			d.Main += fmt.Sprintf(` <a id="p%d" href="/p/%s">%s</a>`, i, o.ID, o.ID)
		}
	case path == "/cart":
		d.Title, d.Body, d.Main = "Cart", `data-presage-page="cart"`, "<h1>Your cart</h1>"
	case path == "/checkout":
		d.Title, d.Body, d.Main = "Checkout", `data-presage-page="checkout"`, `<h1>Checkout</h1><a id="pay" href="/thanks">Pay</a>`
	case path == "/thanks":
		// The order is pushed to the dataLayer before the tag runs, as a GTM site does on its
		// confirmation page; the transaction id is an identifier that must never leave the device.
		d.Title, d.Body, d.Main = "Thank you", `data-presage-page="content"`, "<h1>Thank you for your order</h1>"
		d.Layer = r.URL.Query().Get("order")
	case path == "/bye":
		// A page without the tag: where a visitor goes when leaving.
		io.WriteString(w, "<!doctype html><title>Bye</title><h1>Bye</h1>")
		return
	case path == "/runner.html":
		io.WriteString(w, runnerPage)
		return
	case path == "/blank.html":
		io.WriteString(w, `<!doctype html><title>blank</title><button id="b" onclick="this.textContent='clicked'">page script</button>`)
		return
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if s.Isolated {
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		w.Header().Set("Cross-Origin-Embedder-Policy", "require-corp")
	}
	// A session cookie of the shop's own, as any shop sets: presage.js must never send it.
	http.SetCookie(w, &http.Cookie{Name: "shop_session", Value: "visitor-secret-4711", Path: "/"})
	if err := pageTemplate.Execute(w, d); err != nil {
		s.t.Errorf("page %s: %v", path, err)
	}
}

// The page template: slots with templates for the corpus bundle's campaigns (home-banner and
// vip-banner on "banner", welcome-offer and win-back on "popin", carousel on "carousel").
var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font:16px/1.45 sans-serif;margin:0;color:#1d1d1f}
header{background:#1d3557;padding:12px 20px}header a{color:#fff;margin-right:18px}
main{padding:16px 20px;max-width:860px}
[data-presage-slot]{display:block;min-height:48px;margin:10px 0}
.banner{background:#f1faee;border-left:6px solid #e63946;padding:12px;font-weight:600}
.popin{background:#ffe8a3;padding:12px;border-radius:8px}
.items{display:flex;gap:10px;flex-wrap:wrap}.item{border:1px solid #bbb;border-radius:6px;padding:8px;min-width:110px}
small{color:#666;font-weight:400}
</style>
{{if .Layer}}<script>window.dataLayer = window.dataLayer || []; dataLayer.push({{.Layer}});</script>{{end}}
<script src="/presage.js" data-site="shop-1" {{.Tag}} async></script>
</head>
<body {{.Body}}>
<header>{{range .Links}}<a id="{{.ID}}" href="{{.Href}}">{{.Text}}</a>{{end}}</header>
<main>
<div data-presage-slot="banner" id="banner">
 <template data-presage-campaign="vip-banner"><div class="banner">VIP: {content} <small>{campaign}/{variant}</small></div></template>
 <template><div class="banner">{content} <small>{campaign}/{variant}</small></div></template>
 <template data-presage-default><div class="banner">Free returns on every order <small>default</small></div></template>
</div>
<div data-presage-slot="popin" id="popin">
 <template><div class="popin">{content} <small>{campaign}/{variant}</small></div></template>
 <template data-presage-default></template>
</div>
{{.Main}}
<div data-presage-slot="carousel" id="carousel" data-presage-recs="4">
 <template><h3>{content} <small>{campaign}/{variant}</small></h3><div class="items" data-presage-items></div></template>
 <template data-presage-default><h3>Popular</h3><div class="items" data-presage-items></div></template>
 <template data-presage-item><a class="item" href="/p/{item}" data-presage-product="{item}">#{rank} {item}</a></template>
</div>
</main>
</body></html>
`))

// runnerPage loads presage.mjs and exposes its layers to the tests: the module through the shim
// (open) and the CBOR codec.
const runnerPage = `<!doctype html><meta charset="utf-8"><title>runner</title>
<script type="module">
import { open, encode, decode } from '/presage.mjs';
window.runner = { open, encode, decode };
</script>`
