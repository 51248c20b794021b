package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/internal/wasmfile"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("inspect", "[-public-key FILE] FILE", stderr)
	pubPath := fl.String("public-key", "", "also verify a bundle's signature with this key")
	if err := parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		return usagef("name one bundle or module")
	}
	data, err := os.ReadFile(fl.Arg(0))
	if err != nil {
		return usageError{err}
	}
	if bytes.HasPrefix(data, []byte("\x00asm")) {
		return inspectModule(ctx, stdout, data)
	}
	var b *models.Bundle
	if *pubPath != "" {
		pub, err := signing.LoadPublic(*pubPath)
		if err != nil {
			return usageError{err}
		}
		if b, err = signing.Verify(data, pub); err != nil {
			return usageError{err}
		}
		fmt.Fprintf(stdout, "signature: valid (key id %x)\n", signing.KeyID(pub))
	} else {
		if b, err = models.Open(data); err != nil {
			return usageError{err}
		}
		fmt.Fprintln(stdout, "signature: not checked (pass -public-key)")
	}
	describeBundle(stdout, b, len(data))
	return nil
}

func describeBundle(w io.Writer, b *models.Bundle, size int) {
	when := func(s int64) string {
		if s == 0 {
			return "never"
		}
		return time.Unix(s, 0).UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "bundle v%d (format %d) for site %q, %d bytes\n", b.Version, b.Format, b.Site, size)
	fmt.Fprintf(w, "  created %s, expires %s\n", when(b.Created), when(b.Expires))
	fmt.Fprintf(w, "  catalogue: %d items, %d categories; %d features\n", len(b.Items), len(b.Categories), len(b.Features))
	for _, m := range b.Propensity {
		fmt.Fprintf(w, "  propensity %-14s %d features\n", m.Name, len(m.Features))
	}
	for _, m := range b.Tabular {
		fmt.Fprintf(w, "  tabular    %-14s %s (scored from request inputs)\n", m.Name, modelShape(&m)) // propensity.go
	}
	for _, m := range b.Uplift {
		fmt.Fprintf(w, "  uplift     %-14s treated arm %s; control arm %s (scored from request inputs)\n", m.Name, modelShape(&m.Treated), modelShape(&m.Control))
	}
	if n := b.Neighbours; n != nil {
		fmt.Fprintf(w, "  neighbours: top %d per item\n", n.K)
	}
	if a := b.Appetence; a != nil {
		fmt.Fprintf(w, "  appetence: rank %d over %d categories\n", a.Rank, len(b.Categories))
	}
	if v := b.Value; v != nil {
		fmt.Fprintf(w, "  value: BG/NBD r %.3f α %.3f a %.3f b %.3f; Gamma-Gamma p %.2f q %.2f γ %.2f\n", v.R, v.Alpha, v.A, v.B, v.P, v.Q, v.Gamma)
	}
	var segs []string
	for _, s := range b.Segments {
		segs = append(segs, s.Name)
	}
	fmt.Fprintf(w, "  segments: %s\n", strings.Join(segs, ", "))
	for _, c := range b.Campaigns {
		var vs []string
		for _, v := range c.Variants {
			vs = append(vs, v.ID)
		}
		fmt.Fprintf(w, "  campaign %-14s slot %-9s priority %3d holdout %4.1f %%  variants %s\n", c.ID, c.Slot, c.Priority,
			float64(c.Holdout)/100, strings.Join(vs, ", "))
	}
}

func inspectModule(ctx context.Context, w io.Writer, mod []byte) error {
	s := measure(mod)
	fmt.Fprintf(w, "module: %d bytes raw, %d gzip, %d brotli\n", s.raw, s.gzip, s.brotli)
	exps, err := wasmfile.ExportedFuncs(mod)
	if err != nil {
		return usageError{err}
	}
	imps, err := wasmfile.Imports(mod)
	if err != nil {
		return usageError{err}
	}
	var names []string
	for _, im := range imps {
		names = append(names, im.Module+"."+im.Name)
	}
	fmt.Fprintf(w, "  exports: %s\n  imports: %s\n", strings.Join(exps, ", "), strings.Join(names, ", "))
	info, err := modbuild.Info(ctx, mod)
	if err != nil {
		return err
	}
	if info.Version == 0 {
		fmt.Fprintln(w, "  no bundle compiled in")
		return nil
	}
	fmt.Fprintf(w, "  serves bundle v%d for site %q: models %s; campaigns %s\n", info.Version, info.Site,
		strings.Join(info.Models, ", "), strings.Join(info.Campaigns, ", "))
	return nil
}
