package loopsim

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"example.com": false, "10.0.0.1": false, "0.0.0.0": false, "": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	ok := Config{Server: "http://127.0.0.1:9", Token: "t", Key: key}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"remote server", func(c *Config) { c.Server = "http://example.com" }, "loopback"},
		{"no scheme", func(c *Config) { c.Server = "127.0.0.1:9" }, "want http"},
		{"no key", func(c *Config) { c.Key = nil }, "signing key"},
		{"no token", func(c *Config) { c.Token = "" }, "admin token"},
		{"one variant", func(c *Config) { c.Rates = []float64{0.1} }, "2 to 26"},
		{"rate above 1", func(c *Config) { c.Rates = []float64{0.1, 2} }, "not in [0, 1]"},
		{"too many rounds", func(c *Config) { c.Rounds = MaxRounds + 1 }, "rounds"},
		{"module share without module", func(c *Config) { c.ModuleShare = 0.1 }, "needs the module"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			_, err := Run(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// lossyAcks answers 503 to every fifth batch after the server has taken it, as a network that loses
// the acknowledgement: the client must retry, and the server must not count the retry twice.
type lossyAcks struct {
	h    http.Handler
	n    atomic.Int64
	lost atomic.Int64
}

func (l *lossyAcks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/batches" || l.n.Add(1)%5 != 0 {
		l.h.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	l.h.ServeHTTP(rec, r)
	if rec.Code == http.StatusNoContent {
		l.lost.Add(1)
	}
	http.Error(w, "acknowledgement lost", http.StatusServiceUnavailable)
}

// TestRunInProcess runs a small loop against an in-process server whose acknowledgements are lost
// one time in five (run it with -race: the senders are concurrent). The store must count each batch
// once, and hold what the agents sent.
func TestRunInProcess(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const tok = "loopsim-test-token-0123456789"
	hash, _, err := server.InitAdminToken(ctx, st, tok)
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	srv, err := server.New(st, server.Config{SigningKey: key, TrustedKeys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)},
		KAnonymity: 1, Rate: -1, AdminTokenHash: hash, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(ctx)
	lossy := &lossyAcks{h: srv.Handler()}
	hs := httptest.NewServer(lossy)
	defer hs.Close()

	var log strings.Builder
	res, err := Run(ctx, Config{Server: hs.URL, Token: tok, Key: key, Visitors: 600, Rounds: 3, Seed: 3, Log: &log,
		Rates: []float64{0.02, 0.04, 0.12}, Retry: Retry{First: time.Millisecond, Max: 10 * time.Millisecond}})
	t.Log("\n" + log.String())
	if err != nil {
		t.Fatal(err)
	}
	if lossy.lost.Load() == 0 {
		t.Fatal("no acknowledgement was lost: the test tests nothing")
	}
	if !res.Equal || !res.Truthful || res.StoredBatches != 1800 || res.Attempts < 1800+lossy.lost.Load() {
		t.Errorf("equal %v, truthful %v: %d batches stored of %d, %d attempts, %d acknowledgements lost; sent %+v, stored %+v",
			res.Equal, res.Truthful, res.StoredBatches, res.Batches, res.Attempts, lossy.lost.Load(), res.Sent, res.Stored)
	}
	if len(res.Rounds) != 3 || res.Rounds[0].Best > 0.5 {
		t.Errorf("rounds %+v: the first round must split evenly", res.Rounds)
	}
}
