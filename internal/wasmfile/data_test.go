package wasmfile

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

// memoryImage instantiates the module in wazero's interpreter, which also validates it, and returns
// a copy of its exported memory as the data segments left it.
func memoryImage(t *testing.T, wasm []byte) []byte {
	t.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer r.Close(ctx)
	m, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithStartFunctions())
	if err != nil {
		t.Fatalf("wazero: %v", err)
	}
	mem := m.ExportedMemory("memory")
	b, _ := mem.Read(0, mem.Size())
	return slices.Clone(b)
}

type placed struct {
	addr uint32
	data string
}

// segmentsOf parses a module and lists its data segments, in section order.
func segmentsOf(t *testing.T, wasm []byte) []placed {
	t.Helper()
	m, err := parse(wasm)
	if err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	var out []placed
	for _, s := range m.segments {
		out = append(out, placed{s.addr, string(s.init)})
	}
	return out
}

func TestMergeData(t *testing.T) {
	z := func(n int) string { return strings.Repeat("\x00", n) }
	tests := []struct {
		name  string
		segs  [][]byte
		gap   int
		want  []placed
		stats Stats
	}{
		{"adjacent, gap 0", [][]byte{active(10, "ab"), active(12, "cd")}, 0,
			[]placed{{10, "abcd"}}, Stats{2, 1, 4, 4}},
		{"gap 3 > maxGap 2", [][]byte{active(10, "ab"), active(15, "cd")}, 2,
			[]placed{{10, "ab"}, {15, "cd"}}, Stats{2, 2, 4, 4}},
		{"gap 3 = maxGap 3", [][]byte{active(10, "ab"), active(15, "cd")}, 3,
			[]placed{{10, "ab" + z(3) + "cd"}}, Stats{2, 1, 4, 7}},
		{"unsorted input", [][]byte{active(301, "c"), active(100, "a"), active(200, "b")}, 99,
			[]placed{{100, "a" + z(99) + "b"}, {301, "c"}}, Stats{3, 2, 3, 102}},
		{"empty segments dropped", [][]byte{active(5, ""), active(10, "a"), active(11, ""), active(60000, "")}, 8,
			[]placed{{10, "a"}}, Stats{4, 1, 1, 1}},
		{"empty segment inside another", [][]byte{active(10, "abcd"), active(12, "")}, 0,
			[]placed{{10, "abcd"}}, Stats{2, 1, 4, 4}},
		{"no segments", nil, 256, nil, Stats{}},
		{"last byte of memory", [][]byte{active(pageSize-2, "yz"), active(0, "a")}, pageSize,
			[]placed{{0, "a" + z(pageSize-3) + "yz"}}, Stats{2, 1, 3, pageSize}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := memoryModuleWithCount(tt.segs, false)
			out, st, err := MergeData(in, tt.gap)
			if err != nil {
				t.Fatal(err)
			}
			if st != tt.stats {
				t.Errorf("stats = %+v, want %+v", st, tt.stats)
			}
			if got := segmentsOf(t, out); !slices.Equal(got, tt.want) {
				t.Errorf("segments = %q, want %q", got, tt.want)
			}
			if !slices.Equal(memoryImage(t, in), memoryImage(t, out)) {
				t.Error("merged module initialises memory differently")
			}
			// With a DataCount section, the count follows the new number of segments.
			out, _, err = MergeData(memoryModuleWithCount(tt.segs, true), tt.gap)
			if err != nil {
				t.Fatal(err)
			}
			if m, _ := parse(out); m.dataCount == nil || int(*m.dataCount) != tt.stats.SegmentsAfter {
				t.Errorf("data count not updated to %d", tt.stats.SegmentsAfter)
			}
			memoryImage(t, out) // valid for wazero
		})
	}
}

// memoryModuleWithCount is memModule, optionally with a DataCount section.
func memoryModuleWithCount(segs [][]byte, withCount bool) []byte {
	secs := []sec{memSec(1), exportMem()}
	if withCount {
		secs = append(secs, dataCount(uint32(len(segs))))
	}
	return mod(append(secs, dataSec(segs...), sec{secCustom, cat(str("trailer"), []byte("x"))})...)
}

func TestMergeDataRefuses(t *testing.T) {
	globalGet := cat([]byte{0, 0x23}, u32(0), []byte{0x0b}, str("x"))
	memoryInit := sec{secCode, vec(cat(u32(6), []byte{0, 0x41, 0, 0xfc, 0x09, 0, 0x0b}))} // data.drop 0
	tests := []struct {
		name, want string
		module     []byte
		gap        int
	}{
		{"negative gap", "wasmfile: negative maxGap -1", memModule(), -1},
		{"malformed", "wasmfile: not a WebAssembly module", []byte("nope"), 0},
		{"passive", "wasmfile: data section: segment 1: passive segments cannot be merged", memModule(active(0, "a"), passive("b")), 0},
		{"not i32.const", "wasmfile: data section: segment 1: offset expression is not i32.const",
			memModule(active(0, "a"), globalGet), 0},
		{"i32.const plus", "wasmfile: data section: segment 0: offset expression is not i32.const",
			memModule([]byte{0, 0x41, 1, 0x41, 2, 0x6a, 0x0b, 0}), 0},
		{"memory 1", "wasmfile: data section: segment 0: targets memory 1: only one memory is supported",
			memModule(cat([]byte{2, 1}, active(0, "a")[1:])), 0},
		{"outside memory", "wasmfile: data section: segment 0: [0xffff, 0x10001) lies outside the initial memory of 65536 bytes",
			memModule(active(pageSize-1, "ab")), 0},
		{"negative offset", "segment 0: [0xffffffff, 0x100000000) lies outside", memModule(active(math32, "a")), 0},
		{"overlap", "wasmfile: data section: segment 2 [0x13, 0x14) overlaps segment 0 [0x10, 0x14)",
			memModule(active(16, "abcd"), active(18, ""), active(19, "x")), 0},
		{"no memory", "wasmfile: module has no memory", mod(dataSec()), 0},
		{"memory64", "wasmfile: memory64 is not supported", mod(sec{secMemory, vec([]byte{4, 1})}), 0},
		{"too many pages", "wasmfile: memory 0: 65537 pages is more than 4 GiB", mod(sec{secMemory, vec(cat([]byte{0}, u32(65537)))}), 0},
		{"imported memory", "wasmfile: memory 0 is imported",
			mod(sec{secImport, vec(cat(str("env"), str("mem"), []byte{byte(MemoryKind), 0}, u32(1)))}, dataSec()), 0},
		{"data.drop with data count", "wasmfile: the code may refer to data segments by index",
			mod(memSec(1), dataCount(1), memoryInit, dataSec(active(0, "a"))), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st, err := MergeData(tt.module, tt.gap)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want %q", err, tt.want)
			}
			if out != nil || st != (Stats{}) {
				t.Errorf("returned a module or stats with the error")
			}
		})
	}
	// The same code without a DataCount section cannot name segments, so MergeData goes ahead.
	if _, _, err := MergeData(mod(memSec(1), sec{secCode, vec(cat(u32(4), []byte{0, 0xfc, 0x09, 0x0b}))}, dataSec()), 0); err != nil {
		t.Errorf("refused code without a DataCount section: %v", err)
	}
}

const math32 = 1<<32 - 1

func TestEmbed(t *testing.T) {
	segs := [][]byte{active(100, "abcd"), passive("p"), active(200, "xy")}
	tests := []struct {
		name   string
		module []byte
		addr   uint32
		data   string
		want   []placed // segments of the output
	}{
		{"between segments", memoryModuleWithCount(segs, true), 104, "EFGH" + strings.Repeat("i", 92),
			[]placed{{100, "abcd"}, {0, "p"}, {200, "xy"}, {104, "EFGH" + strings.Repeat("i", 92)}}},
		{"after the last", memModule(active(100, "abcd")), 202, "Z", []placed{{100, "abcd"}, {202, "Z"}}},
		{"end of memory", memModule(), pageSize - 2, "YZ", []placed{{pageSize - 2, "YZ"}}},
		{"over an empty segment", memModule(active(10, "")), 8, "1234", []placed{{10, ""}, {8, "1234"}}},
		{"no data section", mod(memSec(1), exportMem(), sec{secCustom, cat(str("trailer"), []byte("x"))}), 0, "A", []placed{{0, "A"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := slices.Clone(tt.module)
			out, err := Embed(tt.module, tt.addr, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(orig, tt.module) {
				t.Fatal("Embed modified its input")
			}
			if got := segmentsOf(t, out); !slices.Equal(got, tt.want) {
				t.Errorf("segments = %q, want %q", got, tt.want)
			}
			want := memoryImage(t, tt.module)
			copy(want[tt.addr:], tt.data)
			if !slices.Equal(memoryImage(t, out), want) {
				t.Error("memory after instantiation is not the original plus the embedded bytes")
			}
			if m, _ := parse(out); m.dataCount != nil && int(*m.dataCount) != len(tt.want) {
				t.Errorf("data count %d, want %d", *m.dataCount, len(tt.want))
			}
		})
	}
}

func TestEmbedImportedMemory(t *testing.T) {
	m := mod(sec{secImport, vec(cat(str("env"), str("mem"), []byte{byte(MemoryKind), 1}, u32(2), u32(4)))}, dataSec(active(0, "a")))
	out, err := Embed(m, 2*pageSize-1, []byte("z"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := segmentsOf(t, out), []placed{{0, "a"}, {2*pageSize - 1, "z"}}; !slices.Equal(got, want) {
		t.Errorf("segments = %q, want %q", got, want)
	}
	if _, err := Embed(m, 2*pageSize-1, []byte("zz")); err == nil || !strings.Contains(err.Error(), "outside the initial memory of 131072 bytes") {
		t.Errorf("got %v, want an error about the imported memory's initial size", err)
	}
}

func TestEmbedRefuses(t *testing.T) {
	m := memModule(active(100, "abcd"), active(200, "xy"))
	tests := []struct {
		name, want string
		module     []byte
		addr       uint32
		data       string
	}{
		{"no data", "wasmfile: embed: no data", m, 0, ""},
		{"overlap start", "wasmfile: embed: [0x62, 0x65) overlaps data segment 0 [0x64, 0x68)", m, 98, "123"},
		{"overlap end", "overlaps data segment 0", m, 103, "1"},
		{"overlap second", "overlaps data segment 1 [0xc8, 0xca)", m, 150, strings.Repeat("1", 51)},
		{"outside memory", "wasmfile: embed: [0xffff, 0x10001) lies outside the initial memory of 65536 bytes", m, pageSize - 1, "12"},
		{"address wraps", "lies outside the initial memory", m, math32, "12"},
		{"non-const segment", "wasmfile: data section: segment 0: offset expression is not i32.const",
			memModule(cat([]byte{0, 0x23}, u32(0), []byte{0x0b}, str("x"))), 0, "1"},
		{"overlapping segments", "overlaps segment 0", memModule(active(0, "ab"), active(1, "c")), 10, "1"},
		{"no memory", "wasmfile: module has no memory", mod(), 0, "1"},
		{"malformed", "wasmfile: data count section says", mod(memSec(1), dataCount(3), dataSec()), 0, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Embed(tt.module, tt.addr, []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want %q", err, tt.want)
			}
			if out != nil {
				t.Error("returned a module with the error")
			}
		})
	}
}
