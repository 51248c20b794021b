package wasmfile

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

// table returns n 20-byte records whose first four bytes hold val(k), little-endian.
func table(n int, val func(k int) uint32) []byte {
	b := make([]byte, n*recordSize)
	for k := range n {
		binary.LittleEndian.PutUint32(b[k*recordSize:], val(k))
	}
	return b
}

// codeModule has memory (3 pages, exported), one function and the given data segments: what
// ElideStrided needs to add a start function to.
func codeModule(extra []sec, segs ...[]byte) []byte {
	secs := []sec{
		{secType, vec([]byte{typeFunc, 0, 0})},
		{secFunction, vec(u32(0))},
		memSec(3),
		exportMem(),
	}
	secs = append(secs, extra...)
	secs = append(secs, sec{secCode, vec(cat(u32(2), []byte{0, opEnd}))}, dataSec(segs...))
	return mod(secs...)
}

func TestElideStrided(t *testing.T) {
	const n = 2 * minRecords
	rng := rand.New(rand.NewPCG(1, 2))
	random := table(n, func(int) uint32 { return rng.Uint32() })
	tests := []struct {
		name   string
		addr   uint32
		data   []byte
		pieces int // 0: nothing to elide
	}{
		{"one function per 16 records, as Go's", 8, cat([]byte("head"), table(n, func(k int) uint32 { return 1 + uint32(k/16) }), []byte("tail")), 1},
		{"first run cut short", 4, cat([]byte("head"), table(n, func(k int) uint32 { return 7 + uint32((k+11)/16) }), []byte("tail")), 1},
		{"two pieces", 0, table(n, func(k int) uint32 { return uint32(k/16) + 1000*uint32(k/minRecords) }), 2},
		{"segment at an odd address, table aligned", 6, cat([]byte("xy"), table(n, func(k int) uint32 { return uint32(k / 8) })), 1},
		{"large values", 0, table(n, func(k int) uint32 { return 0xFFFF_FF00 + uint32(k/64) }), 1},
		{"all zero", 0, table(n, func(int) uint32 { return 0 }), 1},
		{"too short", 0, table(minRecords-1, func(k int) uint32 { return uint32(k / 16) }), 0},
		{"irregular values", 0, random, 0},
		{"tails not zero", 0, bytes.Repeat([]byte{1}, n*recordSize), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := codeModule(nil, active(tc.addr, string(tc.data)))
			out, st, err := ElideStrided(in)
			if err != nil {
				t.Fatal(err)
			}
			if st.Pieces != tc.pieces {
				t.Errorf("%+v: want %d pieces", st, tc.pieces)
			}
			if tc.pieces == 0 {
				if st != (ElideStats{}) || !bytes.Equal(out, in) {
					t.Errorf("%+v: want the module unchanged", st)
				}
				return
			}
			if st.Regions != 1 || len(in)-len(out) < st.BytesElided-200 {
				t.Errorf("%+v, module %d → %d bytes: want one region out of the data", st, len(in), len(out))
			}
			if !bytes.Equal(memoryImage(t, in), memoryImage(t, out)) {
				t.Fatal("memory differs after instantiation")
			}
		})
	}
}

func TestElideStridedRefuses(t *testing.T) {
	tab := string(table(minRecords, func(k int) uint32 { return uint32(k / 16) }))
	tests := []struct {
		name, want string
		module     []byte
	}{
		{"start function", "wasmfile: the module already has a start function",
			codeModule([]sec{{secStart, u32(0)}}, active(0, tab))},
		{"no code", "wasmfile: no type section to add the start function to",
			mod(memSec(3), exportMem(), dataSec(active(0, tab)))},
		{"passive segment", "passive segments cannot be merged",
			codeModule(nil, active(0, tab), passive("x"))},
		{"function and code differ", "wasmfile: function and code sections differ in length",
			mod(sec{secType, vec([]byte{typeFunc, 0, 0})}, sec{secFunction, vec(u32(0), u32(0))}, memSec(3), exportMem(),
				sec{secCode, vec(cat(u32(2), []byte{0, opEnd}))}, dataSec(active(0, tab)))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ElideStrided(tc.module)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}
