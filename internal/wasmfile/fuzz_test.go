package wasmfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to every entry point. Nothing may panic, every error must carry
// the package prefix, and every successful rewrite must parse again, keep exports and imports, and
// initialise memory exactly as the input plus what was asked for.
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 60s ./internal/wasmfile
func FuzzParse(f *testing.F) {
	// The seed corpus is testdata/fuzz/FuzzParse, written by TestWriteFuzzSeeds.
	f.Fuzz(func(t *testing.T, b []byte) {
		in := slices.Clone(b)
		m, err := parse(b)
		funcs, ferr := ExportedFuncs(b)
		imps, ierr := Imports(b)
		if (ferr == nil) != (err == nil) || (ierr == nil) != (err == nil) {
			t.Fatalf("parse, ExportedFuncs and Imports disagree: %v / %v / %v", err, ferr, ierr)
		}
		if err != nil {
			checkErr(t, err)
			if _, _, err := MergeData(b, 16); err == nil {
				t.Fatal("MergeData accepted a module parse rejects")
			}
			if _, err := Embed(b, 0, []byte{1}); err == nil {
				t.Fatal("Embed accepted a module parse rejects")
			}
			if _, _, err := ElideStrided(b); err == nil {
				t.Fatal("ElideStrided accepted a module parse rejects")
			}
			return
		}
		fuzzMerge(t, b, m, funcs, imps)
		fuzzEmbed(t, b, m)
		fuzzElide(t, b, funcs, imps)
		if !bytes.Equal(in, b) {
			t.Fatal("input modified")
		}
	})
}

func checkErr(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "wasmfile: ") {
		t.Fatalf("error without package prefix: %v", err)
	}
}

func fuzzMerge(t *testing.T, b []byte, m *module, funcs []string, imps []Import) {
	out, st, err := MergeData(b, 16)
	if err != nil {
		checkErr(t, err)
		return
	}
	m2, err := parse(out)
	if err != nil {
		t.Fatalf("merged module does not parse: %v", err)
	}
	if st.SegmentsBefore != len(m.segments) || st.SegmentsAfter != len(m2.segments) ||
		st.SegmentsAfter > st.SegmentsBefore || st.BytesAfter < st.BytesBefore {
		t.Fatalf("inconsistent stats %+v", st)
	}
	if f2, _ := ExportedFuncs(out); !slices.Equal(funcs, f2) {
		t.Fatal("exports changed")
	}
	if i2, _ := Imports(out); !slices.Equal(imps, i2) {
		t.Fatal("imports changed")
	}
	if a, b, ok := images(m, m2); ok && !bytes.Equal(a, b) {
		t.Fatal("merged segments write different bytes")
	}
	again, _, err := MergeData(out, 16)
	if err != nil || !bytes.Equal(again, out) {
		t.Fatalf("merge is not idempotent: %v", err)
	}
}

func fuzzEmbed(t *testing.T, b []byte, m *module) {
	addr := uint32(0)
	for _, s := range m.segments {
		if !s.passive && s.constOK && s.end() < 1<<32-4 {
			addr = max(addr, uint32(s.end()))
		}
	}
	data := []byte{1, 2, 3}
	out, err := Embed(b, addr, data)
	if err != nil {
		checkErr(t, err)
		return
	}
	m2, err := parse(out)
	if err != nil {
		t.Fatalf("embedded module does not parse: %v", err)
	}
	if len(m2.segments) != len(m.segments)+1 {
		t.Fatalf("segments %d → %d", len(m.segments), len(m2.segments))
	}
	if a, b, ok := images(m, m2); ok {
		copy(a[addr:], data)
		if !bytes.Equal(a, b) {
			t.Fatal("embedding changed more than the embedded bytes")
		}
	}
	if _, err := Embed(out, addr, data); err == nil {
		t.Fatal("embedded twice at the same address")
	}
}

func fuzzElide(t *testing.T, b []byte, funcs []string, imps []Import) {
	out, st, err := ElideStrided(b)
	if err != nil {
		checkErr(t, err)
		return
	}
	if st == (ElideStats{}) {
		if !bytes.Equal(out, b) {
			t.Fatal("nothing elided, yet the module changed")
		}
		return
	}
	if _, err := parse(out); err != nil {
		t.Fatalf("elided module does not parse: %v", err)
	}
	if f2, _ := ExportedFuncs(out); !slices.Equal(funcs, f2) {
		t.Fatal("exports changed")
	}
	if i2, _ := Imports(out); !slices.Equal(imps, i2) {
		t.Fatal("imports changed")
	}
}

// images applies the active segments of two modules to zeroed memories of equal size. It reports
// false when they would be large (more than 1 MiB).
func images(ms ...*module) (a, b []byte, ok bool) {
	var n uint64
	for _, m := range ms {
		for _, s := range m.segments {
			n = max(n, s.end())
		}
	}
	if n > 1<<20 {
		return nil, nil, false
	}
	img := func(m *module) []byte {
		out := make([]byte, n)
		for _, s := range m.segments {
			if !s.passive {
				copy(out[s.addr:], s.init)
			}
		}
		return out
	}
	return img(ms[0]), img(ms[1]), true
}

// handSeeds are small modules that reach every decoder and both rewrites.
func handSeeds() [][]byte {
	return [][]byte{
		memModule(active(16, "abcd"), active(40, "efgh"), active(20, ""), active(100, "z")),
		mod(memSec(1), exportMem(), dataCount(2), dataSec(active(0, "a"), passive("p"))),
		mod(
			sec{secCustom, cat(str("go:buildid"), []byte("x"))},
			sec{secType, vec(cat([]byte{0x60}, vec([]byte{0x7f}), vec([]byte{0x7f})))},
			sec{secImport, vec(
				cat(str("wasi_snapshot_preview1"), str("fd_write"), []byte{0}, u32(0)),
				cat(str("env"), str("g"), []byte{byte(GlobalKind), 0x7f, 0}),
			)},
			sec{secFunction, vec(u32(0))},
			sec{secMemory, vec(cat([]byte{1}, u32(2), u32(10)))},
			sec{secExport, vec(cat(str("f"), []byte{0}, u32(1)), cat(str("memory"), []byte{2}, u32(0)))},
			sec{secCode, vec(cat(u32(4), []byte{0, 0x20, 0, 0x0b}))},
			dataSec(active(1024, "hello"), active(1040, "world")),
			sec{secCustom, cat(str("producers"), []byte{0})},
		),
		mod(sec{secImport, vec(cat(str("env"), str("memory"), []byte{2, 0}, u32(1)))}, dataSec(active(8, "x"))),
		memModule(active(0, "a"), cat([]byte{0, 0x23}, u32(0), []byte{0x0b}, str("g")), []byte{0, 0x41, 1, 0x41, 2, 0x6a, 0x0b, 0}),
	}
}

// liteReactor keeps the real module's sections except code, function and element (which this
// package does not decode), and only a few data segments cut to 16 bytes: a small seed with
// exactly the encodings Go emits.
func liteReactor(t *testing.T, wasm []byte) []byte {
	m, err := parse(wasm)
	if err != nil {
		t.Fatal(err)
	}
	out := slices.Clone(header)
	for _, s := range m.sections {
		switch s.id {
		case secCode, secFunction, secElement:
		case secData:
			var segs [][]byte
			for _, seg := range append(slices.Clone(m.segments[:24]), m.segments[len(m.segments)-1]) {
				segs = append(segs, cat(appendActiveHeader(nil, seg.addr, min(len(seg.init), 16)), seg.init[:min(len(seg.init), 16)]))
			}
			out = appendSection(out, secData, vec(segs...))
		default:
			out = append(out, wasm[s.hdr:s.end]...)
		}
	}
	return out
}

// TestWriteFuzzSeeds regenerates testdata/fuzz/FuzzParse when WASMFILE_WRITE_SEEDS=1.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("WASMFILE_WRITE_SEEDS") != "1" {
		t.Skip("set WASMFILE_WRITE_SEEDS=1 to regenerate the seed corpus")
	}
	seeds := map[string][]byte{"reactor-lite": liteReactor(t, reactorModule(t))}
	for i, s := range handSeeds() {
		seeds[fmt.Sprintf("hand-%d", i)] = s
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range seeds {
		if err := os.WriteFile(filepath.Join(dir, name), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
