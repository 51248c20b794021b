package jsbridge_test

// Measurements behind presage.js's choice of where a cached module is read from (issue 5): not run
// by default, since they only report figures.
//
//   PRESAGE_LOADPATHS=http,gz,zs,id,cs,csm,old go test -run TestLoadPaths -v ./jsbridge
//   PRESAGE_LOADTRACE=1 go test -run TestLoadTrace -v ./jsbridge

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/presage-dev/presage/internal/wasmfile"
	"github.com/presage-dev/presage/jsbridge"
)

// loadPathsPage compiles the module one way (?v=…), instantiates it through presage.mjs's open and
// makes one call, recording when each step ended, in ms from the script's start: window.done.
//
//	http, gz, zs, id  WebAssembly.compileStreaming(fetch(…)) from the HTTP cache, the module stored
//	                  brotli (jsbridge.Asset), gzip, zstd -19, or not encoded;
//	cs                caches.open, then cache.match and compileStreaming from Cache Storage;
//	csm               caches.match(url, {cacheName}), one round trip less (what presage.js does);
//	old               csm with the module as built before Go's function lookup table was written by a
//	                  start function (wasmfile.ElideStrided): 704 KB more data.
//
// The Cache Storage variants fill the cache on their first load.
const loadPathsPage = `<!doctype html><meta charset="utf-8"><title>load paths</title>
<script type="module">
import { open } from '/presage.mjs';
const v = new URLSearchParams(location.search).get('v');
const out = {};
const t0 = performance.now();
const step = (k) => (out[k] = performance.now() - t0);
const url = new URL({ gz: '/gz/', zs: '/zs/', id: '/id/', old: '/old/' }[v] || '/', location.href).href + 'presage.wasm';
const get = () => fetch(url, { credentials: 'omit' });
async function compile() {
  if (v != 'cs' && v != 'csm' && v != 'old') return WebAssembly.compileStreaming(get());
  let r;
  if (v == 'cs') {
    const c = await caches.open('presage'); step('opened');
    r = await c.match(url);
  } else r = await caches.match(url, { cacheName: 'presage' });
  step('matched');
  out.hit = r ? 1 : 0;
  if (!r) {
    const c = await caches.open('presage');
    await c.put(url, await get());
    r = await c.match(url);
  }
  return WebAssembly.compileStreaming(r);
}
const mod = await compile(); step('compiled');
const a = await open(mod); step('ready');
a.call(1, new Uint8Array(0)); step('called');
const e = performance.getEntriesByType('resource').find((e) => e.name == url);
if (e) out.received = e.responseEnd - t0;
window.done = out;
performance.mark('exp:done');
</script>`

// waitMark waits for the page's performance mark name, without polling.
func waitMark(tb *tab, name string) {
	tb.T.Helper()
	eval[bool](tb, fmt.Sprintf(`new Promise((resolve) => {
		const done = () => performance.getEntriesByName(%q).length > 0 && resolve(true);
		if (!done()) new PerformanceObserver(done).observe({type: 'mark'});
	})`, name))
}

// TestLoadPaths loads loadPathsPage for each variant of PRESAGE_LOADPATHS, each in its own browser
// context (its own HTTP cache and Cache Storage), three times to warm the caches, then
// PRESAGE_LOADPATHS_ROUNDS times (default 10) in turns, and logs each step's median and range.
func TestLoadPaths(t *testing.T) {
	vs := os.Getenv("PRESAGE_LOADPATHS")
	if vs == "" {
		t.Skip("a measurement: set PRESAGE_LOADPATHS=http,gz,zs,id,cs,csm to run it")
	}
	f := getFixture(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "m.wasm"), f.module, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("zstd", "-q", "-19", filepath.Join(dir, "m.wasm"), "-o", filepath.Join(dir, "m.zst")).CombinedOutput(); err != nil {
		t.Fatalf("zstd: %v %s", err, out)
	}
	zst, err := os.ReadFile(filepath.Join(dir, "m.zst"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("module %d bytes, zstd -19 %d bytes", len(f.module), len(zst))
	mux := http.NewServeMux()
	mux.Handle("/presage.wasm", f.assets)
	mux.Handle("/presage.mjs", f.assets)
	encoded := func(enc string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set("Accept-Encoding", enc)
			f.assets.ServeHTTP(w, r)
		}
	}
	mux.Handle("/id/presage.wasm", encoded(""))
	mux.Handle("/old/presage.wasm", jsbridge.NewAsset("application/wasm", withFuncTab(t, f)))
	mux.Handle("/gz/presage.wasm", encoded("gzip"))
	mux.HandleFunc("/zs/presage.wasm", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "zstd") {
			t.Errorf("Chromium does not accept zstd: %q", r.Header.Get("Accept-Encoding"))
		}
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Encoding", "zstd")
		w.Header().Set("ETag", `"zstd"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(zst))
	})
	mux.Handle("/paths.html", isolatedPage(loadPathsPage))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	variants := strings.Split(vs, ",")
	tabs := map[string]*tab{}
	for _, v := range variants {
		tabs[v] = openTab(t, "")
		quiet(tabs[v])
	}
	load := func(v string) map[string]float64 {
		tb := tabs[v]
		tb.Do("load "+v, chromedp.Navigate(srv.URL+"/paths.html?v="+v))
		waitMark(tb, "exp:done")
		return eval[map[string]float64](tb, `window.done`)
	}
	for range 3 {
		for _, v := range variants {
			load(v)
		}
		time.Sleep(2500 * time.Millisecond) // time for V8 to cache code it optimised (TestCodeCache: it does not, in Chromium 156)
	}
	rounds := 10
	if n := os.Getenv("PRESAGE_LOADPATHS_ROUNDS"); n != "" {
		fmt.Sscan(n, &rounds)
	}
	all := map[string][]map[string]float64{}
	for range rounds {
		for _, v := range variants {
			time.Sleep(300 * time.Millisecond)
			all[v] = append(all[v], load(v))
		}
	}
	logSteps(t, variants, all)
}

// TestLoadTrace records a Chromium trace (wasm streaming, Cache Storage, the renderer's main thread)
// of the shop's home page loaded with the module cached, into the test's artifacts: open it in
// Perfetto, or look for v8.wasm.moduleCacheHit (the code cache), CacheHit (V8's in-process cache of
// compiled modules) and wasm.OnBytesReceived.
func TestLoadTrace(t *testing.T) {
	if os.Getenv("PRESAGE_LOADTRACE") == "" {
		t.Skip("a measurement: set PRESAGE_LOADTRACE=1 to run it")
	}
	s := newShop(t)
	s.Isolated = true
	tb := openTab(t, "")
	quiet(tb)
	for range 5 {
		visit(tb, s.url("/"))
		time.Sleep(time.Second)
	}
	categories := []string{"devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.wasm",
		"disabled-by-default-v8.wasm.detailed", "loading", "navigation", "toplevel", "mojom", "blink", "CacheStorage", "base"}
	events := trace(tb, categories, false, func() {
		time.Sleep(300 * time.Millisecond)
		visit(tb, s.url("/"))
	})
	b, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifacts(t), "trace.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("trace: %s (%d events)", path, len(events))
}

// logSteps logs, for each variant, every step's median and range over the variant's loads.
func logSteps(t *testing.T, variants []string, all map[string][]map[string]float64) {
	t.Helper()
	for _, v := range variants {
		var keys []string
		for k := range all[v][0] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		line := v + ":"
		for _, k := range keys {
			var xs []float64
			for _, r := range all[v] {
				xs = append(xs, r[k])
			}
			slices.Sort(xs)
			line += fmt.Sprintf(" %s %.1f (%.1f–%.1f)", k, xs[len(xs)/2], xs[0], xs[len(xs)-1])
		}
		t.Log(line)
	}
}

// withFuncTab builds the fixture's module as presage build did before wasmfile.ElideStrided: data
// segments merged, the bundle embedded at the slot the module reports, the function table in the data.
func withFuncTab(t *testing.T, f *fixture) []byte {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	m, err := rt.InstantiateWithConfig(ctx, f.module, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.ExportedFunction("presage_embedded").Call(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slot := binary.LittleEndian.AppendUint32([]byte("PSGB"), uint32(len(f.envelope)))
	merged, _, err := wasmfile.MergeData(f.generic, 256)
	if err != nil {
		t.Fatal(err)
	}
	old, err := wasmfile.Embed(merged, uint32(res[0]), append(slot, f.envelope...))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("old module %d bytes, current %d", len(old), len(f.module))
	return old
}

// isolatedPage serves html as a cross-origin-isolated page, as the measurements' pages are: the
// precise timers they read need it.
func isolatedPage(html string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		w.Header().Set("Cross-Origin-Embedder-Policy", "require-corp")
		io.WriteString(w, html)
	}
}
