package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/presage-dev/presage/examples/shop"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

// runDemo is `presage demo`: train on simulated traffic, build the module, run fresh simulated
// visitors through it, then serve the demo shop with the sync server until Ctrl-C, so that what the
// summary describes can be seen in a browser.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("demo", "[flags]", stderr)
	dir := fl.String("dir", "dist/demo", "where to write the demo's key, bundle and module")
	var cfg demo.Config
	fl.IntVar(&cfg.Visitors, "train-visitors", 20000, "simulated visitors to train on")
	fl.IntVar(&cfg.Items, "items", 300, "catalogue items")
	fl.IntVar(&cfg.Categories, "categories", 20, "catalogue categories")
	var run demo.RunConfig
	fl.IntVar(&run.Visitors, "visitors", 200, "fresh simulated visitors to run through the module")
	fl.IntVar(&run.Trace, "trace", 2, "visitors whose visit is printed event by event")
	addr := fl.String("addr", "localhost:8080", "where to serve the shop and the sync server (one origin); a busy default port falls back to a free one")
	noServe := fl.Bool("no-serve", os.Getenv("PRESAGE_DEMO_NO_SERVE") != "", "stop after the simulated visitors instead of serving the shop (CI; or set PRESAGE_DEMO_NO_SERVE=1)")
	if err := parse(fl, args); err != nil {
		return err
	}
	addrSet := false
	fl.Visit(func(f *flag.Flag) { addrSet = addrSet || f.Name == "addr" })
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}

	fmt.Fprintln(stdout, "1/5 signing key")
	keyPath := filepath.Join(*dir, "presage.key")
	key, err := signing.LoadPrivate(keyPath)
	if err != nil {
		if key, err = signing.GenerateKey(rand.Reader); err != nil {
			return err
		}
		if err := writeFileAtomic(keyPath, signing.MarshalPrivate(key), 0o600); err != nil {
			return err
		}
	}
	pub := key.Public().(ed25519.PublicKey)

	fmt.Fprintf(stdout, "2/5 training on %d simulated visitors (%d items, %d categories)\n", cfg.Visitors, cfg.Items, cfg.Categories)
	_, envelope, rep, err := trainSigned(ctx, cfg, key, filepath.Join(*dir, "bundle.cbor"), stderr)
	if err != nil {
		return err
	}
	printReport(stdout, rep)

	fmt.Fprintln(stdout, "3/5 building the module (go build ./wasm, then the bundle compiled in)")
	base, err := goBuildModule(ctx, stderr)
	if err != nil {
		return err
	}
	built, err := modbuild.Embed(ctx, base, envelope, pub)
	if err != nil {
		return err
	}
	modPath := filepath.Join(*dir, "presage.wasm")
	if err := writeFileAtomic(modPath, built.Module, 0o644); err != nil {
		return err
	}
	s := measure(built.Module)
	fmt.Fprintf(stdout, "    %s: %d bytes raw, %d gzip, %d brotli; serves bundle v%d\n", modPath, s.raw, s.gzip, s.brotli, built.Info.Version)

	fmt.Fprintf(stdout, "4/5 %d fresh visitors through the module in wazero\n", run.Visitors)
	h, err := host.New(ctx, built.Module, host.NewConfig().WithTrustedKeys(pub))
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	sm, err := cfg.Sim()
	if err != nil {
		return err
	}
	run.Out = stdout
	if _, err = demo.Run(ctx, h, sm, run); err != nil {
		return err
	}
	if *noServe {
		fmt.Fprintln(stdout, "\n5/5 serving: skipped (-no-serve)")
		return nil
	}

	data := filepath.Join(*dir, "data")
	fmt.Fprintf(stdout, "\n5/5 serving the shop and the sync server on one origin (embedded store in %s)\n", data)
	dcfg := shop.DemoConfig{Addr: *addr, DataDir: data, Envelope: envelope, Module: built.Module, Key: key,
		Catalogue: shop.NewCatalogue(sm.Catalogue()), AdminToken: os.Getenv("PRESAGE_ADMIN_TOKEN")}
	d, err := shop.Start(ctx, dcfg)
	if err != nil && !addrSet && errors.Is(err, syscall.EADDRINUSE) {
		fmt.Fprintf(stdout, "    %s is busy: serving on another port\n", dcfg.Addr)
		dcfg.Addr = "localhost:0"
		d, err = shop.Start(ctx, dcfg)
	}
	if err != nil {
		return err
	}
	printDemoURLs(stdout, d)
	select {
	case <-ctx.Done():
	case err := <-d.Done():
		if err != nil {
			d.Close(context.Background())
			return err
		}
	}
	fmt.Fprintln(stdout, "\nstopping: finishing requests in flight")
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(cctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}

// printDemoURLs says where everything is: the demo's point is to be clicked through.
func printDemoURLs(w io.Writer, d *shop.Demo) {
	fmt.Fprintf(w, "    shop         %s/  (bundle v%d of site %q)\n", d.URL, d.Version, d.Site)
	fmt.Fprintf(w, "    sync server  %s/v1/  presage.js, presage.wasm, bundle?site=%s, POST batches; also /healthz, /metrics\n", d.URL, d.Site)
	fmt.Fprintf(w, "    admin API    %s/v1/admin/  with  Authorization: Bearer %s\n", d.URL, d.AdminToken)
	fmt.Fprintf(w, "    OpenAPI      %s/v1/openapi.json\n", d.URL)
	fmt.Fprintf(w, "    try          curl -H 'Authorization: Bearer %s' '%s/v1/admin/bundles?site=%s'\n", d.AdminToken, d.URL, d.Site)
	fmt.Fprintln(w, "Ctrl-C stops.")
}
