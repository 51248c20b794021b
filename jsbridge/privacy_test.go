package jsbridge_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models/signing"
)

// watchStorage records every write to localStorage (setItem, removeItem, clear) of each document in
// window.writes, before any script of the page runs.
const watchStorage = `(() => { const w = window.writes = [];
  for (const m of ['setItem', 'removeItem', 'clear']) { const f = Storage.prototype[m];
    Storage.prototype[m] = function (...a) { if (this === window.localStorage) w.push(m + ' ' + (a[0] || '')); return f.apply(this, a) } } })()`

// presageRequests returns the requests presage.js could have caused (the module, the learning and
// bundle endpoints), as the server saw them.
func presageRequests(s *shop) []string {
	var out []string
	for _, r := range s.requests() {
		if strings.Contains(r, "/presage.wasm") || strings.Contains(r, "/v1/") {
			out = append(out, r)
		}
	}
	return out
}

// TestBrowserConsentDenied: with consent denied from the start, the tag downloads nothing, writes
// nothing and sends nothing, whatever the visitor does; slots show their defaults and the API
// answers nothing without failing.
func TestBrowserConsentDenied(t *testing.T) {
	s := newShop(t)
	s.Tag += ` data-consent="denied"`
	tb := openTab(t, watchStorage)
	it := s.f.item(3)

	tb.navigate(s.url("/?utm_source=newsletter&utm_medium=email"), "")
	tb.wait(`document.querySelectorAll('[data-presage-ready]').length == 3`)
	if got := eval[string](tb, `document.querySelector('#banner').textContent.trim()`); !strings.Contains(got, "default") {
		t.Errorf("banner shows %q, want its default", got)
	}
	if got := eval[bool](tb, `presage.track('view_item', {item: 'x'}).then(a => a === undefined)`); !got {
		t.Error("track under denied consent answered something")
	}
	tb.click("#cat", true)
	tb.wait(`document.querySelectorAll('[data-presage-ready]').length == 3`)
	tb.navigate(s.url("/p/"+it.ID), "")
	tb.wait(`document.querySelectorAll('[data-presage-ready]').length == 3`)
	tb.click("#add", false)
	eval[any](tb, `presage.recommend('carousel', 4)`)
	if w := eval[[]string](tb, `writes`); len(w) > 0 {
		t.Errorf("storage writes: %v", w)
	}
	tb.click("#bye", true)
	time.Sleep(300 * time.Millisecond) // a beacon would have left on pagehide
	if n := eval[int](tb, `localStorage.length`); n != 0 {
		t.Errorf("localStorage holds %d keys", n)
	}
	if k := eval[[]string](tb, `caches.keys()`); len(k) != 0 {
		t.Errorf("Cache Storage holds %v", k)
	}
	if r := presageRequests(s); len(r) > 0 {
		t.Errorf("requests under denied consent: %v", r)
	}
	for _, u := range tb.requestsSeen() {
		if !strings.HasPrefix(u, s.url("/")) || strings.Contains(u, "presage.wasm") || strings.Contains(u, "/v1/") {
			t.Errorf("request under denied consent: %s", u)
		}
	}
	if lines := tb.consoleLines(); len(lines) > 0 {
		t.Errorf("console: %v", lines)
	}
}

// TestBrowserConsentWithdrawn: a visitor who denies consent mid-visit has the stored profile erased
// at once, and nothing is sent when they leave.
func TestBrowserConsentWithdrawn(t *testing.T) {
	s := newShop(t)
	tb := openTab(t, watchStorage)
	tb.navigate(s.url("/"), "")
	tb.waitDecided()
	tb.click("#p0", true)
	tb.waitDecided()
	if n := eval[int](tb, `localStorage.length`); n != 1 {
		t.Fatalf("localStorage holds %d keys before the denial, want the profile", n)
	}
	waitKept(tb, s.url("/presage.wasm"), func(k kept) bool { return k.Has })
	before := len(s.received())
	eval[any](tb, `presage.consent('denied')`)
	if n := eval[int](tb, `localStorage.length`); n != 0 {
		t.Errorf("localStorage holds %d keys after the denial", n)
	}
	waitKept(tb, s.url("/presage.wasm"), func(k kept) bool { return !k.Has })
	eval[any](tb, `writes.length = 0`)
	eval[any](tb, `presage.track('view_category', {category: 'x'})`)
	tb.click("#add", false)
	if w := eval[[]string](tb, `writes`); len(w) > 0 {
		t.Errorf("storage writes after the denial: %v", w)
	}
	tb.click("#bye", true)
	time.Sleep(300 * time.Millisecond)
	if n := eval[int](tb, `localStorage.length`); n != 0 {
		t.Errorf("localStorage holds %d keys after leaving", n)
	}
	if got := len(s.received()); got != before {
		t.Errorf("%d batches sent after the denial", got-before)
	}
}

// TestBrowserGPC: the Global Privacy Control signal keeps the profile on the device and every
// learning batch on it, even when the site's consent banner says full.
func TestBrowserGPC(t *testing.T) {
	s := newShop(t)
	s.Tag += ` data-consent="full"`
	tb := openTab(t, `Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})`)
	tb.navigate(s.url("/"), "")
	tb.waitDecided()
	eval[any](tb, `presage.consent('full')`)
	tb.click("#cat", true)
	tb.waitDecided()
	p, ok := storedProfile(t, tb)
	if !ok || wire.Consent(p.Consent) != wire.ConsentLocal {
		t.Errorf("stored profile: %v, consent %d; want one, at local", ok, p.Consent)
	}
	tb.click("#bye", true)
	time.Sleep(300 * time.Millisecond)
	if r := presageRequests(s); !slices.Equal(r, []string{"GET /presage.wasm"}) {
		t.Errorf("requests with GPC: %v, want the module only", r)
	}
}

// TestBrowserForget: presage.forget() leaves the storage empty, and nothing is stored or sent for
// the rest of the page.
func TestBrowserForget(t *testing.T) {
	s := newShop(t)
	tb := openTab(t, watchStorage)
	tb.navigate(s.url("/p/"+s.f.item(5).ID), "")
	tb.waitDecided()
	tb.click("#add", false)
	tb.wait(`localStorage.length == 1`)
	waitKept(tb, s.url("/presage.wasm"), func(k kept) bool { return k.Has })
	eval[any](tb, `presage.forget()`)
	if n := eval[int](tb, `localStorage.length`); n != 0 {
		t.Errorf("localStorage holds %d keys after forget", n)
	}
	waitKept(tb, s.url("/presage.wasm"), func(k kept) bool { return !k.Has })
	eval[any](tb, `presage.track('add_to_cart', {item: 'sku-00001', price: 3})`)
	before := len(s.received())
	tb.click("#bye", true)
	time.Sleep(300 * time.Millisecond)
	if n := eval[int](tb, `localStorage.length`); n != 0 {
		t.Errorf("localStorage holds %d keys after leaving", n)
	}
	if got := len(s.received()); got != before {
		t.Errorf("%d batches sent after forget", got-before)
	}
}

// TestBrowserBundleRefresh: a newer bundle from the sync endpoint replaces the compiled-in one when
// its signature verifies (WebCrypto Ed25519), and is refused, with the old one serving on, when not.
func TestBrowserBundleRefresh(t *testing.T) {
	f := getFixture(t)
	pub := f.key.Public().(ed25519.PublicKey)
	newer, err := signing.Verify(f.envelope, pub) // a decoded copy of the corpus bundle
	if err != nil {
		t.Fatal(err)
	}
	newer.Version++
	signed := signing.Sign(newer, f.key)
	tampered := slices.Clone(signed)
	tampered[len(tampered)-1] ^= 1 // the signature is the envelope's last field

	for _, tc := range []struct {
		name    string
		key     bool
		served  []byte
		version uint64
		warning bool
	}{
		{"newer and signed", true, signed, newer.Version, false},
		{"bad signature", true, tampered, f.bundle.Version, true},
		{"no key configured", false, signed, f.bundle.Version, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newShop(t)
			if tc.key {
				s.Tag += ` data-key="` + base64.StdEncoding.EncodeToString(pub) + `"`
			}
			s.bundle = tc.served
			tb := openTab(t, "")
			tb.navigate(s.url("/"), "")
			tb.waitDecided()
			// The refresh runs after the page's decisions: wait for its outcome.
			warned := func() bool {
				return slices.ContainsFunc(tb.consoleLines(), func(l string) bool { return strings.Contains(l, "bundle not refreshed") })
			}
			version := func() uint64 { return eval[struct{ Version uint64 }](tb, `presage.info()`).Version }
			wait := 10 * time.Second
			if !tc.key {
				wait = 500 * time.Millisecond // nothing will happen: give it the time it would take
			}
			for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if version() != f.bundle.Version || warned() {
					break
				}
			}
			if got := version(); got != tc.version {
				t.Errorf("bundle v%d serving, want v%d", got, tc.version)
			}
			if warned() != tc.warning {
				t.Errorf("console %v: want a warning %v", tb.consoleLines(), tc.warning)
			}
			fetched := slices.Contains(s.requests(), "GET /v1/bundle")
			if fetched != tc.key {
				t.Errorf("bundle fetched: %v, want %v", fetched, tc.key)
			}
		})
	}
}

// TestBrowserStorageFull: when localStorage refuses to store (over quota, or disabled), the tag
// works on from memory for the page, leaves nothing behind, and says nothing.
func TestBrowserStorageFull(t *testing.T) {
	s := newShop(t)
	tb := openTab(t, `Storage.prototype.setItem = function () { throw new DOMException('quota', 'QuotaExceededError') }`)
	tb.navigate(s.url("/p/"+s.f.item(7).ID), "")
	tb.waitDecided()
	tb.click("#add", false)
	tb.wait(`presage.state && presage.state.scores && Object.keys(presage.state.scores).length > 0`)
	a := eval[answer](tb, `presage.track('begin_checkout')`)
	if a.Session != 1 || len(a.Scores) == 0 {
		t.Errorf("answer %+v: want the visit scored from memory", a)
	}
	if n := eval[int](tb, `localStorage.length`); n != 0 {
		t.Errorf("localStorage holds %d keys", n)
	}
	time.Sleep(300 * time.Millisecond) // the module would be kept 50 ms after the first decision
	if k := cachedModule(tb, s.url("/presage.wasm")); k.Has {
		t.Errorf("Cache Storage holds the module (%d bytes) though the profile could not be stored", k.Size)
	}
	if lines := tb.consoleLines(); len(lines) > 0 {
		t.Errorf("console: %v", lines)
	}
}
