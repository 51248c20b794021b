package host

import (
	"context"
	"errors"
	"os"
	"testing"
)

// TestTrapDiscardsInstance runs a module that traps in every call (testdata/trap.wat): the call fails
// with ErrTrap, the instance is discarded, and the pool replaces it.
func TestTrapDiscardsInstance(t *testing.T) {
	wasm, err := os.ReadFile("testdata/trap.wasm")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := New(ctx, wasm, NewConfig().WithPoolSize(1).WithCompilationCacheDir(""))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
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
