package loopsim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

// Clock is a simulated clock: noon of a Unix day, moved by SetDay. It is the server's clock in the
// federated loop (server.Config.Now), so that each round is one more day of the server's life.
type Clock struct{ day atomic.Int32 }

// SetDay moves the clock to noon of Unix day d.
func (c *Clock) SetDay(d int32) { c.day.Store(d) }

// Now is the clock's time.
func (c *Clock) Now() time.Time { return time.Unix(int64(c.day.Load())*86400+12*3600, 0).UTC() }

// LocalServer is a sync server this process runs on a loopback port, on an embedded store in a
// temporary folder, with a simulated clock: what the federated loop runs against when it has no
// server of its own. Traffic reaches it over HTTP like any other server's.
type LocalServer struct {
	URL, Token, Dir string
	Key             ed25519.PrivateKey
	Clock           *Clock

	st  store.Store
	srv *server.Server
	hs  *http.Server
}

// LocalConfig sizes a LocalServer. Zero fields take the server's defaults (k-anonymity 50, ε = 1
// per visitor per day).
type LocalConfig struct {
	KAnonymity int64
	Logger     *slog.Logger // nil discards the server's logs
	// NoiseSeed, if not 0, seeds the federated rounds' noise (tests: a reproducible run); 0 draws
	// it from crypto/rand, as a deployed server does.
	NoiseSeed uint64
}

// StartLocal starts a LocalServer; Close stops it and removes its folder.
func StartLocal(ctx context.Context, lc LocalConfig) (*LocalServer, error) {
	dir, err := os.MkdirTemp("", "presage-fedloop-")
	if err != nil {
		return nil, err
	}
	ls := &LocalServer{Dir: dir, Clock: &Clock{}}
	ok := false
	defer func() {
		if !ok {
			ls.Close()
		}
	}()
	ls.Clock.SetDay(store.Day(time.Now()))
	if ls.st, err = store.Open(ctx, store.Config{Dir: dir}); err != nil {
		return nil, err
	}
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	ls.Token = "fed_" + hex.EncodeToString(tok)
	hash, _, err := server.InitAdminToken(ctx, ls.st, ls.Token)
	if err != nil {
		return nil, err
	}
	if _, ls.Key, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	log := lc.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := server.Config{SigningKey: ls.Key, KAnonymity: lc.KAnonymity, Rate: -1, AdminTokenHash: hash, Logger: log, Now: ls.Clock.Now}
	if lc.NoiseSeed != 0 {
		cfg.Retrain.FedNoise = mrand.New(mrand.NewPCG(lc.NoiseSeed, 0xfed))
	}
	if ls.srv, err = server.New(ls.st, cfg); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ls.URL = "http://" + ln.Addr().String()
	ls.hs = &http.Server{Handler: ls.srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go ls.hs.Serve(ln)
	ok = true
	return ls, nil
}

// Close stops the server (requests in flight finish), closes the store and removes the folder.
func (ls *LocalServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if ls.hs != nil {
		errs = append(errs, ls.hs.Shutdown(ctx))
	}
	if ls.srv != nil {
		errs = append(errs, ls.srv.Shutdown(ctx))
	}
	if ls.st != nil {
		errs = append(errs, ls.st.Close())
	}
	errs = append(errs, os.RemoveAll(ls.Dir))
	return errors.Join(errs...)
}
