package conformance

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/runtime/host"
)

// rawModule is one instance of the module driven through its exports directly, without
// runtime/host: the fuzz targets need the memory (to watch its size) and calls the host never makes
// (presage_input of any size, presage_call with a length past the buffer). It is configured as
// runtime/host configures its instances: the same memory ceiling, WASI with real clocks and random.
type rawModule struct {
	mod                 api.Module
	mem                 api.Memory
	input, call, output api.Function
	ceiling             uint64       // bytes
	highWater           uint64       // largest memory size seen, bytes
	stderr              fmt.Stringer // what the module wrote to stderr, if kept
}

// errTrap marks a failure of the instance (a WebAssembly trap, the Go runtime's fatal error, a
// broken ABI), as host.ErrTrap does for runtime/host.
var errTrap = host.ErrTrap

// moduleCeilingPages is the memory ceiling of the fuzzed instances: runtime/host's default.
const moduleCeilingPages = host.DefaultMemoryLimitPages

var (
	compiledOnce sync.Once
	compiledRT   wazero.Runtime
	compiledMod  wazero.CompiledModule
	compiledErr  error
)

// compiled compiles the module once per process, in a runtime shared by every rawModule (each is
// an instance of its own, anonymous, like runtime/host's pool).
func compiled(tb testing.TB) (wazero.Runtime, wazero.CompiledModule) {
	tb.Helper()
	compiledOnce.Do(func() {
		ctx := context.Background()
		wasm, err := modbuild.Build(ctx) // not moduleBytes: a Fatal inside Once would leave it done and empty
		if err != nil {
			compiledErr = err
			return
		}
		cache, err := wazero.NewCompilationCacheWithDir(cacheDir(tb))
		if err != nil {
			compiledErr = err
			return
		}
		compiledRT = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
			WithMemoryLimitPages(moduleCeilingPages).WithCompilationCache(cache))
		if _, err := wasi_snapshot_preview1.Instantiate(ctx, compiledRT); err != nil {
			compiledErr = err
			return
		}
		compiledMod, compiledErr = compiledRT.CompileModule(ctx, wasm)
	})
	if compiledErr != nil {
		tb.Fatalf("compile the module: %v", compiledErr)
	}
	return compiledRT, compiledMod
}

// newRawModule instantiates the module; its stderr (the Go runtime's trace if it dies) goes to
// stderr, which must outlive tb when the instance does (the fuzz targets keep theirs).
func newRawModule(tb testing.TB, stderr io.Writer) *rawModule {
	tb.Helper()
	rt, cm := compiled(tb)
	cfg := wazero.NewModuleConfig().WithName("").WithStartFunctions("_initialize").
		WithSysWalltime().WithSysNanotime().WithRandSource(rand.Reader).WithStderr(stderr)
	mod, err := rt.InstantiateModule(context.Background(), cm, cfg)
	if err != nil {
		tb.Fatalf("instantiate: %v", err)
	}
	m := &rawModule{mod: mod, mem: mod.Memory(),
		input: mod.ExportedFunction("presage_input"), call: mod.ExportedFunction("presage_call"),
		output: mod.ExportedFunction("presage_output"), ceiling: moduleCeilingPages * 65536}
	m.watch()
	return m
}

func (m *rawModule) close() { m.mod.Close(context.Background()) }

// watch records the memory size and reports one past the ceiling (wazero should make that
// impossible: memory.grow fails instead, and the Go runtime dies of it).
func (m *rawModule) watch() error {
	size := uint64(m.mem.Size())
	m.highWater = max(m.highWater, size)
	if size > m.ceiling {
		return fmt.Errorf("memory is %d bytes, past the ceiling of %d", size, m.ceiling)
	}
	return nil
}

func (m *rawModule) invoke(f api.Function, params ...uint64) (uint64, error) {
	res, err := f.Call(context.Background(), params...)
	if err != nil {
		stderr := ""
		if m.stderr != nil {
			stderr = " (stderr: " + m.stderr.String() + ")"
		}
		return 0, fmt.Errorf("%w: %s: %.80w%s", errTrap, f.Definition().ExportNames()[0], err, stderr)
	}
	if err := m.watch(); err != nil {
		return 0, fmt.Errorf("%w: %w", errTrap, err)
	}
	return res[0], nil
}

// Input calls presage_input(n) and returns the buffer's address (0: refused), checking that a
// buffer it gives lies inside memory.
func (m *rawModule) Input(n int32) (uint32, error) {
	r, err := m.invoke(m.input, api.EncodeI32(n))
	if err != nil {
		return 0, err
	}
	addr := uint32(r)
	if addr != 0 && n > 0 {
		if _, ok := m.mem.Read(addr, uint32(n)); !ok {
			return 0, fmt.Errorf("%w: presage_input(%d) = %#x: the buffer is outside memory (%d bytes)", errTrap, n, addr, m.mem.Size())
		}
	}
	return addr, nil
}

// CallN calls presage_call(op, n) then presage_output, and returns a copy of the reply.
func (m *rawModule) CallN(op, n int32) ([]byte, error) {
	r, err := m.invoke(m.call, api.EncodeI32(op), api.EncodeI32(n))
	if err != nil {
		return nil, err
	}
	length := int32(uint32(r))
	if length < 0 {
		return nil, fmt.Errorf("%w: presage_call returned length %d", errTrap, length)
	}
	r, err = m.invoke(m.output)
	if err != nil {
		return nil, err
	}
	reply, ok := m.mem.Read(uint32(r), uint32(length))
	if !ok || (r == 0 && length > 0) {
		return nil, fmt.Errorf("%w: reply [%#x, +%d) is outside memory", errTrap, r, length)
	}
	return append([]byte(nil), reply...), nil
}

// Call runs op on req as a host does: input buffer, copy, call, output.
func (m *rawModule) Call(op wire.Op, req []byte) ([]byte, error) {
	if len(req) > 16<<20 {
		return nil, &wire.Error{Code: wire.CodeTooLarge, Message: "conformance: request over 16 MiB"}
	}
	addr, err := m.Input(int32(len(req)))
	if err != nil {
		return nil, err
	}
	if addr == 0 {
		return nil, fmt.Errorf("%w: presage_input(%d) refused a request within its limit", errTrap, len(req))
	}
	if !m.mem.Write(addr, req) {
		return nil, fmt.Errorf("%w: input buffer outside memory", errTrap)
	}
	return m.CallN(int32(op), int32(len(req)))
}
