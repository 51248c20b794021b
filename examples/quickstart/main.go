package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, out io.Writer) error {
	// 1. A bundle: trained server-side, signed with the site's key.
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	bundle, _, err := demo.Train(ctx, demo.Config{Visitors: 1500, Seed: 42})
	if err != nil {
		return err
	}
	envelope := signing.Sign(bundle, key)

	// 2. The module with the bundle compiled in (presage build does the same from the command line).
	base, err := modbuild.Build(ctx)
	if err != nil {
		return err
	}
	built, err := modbuild.Embed(ctx, base, envelope, key.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}

	// 3. A host: a pool of module instances, trusting only our key for later bundle updates.
	h, err := host.New(ctx, built.Module, host.NewConfig().WithTrustedKeys(key.Public().(ed25519.PublicKey)))
	if err != nil {
		return err
	}
	defer h.Close(ctx)

	// 4. One visitor, one request per event; the profile travels with the visitor (a cookie at the
	// edge, localStorage in the browser) and is all the state there is.
	now := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC).UnixMilli()
	item, category := bundle.Items[3], bundle.Categories[bundle.ItemCategory[3]]
	visit := []wire.Event{
		{Type: wire.EventArrival, Channel: wire.ChannelBrandSearch, Device: wire.DeviceMobile},
		{Type: wire.EventPageView, Page: wire.PageHome},
		{Type: wire.EventProductView, Item: item, Category: category, Value: 49},
		{Type: wire.EventAddToCart, Item: item, Category: category, Value: 49, Quantity: 1},
		{Type: wire.EventPageView, Page: wire.PageCart, DwellMs: 20000},
		{Type: wire.EventCheckout},
		{Type: wire.EventPurchase, Value: 49, Lines: []wire.Line{{Item: item, Category: category, Price: 49, Quantity: 1}}},
	}
	var profile []byte
	for i, e := range visit {
		e.Time = now + int64(i)*30_000
		req := &wire.Request{Now: e.Time, Seed: uint64(i + 1), Events: []wire.Event{e}, Slots: []string{"banner", "popin"}}
		ans, saved, err := h.Handle(ctx, profile, req)
		if err != nil {
			return err
		}
		profile = saved
		fmt.Fprintf(out, "event %d (type %d): stage %s, buy_session %.3f, segments %v", i, e.Type, ans.Stage,
			ans.Scores[demo.ModelBuySession].Value, ans.Segments)
		for _, d := range ans.Decisions {
			if d.Campaign != "" {
				fmt.Fprintf(out, ", %s shows %s/%s", d.Slot, d.Campaign, d.Variant)
			}
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "profile: %d bytes\n", len(profile))
	return nil
}
