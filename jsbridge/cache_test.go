package jsbridge_test

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// kept is what Cache Storage holds for the module: presage.js keeps its decoded bytes there once a
// page has decided, and the next pages compile them from there instead of the HTTP cache.
type kept struct {
	Has  bool
	ETag string
	Size int
}

func cachedModule(tb *tab, url string) kept {
	tb.T.Helper()
	return eval[kept](tb, fmt.Sprintf(`(async () => {
		const r = self.caches && await caches.match(%q, {cacheName: 'presage'});
		return r ? {has: true, etag: r.headers.get('etag') || '', size: (await r.arrayBuffer()).byteLength} : {has: false};
	})()`, url))
}

// waitKept waits until Cache Storage holds the module as want says.
func waitKept(tb *tab, url string, want func(kept) bool) kept {
	tb.T.Helper()
	var k kept
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if k = cachedModule(tb, url); want(k) {
			return k
		}
	}
	tb.T.Fatalf("Cache Storage holds %+v for %s", k, url)
	return k
}

func moduleRequests(s *shop) int {
	return len(slices.DeleteFunc(s.requests(), func(r string) bool { return r != "GET /presage.wasm" }))
}

// TestBrowserModuleCache: after the first page's decisions the module's decoded bytes are kept in
// Cache Storage, and the next page compiles them from there, with no request of the module.
func TestBrowserModuleCache(t *testing.T) {
	s := newShop(t)
	tb := openTab(t, "")
	tb.navigate(s.url("/"), "")
	tb.waitDecided()
	if eval[bool](tb, `performance.getEntriesByName('presage:cached').length > 0`) {
		t.Error("the first visit found the module in Cache Storage")
	}
	k := waitKept(tb, s.url("/presage.wasm"), func(k kept) bool { return k.Has })
	if k.Size != len(s.f.module) || k.ETag == "" {
		t.Errorf("kept %d bytes with ETag %q, want the module's %d decoded bytes and its ETag", k.Size, k.ETag, len(s.f.module))
	}
	if n := eval[int](tb, `caches.open('presage').then(c => c.keys()).then(k => k.length)`); n != 1 {
		t.Errorf("Cache Storage holds %d entries, want the module only", n)
	}
	for _, link := range []string{"#cat", "#home"} {
		tb.click(link, true)
		tb.waitDecided()
		if !eval[bool](tb, `performance.getEntriesByName('presage:cached').length == 1`) {
			t.Errorf("after %s: the module was not compiled from Cache Storage", link)
		}
		if n := eval[int](tb, `presage.state.decisions.length`); n != 3 {
			t.Errorf("after %s: %d decisions, want 3", link, n)
		}
	}
	time.Sleep(300 * time.Millisecond) // the revalidation after the last page's decision
	if n := moduleRequests(s); n != 1 {
		t.Errorf("the server saw %d requests of the module, want 1: the HTTP cache answers the revalidations", n)
	}
	if lines := tb.consoleLines(); len(lines) > 0 {
		t.Errorf("console: %v", lines)
	}
}

// TestBrowserModuleCacheStale: a module whose ETag changed on the server replaces the kept one
// after the next page's decision (that page is served by the kept one).
func TestBrowserModuleCacheStale(t *testing.T) {
	s := newShop(t)
	s.wasm, s.wasmTag = s.f.module, `"v1"`
	tb := openTab(t, "")
	url := s.url("/presage.wasm")
	tb.navigate(s.url("/"), "")
	tb.waitDecided()
	waitKept(tb, url, func(k kept) bool { return k.ETag == `"v1"` })

	s.mu.Lock()
	s.wasmTag = `"v2"`
	s.mu.Unlock()
	tb.click("#cart", true)
	tb.waitDecided()
	if !eval[bool](tb, `performance.getEntriesByName('presage:cached').length == 1`) {
		t.Error("the page after the change was not served by the kept module")
	}
	if k := waitKept(tb, url, func(k kept) bool { return k.Has && k.ETag != `"v1"` }); k.ETag != `"v2"` || k.Size != len(s.f.module) {
		t.Errorf("kept %+v after the change, want the v2 module", k)
	}

	// A module at another URL replaces the kept one: one module at a time.
	s.mu.Lock()
	s.Tag += ` data-wasm="/presage.wasm?v=3"`
	s.mu.Unlock()
	tb.click("#checkout", true)
	tb.waitDecided()
	waitKept(tb, url+"?v=3", func(k kept) bool { return k.Has })
	if k := cachedModule(tb, url); k.Has {
		t.Errorf("the module at %s is still kept beside the new one", url)
	}
}

// TestBrowserModuleCacheBroken: a kept module that does not compile is dropped, the module is
// fetched instead, silently, and kept again.
func TestBrowserModuleCacheBroken(t *testing.T) {
	s := newShop(t)
	tb := openTab(t, "")
	url := s.url("/presage.wasm")
	tb.navigate(s.url("/blank.html"), "")
	eval[bool](tb, fmt.Sprintf(`caches.open('presage').then(c => c.put(%q,
		new Response('<html>not a module</html>', {headers: {'content-type': 'application/wasm', etag: '"x"'}}))).then(() => true)`, url))
	tb.navigate(s.url("/"), "")
	tb.waitDecided()
	if n := eval[int](tb, `presage.state.decisions.length`); n != 3 {
		t.Errorf("%d decisions, want 3", n)
	}
	if k := waitKept(tb, url, func(k kept) bool { return k.Size == len(s.f.module) }); k.ETag == `"x"` {
		t.Errorf("kept %+v, want the module", k)
	}
	if lines := tb.consoleLines(); len(lines) > 0 {
		t.Errorf("console: %v", lines)
	}
}
