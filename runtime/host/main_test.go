package host

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
)

// The module under test, built once per test binary by TestMain (or taken from $PRESAGE_TEST_WASM),
// and a compilation cache shared by every Host of the binary, so that only the first New compiles.
var (
	modulePath string
	moduleWasm []byte
	cacheDir   string
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "presage-host-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "host test:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	cacheDir = filepath.Join(tmp, "cache")
	// The module exactly as the product builds it (internal/modbuild holds the flags).
	if modulePath, err = modbuild.Path(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "host test: building the module:", err)
		return 1
	}
	if moduleWasm, err = os.ReadFile(modulePath); err != nil {
		fmt.Fprintln(os.Stderr, "host test:", err)
		return 1
	}
	ModulePath, CacheDir = modulePath, cacheDir
	return m.Run()
}

// testConfig is the configuration of most tests: the shared cache, the module's stderr in the log,
// and a call timeout long enough for -race on a busy machine (the deadline tests set their own).
func testConfig(t testing.TB) Config {
	return NewConfig().WithCompilationCacheDir(cacheDir).WithStderr(tbWriter{t}).WithCallTimeout(30 * time.Second)
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Logf("module stderr: %s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

func newHost(t testing.TB, cfg Config) *Host {
	t.Helper()
	h, err := New(context.Background(), moduleWasm, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := h.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		if n := h.live.Load(); n != 0 {
			t.Errorf("%d instances alive after Close", n)
		}
	})
	return h
}

// Keys: testKey signs the bundles of the tests; otherKey is trusted by nobody.
var (
	testKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	testPub  = testKey.Public().(ed25519.PublicKey)
)

// testBundle is a small valid bundle: two categories, ten items, a logistic model over two session
// features and one campaign whose single variant shows content.
func testBundle(version uint64, content string) *models.Bundle {
	b := &models.Bundle{
		Format:     models.FormatVersion,
		Version:    version,
		Created:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix(),
		Site:       "shop.example",
		Features:   []string{"session_pages", "session_cart_adds"},
		Categories: []string{"shoes", "bags"},
		Propensity: []models.Logistic{{Name: "buy", Features: []uint16{0, 1}, Weights: []float32{0.25, 1.5}, Bias: -3}},
		Campaigns: []models.Campaign{{
			ID: "welcome", Slot: "hero", Support: "banner",
			Variants: []models.Variant{{ID: "a", Weight: 1, Content: content}},
		}},
	}
	for i := range 10 {
		b.Items = append(b.Items, fmt.Sprintf("sku-%d", i))
		b.ItemCategory = append(b.ItemCategory, uint16(i%2))
		b.Popular = append(b.Popular, uint16(i))
	}
	return b
}

func signed(b *models.Bundle) []byte { return signing.Sign(b, testKey) }

// visit is a short visit: arrival, two page views, a product view and an add to cart.
func visit(now int64) *wire.Request {
	return &wire.Request{
		Now:  now,
		Seed: 42,
		Events: []wire.Event{
			{Type: wire.EventArrival, Time: now, Channel: wire.ChannelDirect, Device: wire.DeviceMobile},
			{Type: wire.EventPageView, Time: now, Page: wire.PageHome},
			{Type: wire.EventPageView, Time: now + 1000, Page: wire.PageProduct, DwellMs: 1000},
			{Type: wire.EventProductView, Time: now + 1000, Item: "sku-3", Category: "bags", Value: 49.5},
			{Type: wire.EventAddToCart, Time: now + 2000, Item: "sku-3", Category: "bags", Value: 49.5, Quantity: 1},
		},
		Slots: []string{"hero"},
	}
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).UnixMilli()

// acquire is Acquire that fails the test on error and releases at cleanup.
func acquire(t testing.TB, h *Host) *Session {
	t.Helper()
	s, err := h.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	t.Cleanup(s.Release)
	return s
}

// syncBuffer collects the module's stderr across instances.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)
