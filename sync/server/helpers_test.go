package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/browsertest"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/pgtest"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	browsertest.Stop() // the dashboard test's browser, if it started one
	os.Exit(code)
}

// token is the admin token of test servers.
const token = "test-admin-token-0123456789"

// now is the test clock: a fixed day, so that batch days are deterministic.
var now = time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)

var today = store.Day(now)

// backends opens a fresh store of each kind; PostgreSQL is skipped, with the reason, when it is
// not installed.
var backends = []struct {
	name string
	open func(t testing.TB) store.Store
}{
	{"sqlite", func(t testing.TB) store.Store { return openStore(t, store.Config{Dir: t.TempDir()}) }},
	{"postgres", func(t testing.TB) store.Store { return openStore(t, store.Config{PostgresURL: pgtest.NewDatabase(t)}) }},
}

func openStore(t testing.TB, cfg store.Config) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func sqliteStore(t testing.TB) store.Store { return backends[0].open(t) }

// testConfig is a server configuration for tests: the test token and clock, quiet logs.
func testConfig() server.Config {
	return server.Config{
		AdminTokenHash: hashOf(token),
		Now:            func() time.Time { return now },
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Rate:           -1,
	}
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// newServer starts a server over st; it is shut down at the end of the test.
func newServer(t testing.TB, st store.Store, cfg server.Config) *server.Server {
	t.Helper()
	s, err := server.New(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s
}

// batchID makes distinct 16-byte ids.
func batchID(n int) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b[8:], uint64(n))
	b[0] = 0x42
	return b
}

func encode(t testing.TB, b *wire.Batch) []byte {
	t.Helper()
	data, err := cborx.EncMode.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sampleBatch is batch n: one exposure of campaign c, variant A or B.
func sampleBatch(n int) *wire.Batch {
	v := "A"
	if n%2 == 1 {
		v = "B"
	}
	return &wire.Batch{ID: batchID(n), Site: "shop", Bundle: 3, Day: today,
		Cells: []wire.Cell{{Campaign: "c", Variant: v, Segment: "s", Exposures: 1, Conversions: uint32(n % 3 / 2), Revenue: 2.5}}}
}

// do runs one request through h and returns the recorder.
func do(h http.Handler, method, target string, body []byte, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// admin runs an admin request with the token and decodes a JSON answer into out (if not nil).
func admin(t testing.TB, h http.Handler, method, target string, body any, out any) *httptest.ResponseRecorder {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	w := do(h, method, target, data, "Authorization", "Bearer "+token)
	if out != nil && w.Code < 300 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, target, err, w.Body)
		}
	}
	return w
}

// signedBundle returns a minimal valid bundle of site and version, signed with key.
func signedBundle(t testing.TB, key ed25519.PrivateKey, site string, version uint64) []byte {
	t.Helper()
	b := &models.Bundle{Format: models.FormatVersion, Version: version, Created: now.Unix() - 60, Site: site}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	return signing.Sign(b, key)
}

func newKey(t testing.TB, seed byte) ed25519.PrivateKey {
	t.Helper()
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// slowStore delays every Ingest and counts the calls: group commit and shutdown tests use it to
// hold batches in flight.
type slowStore struct {
	store.Store
	delay   time.Duration
	calls   atomic.Int64
	started chan struct{} // closed at the first Ingest
	once    sync.Once
}

func (s *slowStore) Ingest(ctx context.Context, bs []*wire.Batch) ([]bool, error) {
	s.calls.Add(1)
	s.once.Do(func() { close(s.started) })
	time.Sleep(s.delay)
	return s.Store.Ingest(ctx, bs)
}

// memStore is a store that keeps batch ids in memory and nothing else: for the fuzz target, which
// must not fsync per input.
type memStore struct {
	store.Store // nil: the fuzz target calls nothing else
	mu          sync.Mutex
	ids         map[string]bool
}

func (m *memStore) Ingest(_ context.Context, bs []*wire.Batch) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fresh := make([]bool, len(bs))
	for i, b := range bs {
		if !m.ids[string(b.ID)] {
			m.ids[string(b.ID)] = true
			fresh[i] = true
		}
	}
	return fresh, nil
}

func (m *memStore) PruneBatches(context.Context, int32) (int64, error) { return 0, nil }
func (m *memStore) Ping(context.Context) error                         { return nil }
