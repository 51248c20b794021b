package jsbridge_test

// Measurements of V8's persistent WebAssembly code cache in Chromium (issue 5): not run by default,
// since they only report figures.
//
//   PRESAGE_CODECACHE=http-0,http-3000,csm-3000,http-3000-otr go test -run TestCodeCache -v ./jsbridge
//
// Each variant is SRC-WARM[-otr]. SRC is where the page takes the module's bytes from: http, fetch
// through the HTTP cache (brotli, as jsbridge.Asset serves it); id, the same not encoded; csm,
// caches.match from Cache Storage (what presage.js does); idb, an ArrayBuffer kept in IndexedDB
// (WebAssembly.compile); idbb, a Blob kept in IndexedDB (compileStreaming of a Response made of it).
// WARM is how many more calls the first load makes after its first one, so that V8 tiers functions up
// to TurboFan, the only code it caches; the first load is then left alone PRESAGE_CODECACHE_WAIT
// (default 3 s) for V8 to write the cache. -otr opens the variant in a new, off-the-record browser
// context (as browsertest.Open does for every other browser test of the package, TestBrowserMetrics
// included) instead of the browser's default, disk-backed one. PRESAGE_CODECACHE_JSFLAGS starts a
// browser of the test's own with those --js-flags; PRESAGE_CODECACHE_SAME=1 loads the pages again in
// the same renderer process instead of a new one (the renderer is crashed before each load).
//
// What happened is read from a Chromium trace of the first load and of one later load of each
// variant: v8.wasm.cachedModule (the code cache written, producedCacheSize), v8.wasm.moduleCacheHit
// (read, consumedCacheSize), wasm.CompilationChunkFinished (V8 offering code to cache),
// wasm.CompileLazy (functions compiled on first call). Chromium 156, 2-core machine, 2026-11-22:
//
//   - the cache is never written with V8's defaults (--wasm-caching-threshold=1000,
//     --wasm-caching-hard-threshold=1000000, --wasm-caching-timeout-ms=2000): up to 45 functions
//     tiered up (20,000 calls) and the page left 30 s, and no wasm.CompilationChunkFinished; with
//     --wasm-caching-timeout-ms=300 or =2000 given explicitly neither. Only =0 writes it (335 KB
//     after 3,000 calls, 361 KB after 100,000): the module's TurboFan code stays far below the
//     1 MB hard threshold, the one trigger that does not wait on the timeout;
//   - a Response from Cache Storage gets no code cache at all: with =0, csm's first load offers
//     code 27 times (wasm.CompilationChunkFinished) and Blink serialises none (no
//     v8.wasm.compiledModule), where http's does;
//   - an off-the-record context writes the cache (v8.wasm.cachedModule) but never reads it back:
//     no v8.wasm.moduleCacheHit on its next loads, where the default context hits (wasm.Deserialize,
//     wasm.CompileLazy 6–212 instead of 764);
//   - lazy compilation is on: 762–766 wasm.CompileLazy per load; --no-wasm-lazy-compilation
//     compiles all 2,202 functions and was slower (new renderer: first call 83–96 ms against 75–82).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"

	"github.com/presage-dev/presage/internal/browsertest"
)

const codeCachePage = `<!doctype html><meta charset="utf-8"><title>code cache</title>
<script type="module">
import { open, encode } from '/presage.mjs';
const q = new URLSearchParams(location.search);
const v = q.get('v'), src = v.split('-')[0], warm = +q.get('warm') || 0;
const out = {};
const t0 = performance.now();
const step = (k) => (out[k] = performance.now() - t0);
const url = new URL('/v/' + v + '/presage.wasm', location.href).href;
let r;
if (src == 'csm') {
  r = await caches.match(url, { cacheName: 'cc-' + v });
  step('matched');
  out.hit = r ? 1 : 0;
  if (!r) {
    const c = await caches.open('cc-' + v);
    await c.put(url, await fetch(url, { credentials: 'omit' }));
    r = await c.match(url);
  }
} else if (src == 'idb' || src == 'idbb') {
  // IndexedDB: the bytes as an ArrayBuffer (idb, compiled from memory) or as a Blob (idbb, streamed).
  const db = await new Promise((ok, ko) => {
    const q = indexedDB.open('cc-' + v, 1);
    q.onupgradeneeded = () => q.result.createObjectStore('m');
    q.onsuccess = () => ok(q.result);
    q.onerror = () => ko(q.error);
  });
  step('opened');
  const get = () => new Promise((ok, ko) => {
    const q = db.transaction('m').objectStore('m').get(url);
    q.onsuccess = () => ok(q.result);
    q.onerror = () => ko(q.error);
  });
  let b = await get();
  step('matched');
  out.hit = b ? 1 : 0;
  if (!b) {
    const res = await fetch(url, { credentials: 'omit' });
    const val = src == 'idb' ? await res.arrayBuffer() : await res.blob();
    await new Promise((ok, ko) => {
      const t = db.transaction('m', 'readwrite');
      t.objectStore('m').put(val, url);
      t.oncomplete = ok;
      t.onerror = () => ko(t.error);
    });
    b = await get();
  }
  r = src == 'idb' ? b : new Response(b, { headers: { 'content-type': 'application/wasm' } });
} else r = fetch(url, { credentials: 'omit' });
const mod = await (src == 'idb' ? WebAssembly.compile(r) : WebAssembly.compileStreaming(r)); step('compiled');
const a = await open(mod); step('ready');
const req = (i) => encode({1: Date.now(), 2: i + 1, 3: [{1: 2, 4: 'sku-000' + (10 + i % 80), 5: 'cameras', 6: 19.9}], 4: ['banner', 'popin', 'carousel']});
a.call(5, req(0)); step('called');
const e = performance.getEntriesByType('resource').find((e) => e.name == url);
if (e) out.received = e.responseEnd - t0;
window.done = out;
performance.mark('exp:done');
if (warm) {
  const w0 = performance.now();
  for (let i = 1; i <= warm; i++) a.call(5, req(i));
  out.warm_ms = performance.now() - w0;
}
performance.mark('exp:warmed');
</script>`

// trace runs fn with Chromium tracing the given categories (and only those if only) and returns the
// events recorded.
func trace(tb *tab, categories []string, only bool, fn func()) []jsonv2.Value {
	var mu sync.Mutex
	var events []jsonv2.Value
	complete := make(chan struct{})
	ctx, cancel := context.WithCancel(tb.Ctx)
	defer cancel()
	chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *tracing.EventDataCollected:
			mu.Lock()
			events = append(events, e.Value...)
			mu.Unlock()
		case *tracing.EventTracingComplete:
			close(complete)
		}
	})
	call := func(method string, params any) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error { return tg.Call(ctx, method, params, nil) })
	}
	cfg := map[string]any{"includedCategories": categories}
	if only {
		cfg["excludedCategories"] = []string{"*"}
	}
	tb.Do("start tracing", call("Tracing.start", map[string]any{"traceConfig": cfg}))
	fn()
	tb.Do("end tracing", call("Tracing.end", nil))
	select {
	case <-complete:
	case <-time.After(30 * time.Second):
		tb.T.Fatal("the trace did not complete")
	}
	mu.Lock()
	defer mu.Unlock()
	return events
}

// traced runs fn with Chromium tracing V8's wasm events on, and returns how many of each event
// whose name holds "wasm" were recorded (and CacheHit, V8's in-process cache of compiled modules),
// with the sizes of the code cache written or read.
func traced(tb *tab, fn func()) map[string]int {
	events := trace(tb, []string{"v8.wasm", "disabled-by-default-v8.wasm.detailed", "disabled-by-default-devtools.timeline"}, true, fn)
	out := map[string]int{}
	for _, raw := range events {
		var e struct {
			Name string
			Args map[string]any
		}
		if json.Unmarshal([]byte(raw), &e) != nil {
			continue
		}
		if strings.Contains(e.Name, "wasm") || e.Name == "CacheHit" {
			out[e.Name]++
			for _, k := range []string{"producedCacheSize", "consumedCacheSize"} {
				if n, ok := e.Args[k].(float64); ok {
					out[e.Name+" "+k] = int(n)
				}
			}
		}
	}
	return out
}

func TestCodeCache(t *testing.T) {
	vs := os.Getenv("PRESAGE_CODECACHE")
	if vs == "" {
		t.Skip("a measurement: set PRESAGE_CODECACHE=http-0,http-3000,csm-3000,http-3000-otr to run it")
	}
	f := getFixture(t)
	mux := http.NewServeMux()
	mux.Handle("/presage.mjs", f.assets)
	mux.HandleFunc("/v/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v/id-") {
			r.Header.Set("Accept-Encoding", "")
		}
		f.assets.ServeHTTP(w, r)
	})
	mux.Handle("/cc.html", isolatedPage(codeCachePage))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// A browser of the test's own when V8 flags are asked for, else the package's shared one.
	var bctx context.Context
	if flags := os.Getenv("PRESAGE_CODECACHE_JSFLAGS"); flags != "" {
		path := os.Getenv(browsertest.EnvChromium)
		if path == "" {
			path = "/usr/bin/chromium"
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
			chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("js-flags", flags))
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		defer acancel()
		c, cancel := chromedp.NewContext(actx)
		defer cancel()
		if err := chromedp.Do(c); err != nil {
			t.Fatal(err)
		}
		bctx = c
		t.Logf("js-flags %s", flags)
	} else {
		bctx = browsertest.Browser(t)
	}
	same := os.Getenv("PRESAGE_CODECACHE_SAME") != ""
	wait := 3 * time.Second
	if w := os.Getenv("PRESAGE_CODECACHE_WAIT"); w != "" {
		var err error
		if wait, err = time.ParseDuration(w); err != nil {
			t.Fatal(err)
		}
	}

	variants := strings.Split(vs, ",")
	tabs := map[string]*tab{}
	for _, v := range variants {
		var opts []chromedp.ContextOption
		if strings.HasSuffix(v, "-otr") {
			opts = append(opts, chromedp.WithNewBrowserContext())
		}
		ctx, cancel := chromedp.NewContext(bctx, opts...)
		defer cancel()
		if err := chromedp.Do(ctx); err != nil {
			t.Fatal(err)
		}
		tabs[v] = &tab{&browsertest.Tab{T: t, Ctx: ctx}}
	}
	load := func(v string, warm int) map[string]float64 {
		tb := tabs[v]
		tb.Do("load "+v, chromedp.Navigate(fmt.Sprintf("%s/cc.html?v=%s&warm=%d", srv.URL, v, warm)))
		waitMark(tb, "exp:warmed")
		return eval[map[string]float64](tb, `window.done`)
	}
	warmOf := func(v string) int {
		var n int
		fmt.Sscan(strings.Split(v, "-")[1], &n)
		return n
	}
	// First load of each: fills the caches, warms up, and waits: V8 is meant to offer its code for
	// caching once no new TurboFan code appeared for --wasm-caching-timeout-ms (2 s by default).
	for _, v := range variants {
		var out map[string]float64
		ev := traced(tabs[v], func() {
			out = load(v, warmOf(v))
			time.Sleep(wait)
		})
		t.Logf("%s first load: %v; trace %v", v, out, ev)
	}
	rounds := 8
	if n := os.Getenv("PRESAGE_CODECACHE_ROUNDS"); n != "" {
		fmt.Sscan(n, &rounds)
	}
	all := map[string][]map[string]float64{}
	for range rounds {
		for _, v := range variants {
			if !same {
				crash(tabs[v])
			}
			time.Sleep(300 * time.Millisecond)
			all[v] = append(all[v], load(v, 0))
		}
	}
	for _, v := range variants {
		if !same {
			crash(tabs[v])
		}
		var out map[string]float64
		ev := traced(tabs[v], func() { out = load(v, 0) })
		t.Logf("%s traced load: %v; trace %v", v, out, ev)
	}
	logSteps(t, variants, all)
}
