package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/edge"
	"github.com/presage-dev/presage/runtime/host"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("edge-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on")
	originURL := fs.String("origin", "", "the origin's base URL (required)")
	wasmPath := fs.String("wasm", "dist/presage.wasm", "the Presage module (make wasm)")
	bundlePath := fs.String("bundle", "", "a signed bundle envelope to load at start (optional)")
	pubPath := fs.String("public-key", "", "the key bundles must be signed with (required with -bundle)")
	slots := fs.String("slots", "popin,banner,carousel", "the slots of the site's pages, comma-separated")
	syncURL := fs.String("sync", "", "the sync server's base URL (optional)")
	metrics := fs.String("metrics", "", "address to serve the edge's counters on, at /metrics (optional)")
	fast := fs.Bool("fast", false, "non-interruptible module calls: a call that never returns is not stopped (for comparison only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *originURL == "" {
		return errors.New("edge-proxy: -origin is required")
	}
	origin, err := url.Parse(*originURL)
	if err != nil {
		return fmt.Errorf("edge-proxy: -origin: %w", err)
	}
	wasm, err := os.ReadFile(*wasmPath)
	if err != nil {
		return fmt.Errorf("edge-proxy: the module (build it with make wasm): %w", err)
	}
	hcfg := host.NewConfig().WithInterruptibleCalls(!*fast)
	if *pubPath != "" {
		pub, err := signing.LoadPublic(*pubPath)
		if err != nil {
			return fmt.Errorf("edge-proxy: %w", err)
		}
		hcfg = hcfg.WithTrustedKeys(pub)
	}
	h, err := host.New(ctx, wasm, hcfg)
	if err != nil {
		return fmt.Errorf("edge-proxy: %w", err)
	}
	defer h.Close(context.Background())
	if *bundlePath != "" {
		env, err := os.ReadFile(*bundlePath)
		if err != nil {
			return fmt.Errorf("edge-proxy: %w", err)
		}
		if _, err := h.LoadBundle(ctx, env); err != nil {
			return fmt.Errorf("edge-proxy: %w", err)
		}
	}
	keys, err := cookieKeys(os.Getenv("PRESAGE_COOKIE_KEYS"), stderr)
	if err != nil {
		return err
	}
	proxy, e, err := newProxy(origin, edge.Config{
		Host:         h,
		Keys:         keys,
		DefaultSlots: strings.Split(*slots, ","),
		SyncURL:      *syncURL,
		OnError:      func(err error) { fmt.Fprintln(stderr, "edge-proxy:", err) },
	})
	if err != nil {
		return err
	}
	if *metrics != "" {
		ms := &http.Server{Addr: *metrics, Handler: e.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		go ms.ListenAndServe()
		defer ms.Close()
	}
	srv := &http.Server{Addr: *listen, Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		e.Close(sctx)
	}()
	fmt.Fprintf(stderr, "edge-proxy: serving %s on http://%s\n", origin, *listen)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("edge-proxy: %w", err)
	}
	return nil
}

// newProxy puts the edge in front of a reverse proxy to origin. The edge runs before the proxy, so
// the origin receives the decisions as request headers, and after it, so that the origin's HTML is
// rewritten on its way back.
func newProxy(origin *url.URL, cfg edge.Config) (http.Handler, *edge.Edge, error) {
	e, err := edge.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("edge-proxy: %w", err)
	}
	rp := httputil.NewSingleHostReverseProxy(origin)
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if cfg.OnError != nil {
			cfg.OnError(fmt.Errorf("origin: %w", err))
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	return e.Wrap(rp), e, nil
}

// cookieKeys parses PRESAGE_COOKIE_KEYS, or makes a random key when it is empty.
func cookieKeys(env string, stderr io.Writer) ([][]byte, error) {
	if env == "" {
		fmt.Fprintln(stderr, "edge-proxy: PRESAGE_COOKIE_KEYS is not set: using a random cookie key, profiles will not survive a restart")
		k := make([]byte, 32)
		rand.Read(k)
		return [][]byte{k}, nil
	}
	var keys [][]byte
	for i, s := range strings.Split(env, ",") {
		k, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("edge-proxy: PRESAGE_COOKIE_KEYS key %d: %w", i, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
