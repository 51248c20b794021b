package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

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
	if err := parse(fl, args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}

	fmt.Fprintln(stdout, "1/4 signing key")
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

	fmt.Fprintf(stdout, "2/4 training on %d simulated visitors (%d items, %d categories)\n", cfg.Visitors, cfg.Items, cfg.Categories)
	_, envelope, rep, err := trainSigned(ctx, cfg, key, filepath.Join(*dir, "bundle.cbor"), stderr)
	if err != nil {
		return err
	}
	printReport(stdout, rep)

	fmt.Fprintln(stdout, "3/4 building the module (go build ./wasm, then the bundle compiled in)")
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

	fmt.Fprintf(stdout, "4/4 %d fresh visitors through the module in wazero\n", run.Visitors)
	h, err := host.New(ctx, built.Module, host.NewConfig().WithTrustedKeys(pub).WithInterruptibleCalls(false))
	if err != nil {
		return err
	}
	defer h.Close(ctx)
	sm, err := cfg.Sim()
	if err != nil {
		return err
	}
	run.Out = stdout
	_, err = demo.Run(ctx, h, sm, run)
	return err
}
