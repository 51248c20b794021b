package shop

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

// DemoConfig says what [Start] serves.
type DemoConfig struct {
	// Addr is where to listen; "" means localhost:8080. The demo is meant for loopback: the admin
	// token is printed, and the shop has no TLS.
	Addr string
	// DataDir is the sync server's embedded store (SQLite).
	DataDir string
	// Envelope is the signed bundle to add and publish; Module is presage.wasm with that bundle
	// compiled in (`presage build`), served at /v1/presage.wasm.
	Envelope, Module []byte
	// Key signs the bundle. Its public half is the bundle key given to presage.js and trusted by the
	// server; the private half lets the admin API roll back.
	Key ed25519.PrivateKey
	// Catalogue is the shop's assortment: the one the bundle was trained on.
	Catalogue *Catalogue
	// AdminToken is the admin API's bearer token; "" generates one, shown in Demo.AdminToken.
	AdminToken string
	// Logger receives the sync server's logs; nil means warnings and errors only, on stderr.
	Logger *slog.Logger
	// Tag holds extra attributes of the script tag (see Config.Tag).
	Tag string
}

// Demo is the shop and the sync server running on one origin, as `presage demo` serves them.
type Demo struct {
	URL        string // the origin, "http://localhost:8080"
	AdminToken string // the admin API's bearer token
	Version    uint64 // the bundle version published
	Site       string

	st     store.Store
	srv    *server.Server
	hs     *http.Server
	served chan error
}

// Start opens the store, starts the sync server on it with the bundle published, and serves the
// shop with the sync server's handler mounted under /v1/. One process and one origin: the tag,
// the module, the bundle and the batches are first-party, so the browser sends no preflight and
// presage.js needs no CORS. The caller must Close the Demo.
func Start(ctx context.Context, cfg DemoConfig) (d *Demo, err error) {
	if cfg.Addr == "" {
		cfg.Addr = "localhost:8080"
	}
	if cfg.Logger == nil {
		// Warnings and errors only: the demo's terminal shows the URLs and what goes wrong, not a
		// line per request.
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("shop: demo: no bundle-signing key")
	}
	if cfg.AdminToken == "" {
		var raw [24]byte
		rand.Read(raw[:])
		cfg.AdminToken = "demo_" + base64.RawURLEncoding.EncodeToString(raw[:])
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("shop: demo: listen on %s: %w", cfg.Addr, err)
	}
	defer func() {
		if err != nil {
			ln.Close()
		}
	}()
	origin, origins := originsOf(ln.Addr().(*net.TCPAddr), cfg.Addr)

	st, err := store.Open(ctx, store.Config{Dir: cfg.DataDir})
	if err != nil {
		return nil, fmt.Errorf("shop: demo: open the store: %w", err)
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	hash, _, err := server.InitAdminToken(ctx, st, cfg.AdminToken)
	if err != nil {
		return nil, fmt.Errorf("shop: demo: %w", err)
	}
	srv, err := server.New(st, server.Config{AdminTokenHash: hash, Origins: origins, SigningKey: cfg.Key, Wasm: cfg.Module, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("shop: demo: %w", err)
	}
	defer func() {
		if err != nil {
			srv.Shutdown(context.Background())
		}
	}()
	b, err := addBundle(ctx, srv, st, cfg.Envelope, cfg.DataDir)
	if err != nil {
		return nil, err
	}

	sh, err := New(Config{Catalogue: cfg.Catalogue, Site: b.Site, PublicKey: cfg.Key.Public().(ed25519.PublicKey), Sync: srv.Handler(), Tag: cfg.Tag})
	if err != nil {
		return nil, err
	}
	d = &Demo{URL: origin, AdminToken: cfg.AdminToken, Version: b.Version, Site: b.Site, st: st, srv: srv, served: make(chan error, 1),
		hs: &http.Server{Handler: sh, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}}
	go func() {
		if err := d.hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			d.served <- fmt.Errorf("shop: demo: serve: %w", err)
		}
		close(d.served)
	}()
	return d, nil
}

// Done is closed when the demo stops serving; an error is sent first if serving failed.
func (d *Demo) Done() <-chan error { return d.served }

// Close stops the demo gracefully: requests in flight finish (every batch received is committed),
// then the sync server stops and the store is closed.
func (d *Demo) Close(ctx context.Context) error {
	err := d.hs.Shutdown(ctx)
	if err != nil {
		d.hs.Close()
		err = fmt.Errorf("shop: demo: shutdown: %w", err)
	}
	for e := range d.served {
		err = errors.Join(err, e)
	}
	err = errors.Join(err, d.srv.Shutdown(ctx))
	if cerr := d.st.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("shop: demo: close the store: %w", cerr))
	}
	return err
}

// originsOf returns the URL to print and the origins whose pages may post batches. Browsers send
// an Origin header even on same-origin POSTs, and the sync server refuses origins it does not know,
// so every name of a loopback listener is listed: a visitor may type localhost or 127.0.0.1.
func originsOf(a *net.TCPAddr, asked string) (string, []string) {
	port := strconv.Itoa(a.Port)
	host, _, _ := net.SplitHostPort(asked)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	show := "http://" + net.JoinHostPort(host, port)
	origins := []string{show}
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		if o := "http://" + net.JoinHostPort(h, port); o != show {
			origins = append(origins, o)
		}
	}
	return show, origins
}

// addBundle adds the bundle and publishes it unless the site already serves it or a newer one. The
// demo's training is deterministic and its key is kept, so a second `make demo` on the same data
// folder brings the very same bundle: that is fine; the same version with other content is not.
func addBundle(ctx context.Context, srv *server.Server, st store.Store, env []byte, dir string) (*store.Bundle, error) {
	b, err := srv.AddBundle(ctx, env)
	if errors.Is(err, store.ErrExists) {
		m, oerr := models.Open(env)
		if oerr != nil {
			return nil, fmt.Errorf("shop: demo: the bundle: %w", oerr)
		}
		if b, err = st.Bundle(ctx, m.Site, m.Version); err != nil {
			return nil, fmt.Errorf("shop: demo: stored bundle v%d: %w", m.Version, err)
		}
		if !bytes.Equal(b.Envelope, env) {
			return nil, fmt.Errorf("shop: demo: bundle v%d of site %q is stored in %s with other content (trained with other flags or another key): remove that folder, or use another -dir", m.Version, m.Site, dir)
		}
	} else if err != nil {
		return nil, fmt.Errorf("shop: demo: add the bundle: %w", err)
	}
	cur, err := st.Current(ctx, b.Site)
	if err == nil && cur.Version >= b.Version {
		return b, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("shop: demo: current bundle: %w", err)
	}
	if _, err := srv.Publish(ctx, b.Site, b.Version); err != nil {
		return nil, fmt.Errorf("shop: demo: publish bundle v%d: %w", b.Version, err)
	}
	return b, nil
}
