package wasmfile

import (
	"math"
	"strings"
	"testing"
)

func TestULEB(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		bits uint
		want uint64
		err  string
	}{
		{"zero", []byte{0}, 32, 0, ""},
		{"624485", []byte{0xe5, 0x8e, 0x26}, 32, 624485, ""},
		{"over-long zero is allowed", []byte{0x80, 0x80, 0x00}, 32, 0, ""},
		{"max u32", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 32, math.MaxUint32, ""},
		{"u32 bit 32 set", []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, 32, 0, "LEB128 overflows u32 at offset 0x4"},
		{"u32 six bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 32, 0, "LEB128 overflows u32"},
		{"truncated", []byte{0x80}, 32, 0, "unexpected end at offset 0x1"},
		{"max u64", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 64, math.MaxUint64, ""},
		{"u64 bit 64 set", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03}, 64, 0, "LEB128 overflows u64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &decoder{buf: tt.in}
			got := d.uleb(tt.bits)
			checkLEB(t, d, got == tt.want, tt.err, got)
		})
	}
}

func TestSLEB(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		bits uint
		want int64
		err  string
	}{
		{"zero", []byte{0}, 32, 0, ""},
		{"-1", []byte{0x7f}, 32, -1, ""},
		{"-123456", []byte{0xc0, 0xbb, 0x78}, 32, -123456, ""},
		{"63", []byte{0x3f}, 32, 63, ""},
		{"64 needs two bytes", []byte{0xc0, 0x00}, 32, 64, ""},
		{"max s32", []byte{0xff, 0xff, 0xff, 0xff, 0x07}, 32, math.MaxInt32, ""},
		{"min s32", []byte{0x80, 0x80, 0x80, 0x80, 0x78}, 32, math.MinInt32, ""},
		{"over-long -1", []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, 32, -1, ""},
		{"s32 too big", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, 32, 0, "LEB128 overflows s32"},
		{"s32 bad sign bits", []byte{0x80, 0x80, 0x80, 0x80, 0x70}, 32, 0, "LEB128 overflows s32"},
		{"s32 continuation", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 32, 0, "LEB128 overflows s32"},
		{"min s64", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, 64, math.MinInt64, ""},
		{"s64 too big", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 64, 0, "LEB128 overflows s64"},
		{"truncated", []byte{0xff}, 32, 0, "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &decoder{buf: tt.in}
			got := d.sleb(tt.bits)
			checkLEB(t, d, got == tt.want, tt.err, got)
		})
	}
}

func checkLEB(t *testing.T, d *decoder, ok bool, wantErr string, got any) {
	t.Helper()
	if wantErr != "" {
		if d.err == nil || !strings.Contains(d.err.Error(), wantErr) {
			t.Fatalf("got %v, error %v; want error %q", got, d.err, wantErr)
		}
		return
	}
	if d.err != nil || !ok || !d.done() {
		t.Fatalf("got %v, error %v, %d bytes left", got, d.err, len(d.buf)-d.pos)
	}
}

func TestLEBRoundTrip(t *testing.T) {
	for _, v := range []uint32{0, 1, 63, 64, 127, 128, 0x3fff, 0x4000, 1 << 31, math.MaxUint32} {
		d := &decoder{buf: appendU32(nil, v)}
		if got := d.u32(); got != v || !d.done() || d.err != nil {
			t.Errorf("u32 %d: got %d, %v", v, got, d.err)
		}
		s := int32(v)
		d = &decoder{buf: appendS32(nil, s)}
		if got := int32(d.sleb(32)); got != s || !d.done() || d.err != nil {
			t.Errorf("s32 %d: got %d, %v", s, got, d.err)
		}
	}
}
