package jsbridge_test

import (
	"strings"
	"testing"
)

// trappingModule is a minimal module with the Presage exports whose presage_call traps
// (unreachable): a module that loads but fails on its first call.
func trappingModule() []byte {
	section := func(id byte, payload ...byte) []byte { return append([]byte{id, byte(len(payload))}, payload...) }
	name := func(s string, kind, index byte) []byte {
		return append(append([]byte{byte(len(s))}, s...), kind, index)
	}
	exports := []byte{6}
	for _, e := range [][]byte{name("memory", 2, 0), name("_initialize", 0, 0), name("presage_abi", 0, 1),
		name("presage_input", 0, 2), name("presage_call", 0, 3), name("presage_output", 0, 4)} {
		exports = append(exports, e...)
	}
	m := []byte("\x00asm\x01\x00\x00\x00")
	m = append(m, section(1, 4, 0x60, 0, 0, 0x60, 0, 1, 0x7f, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 1, 0x7f)...) // types
	m = append(m, section(3, 5, 0, 1, 2, 3, 1)...)                                                                      // functions
	m = append(m, section(5, 1, 0, 1)...)                                                                               // one page of memory
	m = append(m, section(7, exports...)...)
	m = append(m, section(10, 5,
		2, 0, 0x0b, // _initialize: nothing
		4, 0, 0x41, 1, 0x0b, // presage_abi: 1
		5, 0, 0x41, 0x80, 0x08, 0x0b, // presage_input: 1024
		3, 0, 0x00, 0x0b, // presage_call: unreachable
		4, 0, 0x41, 0, 0x0b, // presage_output: 0
	)...)
	return m
}

// TestBrowserIsolation: when the module cannot be loaded or traps, the page keeps working: slots
// show their defaults, the API answers nothing without throwing, and the failure is reported once.
func TestBrowserIsolation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		module []byte
	}{
		{"not a module", []byte("<html>404 page served as the module</html>")},
		{"module traps", trappingModule()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newShop(t)
			s.wasm = tc.module
			tb := openTab(t, "")
			tb.navigate(s.url("/p/"+s.f.item(1).ID), "")
			tb.wait(`document.querySelectorAll('[data-presage-ready]').length == 3`)
			if got := eval[string](tb, `document.querySelector('#banner').textContent.trim()`); !strings.Contains(got, "default") {
				t.Errorf("banner shows %q, want its default", got)
			}
			// The API keeps answering, with nothing; clicks and the dataLayer go on working.
			ok := eval[bool](tb, `Promise.all([presage.track('add_to_cart', {item: 'a', price: 1}), presage.recommend('carousel', 3),
				presage.explain(), presage.info(), presage.forget()]).then(r => r.every(x => x === undefined))`)
			if !ok {
				t.Error("the API answered something after the failure")
			}
			tb.click("#add", false)
			eval[int](tb, `(window.dataLayer = window.dataLayer || []).push({event: 'purchase', ecommerce: {value: 3, items: [{item_id: 'a', price: 3}]}})`)
			tb.click("#cat", true)
			tb.wait(`document.querySelectorAll('[data-presage-ready]').length == 3`)

			// One report per page that loaded the tag: the product page and the category page.
			var reports []string
			for _, l := range tb.consoleLines() {
				if strings.Contains(l, "presage") {
					reports = append(reports, l)
				} else {
					t.Errorf("console: %s", l)
				}
			}
			if len(reports) != 2 || !strings.HasPrefix(reports[0], "warning: presage: disabled") {
				t.Errorf("console reports %q: want one warning per page", reports)
			}
			t.Logf("report: %s", reports[0])
		})
	}
}

// TestBrowserModuleFallback: a server that does not say application/wasm defeats streaming
// compilation, and presage.js falls back to compiling the downloaded bytes, silently.
func TestBrowserModuleFallback(t *testing.T) {
	s := newShop(t)
	s.wasm, s.wasmCT = s.f.module, "application/octet-stream"
	tb := openTab(t, "")
	tb.navigate(s.url("/"), "")
	tb.waitDecided()
	if n := eval[int](tb, `presage.state.decisions.length`); n != 3 {
		t.Errorf("%d decisions, want 3", n)
	}
	if lines := tb.consoleLines(); len(lines) > 0 {
		t.Errorf("console: %v", lines)
	}
}
