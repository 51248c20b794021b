package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presage-dev/presage/sync/store"
)

// asset is an immutable body served with a strong ETag of its content, so that If-None-Match
// answers 304 and a CDN revalidates for the price of a header.
type asset struct {
	body  []byte
	etag  string
	ctype string
}

func newAsset(body []byte, ctype string) *asset {
	sum := sha256.Sum256(body)
	return &asset{body: body, etag: `"` + hex.EncodeToString(sum[:16]) + `"`, ctype: ctype}
}

// serve answers the asset through http.ServeContent, which handles If-None-Match (304), HEAD
// and Range. Public assets may be read from any page: they are signed or public anyway, and no
// credentials are involved.
func (a *asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	h := w.Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Type", a.ctype)
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// servedBundle is a site's current bundle as served.
type servedBundle struct {
	version uint64
	sha     string
	*asset
	dec decodedBundle // for the ingest check of model updates (fedround.go)
}

// bundleCache keeps each site's current bundle in memory and re-reads the store at most every
// refresh interval, so that serving the bundle costs no query, and a publication made on another
// node sharing the database is served within the interval. While one request refreshes a site,
// the others serve what is cached rather than queue on the database.
type bundleCache struct {
	st      store.Store
	refresh time.Duration
	now     func() time.Time
	log     interface{ Warn(string, ...any) }

	mu    sync.Mutex
	sites map[string]*siteEntry
}

// maxCachedSites bounds the cache: site names come from query strings. Past it, unknown sites are
// looked up without being remembered.
const maxCachedSites = 10_000

type siteEntry struct {
	mu      sync.Mutex // held while refreshing
	cur     atomic.Pointer[servedBundle]
	checked atomic.Int64 // Unix nanoseconds of the last look at the store; 0 = look now
}

func (c *bundleCache) init(st store.Store, cfg Config) {
	c.st, c.refresh, c.now, c.log = st, cfg.BundleRefresh, cfg.Now, cfg.Logger
	c.sites = make(map[string]*siteEntry)
}

func (c *bundleCache) entry(site string) *siteEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.sites[site]
	if e == nil {
		e = new(siteEntry)
		if len(c.sites) < maxCachedSites {
			c.sites[site] = e
		}
	}
	return e
}

// invalidate makes the next request for site read the store: after a publication on this node.
func (c *bundleCache) invalidate(site string) {
	c.mu.Lock()
	e := c.sites[site]
	c.mu.Unlock()
	if e != nil {
		e.checked.Store(0)
	}
}

// get returns the site's current bundle, nil if none is published.
func (c *bundleCache) get(ctx context.Context, site string) (*servedBundle, error) {
	e := c.entry(site)
	checked := e.checked.Load()
	if checked != 0 && c.now().UnixNano()-checked < int64(c.refresh) {
		return e.cur.Load(), nil
	}
	if checked != 0 {
		if !e.mu.TryLock() {
			return e.cur.Load(), nil // another request is refreshing
		}
	} else {
		e.mu.Lock()
	}
	defer e.mu.Unlock()
	if checked2 := e.checked.Load(); checked2 != checked && checked2 != 0 {
		return e.cur.Load(), nil // refreshed while this one waited
	}
	b, err := c.load(ctx, site, e.cur.Load())
	if err != nil {
		if cur := e.cur.Load(); cur != nil {
			c.log.Warn("bundle refresh failed; serving the cached bundle", "site", site, "err", err)
			e.checked.Store(c.now().UnixNano())
			return cur, nil
		}
		return nil, err
	}
	e.cur.Store(b)
	e.checked.Store(c.now().UnixNano())
	return b, nil
}

func (c *bundleCache) load(ctx context.Context, site string, cur *servedBundle) (*servedBundle, error) {
	pub, err := c.st.Current(ctx, site)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.version == pub.Version && cur.sha == pub.SHA256 {
		return cur, nil
	}
	b, err := c.st.Bundle(ctx, site, pub.Version)
	if err != nil {
		return nil, err
	}
	return &servedBundle{version: b.Version, sha: b.SHA256, asset: newAsset(b.Envelope, "application/cbor")}, nil
}

// getBundle is GET /v1/bundle?site=S: the site's current signed bundle, the bytes of
// models/signing, for agents, edges and CDNs.
func (s *Server) getBundle(w http.ResponseWriter, r *http.Request) {
	site := r.URL.Query().Get("site")
	if len(site) > store.MaxName {
		writeError(w, http.StatusBadRequest, "site name too long")
		return
	}
	b, err := s.bundles.get(r.Context(), site)
	if err != nil {
		s.log.Error("reading the current bundle", "site", site, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the bundle could not be read: retry later")
		return
	}
	if b == nil {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		writeError(w, http.StatusNotFound, "no bundle is published for site "+strconv.Quote(site))
		return
	}
	h := w.Header()
	h.Set("Presage-Bundle-Version", strconv.FormatUint(b.version, 10))
	h.Set("Access-Control-Expose-Headers", "ETag, Presage-Bundle-Version")
	// stale-if-error lets a CDN keep serving the last bundle while every origin is down: devices
	// keep the bundle they have anyway, new ones are better served an old bundle than none.
	b.serve(w, r, "public, max-age="+strconv.Itoa(int(s.cfg.BundleMaxAge/time.Second))+", stale-if-error=86400")
}

// getWasm is GET /v1/presage.wasm, when the server was given the module; jsbridge serves it
// (compressed, with its ETag) beside presage.js.
func (s *Server) getWasm(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.Wasm) == 0 {
		writeError(w, http.StatusNotFound, "this server serves no module (presage serve -wasm FILE)")
		return
	}
	s.assets.ServeHTTP(w, r)
}
