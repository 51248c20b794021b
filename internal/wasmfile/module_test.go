package wasmfile

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// Builders for hand-made modules. They encode exactly what they are given, so tests can also make
// malformed modules.

type sec struct {
	id   byte
	body []byte
}

func mod(secs ...sec) []byte {
	b := slices.Clone(header)
	for _, s := range secs {
		b = appendSection(b, s.id, s.body)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func u32(v uint32) []byte { return appendU32(nil, v) }

func str(s string) []byte { return cat(u32(uint32(len(s))), []byte(s)) }

func vec(items ...[]byte) []byte { return cat(u32(uint32(len(items))), cat(items...)) }

// memSec declares memory 0 with the given initial pages, exported as "memory" by exportMem.
func memSec(pages uint32) sec { return sec{secMemory, vec(cat([]byte{0}, u32(pages)))} }

func exportMem() sec {
	return sec{secExport, vec(cat(str("memory"), []byte{byte(MemoryKind)}, u32(0)))}
}

func active(addr uint32, data string) []byte {
	return cat(appendActiveHeader(nil, addr, len(data)), []byte(data))
}

func passive(data string) []byte { return cat([]byte{1}, str(data)) }

func dataSec(segs ...[]byte) sec { return sec{secData, vec(segs...)} }

func dataCount(n uint32) sec { return sec{secDataCount, u32(n)} }

// memModule is the usual test module: one page of memory, exported, and the given data segments.
func memModule(segs ...[]byte) []byte { return mod(memSec(1), exportMem(), dataSec(segs...)) }

func TestParseErrors(t *testing.T) {
	globalGet := cat([]byte{0, 0x23}, u32(0), []byte{0x0b}, str("x"))
	tests := []struct {
		name, want string
		module     []byte
	}{
		{"empty", "wasmfile: not a WebAssembly module (bad magic)", nil},
		{"bad magic", "bad magic", []byte("\x00asn\x01\x00\x00\x00")},
		{"version 2", "wasmfile: unsupported binary format version 02000000", []byte("\x00asm\x02\x00\x00\x00")},
		{"unknown section", "wasmfile: unknown section id 14 at offset 0x8", mod(sec{14, nil})},
		{"section past end", "wasmfile: memory section at offset 0x8: size 5 runs past the end of the module",
			append(slices.Clone(header), secMemory, 5, 1, 0)},
		{"truncated size", "wasmfile: section header: unexpected end at offset 0xb",
			append(slices.Clone(header), secMemory, 0x80, 0x80)},
		{"size overflows u32", "wasmfile: section header: LEB128 overflows u32 at offset 0xd",
			append(slices.Clone(header), secMemory, 0xff, 0xff, 0xff, 0xff, 0x1f)},
		{"out of order", "wasmfile: type section at offset 0xd: duplicate or out of order",
			mod(memSec(1), sec{secType, vec()})},
		{"duplicate", "wasmfile: memory section at offset 0xd: duplicate or out of order", mod(memSec(1), memSec(1))},
		{"custom without name", "wasmfile: custom section: unexpected end at offset 0xa", mod(sec{secCustom, nil})},
		{"custom name not UTF-8", "wasmfile: custom section: name is not valid UTF-8", mod(sec{secCustom, []byte{1, 0xff}})},
		{"memory trailing bytes", "wasmfile: memory section: 1 trailing bytes", mod(sec{secMemory, cat(vec(cat([]byte{0}, u32(1))), []byte{0})})},
		{"memory bad limits", "wasmfile: memory section: bad limits flags 0x8", mod(sec{secMemory, vec([]byte{8, 1})})},
		{"memory count lies", "wasmfile: memory section: vector of 1000 items does not fit in 2 bytes", mod(sec{secMemory, cat(u32(1000), []byte{0, 1})})},
		{"import bad kind", "wasmfile: import section: import 0: unknown import kind 7",
			mod(sec{secImport, vec(cat(str("m"), str("n"), []byte{7}))})},
		{"import bad global", "wasmfile: import section: import 0: unsupported value type 0x1",
			mod(sec{secImport, vec(cat(str("m"), str("n"), []byte{byte(GlobalKind), 1, 0}))})},
		{"export duplicate", `wasmfile: export section: export 1: duplicate name "f"`,
			mod(sec{secExport, vec(cat(str("f"), []byte{0, 0}), cat(str("f"), []byte{0, 1}))})},
		{"export bad kind", `wasmfile: export section: export 0 ("f"): unknown kind 5`,
			mod(sec{secExport, vec(cat(str("f"), []byte{5, 0}))})},
		{"data bad flags", "wasmfile: data section: segment 0: unknown segment flags 3",
			mod(dataSec([]byte{3, 0}))},
		{"data bad expr", "wasmfile: data section: segment 1: unsupported instruction 0x20 in constant expression",
			memModule(active(0, "a"), []byte{0, 0x20, 0, 0x0b, 0})},
		{"data expr without end", "wasmfile: data section: segment 0: unexpected end",
			mod(sec{secData, cat(u32(1), []byte{0, 0x41, 0})})},
		{"data s32 overflow", "wasmfile: data section: segment 0: LEB128 overflows s32",
			mod(dataSec([]byte{0, 0x41, 0xff, 0xff, 0xff, 0xff, 0x4f, 0x0b, 0}))},
		{"data past section", "wasmfile: data section: segment 0: unexpected end",
			mod(dataSec(cat(appendActiveHeader(nil, 0, 5), []byte("ab"))))},
		{"data trailing bytes", "wasmfile: data section: 2 trailing bytes", mod(sec{secData, cat(vec(active(0, "a")), []byte{0, 0})})},
		{"data count mismatch", "wasmfile: data count section says 2 segments, data section has 1",
			mod(memSec(1), dataCount(2), dataSec(active(0, "a")))},
		{"data count without data", "wasmfile: data count section says 1 segments, data section has 0",
			mod(memSec(1), dataCount(1))},
		{"data count order", "wasmfile: data count section at offset 0x16: duplicate or out of order",
			mod(memSec(1), dataSec(active(0, "a")), dataCount(1))},
		{"valid global.get offset", "", memModule(globalGet)},
		{"valid minimal", "", slices.Clone(header)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(tt.module)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("parse: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("parse: got error %v, want %q", err, tt.want)
			case err != nil && !strings.HasPrefix(err.Error(), "wasmfile: "):
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestExportsAndImports(t *testing.T) {
	m := mod(
		sec{secCustom, cat(str("before"), []byte("anything"))},
		sec{secImport, vec(
			cat(str("wasi_snapshot_preview1"), str("fd_write"), []byte{byte(FuncKind)}, u32(0)),
			cat(str("env"), str("mem"), []byte{byte(MemoryKind), 1}, u32(2), u32(3)),
			cat(str("env"), str("tab"), []byte{byte(TableKind), 0x70, 0}, u32(1)),
			cat(str("env"), str("g"), []byte{byte(GlobalKind), 0x7f, 1}),
			cat(str("env"), str("e"), []byte{byte(TagKind), 0}, u32(0)),
		)},
		sec{secExport, vec(
			cat(str("run"), []byte{byte(FuncKind)}, u32(1)),
			cat(str("memory"), []byte{byte(MemoryKind)}, u32(0)),
			cat(str("_initialize"), []byte{byte(FuncKind)}, u32(2)),
		)},
		sec{secCustom, str("after")},
	)
	funcs, err := ExportedFuncs(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"run", "_initialize"}; !slices.Equal(funcs, want) {
		t.Errorf("ExportedFuncs = %q, want %q", funcs, want)
	}
	imps, err := Imports(m)
	if err != nil {
		t.Fatal(err)
	}
	want := []Import{{"wasi_snapshot_preview1", "fd_write", FuncKind}, {"env", "mem", MemoryKind},
		{"env", "tab", TableKind}, {"env", "g", GlobalKind}, {"env", "e", TagKind}}
	if !slices.Equal(imps, want) {
		t.Errorf("Imports = %v, want %v", imps, want)
	}
	pm, _ := parse(m)
	if l, err := pm.memory0(); err != nil || l.min != 2 || l.max != 3 || !l.hasMax {
		t.Errorf("memory0 = %+v, %v; want the imported memory's limits 2..3", l, err)
	}
	if _, err := ExportedFuncs([]byte("junk")); err == nil {
		t.Error("ExportedFuncs accepted junk")
	}
	if _, err := Imports([]byte("junk")); err == nil {
		t.Error("Imports accepted junk")
	}
}

func TestExternKindString(t *testing.T) {
	for k, want := range map[ExternKind]string{FuncKind: "func", TagKind: "tag", 9: "ExternKind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", byte(k), got, want)
		}
	}
}
