package modbuild

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/internal/wasmfile"
	"github.com/presage-dev/presage/models/signing"
)

// ErrTooLarge is returned by Embed when a bundle does not fit the module's embedded slot.
var ErrTooLarge = errors.New("modbuild: bundle too large to embed")

// BuildResult is a module with a bundle compiled in.
type BuildResult struct {
	Module []byte
	Info   wire.BundleInfo
	Stats  wasmfile.Stats
}

// Embed verifies the envelope, merges the generic module's data segments and writes the envelope into
// the module's embedded-bundle slot; then it instantiates the result and checks that it serves the
// bundle. No Go toolchain is needed: see RATIONALE.md, "Why is the bundle compiled in by patching a data segment".
func Embed(ctx context.Context, base, envelope []byte, pub ed25519.PublicKey) (*BuildResult, error) {
	b, err := signing.Verify(envelope, pub)
	if err != nil {
		return nil, fmt.Errorf("modbuild: bundle: %w", err)
	}
	if err := checkImports(base); err != nil {
		return nil, err
	}
	merged, stats, err := wasmfile.MergeData(base, 256)
	if err != nil {
		return nil, fmt.Errorf("modbuild: merge data segments: %w", err)
	}
	addr, capacity, err := probeSlot(ctx, merged)
	if err != nil {
		return nil, err
	}
	if need := 8 + len(envelope); need > int(capacity) {
		return nil, fmt.Errorf("%w: bundle is %d bytes, the module's slot holds %d: load it at run time (OpLoadBundle) instead", ErrTooLarge, len(envelope), capacity-8)
	}
	slot := make([]byte, 8+len(envelope))
	copy(slot, "PSGB")
	binary.LittleEndian.PutUint32(slot[4:], uint32(len(envelope)))
	copy(slot[8:], envelope)
	mod, err := wasmfile.Embed(merged, addr, slot)
	if err != nil {
		return nil, fmt.Errorf("modbuild: embed bundle: %w", err)
	}
	info, err := Info(ctx, mod)
	if err != nil {
		return nil, fmt.Errorf("modbuild: the built module does not serve the bundle: %w", err)
	}
	if info.Version != b.Version {
		return nil, fmt.Errorf("modbuild: the built module serves bundle v%d, want v%d", info.Version, b.Version)
	}
	stats.SegmentsAfter++ // the bundle's own segment
	return &BuildResult{Module: mod, Info: *info, Stats: stats}, nil
}

// checkImports refuses a module that needs anything but WASI preview 1: it would not run in browsers.
func checkImports(mod []byte) error {
	imps, err := wasmfile.Imports(mod)
	if err != nil {
		return fmt.Errorf("modbuild: module: %w", err)
	}
	for _, im := range imps {
		if im.Module != "wasi_snapshot_preview1" {
			return fmt.Errorf("modbuild: module imports %s.%s: only wasi_snapshot_preview1 is allowed", im.Module, im.Name)
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

// Info asks a module which bundle it serves (OpInfo).
func Info(ctx context.Context, mod []byte) (*wire.BundleInfo, error) {
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
