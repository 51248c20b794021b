package main

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/internal/wasmfile"
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
	res, err := Build(ctx, base, envelope, pub)
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
	fmt.Fprintf(stdout, "wrote %s: bundle v%d (%d bytes) compiled in; data segments %d → %d\n",
		dst, res.Info.Version, len(envelope), res.Stats.SegmentsBefore, res.Stats.SegmentsAfter)
	fmt.Fprintf(stdout, "size: %d raw, %d gzip, %d brotli\n", s.raw, s.gzip, s.brotli)
	return nil
}

// BuildResult is a module with a bundle compiled in.
type BuildResult struct {
	Module []byte
	Info   wire.BundleInfo
	Stats  wasmfile.Stats
}

// Build verifies the envelope, merges the generic module's data segments and writes the envelope into
// the module's embedded-bundle slot; then it instantiates the result and checks that it serves the
// bundle. No Go toolchain is needed: see RATIONALE.md, "Why is the bundle compiled in by patching a data segment".
func Build(ctx context.Context, base, envelope []byte, pub ed25519.PublicKey) (*BuildResult, error) {
	b, err := signing.Verify(envelope, pub)
	if err != nil {
		return nil, usageError{fmt.Errorf("bundle: %w", err)}
	}
	if err := checkImports(base); err != nil {
		return nil, err
	}
	merged, stats, err := wasmfile.MergeData(base, 256)
	if err != nil {
		return nil, fmt.Errorf("merge data segments: %w", err)
	}
	addr, capacity, err := probeSlot(ctx, merged)
	if err != nil {
		return nil, err
	}
	if need := 8 + len(envelope); need > int(capacity) {
		return nil, usagef("bundle is %d bytes, the module's slot holds %d: load it at run time (OpLoadBundle) instead", len(envelope), capacity-8)
	}
	slot := make([]byte, 8+len(envelope))
	copy(slot, "PSGB")
	binary.LittleEndian.PutUint32(slot[4:], uint32(len(envelope)))
	copy(slot[8:], envelope)
	mod, err := wasmfile.Embed(merged, addr, slot)
	if err != nil {
		return nil, fmt.Errorf("embed bundle: %w", err)
	}
	info, err := moduleInfo(ctx, mod)
	if err != nil {
		return nil, fmt.Errorf("the built module does not serve the bundle: %w", err)
	}
	if info.Version != b.Version {
		return nil, fmt.Errorf("the built module serves bundle v%d, want v%d", info.Version, b.Version)
	}
	stats.SegmentsAfter++ // the bundle's own segment
	return &BuildResult{Module: mod, Info: *info, Stats: stats}, nil
}

// checkImports refuses a module that needs anything but WASI preview 1: it would not run in browsers.
func checkImports(mod []byte) error {
	imps, err := wasmfile.Imports(mod)
	if err != nil {
		return usageError{fmt.Errorf("module: %w", err)}
	}
	for _, im := range imps {
		if im.Module != "wasi_snapshot_preview1" {
			return usagef("module imports %s.%s: only wasi_snapshot_preview1 is allowed", im.Module, im.Name)
		}
	}
	return nil
}

// instance is a throw-away module instance for one or two calls.
type instance struct {
	ctx context.Context
	rt  wazero.Runtime
	mod api.Module
}

// instantiate runs a module in a throw-away wazero runtime (the interpreter: a few calls do not repay compiling).
func instantiate(ctx context.Context, mod []byte) (*instance, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	m, err := rt.InstantiateWithConfig(ctx, mod, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("instantiate module: %w", err)
	}
	return &instance{ctx, rt, m}, nil
}

func (in *instance) Close() { in.rt.Close(in.ctx) }

func (in *instance) call(name string, args ...uint64) (uint32, error) {
	f := in.mod.ExportedFunction(name)
	if f == nil {
		return 0, fmt.Errorf("module has no export %q: is it a Presage module?", name)
	}
	res, err := f.Call(in.ctx, args...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if len(res) == 0 {
		return 0, nil
	}
	return uint32(res[0]), nil
}

func probeSlot(ctx context.Context, mod []byte) (addr, capacity uint32, err error) {
	in, err := instantiate(ctx, mod)
	if err != nil {
		return 0, 0, err
	}
	defer in.Close()
	if addr, err = in.call("presage_embedded"); err != nil {
		return 0, 0, err
	}
	capacity, err = in.call("presage_embedded_cap")
	return addr, capacity, err
}

// moduleInfo asks a module which bundle it serves (OpInfo).
func moduleInfo(ctx context.Context, mod []byte) (*wire.BundleInfo, error) {
	in, err := instantiate(ctx, mod)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	n, err := in.call("presage_call", uint64(wire.OpInfo), 0)
	if err != nil {
		return nil, err
	}
	ptr, err := in.call("presage_output")
	if err != nil {
		return nil, err
	}
	data, ok := in.mod.Memory().Read(ptr, n)
	if !ok {
		return nil, errors.New("the reply lies outside the module's memory")
	}
	var reply wire.Reply
	if err := minicbor.Unmarshal(data, &reply, minicbor.DefaultLimits); err != nil {
		return nil, fmt.Errorf("reply: %w", err)
	}
	if reply.Err != nil {
		return nil, reply.Err
	}
	if reply.Info == nil {
		return nil, errors.New("reply has no bundle info")
	}
	return reply.Info, nil
}

// goBuildModule compiles ./wasm with the go command: the generic module, with no bundle inside.
func goBuildModule(ctx context.Context, stderr io.Writer) ([]byte, error) {
	if _, err := exec.LookPath("go"); err != nil {
		return nil, usagef("no go command on PATH: pass -module with a prebuilt generic module")
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "presage-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "presage.wasm")
	cmd := exec.CommandContext(ctx, "go", "build", "-buildmode=c-shared", "-trimpath", "-ldflags=-s -w", "-o", out, "./wasm")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWASM=satconv,signext")
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build ./wasm: %w", err)
	}
	return os.ReadFile(out)
}

// moduleRoot finds the Presage source tree: the current folder's module, which must be ours.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}} {{.Path}}").Output()
	if err != nil {
		return "", usagef("not inside the presage source tree (go list -m failed): pass -module")
	}
	dir, path, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if path != "github.com/presage-dev/presage" {
		return "", usagef("the current module is %s, not github.com/presage-dev/presage: pass -module", path)
	}
	return dir, nil
}
