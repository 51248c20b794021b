package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
)

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "propensity" {
		return runTrainPropensity(ctx, args[1:], stdout, stderr) // propensity.go
	}
	if len(args) > 0 && args[0] == "uplift" {
		return runTrainUplift(ctx, args[1:], stdout, stderr) // uplift.go
	}
	if len(args) == 0 || args[0] != "simulated" {
		return usagef("usage: presage train simulated -key FILE -o FILE [flags], presage train propensity -data FILE.csv -label COLUMN -key FILE -o FILE [flags], " +
			"or presage train uplift -data FILE.csv -treatment COLUMN -treated VALUE -outcome COLUMN -o FILE [flags]")
	}
	fl := newFlags("train simulated", "-key FILE -o FILE [flags]", stderr)
	keyPath := fl.String("key", "", "private key that signs the bundle (presage keygen)")
	out := fl.String("o", "", "where to write the signed bundle")
	var cfg demo.Config
	fl.Uint64Var(&cfg.Seed, "seed", 1, "simulation seed")
	fl.IntVar(&cfg.Visitors, "visitors", 20000, "simulated visitors to train on")
	fl.IntVar(&cfg.Items, "items", 300, "catalogue items")
	fl.IntVar(&cfg.Categories, "categories", 20, "catalogue categories")
	fl.IntVar(&cfg.Neighbours, "neighbours", 20, "neighbours kept per item")
	fl.IntVar(&cfg.Rank, "rank", 0, "appetence rank (0: a fifth of the categories, 2 to 32)")
	fl.Uint64Var(&cfg.Version, "version", 0, "bundle version (0: the creation time)")
	if err := parse(fl, args[1:]); err != nil {
		return err
	}
	if err := required(fl, "key", "o"); err != nil {
		return err
	}
	key, err := signing.LoadPrivate(*keyPath)
	if err != nil {
		return usageError{err}
	}
	b, env, rep, err := trainSigned(ctx, cfg, key, *out, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: bundle v%d, %d bytes, %d items, %d categories, trained in %s\n",
		*out, b.Version, len(env), len(b.Items), len(b.Categories), rep.Elapsed.Round(1e7))
	printReport(stdout, rep)
	return nil
}

// trainSigned trains on simulated traffic with a progress bar on stderr, signs the bundle with key and
// writes the envelope to out (creating its folder).
func trainSigned(ctx context.Context, cfg demo.Config, key ed25519.PrivateKey, out string, stderr io.Writer) (*models.Bundle, []byte, *demo.Report, error) {
	bar := newProgress(stderr)
	cfg.Progress = bar.Update
	b, rep, err := demo.Train(ctx, cfg)
	bar.Done()
	if err != nil {
		return nil, nil, nil, err
	}
	env := signing.Sign(b, key)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, nil, nil, err
	}
	if err := writeFileAtomic(out, env, 0o644); err != nil {
		return nil, nil, nil, err
	}
	return b, env, rep, nil
}

func printReport(out io.Writer, rep *demo.Report) {
	w := out
	names := make([]string, 0, len(rep.AUC))
	for n := range rep.AUC {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "held-out quality (visitors not trained on):")
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s AUC %.3f  (%d training rows, %.1f %% positive)\n", n, rep.AUC[n], rep.Rows[n], 100*rep.BaseRate[n])
	}
	if v := rep.Value; v != nil {
		fmt.Fprintf(w, "  value model  BG/NBD r %.3f α %.3f a %.3f b %.3f; Gamma-Gamma p %.2f q %.2f γ %.2f (%d customers)\n",
			v.R, v.Alpha, v.A, v.B, v.P, v.Q, v.Gamma, rep.Customers)
		if p := v.A / (v.A + v.B); p < 1e-3 {
			fmt.Fprintf(w, "  warning: BG/NBD mean dropout probability %.1e: this history shows no churn, so P(alive) will stay near 1\n", p)
		}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(out, "  warning: %s\n", w)
	}
}
