package edge

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

// moduleWasm is the module built from source once per test binary (or $PRESAGE_TEST_WASM).
var moduleWasm []byte

func TestMain(m *testing.M) {
	var err error
	if moduleWasm, err = modbuild.Build(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "edge test: building the module:", err)
		os.Exit(1)
	}
	code := m.Run()
	if sharedHost != nil {
		sharedHost.Close(context.Background())
	}
	os.Exit(code)
}

var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))

// testBundle has one campaign per slot, each with one variant and no holdout, so that decisions are
// deterministic: "hero" shows heroContent, "banner" shows "Free shipping".
const heroContent = `Welcome <b>back</b> & enjoy`

func testBundle() *models.Bundle {
	b := &models.Bundle{
		Format:     models.FormatVersion,
		Version:    1,
		Created:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix(),
		Site:       "shop.example",
		Features:   []string{"session_pages", "session_cart_adds"},
		Categories: []string{"shoes", "bags"},
		Propensity: []models.Logistic{{Name: "buy", Features: []uint16{0, 1}, Weights: []float32{0.25, 1.5}, Bias: -3}},
		Campaigns: []models.Campaign{
			{ID: "welcome", Slot: "hero", Support: "banner", Variants: []models.Variant{{ID: "a", Weight: 1, Content: heroContent}}},
			{ID: "ship", Slot: "banner", Support: "banner", Variants: []models.Variant{{ID: "free", Weight: 1, Content: "Free shipping"}}},
		},
	}
	for i := range 10 {
		b.Items = append(b.Items, fmt.Sprintf("sku-%d", i))
		b.ItemCategory = append(b.ItemCategory, uint16(i%2))
		b.Popular = append(b.Popular, uint16(i))
	}
	return b
}

// sharedHost serves every test of the binary: creating a host (compiling or reading the compilation
// cache, instantiating, loading the bundle) is the slow part of these tests, ten times so under -race.
var (
	sharedHost   *host.Host
	sharedHostMu sync.Mutex
)

// newTestHost returns the shared host, created on first use: the module with testBundle loaded and
// a compilation cache shared by the test runs of this machine.
func newTestHost(t testing.TB) *host.Host {
	t.Helper()
	sharedHostMu.Lock()
	defer sharedHostMu.Unlock()
	if sharedHost == nil {
		sharedHost = startHost(t)
	}
	return sharedHost
}

func startHost(t testing.TB) *host.Host {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), "presage-edge-wazero")
	h, err := host.New(ctx, moduleWasm, host.NewConfig().
		WithCompilationCacheDir(dir).
		WithTrustedKeys(testKey.Public().(ed25519.PublicKey)).
		WithPoolSize(2).
		WithCallTimeout(10*time.Second))
	if err != nil {
		t.Fatalf("host: %v", err)
	}
	if _, err := h.LoadBundle(ctx, signing.Sign(testBundle(), testKey)); err != nil {
		t.Fatalf("load bundle: %v", err)
	}
	return h
}

func waitABit() { time.Sleep(5 * time.Millisecond) }

func signingSign() []byte { return signing.Sign(testBundle(), testKey) }
