package server

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presage-dev/presage/jsbridge"
	"github.com/presage-dev/presage/sync/store"
)

// Server is the sync server: ingest of learning batches, bundle distribution and the admin API
// over a [store.Store]. Several Servers (processes) may share one PostgreSQL store.
type Server struct {
	cfg     Config
	st      store.Store
	log     *slog.Logger
	m       *metrics
	ing     *ingester
	lim     *limiter
	bundles bundleCache
	assets  http.Handler // jsbridge: presage.js, presage.mjs, presage.wasm
	routes  []route
	handler http.Handler

	ready     atomic.Bool
	httpMu    sync.Mutex
	retrainMu sync.Mutex // one retraining at a time (Retrain)
	httpSrvs  []*http.Server
	stop      chan struct{}
	bg        sync.WaitGroup
	shutOnce  sync.Once
}

// route is one entry of the router. The list is the source of truth for the OpenAPI test: every
// route must be documented in openapi.json, and every documented operation must be a route.
type route struct {
	method, path string
	admin        bool
	h            http.HandlerFunc
}

//go:embed openapi.json
var openAPI []byte

// New starts a server's committer and background tasks over st; it does not listen (see Serve,
// or use Handler). st stays the caller's: Shutdown does not close it.
func New(st store.Store, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, st: st, log: cfg.Logger, lim: newLimiter(cfg), stop: make(chan struct{})}
	s.bundles.init(st, cfg)
	s.assets = jsbridge.Handler(cfg.Wasm)
	// The ingester is created after the metrics, which read its queue through this closure.
	s.m, err = newMetrics(cfg.Registerer, cfg.Gatherer, func() float64 {
		if s.ing == nil {
			return 0
		}
		return s.ing.depth()
	})
	if err != nil {
		return nil, err
	}
	s.ing = newIngester(st, cfg, s.m)
	s.routes = []route{
		{method: "POST", path: "/v1/batches", h: s.postBatch},
		{method: "OPTIONS", path: "/v1/batches", h: s.preflight},
		{method: "GET", path: "/v1/bundle", h: s.getBundle},
		{method: "GET", path: "/v1/presage.js", h: s.assets.ServeHTTP},
		{method: "GET", path: "/v1/presage.mjs", h: s.assets.ServeHTTP},
		{method: "GET", path: "/v1/presage.wasm", h: s.getWasm},
		{method: "GET", path: "/v1/openapi.json", h: s.getOpenAPI},
		{method: "GET", path: "/healthz", h: s.healthz},
		{method: "GET", path: "/readyz", h: s.readyz},
		{method: "GET", path: "/metrics", h: s.m.handler.ServeHTTP},

		{method: "GET", path: "/v1/admin/campaigns", admin: true, h: withSite(s.listCampaigns)},
		{method: "POST", path: "/v1/admin/campaigns", admin: true, h: s.createCampaign},
		{method: "GET", path: "/v1/admin/campaigns/{id}", admin: true, h: withSite(s.getCampaign)},
		{method: "PUT", path: "/v1/admin/campaigns/{id}", admin: true, h: withSite(s.updateCampaign)},
		{method: "DELETE", path: "/v1/admin/campaigns/{id}", admin: true, h: withSite(s.deleteCampaign)},
		{method: "GET", path: "/v1/admin/bundles", admin: true, h: withSite(s.listBundles)},
		{method: "POST", path: "/v1/admin/bundles", admin: true, h: s.uploadBundle},
		{method: "GET", path: "/v1/admin/bundles/{version}", admin: true, h: withVersion(s.getBundleInfo)},
		{method: "POST", path: "/v1/admin/bundles/{version}/publish", admin: true, h: withVersion(s.publishBundle)},
		{method: "POST", path: "/v1/admin/rollback", admin: true, h: withSite(s.rollback)},
		{method: "GET", path: "/v1/admin/publications", admin: true, h: withSite(s.listPublications)},
		{method: "GET", path: "/v1/admin/reports", admin: true, h: withSite(s.report)},
		{method: "POST", path: "/v1/admin/retrain", admin: true, h: withSite(s.retrainNow)},
		{method: "GET", path: "/v1/admin/privacy", admin: true, h: withSite(s.privacy)},
	}
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		pattern := rt.method + " " + rt.path
		var h http.Handler = rt.h
		if rt.admin {
			h = s.requireAdmin(h)
		}
		mux.Handle(pattern, s.m.instrument(pattern, h))
	}
	s.mountDashboard(mux) // HTML for people, not part of the API: see dashboard.go
	mux.Handle("/", s.m.instrument("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: see /v1/openapi.json")
	})))
	s.handler = mux
	s.bg.Go(s.maintain)
	s.ready.Store(true)
	return s, nil
}

// Handler is the server's HTTP handler, for use with a listener of the caller's (or httptest).
func (s *Server) Handler() http.Handler { return s.handler }

// Serve accepts HTTP connections on l until Shutdown; it returns nil after a shutdown.
func (s *Server) Serve(l net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       60 * time.Second, // bundle uploads are the longest bodies
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(redactor{slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}, "", 0),
	}
	s.httpMu.Lock()
	select {
	case <-s.stop:
		s.httpMu.Unlock()
		return errors.New("server: serve after shutdown")
	default:
	}
	s.httpSrvs = append(s.httpSrvs, hs)
	s.httpMu.Unlock()
	if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Shutdown stops the server gracefully: /readyz turns 503 so that load balancers stop sending,
// listeners close, requests in flight finish — every batch already received is committed and
// acknowledged — then the committer and background tasks stop. If ctx ends first, connections
// still open are closed; batches already queued are still committed before Shutdown returns. The
// store is not closed.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutOnce.Do(func() {
		s.ready.Store(false)
		s.httpMu.Lock()
		close(s.stop)
		srvs := s.httpSrvs
		s.httpMu.Unlock()
		for _, hs := range srvs {
			if e := hs.Shutdown(ctx); e != nil {
				err = errors.Join(err, fmt.Errorf("server: shutdown: %w", e))
				hs.Close()
			}
		}
		s.ing.close()
		s.bg.Wait()
		s.log.Info("sync server stopped")
	})
	return err
}

// addrPattern matches IPv4 and bracketed IPv6 addresses with an optional port, as net/http writes
// them in its own messages ("http: panic serving 192.0.2.1:5000: ...").
var addrPattern = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b|\[[0-9A-Fa-f:.%a-z]+\](:\d+)?`)

// redactor removes client addresses from net/http's error log before it reaches the server's
// log: no client address is ever logged, including in a panic's message.
type redactor struct{ l *log.Logger }

func (r redactor) Write(p []byte) (int, error) {
	r.l.Print(redact(string(p)))
	return len(p), nil
}

func redact(s string) string { return addrPattern.ReplaceAllString(s, "<client>") }

// maintain runs the periodic tasks: forgetting batch ids past the retry window, and idle
// clients of the rate limiter.
func (s *Server) maintain() {
	prune := func() {
		before := store.Day(s.cfg.Now()) - s.cfg.DedupDays + 1
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		n, err := s.st.PruneBatches(ctx, before)
		if err != nil {
			s.log.Warn("pruning batch ids failed; will retry", "err", err)
			return
		}
		if n > 0 {
			s.log.Info("pruned batch ids past the retry window", "ids", n, "before_day", before)
		}
	}
	prune()
	pruneT := time.NewTicker(time.Hour)
	sweepT := time.NewTicker(time.Minute)
	defer pruneT.Stop()
	defer sweepT.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-pruneT.C:
			prune()
		case <-sweepT.C:
			s.lim.sweep(s.cfg.Now())
			s.retrainScheduled()
		}
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		s.log.Warn("readiness: store does not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready: store does not answer")
		return
	}
	fmt.Fprintln(w, "ready")
}

func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write(openAPI)
}

// writeJSON answers v as JSON. Admin answers are never cached.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// apiError is the body of every error answer: {"error": "..."}.
type apiError struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, apiError{Error: msg})
}

// hashToken is how admin tokens are kept: SHA-256. Tokens are long random strings (or at least 16
// characters, see InitAdminToken), for which a fast hash is enough: there is nothing to brute-force.
func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
