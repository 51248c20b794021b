package jsbridge_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/presage-dev/presage/internal/wasmfile"
	"github.com/presage-dev/presage/jsbridge"
)

// scriptBudget is the budget for the script tag, brotli at its best quality: the tag is
// fetched (or revalidated) on every page of every site that uses Presage, before any
// personalisation can happen.
const scriptBudget = 6 * 1024

func brotliSize(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	w := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

func TestScriptSize(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"presage.js", jsbridge.Script()},
		{"presage.mjs", jsbridge.ESModule()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := brotliSize(t, tc.body)
			t.Logf("%s: %d bytes raw, %d brotli -q 11 (budget %d)", tc.name, len(tc.body), n, scriptBudget)
			if n > scriptBudget {
				t.Errorf("%s is %d bytes brotli, over the budget of %d", tc.name, n, scriptBudget)
			}
		})
	}
}

// TestBuiltFilesUpToDate rebuilds presage.js and presage.mjs from src/ and compares them with the
// committed files, which are what Go embeds: a change to src/ without `node build.mjs` would ship
// stale code. It needs Node and the lock file's packages (`make tools` installs them).
func TestBuiltFilesUpToDate(t *testing.T) {
	if _, err := os.Stat("node_modules/esbuild"); err != nil {
		t.Skip("node_modules/esbuild missing: run `make tools` (npm ci in jsbridge) to check the built files")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dir := t.TempDir()
	cmd := exec.Command(node, "build.mjs", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node build.mjs: %v\n%s", err, out)
	}
	for _, name := range []string{"presage.js", "presage.mjs"} {
		fresh, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s differs from a build of src/: run `node build.mjs` in jsbridge", name)
		}
	}
}

func TestHandler(t *testing.T) {
	module := bytes.Repeat([]byte("\x00asm fake module "), 100)
	srv := httptest.NewServer(jsbridge.Handler(module))
	defer srv.Close()

	get := func(t *testing.T, path, acceptEncoding, ifNoneMatch string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		// Set explicitly: Go's transport would otherwise ask for gzip and decode it silently.
		req.Header.Set("Accept-Encoding", acceptEncoding)
		if ifNoneMatch != "" {
			req.Header.Set("If-None-Match", ifNoneMatch)
		}
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, body
	}
	decode := func(t *testing.T, enc string, body []byte) []byte {
		t.Helper()
		var r io.Reader
		switch enc {
		case "br":
			r = brotli.NewReader(bytes.NewReader(body))
		case "gzip":
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			r = zr
		default:
			return body
		}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	for _, tc := range []struct {
		name, path, accept, wantEnc, wantType string
		want                                  []byte
	}{
		{"script brotli", "/presage.js", "gzip, deflate, br, zstd", "br", "text/javascript; charset=utf-8", jsbridge.Script()},
		{"script gzip", "/presage.js", "gzip", "gzip", "text/javascript; charset=utf-8", jsbridge.Script()},
		{"script identity", "/presage.js", "", "", "text/javascript; charset=utf-8", jsbridge.Script()},
		{"script brotli refused by q=0", "/presage.js", "br;q=0, gzip", "gzip", "text/javascript; charset=utf-8", jsbridge.Script()},
		{"ES module under a prefix", "/static/v3/presage.mjs", "br", "br", "text/javascript; charset=utf-8", jsbridge.ESModule()},
		{"module", "/presage.wasm", "br", "br", "application/wasm", module},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, tc.path, tc.accept, "")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			h := res.Header
			if got := h.Get("Content-Encoding"); got != tc.wantEnc {
				t.Errorf("Content-Encoding %q, want %q", got, tc.wantEnc)
			}
			if got := h.Get("Content-Type"); got != tc.wantType {
				t.Errorf("Content-Type %q, want %q", got, tc.wantType)
			}
			for k, want := range map[string]string{"Cache-Control": jsbridge.CacheControl, "Vary": "Accept-Encoding",
				"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "ETag", "X-Content-Type-Options": "nosniff"} {
				if got := h.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			if got := decode(t, tc.wantEnc, body); !bytes.Equal(got, tc.want) {
				t.Errorf("body differs from the asset (%d bytes, want %d)", len(got), len(tc.want))
			}
			etag := h.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			res, body = get(t, tc.path, tc.accept, etag)
			if res.StatusCode != http.StatusNotModified || len(body) != 0 {
				t.Errorf("revalidation with the ETag: status %d, %d bytes; want 304, none", res.StatusCode, len(body))
			}
		})
	}

	t.Run("encodings have distinct ETags", func(t *testing.T) {
		br, _ := get(t, "/presage.js", "br", "")
		gz, _ := get(t, "/presage.js", "gzip", "")
		id, _ := get(t, "/presage.js", "", "")
		tags := map[string]bool{br.Header.Get("ETag"): true, gz.Header.Get("ETag"): true, id.Header.Get("ETag"): true}
		if len(tags) != 3 {
			t.Errorf("ETags %v: want one per representation", tags)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		if res, _ := get(t, "/other.js", "", ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("status %d, want 404", res.StatusCode)
		}
	})
	t.Run("no module given", func(t *testing.T) {
		rec := httptest.NewRecorder()
		jsbridge.Handler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/presage.wasm", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("status %d, want 404", rec.Code)
		}
	})
	t.Run("POST refused", func(t *testing.T) {
		rec := httptest.NewRecorder()
		jsbridge.Handler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/presage.js", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", rec.Code)
		}
	})
}

// TestShimImports checks that the WASI shim (src/module.js) implements exactly the module's imports:
// one more import in the module would fail every page at instantiation (LinkError), one less in the
// module leaves dead code in every visitor's download.
func TestShimImports(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	f := getFixture(t)
	imps, err := wasmfile.Imports(f.module)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, im := range imps {
		if im.Module != "wasi_snapshot_preview1" {
			t.Errorf("the module imports %s.%s: the shim offers wasi_snapshot_preview1 only", im.Module, im.Name)
		}
		if !slices.Contains(want, im.Name) {
			want = append(want, im.Name)
		}
	}
	src, err := os.ReadFile("src/module.js")
	if err != nil {
		t.Fatal(err)
	}
	body := regexp.MustCompile(`(?s)const wasi = \{(.*?)\n  \};`).FindSubmatch(src)
	if body == nil {
		t.Fatal("src/module.js: no `const wasi = {…};`")
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^    (\w+):`).FindAllSubmatch(body[1], -1) {
		got = append(got, string(m[1]))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("the shim implements %v; the module imports %v", got, want)
	}
	t.Logf("the shim implements the module's %d imports: %v", len(got), got)
}
