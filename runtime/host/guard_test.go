package host

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// TestGuardStopsRecursion runs a module whose calls recurse through calls alone, with no loop
// (testdata/recurse.wat): wazero's own checks, at loop headers only, never stop it; the guard's
// checks at function entries do, within the call timeout, and the instance is discarded.
func TestGuardStopsRecursion(t *testing.T) {
	h := testModuleHost(t, "testdata/recurse.wasm", NewConfig().WithCallTimeout(20*time.Millisecond))
	if !h.guarded {
		t.Fatal("the module was not guarded")
	}
	for round := range 2 {
		s, err := h.Acquire(context.Background())
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := s.Info(); !errors.Is(err, ErrDeadline) {
			t.Fatalf("round %d: got %v, want ErrDeadline", round, err)
		}
		s.Release()
		if n := h.live.Load(); n != 0 {
			t.Fatalf("round %d: %d live instances after the overrun, want 0", round, n)
		}
	}
}

// TestGuardContextCancel stops a runaway call when the context given to Acquire is canceled, long
// before the call timeout.
func TestGuardContextCancel(t *testing.T) {
	h := testModuleHost(t, "testdata/spin.wasm", NewConfig().WithCallTimeout(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := h.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := s.Info(); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// TestGuardClose stops a runaway call when the host is closed.
func TestGuardClose(t *testing.T) {
	wasm, err := os.ReadFile("testdata/spin.wasm")
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(context.Background(), wasm, NewConfig().WithPoolSize(1).WithCompilationCacheDir("").WithCallTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Info()
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not stop the running call")
	}
	s.Release()
}

// TestGuardFallback runs a module the guard does not rewrite (no sched_yield import, and a SIMD
// instruction in its loop: testdata/spinsimd.wat): the host falls back to wazero's checks, which interrupt it all the same.
func TestGuardFallback(t *testing.T) {
	h := testModuleHost(t, "testdata/spinsimd.wasm", NewConfig().WithCallTimeout(20*time.Millisecond))
	if h.guarded {
		t.Fatal("a module with SIMD was guarded")
	}
	s, err := h.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	if _, err := s.Info(); !errors.Is(err, ErrDeadline) {
		t.Fatalf("got %v, want ErrDeadline", err)
	}
}

// TestGuardRewrite checks the rewritten modules: one check per loop and per function that calls, the flag
// exported as a mutable global, the result valid for wazero, and the Presage module's own
// rewriting stable (rewriting is deterministic, so the compilation cache keeps working).
func TestGuardRewrite(t *testing.T) {
	for _, tc := range []struct {
		path   string
		checks int // loops + functions that call
	}{{"testdata/spin.wasm", 1 + 0}, {"testdata/recurse.wasm", 0 + 2}} {
		wasm, err := os.ReadFile(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		g, err := guard(wasm)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		// global.get $count (index 2, after $booted and $stop), i32.const 1, i32.sub
		if n := bytes.Count(g, []byte{0x23, 0x02, 0x41, 0x01, 0x6b}); n != tc.checks {
			t.Errorf("%s: %d checks, want %d", tc.path, n, tc.checks)
		}
		ctx := context.Background()
		rt := wazero.NewRuntime(ctx)
		wasi_snapshot_preview1.MustInstantiate(ctx, rt)
		mod, err := rt.Instantiate(ctx, g)
		if err != nil {
			t.Fatalf("%s: the rewritten module does not instantiate: %v", tc.path, err)
		}
		if gl := mod.ExportedGlobal(guardExport); gl == nil || gl.Get() != 0 {
			t.Errorf("%s: flag %v", tc.path, gl)
		}
		rt.Close(ctx)
	}
	a, err := guard(moduleWasm)
	if err != nil {
		t.Fatalf("the Presage module: %v", err)
	}
	b, _ := guard(moduleWasm)
	if !bytes.Equal(a, b) {
		t.Error("rewriting is not deterministic")
	}
	if _, err := guard(a); !errors.Is(err, errUnguardable) {
		t.Errorf("guarding a guarded module: got %v, want errUnguardable", err)
	}
	if len(a) > len(moduleWasm)*11/10 {
		t.Errorf("rewritten module %d bytes, from %d", len(a), len(moduleWasm))
	}
}

// TestGuardRefusesUnknown checks that the rewriter refuses what it cannot walk rather than guess.
func TestGuardRefusesUnknown(t *testing.T) {
	for name, body := range map[string][]byte{
		"simd":      {0x00, 0xfd, 0x0c},       // no locals; v128.const…
		"atomics":   {0x00, 0xfe, 0x00},       // memory.atomic.notify
		"truncated": {0x00, 0x41},             // i32.const without its value
		"fc":        {0x00, 0xfc, 0x7f},       // an unknown 0xfc instruction
		"locals":    {0x05, 0x01, 0x7f, 0x0b}, // five local declarations, one given
	} {
		if _, err := guardBody(nil, body, []byte{0x01}); !errors.Is(err, errUnguardable) {
			t.Errorf("%s: got %v, want errUnguardable", name, err)
		}
	}
	if _, err := guard([]byte("\x00asm\x02\x00\x00\x00")); !errors.Is(err, errUnguardable) {
		t.Errorf("version 2: got %v", err)
	}
	trap, err := os.ReadFile("testdata/trap.wasm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := guard(trap); !errors.Is(err, errUnguardable) {
		t.Errorf("a module without sched_yield: got %v", err)
	}
}

// BenchmarkGuard is the rewriting of the Presage module, paid once per New.
func BenchmarkGuard(b *testing.B) {
	b.SetBytes(int64(len(moduleWasm)))
	for b.Loop() {
		if _, err := guard(moduleWasm); err != nil {
			b.Fatal(err)
		}
	}
}
