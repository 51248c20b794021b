package jsbridge

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/andybalholm/brotli"
)

//go:generate sh -c "npm ci --no-audit --no-fund && node build.mjs"

//go:embed presage.js
var script []byte

//go:embed presage.mjs
var esModule []byte

// Script returns presage.js, the classic script tag. The slice is shared: do not modify it.
func Script() []byte { return script }

// ESModule returns presage.mjs, the same code as an ES module (export create, open, encode,
// decode). The slice is shared: do not modify it.
func ESModule() []byte { return esModule }

// CacheControl is what the assets are served with. Their URLs are stable (a script tag is pasted
// once and never edited), so they cannot be cached for long without a revalidation: five minutes
// fresh bounds how late a new version reaches visitors, and the ETag makes every revalidation after
// that a 304 of a few hundred bytes. presage.js compiles a cached module from the decoded copy it
// keeps in Cache Storage, and fetches the module through the HTTP cache after each page's first
// decision: a new ETag replaces that copy, so a new version serves from the page after the one
// that saw it.
const CacheControl = "public, max-age=300, stale-while-revalidate=86400"

// Handler serves presage.js and presage.mjs, and presage.wasm when module is not nil, at any path
// that ends with those names (so it can be mounted under any prefix); other paths are not found.
// module is the Presage module with its bundle compiled in (`presage build`).
func Handler(module []byte) http.Handler {
	assets := map[string]*Asset{
		"presage.js":  NewAsset("text/javascript; charset=utf-8", script),
		"presage.mjs": NewAsset("text/javascript; charset=utf-8", esModule),
	}
	if module != nil {
		assets["presage.wasm"] = NewAsset("application/wasm", module)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := assets[path.Base(r.URL.Path)]; a != nil {
			a.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
	})
}

// Asset is a static file served with a strong ETag, CacheControl, and brotli or gzip encoding when
// the client accepts it. The encodings are computed once, on the first request that wants each:
// the script tag is fetched on every page of a site, so its transfer size is what visitors pay.
// Assets are public and the same for everyone, so any origin may read them (CORS) and embed them
// (CORP): a shop's pages load them from the sync server's origin.
type Asset struct {
	contentType string
	body        []byte
	tag         string
	br, gz      lazy
}

type lazy struct {
	once sync.Once
	data []byte
}

// NewAsset returns an asset serving body (which it keeps: do not modify it) as contentType.
func NewAsset(contentType string, body []byte) *Asset {
	sum := sha256.Sum256(body)
	return &Asset{contentType: contentType, body: body, tag: hex.EncodeToString(sum[:12])}
}

// ServeHTTP serves GET and HEAD, with conditional and range requests through http.ServeContent.
func (a *Asset) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", CacheControl)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	// presage.js reads the module's ETag to know when the copy it keeps in Cache Storage is stale.
	h.Set("Access-Control-Expose-Headers", "ETag")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	body, enc := a.body, ""
	switch {
	case accepts(r, "br"):
		body, enc = a.br.get(func() []byte { return compress(a.body, true) }), "br"
	case accepts(r, "gzip"):
		body, enc = a.gz.get(func() []byte { return compress(a.body, false) }), "gzip"
	}
	// A strong ETag names one representation: each encoding has its own.
	if enc != "" {
		h.Set("Content-Encoding", enc)
		h.Set("ETag", `"`+a.tag+"-"+enc+`"`)
	} else {
		h.Set("ETag", `"`+a.tag+`"`)
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func (l *lazy) get(make func() []byte) []byte {
	l.once.Do(func() { l.data = make() })
	return l.data
}

// compress encodes body with brotli or gzip at their best quality, except that brotli drops to
// quality 6 past 256 KiB: quality 11 takes seconds on a module of megabytes, for a few percent.
func compress(body []byte, br bool) []byte {
	var buf bytes.Buffer
	if br {
		q := brotli.BestCompression
		if len(body) > 256<<10 {
			q = 6
		}
		w := brotli.NewWriterLevel(&buf, q)
		w.Write(body)
		w.Close()
	} else {
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w.Write(body)
		w.Close()
	}
	return buf.Bytes()
}

// accepts reports whether the request's Accept-Encoding allows coding (a q of 0 refuses it).
func accepts(r *http.Request, coding string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), coding) {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			v, err := strconv.ParseFloat(q, 64)
			return err == nil && v > 0
		}
		return true
	}
	return false
}
