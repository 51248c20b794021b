package host

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// TestTrapDiscardsInstance runs a module that traps in every call (testdata/trap.wat): the call fails
// with ErrTrap, the instance is discarded, and the pool replaces it.
func TestTrapDiscardsInstance(t *testing.T) {
	ctx := context.Background()
	h := testModuleHost(t, "testdata/trap.wasm", NewConfig())
	for round := range 3 {
		s, err := h.Acquire(ctx)
		if err != nil {
			t.Fatalf("round %d: acquire after a trap: %v", round, err)
		}
		if _, err := s.Info(); !errors.Is(err, ErrTrap) {
			t.Fatalf("round %d: got %v, want ErrTrap", round, err)
		}
		if _, err := s.Info(); !errors.Is(err, ErrTrap) {
			t.Fatalf("round %d: the session keeps its error: got %v", round, err)
		}
		s.Release()
		if n := h.live.Load(); n != 0 {
			t.Fatalf("round %d: %d live instances after the trap, want 0 (discarded)", round, n)
		}
	}
}

// TestOverrunDiscardsInstance runs a module whose calls never return (testdata/spin.wat): the call
// timeout interrupts the call with ErrDeadline, the session keeps that error, and the instance is
// discarded. A module that cannot finish makes the test independent of how fast the machine is.
func TestOverrunDiscardsInstance(t *testing.T) {
	ctx := context.Background()
	h := testModuleHost(t, "testdata/spin.wasm", NewConfig().WithCallTimeout(20*time.Millisecond))
	for round := range 2 {
		s, err := h.Acquire(ctx)
		if err != nil {
			t.Fatalf("round %d: acquire after an overrun: %v", round, err)
		}
		_, err = s.Info()
		if !errors.Is(err, ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("round %d: got %v, want ErrDeadline", round, err)
		}
		if !strings.HasPrefix(err.Error(), "host: ") {
			t.Errorf("error %q does not start with \"host: \"", err)
		}
		if _, err := s.Info(); !errors.Is(err, ErrDeadline) {
			t.Errorf("round %d: later call on the lost session: %v, want the same error", round, err)
		}
		s.Release()
		if n := h.live.Load(); n != 0 {
			t.Fatalf("round %d: %d live instances after the overrun, want 0 (discarded)", round, n)
		}
	}
}

// testModuleHost starts a host of one instance on a hand-written test module.
func testModuleHost(t *testing.T, path string, cfg Config) *Host {
	t.Helper()
	wasm, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(context.Background(), wasm, cfg.WithPoolSize(1).WithCompilationCacheDir(""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}
