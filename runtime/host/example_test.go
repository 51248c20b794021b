package host_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"os"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

// ExampleHost loads a signed bundle and serves two requests of one visitor, keeping the profile
// between them as an edge keeps it in a cookie or a key-value store.
func ExampleHost() {
	ctx := context.Background()
	wasm, err := os.ReadFile(host.ModulePath) // presage.wasm, built from ./wasm
	if err != nil {
		log.Fatal(err)
	}

	// The key pair of the bundle publisher; the host trusts its public half only.
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	pub := priv.Public().(ed25519.PublicKey)

	h, err := host.New(ctx, wasm, host.NewConfig().
		WithTrustedKeys(pub).
		WithPoolSize(4).
		WithCompilationCacheDir(host.CacheDir))
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(ctx)

	info, err := h.LoadBundle(ctx, signing.Sign(&models.Bundle{
		Format:   models.FormatVersion,
		Version:  1,
		Site:     "shop.example",
		Features: []string{"session_pages", "session_cart_adds"},
		Items:    []string{"sku-1", "sku-2"}, ItemCategory: []uint16{0, 0}, Categories: []string{"shoes"},
		Propensity: []models.Logistic{{Name: "buy", Features: []uint16{0, 1}, Weights: []float32{0.2, 1.5}, Bias: -3}},
		Campaigns: []models.Campaign{{ID: "welcome", Slot: "hero",
			Variants: []models.Variant{{ID: "a", Weight: 1, Content: "Welcome back!"}}}},
	}, priv))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("serving", info.Site, "version", info.Version)

	var profile []byte // a new visitor
	for _, ev := range []wire.Event{
		{Type: wire.EventPageView, Page: wire.PageHome},
		{Type: wire.EventAddToCart, Item: "sku-1", Category: "shoes", Value: 80, Quantity: 1},
	} {
		ans, p, err := h.Handle(ctx, profile, &wire.Request{Events: []wire.Event{ev}, Slots: []string{"hero"}})
		if err != nil {
			log.Fatal(err)
		}
		profile = p
		fmt.Printf("%s: buy %.2f, hero shows %q\n", ans.Stage, ans.Scores[0].Value, ans.Decisions[0].Content)
	}
	// Output:
	// serving shop.example version 1
	// prospect: buy 0.06, hero shows "Welcome back!"
	// prospect: buy 0.21, hero shows "Welcome back!"
}
