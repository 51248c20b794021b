package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

// runServe is `presage serve`: the sync server on the embedded store (a data folder) or on
// PostgreSQL, until SIGINT or SIGTERM, then a graceful shutdown that answers every batch received.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("serve", "[-addr HOST:PORT] [-data DIR | -postgres URL] [flags]", stderr)
	addr := fl.String("addr", "localhost:8080", "address to listen on")
	data := fl.String("data", "presage-data", "data folder of the embedded store (SQLite)")
	pgURL := fl.String("postgres", "", "PostgreSQL URL instead of the embedded store (or PRESAGE_POSTGRES_URL, which keeps the password out of ps)")
	origins := fl.String("origins", "", "comma-separated site origins whose pages may post batches (https://shop.example), or *")
	keyFile := fl.String("key", "", "bundle-signing private key file: trusted for uploads, and used to re-sign a rollback")
	pubFiles := fl.String("public-key", "", "comma-separated public key files trusted for uploaded bundles")
	bundleFile := fl.String("bundle", "", "signed bundle to add at start, and publish if newer than the site's current one")
	wasmFile := fl.String("wasm", "", "presage.wasm (presage build) to serve at /v1/presage.wasm, beside /v1/presage.js")
	kAnon := fl.Int64("k-anonymity", server.DefaultKAnonymity, "smallest number of batches behind a reported cell")
	maxBody := fl.Int64("max-body", server.DefaultMaxBodyBytes, "largest batch body in bytes")
	rate := fl.Float64("rate", server.DefaultRate, "batches per second per client address; negative turns rate limiting off")
	burst := fl.Int("burst", server.DefaultBurst, "burst of batches per client address")
	ipHeader := fl.String("client-ip-header", "", "header holding the client address, set by a trusted reverse proxy (e.g. X-Forwarded-For)")
	dedupDays := fl.Int("dedup-days", server.DefaultDedupDays, "retry window in days: batch ids are kept this long, older batches refused")
	maxAge := fl.Duration("bundle-max-age", server.DefaultBundleMaxAge, "Cache-Control max-age of the bundle")
	committers := fl.Int("committers", 0, "group-commit goroutines (0: 1 for SQLite, 2 for PostgreSQL)")
	logFormat := fl.String("log-format", "json", "log format: json or text")
	logLevel := fl.String("log-level", "info", "log level: debug, info, warn or error")
	grace := fl.Duration("shutdown-timeout", 30*time.Second, "how long a shutdown waits for requests in flight")
	retrainSites := fl.String("retrain-sites", "", "comma-separated sites the schedule retrains (\"\" is the default site: use -retrain-sites=,); needs -key")
	retrainEvery := fl.Duration("retrain-every", 0, "retrain a scheduled site when this long has passed since its last retraining (0: never on time)")
	retrainBatches := fl.Int64("retrain-batches", 0, "retrain a scheduled site when this many new batches arrived (0: never on volume)")
	if err := parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fl.Args(), " "))
	}
	if *pgURL == "" {
		*pgURL = os.Getenv("PRESAGE_POSTGRES_URL")
	}
	if os.Getenv("GOGC") == "" {
		// The live heap is small (tens of MB) and the garbage is per-request: collecting at 5× the
		// live heap rather than 2× costs little memory and about a tenth of the ingest CPU.
		debug.SetGCPercent(server.GCPercent)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usagef("-log-level %q: want debug, info, warn or error", *logLevel)
	}
	hopts := &slog.HandlerOptions{Level: level}
	var logger *slog.Logger
	switch *logFormat {
	case "json":
		logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	case "text":
		logger = slog.New(slog.NewTextHandler(stderr, hopts))
	default:
		return usagef("-log-format %q: want json or text", *logFormat)
	}

	cfg := server.Config{
		Origins: splitList(*origins), MaxBodyBytes: *maxBody, Rate: *rate, Burst: *burst, ClientIPHeader: *ipHeader,
		KAnonymity: *kAnon, DedupDays: int32(*dedupDays), BundleMaxAge: *maxAge, Committers: *committers, Logger: logger,
		Retrain: server.RetrainConfig{Every: *retrainEvery, MinBatches: *retrainBatches},
	}
	if *retrainSites != "" || *retrainEvery > 0 || *retrainBatches > 0 {
		cfg.Retrain.Sites = strings.Split(*retrainSites, ",")
		if *keyFile == "" {
			return usagef("retraining publishes bundles it signs: give -key")
		}
	}
	if *keyFile != "" {
		k, err := signing.LoadPrivate(*keyFile)
		if err != nil {
			return err
		}
		cfg.SigningKey = k
	}
	for _, f := range splitList(*pubFiles) {
		k, err := signing.LoadPublic(f)
		if err != nil {
			return err
		}
		cfg.TrustedKeys = append(cfg.TrustedKeys, k)
	}
	if *wasmFile != "" {
		w, err := os.ReadFile(*wasmFile)
		if err != nil {
			return fmt.Errorf("-wasm: %w", err)
		}
		cfg.Wasm = w
	}

	scfg := store.Config{Dir: *data}
	where := "sqlite in " + *data
	if *pgURL != "" {
		scfg = store.Config{PostgresURL: *pgURL}
		where = "postgres"
		if cfg.Committers == 0 {
			cfg.Committers = 2 // one group's fsync overlaps the next group's statements
		}
	}
	st, err := store.Open(ctx, scfg)
	if err != nil {
		return err
	}
	defer st.Close()

	hash, generated, err := server.InitAdminToken(ctx, st, os.Getenv("PRESAGE_ADMIN_TOKEN"))
	if err != nil {
		return err
	}
	cfg.AdminTokenHash = hash
	if generated != "" {
		fmt.Fprintf(stdout, "admin token (shown once; only its hash is stored): %s\n", generated)
	}

	srv, err := server.New(st, cfg)
	if err != nil {
		return err
	}
	if *bundleFile != "" {
		if err := addStartBundle(ctx, srv, st, *bundleFile, stdout); err != nil {
			srv.Shutdown(context.Background())
			return err
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		srv.Shutdown(context.Background())
		return fmt.Errorf("listen: %w", err)
	}
	fmt.Fprintf(stdout, "listening on http://%s (store: %s)\n", ln.Addr(), where)
	logger.Info("sync server started", "addr", ln.Addr().String(), "store", st.Backend())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		srv.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight", "timeout", grace.String())
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; serr != nil {
		err = errors.Join(err, serr)
	}
	return err
}

// addStartBundle adds the -bundle file (an identical one already stored is fine) and publishes
// it unless its site already serves this version or a newer one.
func addStartBundle(ctx context.Context, srv *server.Server, st store.Store, path string, stdout io.Writer) error {
	env, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-bundle: %w", err)
	}
	b, err := srv.AddBundle(ctx, env)
	if errors.Is(err, store.ErrExists) {
		// Already stored: fine if it is the same bytes (a restart with the same flags).
		info, ierr := bundleInfo(env)
		if ierr != nil {
			return fmt.Errorf("-bundle %s: %w", path, ierr)
		}
		old, gerr := st.Bundle(ctx, info.site, info.version)
		if gerr != nil {
			return gerr
		}
		if string(old.Envelope) != string(env) {
			return fmt.Errorf("-bundle %s: version %d of site %q is stored with other content", path, info.version, info.site)
		}
		b, err = old, nil
	}
	if err != nil {
		return fmt.Errorf("-bundle %s: %w", path, err)
	}
	cur, err := st.Current(ctx, b.Site)
	if err == nil && cur.Version >= b.Version {
		return nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, err := srv.Publish(ctx, b.Site, b.Version); err != nil {
		return fmt.Errorf("-bundle %s: publish: %w", path, err)
	}
	fmt.Fprintf(stdout, "published bundle version %d for site %q\n", b.Version, b.Site)
	return nil
}

type siteVersion struct {
	site    string
	version uint64
}

func bundleInfo(env []byte) (siteVersion, error) {
	b, err := models.Open(env)
	if err != nil {
		return siteVersion{}, err
	}
	return siteVersion{b.Site, b.Version}, nil
}
