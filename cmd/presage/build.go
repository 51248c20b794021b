package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models/signing"
)

func runBuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("build", "-bundle FILE -public-key FILE [-module FILE] [-o DIR]", stderr)
	bundlePath := fl.String("bundle", "", "signed bundle to compile in (from presage train)")
	pubPath := fl.String("public-key", "", "public key that must verify the bundle")
	modulePath := fl.String("module", "", "generic module to start from (default: build ./wasm with the go command)")
	out := fl.String("o", "dist", "output folder: writes presage.wasm there")
	if err := parse(fl, args); err != nil {
		return err
	}
	if err := required(fl, "bundle", "public-key"); err != nil {
		return err
	}
	envelope, err := os.ReadFile(*bundlePath)
	if err != nil {
		return usageError{err}
	}
	pub, err := signing.LoadPublic(*pubPath)
	if err != nil {
		return usageError{err}
	}
	var base []byte
	if *modulePath != "" {
		if base, err = os.ReadFile(*modulePath); err != nil {
			return usageError{err}
		}
	} else if base, err = goBuildModule(ctx, stderr); err != nil {
		return err
	}
	res, err := modbuild.Embed(ctx, base, envelope, pub)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(*out, "presage.wasm")
	if err := writeFileAtomic(dst, res.Module, 0o644); err != nil {
		return err
	}
	s := measure(res.Module)
	fmt.Fprintf(stdout, "wrote %s: bundle v%d (%d bytes) compiled in; data segments %d → %d; %d bytes of function table written by a start function instead\n",
		dst, res.Info.Version, len(envelope), res.Stats.SegmentsBefore, res.Stats.SegmentsAfter, res.Elided.BytesElided)
	fmt.Fprintf(stdout, "size: %d raw, %d gzip, %d brotli\n", s.raw, s.gzip, s.brotli)
	return nil
}

// goBuildModule compiles ./wasm with the go command: the generic module, with no bundle inside.
// The flags come from internal/modbuild, the one place that says how the module is built.
func goBuildModule(ctx context.Context, stderr io.Writer) ([]byte, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return nil, usagef("no go command on PATH: pass -module with a prebuilt generic module")
	}
	root, err := modbuild.Root(ctx)
	if err != nil {
		return nil, usagef("not inside the presage source tree (%v): pass -module", err)
	}
	tmp, err := os.MkdirTemp("", "presage-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "presage.wasm")
	cmd := exec.CommandContext(ctx, "go", modbuild.BuildArgs(out)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), modbuild.BuildEnv()...)
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build ./wasm: %w", err)
	}
	return os.ReadFile(out)
}
