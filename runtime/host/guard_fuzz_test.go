package host

import (
	"context"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzGuard: the rewriter never panics, whatever the bytes, and a module wazero compiles is
// rewritten into one wazero compiles (or refused, to fall back on wazero's checks).
func FuzzGuard(f *testing.F) {
	for _, p := range []string{"testdata/spin.wasm", "testdata/recurse.wasm", "testdata/trap.wasm", "testdata/spinsimd.wasm"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter()) // validation only: compiling to machine code is slow
	f.Cleanup(func() { rt.Close(ctx) })
	f.Fuzz(func(t *testing.T, wasm []byte) {
		g, err := guard(wasm)
		if err != nil {
			return
		}
		m, err := rt.CompileModule(ctx, wasm)
		if err != nil {
			return
		}
		m.Close(ctx)
		if m, err = rt.CompileModule(ctx, g); err != nil {
			t.Fatalf("a valid module rewritten into an invalid one: %v", err)
		}
		m.Close(ctx)
	})
}
