package edge

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
