package wasmfile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// These tests run the rewrites on a real Go module: testdata/reactor, built the way presage build
// builds the Presage module.

var reactor struct {
	sync.Once
	wasm []byte
	err  error
}

// reactorModule builds testdata/reactor once per test binary; it skips when go is not on PATH.
func reactorModule(tb testing.TB) []byte {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		tb.Skip("go is not on PATH")
	}
	reactor.Do(func() {
		dir, err := os.MkdirTemp("", "wasmfile")
		if err != nil {
			reactor.err = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "r.wasm")
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags=-s -w", "-trimpath", "-o", out, ".")
		cmd.Dir = filepath.Join("testdata", "reactor")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if msg, err := cmd.CombinedOutput(); err != nil {
			reactor.err = fmt.Errorf("building testdata/reactor: %v\n%s", err, msg)
			return
		}
		reactor.wasm, reactor.err = os.ReadFile(out)
	})
	if reactor.err != nil {
		tb.Fatal(reactor.err)
	}
	return reactor.wasm
}

// host is a wazero runtime with WASI preview 1, closed when the test ends.
type host struct {
	ctx context.Context
	rt  wazero.Runtime
}

func newHost(tb testing.TB, cfg wazero.RuntimeConfig) *host {
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	tb.Cleanup(func() { rt.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	return &host{ctx, rt}
}

// moduleConfig names no module (so instances can coexist) and runs _initialize only if init.
func moduleConfig(init bool) wazero.ModuleConfig {
	cfg := wazero.NewModuleConfig().WithName("")
	if init {
		return cfg.WithStartFunctions("_initialize")
	}
	return cfg.WithStartFunctions()
}

func (h *host) instantiate(tb testing.TB, wasm []byte, init bool) api.Module {
	tb.Helper()
	m, err := h.rt.InstantiateWithConfig(h.ctx, wasm, moduleConfig(init))
	if err != nil {
		tb.Fatalf("instantiate: %v", err)
	}
	tb.Cleanup(func() { m.Close(h.ctx) })
	return m
}

func (h *host) call(tb testing.TB, m api.Module, name string, args ...uint64) uint64 {
	tb.Helper()
	res, err := m.ExportedFunction(name).Call(h.ctx, args...)
	if err != nil || len(res) != 1 {
		tb.Fatalf("%s(%v) = %v, %v", name, args, res, err)
	}
	return res[0]
}

func memory(m api.Module) []byte {
	mem := m.Memory()
	b, _ := mem.Read(0, mem.Size())
	return slices.Clone(b)
}

// payload is a deterministic bundle stand-in with no zero bytes, and its byte sum.
func payload(n int) ([]byte, uint64) {
	p := make([]byte, n)
	var sum uint64
	for i := range p {
		p[i] = byte(1 + (i*131+7)%251)
		sum += uint64(p[i])
	}
	return p, sum
}

func TestReactorABI(t *testing.T) {
	wasm := reactorModule(t)
	funcs, err := ExportedFuncs(wasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"_initialize", "slot", "sum", "lookup", "word", "churn"} {
		if !slices.Contains(funcs, want) {
			t.Errorf("export %q missing from %q", want, funcs)
		}
	}
	imps, err := Imports(wasm)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range imps {
		if imp.Module != "wasi_snapshot_preview1" || imp.Kind != FuncKind {
			t.Errorf("unexpected import %+v", imp)
		}
	}
	if len(imps) == 0 {
		t.Error("no imports")
	}
}

// TestReactorEmbed answers whether a segment written into a Go BSS array survives the Go runtime's
// _initialize, garbage collection and heap growth. It does: Go's wasm linker emits segments only for
// rodata…data (cmd/link/internal/wasm asmb), sizes the initial memory as runtime.end + 1 MiB so all
// of BSS is inside it (writeMemorySec), and the runtime's heap starts after runtime.end
// (mem_sbrk.go); nothing clears BSS, because fresh linear memory is zero.
func TestReactorEmbed(t *testing.T) {
	orig := reactorModule(t)
	h := newHost(t, wazero.NewRuntimeConfigInterpreter())
	m := h.instantiate(t, orig, true)
	addr := uint32(h.call(t, m, "slot"))
	if got := h.call(t, m, "sum", 1<<16); got != 0 {
		t.Fatalf("slot is not zero in the original module: sum = %d", got)
	}
	pm, err := parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	mem, _ := pm.memory0()
	t.Logf("slot at %#x, initial memory %d pages (%d bytes)", addr, mem.min, mem.min*pageSize)

	data, sum := payload(50000)
	for _, tc := range []struct {
		name string
		wasm func() ([]byte, error)
	}{
		{"original", func() ([]byte, error) { return Embed(orig, addr, data) }},
		{"merged then embedded", func() ([]byte, error) {
			merged, _, err := MergeData(orig, 256)
			if err != nil {
				return nil, err
			}
			return Embed(merged, addr, data)
		}},
		{"embedded then merged", func() ([]byte, error) {
			emb, err := Embed(orig, addr, data)
			if err != nil {
				return nil, err
			}
			out, _, err := MergeData(emb, 256)
			return out, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wasm, err := tc.wasm()
			if err != nil {
				t.Fatal(err)
			}
			m := h.instantiate(t, wasm, true)
			if got := uint32(h.call(t, m, "slot")); got != addr {
				t.Fatalf("slot moved: %#x, want %#x", got, addr)
			}
			want := append(slices.Clone(data), make([]byte, 1<<16-len(data))...)
			check := func(when string) {
				t.Helper()
				if got := h.call(t, m, "sum", 1<<16); got != sum {
					t.Errorf("%s: sum = %d, want %d", when, got, sum)
				}
				if got, _ := m.Memory().Read(addr, 1<<16); !bytes.Equal(got, want) {
					t.Errorf("%s: slot contents differ from the embedded bytes", when)
				}
			}
			check("after _initialize")
			h.call(t, m, "churn")
			check("after allocation and GC")
		})
	}
	if _, err := Embed(orig, addr, make([]byte, 1<<30)); err == nil {
		t.Error("embedded 1 GiB into a module with a small initial memory")
	}
}

// TestReactorMerge checks that MergeData cuts the segment count while leaving the memory image and
// the result of every export identical.
func TestReactorMerge(t *testing.T) {
	orig := reactorModule(t)
	merged, st, err := MergeData(orig, 256)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("segments %d → %d, data bytes %d → %d, module %d → %d bytes",
		st.SegmentsBefore, st.SegmentsAfter, st.BytesBefore, st.BytesAfter, len(orig), len(merged))
	if st.SegmentsBefore < 1000 || st.SegmentsAfter > 10 {
		t.Errorf("segments %d → %d; want thousands → a handful", st.SegmentsBefore, st.SegmentsAfter)
	}
	again, st2, err := MergeData(merged, 256)
	if err != nil || !bytes.Equal(again, merged) || st2.SegmentsAfter != st.SegmentsAfter {
		t.Errorf("merging twice is not idempotent: %v", err)
	}

	sameBehaviour(t, orig, merged)
}

// sameBehaviour checks that two builds of the reactor leave the same memory image once
// instantiated, give the same result for every export call, and end with the same memory.
func sameBehaviour(t *testing.T, orig, rewritten []byte) {
	t.Helper()
	h := newHost(t, wazero.NewRuntimeConfigInterpreter())
	if !bytes.Equal(memory(h.instantiate(t, orig, false)), memory(h.instantiate(t, rewritten, false))) {
		t.Fatal("memory images differ before _initialize")
	}
	a, b := h.instantiate(t, orig, true), h.instantiate(t, rewritten, true)
	calls := [][]any{{"slot"}, {"sum", 0}, {"sum", 1 << 16}, {"churn"}}
	for i := range 1024 + 3 {
		calls = append(calls, []any{"lookup", i})
	}
	for i := range 256 + 3 {
		calls = append(calls, []any{"word", i})
	}
	for _, c := range calls {
		name, args := c[0].(string), []uint64{}
		if len(c) > 1 {
			args = append(args, uint64(c[1].(int)))
		}
		if x, y := h.call(t, a, name, args...), h.call(t, b, name, args...); x != y {
			t.Errorf("%s%v: original %d, rewritten %d", name, args, x, y)
		}
	}
	// wazero's default clock and random source are deterministic, so even the state the Go runtime
	// builds in _initialize and the calls above must match byte for byte.
	if !bytes.Equal(memory(a), memory(b)) {
		t.Error("memory differs after _initialize and the calls")
	}
}

// TestReactorElide checks that ElideStrided finds Go's function lookup table in the merged module,
// takes it out of the data, and that the module behaves exactly as before.
func TestReactorElide(t *testing.T) {
	merged, _, err := MergeData(reactorModule(t), 256)
	if err != nil {
		t.Fatal(err)
	}
	elided, st, err := ElideStrided(merged)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v; module %d → %d bytes", st, len(merged), len(elided))
	if st.Regions != 1 || st.Pieces != 1 || st.BytesElided < 100_000 || len(merged)-len(elided) < st.BytesElided-1000 {
		t.Errorf("%+v, module %d → %d bytes: want the one table, in one piece, out of the data", st, len(merged), len(elided))
	}
	sameBehaviour(t, merged, elided)
	if again, st, err := ElideStrided(elided); err != nil || st != (ElideStats{}) || !bytes.Equal(again, elided) {
		t.Errorf("eliding twice: %+v, %v; want the module unchanged", st, err)
	}
	again, _, err := MergeData(elided, 256)
	if err != nil || !bytes.Equal(again, elided) {
		t.Errorf("MergeData after ElideStrided changed the module: %v", err)
	}
}

// TestReactorSizes logs raw and brotli -q 11 sizes before and after MergeData.
func TestReactorSizes(t *testing.T) {
	if testing.Short() {
		t.Skip("brotli -q 11 is slow")
	}
	if _, err := exec.LookPath("brotli"); err != nil {
		t.Skip("brotli is not on PATH")
	}
	orig := reactorModule(t)
	merged, _, err := MergeData(orig, 256)
	if err != nil {
		t.Fatal(err)
	}
	br := func(b []byte) int {
		cmd := exec.Command("brotli", "-q", "11", "-c")
		cmd.Stdin = bytes.NewReader(b)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return len(out)
	}
	elided, _, err := ElideStrided(merged)
	if err != nil {
		t.Fatal(err)
	}
	bo, bm, be := br(orig), br(merged), br(elided)
	t.Logf("merged: raw %d → %d bytes (%+d); brotli -q 11 %d → %d bytes (%+d)",
		len(orig), len(merged), len(merged)-len(orig), bo, bm, bm-bo)
	t.Logf("then elided: raw %d bytes (%+d); brotli -q 11 %d bytes (%+d)", len(elided), len(elided)-len(merged), be, be-bm)
	if bm >= bo {
		t.Errorf("merging did not shrink the brotli size: %d → %d", bo, bm)
	}
	if be > bm {
		t.Errorf("eliding the function table grew the brotli size: %d → %d", bm, be)
	}
}

// BenchmarkInstantiate measures wazero's InstantiateModule (compiler, module precompiled) before and
// after MergeData, then ElideStrided, without and with _initialize.
func BenchmarkInstantiate(b *testing.B) {
	orig := reactorModule(b)
	merged, _, err := MergeData(orig, 256)
	if err != nil {
		b.Fatal(err)
	}
	elided, _, err := ElideStrided(merged)
	if err != nil {
		b.Fatal(err)
	}
	for _, mod := range []struct {
		name string
		wasm []byte
	}{{"original", orig}, {"merged", merged}, {"elided", elided}} {
		for _, init := range []bool{false, true} {
			name := mod.name
			if init {
				name += "+init"
			}
			b.Run(name, func(b *testing.B) {
				h := newHost(b, wazero.NewRuntimeConfigCompiler())
				compiled, err := h.rt.CompileModule(h.ctx, mod.wasm)
				if err != nil {
					b.Fatal(err)
				}
				cfg := moduleConfig(init)
				for b.Loop() {
					m, err := h.rt.InstantiateModule(h.ctx, compiled, cfg)
					if err != nil {
						b.Fatal(err)
					}
					m.Close(h.ctx)
				}
			})
		}
	}
}

func BenchmarkMergeData(b *testing.B) {
	orig := reactorModule(b)
	b.SetBytes(int64(len(orig)))
	for b.Loop() {
		if _, _, err := MergeData(orig, 256); err != nil {
			b.Fatal(err)
		}
	}
}
