package minicbor

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeOne decodes data as one item with read and checks Finish.
func decodeOne[T any](data []byte, read func(*Decoder) T) (T, error) {
	var d Decoder
	d.Reset(data, DefaultLimits)
	v := read(&d)
	return v, d.Finish()
}

// RFC 8949 Appendix A: the integer vectors (both ways).
func TestRFC8949Integers(t *testing.T) {
	uints := []struct {
		v   uint64
		hex string
	}{
		{0, "00"}, {1, "01"}, {10, "0a"}, {23, "17"}, {24, "1818"}, {25, "1819"}, {100, "1864"},
		{1000, "1903e8"}, {1000000, "1a000f4240"}, {1000000000000, "1b000000e8d4a51000"},
		{18446744073709551615, "1bffffffffffffffff"},
	}
	for _, tc := range uints {
		t.Run(tc.hex, func(t *testing.T) {
			var e Encoder
			e.Uint(tc.v)
			if got := hex.EncodeToString(e.Bytes()); got != tc.hex {
				t.Errorf("Uint(%d) = %s, want %s", tc.v, got, tc.hex)
			}
			got, err := decodeOne(unhex(t, tc.hex), func(d *Decoder) uint64 { return d.Uint(math.MaxUint64) })
			if err != nil || got != tc.v {
				t.Errorf("decode = %d, %v; want %d", got, err, tc.v)
			}
		})
	}
	ints := []struct {
		v   int64
		hex string
	}{
		{0, "00"}, {1, "01"}, {10, "0a"}, {23, "17"}, {24, "1818"}, {100, "1864"}, {1000000, "1a000f4240"},
		{-1, "20"}, {-10, "29"}, {-100, "3863"}, {-1000, "3903e7"},
		{math.MinInt64, "3b7fffffffffffffff"}, {math.MaxInt64, "1b7fffffffffffffff"},
	}
	for _, tc := range ints {
		t.Run(tc.hex, func(t *testing.T) {
			var e Encoder
			e.Int(tc.v)
			if got := hex.EncodeToString(e.Bytes()); got != tc.hex {
				t.Errorf("Int(%d) = %s, want %s", tc.v, got, tc.hex)
			}
			got, err := decodeOne(unhex(t, tc.hex), func(d *Decoder) int64 { return d.Int(math.MinInt64, math.MaxInt64) })
			if err != nil || got != tc.v {
				t.Errorf("decode = %d, %v; want %d", got, err, tc.v)
			}
		})
	}
	// Outside int64: -18446744073709551616 and 18446744073709551615 as Int.
	for _, h := range []string{"3bffffffffffffffff", "1bffffffffffffffff"} {
		t.Run("range/"+h, func(t *testing.T) {
			_, err := decodeOne(unhex(t, h), func(d *Decoder) int64 { return d.Int(math.MinInt64, math.MaxInt64) })
			if !errors.Is(err, ErrRange) {
				t.Errorf("err = %v, want ErrRange", err)
			}
		})
	}
}

// RFC 8949 Appendix A: the float vectors. Decoding accepts every width; encoding never shortens,
// so only the 4- and 8-byte vectors round-trip through the encoder.
func TestRFC8949Floats(t *testing.T) {
	qNaN := math.Float64frombits(0x7ff8000000000000) // math.NaN() has payload 1
	tests := []struct {
		v       float64
		hex     string
		encode  int // 32 or 64: encode with Float32 or Float64 and expect hex; 0: decode only
		single  bool
		isNaN   bool
		f32Bits uint32 // expected Float32 bits for NaNs
	}{
		{0.0, "f90000", 0, true, false, 0},
		{math.Copysign(0, -1), "f98000", 0, true, false, 0},
		{1.0, "f93c00", 0, true, false, 0},
		{1.1, "fb3ff199999999999a", 64, false, false, 0},
		{1.5, "f93e00", 0, true, false, 0},
		{65504.0, "f97bff", 0, true, false, 0},
		{100000.0, "fa47c35000", 32, true, false, 0},
		{3.4028234663852886e+38, "fa7f7fffff", 32, true, false, 0},
		{1.0e+300, "fb7e37e43c8800759c", 64, false, false, 0},
		{5.960464477539063e-8, "f90001", 0, true, false, 0},
		{0.00006103515625, "f90400", 0, true, false, 0},
		{-4.0, "f9c400", 0, true, false, 0},
		{-4.1, "fbc010666666666666", 64, false, false, 0},
		{math.Inf(1), "f97c00", 0, true, false, 0},
		{qNaN, "f97e00", 0, true, true, 0x7fc00000},
		{math.Inf(-1), "f9fc00", 0, true, false, 0},
		{math.Inf(1), "fa7f800000", 32, true, false, 0},
		{qNaN, "fa7fc00000", 32, true, true, 0x7fc00000},
		{math.Inf(-1), "faff800000", 32, true, false, 0},
		{math.Inf(1), "fb7ff0000000000000", 64, true, false, 0},
		{qNaN, "fb7ff8000000000000", 64, true, true, 0x7fc00000},
		{math.Inf(-1), "fbfff0000000000000", 64, true, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.hex, func(t *testing.T) {
			data := unhex(t, tc.hex)
			f64, err := decodeOne(data, (*Decoder).Float64)
			switch {
			case err != nil:
				t.Fatalf("Float64: %v", err)
			case tc.isNaN && !math.IsNaN(f64), !tc.isNaN && (f64 != tc.v || math.Signbit(f64) != math.Signbit(tc.v)):
				t.Errorf("Float64 = %v, want %v", f64, tc.v)
			}
			f32, err := decodeOne(data, (*Decoder).Float32)
			switch {
			case !tc.single:
				if !errors.Is(err, ErrInexact) {
					t.Errorf("Float32 err = %v, want ErrInexact", err)
				}
			case err != nil:
				t.Errorf("Float32: %v", err)
			case tc.isNaN && math.Float32bits(f32) != tc.f32Bits, !tc.isNaN && float64(f32) != tc.v:
				t.Errorf("Float32 = %v (%#x), want %v", f32, math.Float32bits(f32), tc.v)
			}
			var e Encoder
			switch tc.encode {
			case 32:
				e.Float32(float32(tc.v))
				if tc.isNaN {
					e.Reset(nil)
					e.Float32(math.Float32frombits(tc.f32Bits))
				}
			case 64:
				e.Float64(tc.v)
			default:
				return
			}
			if got := hex.EncodeToString(e.Bytes()); got != tc.hex {
				t.Errorf("encode = %s, want %s", got, tc.hex)
			}
		})
	}
}

// RFC 8949 Appendix A: simple values, strings, arrays and maps, plus the vectors outside the
// subset (tags, undefined, other simple values, indefinite lengths), which Skip must refuse.
func TestRFC8949Items(t *testing.T) {
	tests := []struct {
		hex    string
		encode func(*Encoder)
		check  func(*Decoder) bool // reads the item and checks it; nil: only Skip
		err    ErrorKind           // expected error of Skip (0: accepted)
	}{
		{"f4", func(e *Encoder) { e.Bool(false) }, func(d *Decoder) bool { return !d.Bool() }, 0},
		{"f5", func(e *Encoder) { e.Bool(true) }, func(d *Decoder) bool { return d.Bool() }, 0},
		{"f6", (*Encoder).Null, func(d *Decoder) bool { return d.SkipNull() }, 0},
		{"f7", nil, nil, ErrSimple},
		{"f0", nil, nil, ErrSimple},
		{"f818", nil, nil, ErrSimple},
		{"f8ff", nil, nil, ErrSimple},
		{"c074323031332d30332d32315432303a30343a30305a", nil, nil, ErrTag},
		{"c11a514b67b0", nil, nil, ErrTag},
		{"d74401020304", nil, nil, ErrTag},
		{"d818456449455446", nil, nil, ErrTag},
		{"d82076687474703a2f2f7777772e6578616d706c652e636f6d", nil, nil, ErrTag},
		{"40", func(e *Encoder) { e.ByteString(nil) }, func(d *Decoder) bool { return len(d.ByteString()) == 0 }, 0},
		{"4401020304", func(e *Encoder) { e.ByteString([]byte{1, 2, 3, 4}) },
			func(d *Decoder) bool { return bytes.Equal(d.ByteString(), []byte{1, 2, 3, 4}) }, 0},
		{"60", func(e *Encoder) { e.Text("") }, func(d *Decoder) bool { return d.Text() == "" }, 0},
		{"6161", func(e *Encoder) { e.Text("a") }, func(d *Decoder) bool { return d.Text() == "a" }, 0},
		{"6449455446", func(e *Encoder) { e.Text("IETF") }, func(d *Decoder) bool { return d.Text() == "IETF" }, 0},
		{"62225c", func(e *Encoder) { e.Text("\"\\") }, func(d *Decoder) bool { return d.Text() == "\"\\" }, 0},
		{"62c3bc", func(e *Encoder) { e.Text("\u00fc") }, func(d *Decoder) bool { return d.Text() == "\u00fc" }, 0},
		{"63e6b0b4", func(e *Encoder) { e.Text("\u6c34") }, func(d *Decoder) bool { return d.Text() == "\u6c34" }, 0},
		{"64f0908591", func(e *Encoder) { e.Text("\U00010151") }, func(d *Decoder) bool { return d.Text() == "\U00010151" }, 0},
		{"80", func(e *Encoder) { e.ArrayHeader(0) }, func(d *Decoder) bool { return d.ArrayHeader() == 0 }, 0},
		{"83010203", func(e *Encoder) { e.ArrayHeader(3); e.Uint(1); e.Uint(2); e.Uint(3) }, func(d *Decoder) bool {
			return d.ArrayHeader() == 3 && d.Uint(9) == 1 && d.Uint(9) == 2 && d.Uint(9) == 3
		}, 0},
		{"8301820203820405", func(e *Encoder) {
			e.ArrayHeader(3)
			e.Uint(1)
			e.ArrayHeader(2)
			e.Uint(2)
			e.Uint(3)
			e.ArrayHeader(2)
			e.Uint(4)
			e.Uint(5)
		}, func(d *Decoder) bool {
			return d.ArrayHeader() == 3 && d.Uint(9) == 1 && d.ArrayHeader() == 2 && d.Uint(9) == 2 && d.Uint(9) == 3 &&
				d.ArrayHeader() == 2 && d.Uint(9) == 4 && d.Uint(9) == 5
		}, 0},
		{"98190102030405060708090a0b0c0d0e0f101112131415161718181819", func(e *Encoder) {
			e.ArrayHeader(25)
			for i := range 25 {
				e.Uint(uint64(i + 1))
			}
		}, func(d *Decoder) bool {
			ok := d.ArrayHeader() == 25
			for i := range 25 {
				ok = ok && d.Uint(99) == uint64(i+1)
			}
			return ok
		}, 0},
		{"a0", func(e *Encoder) { e.MapHeader(0) }, func(d *Decoder) bool { return d.MapHeader() == 0 }, 0},
		{"a201020304", func(e *Encoder) { e.MapHeader(2); e.Uint(1); e.Uint(2); e.Uint(3); e.Uint(4) }, func(d *Decoder) bool {
			var seen KeySet
			return d.MapHeader() == 2 && d.Key(&seen) == 1 && d.Uint(9) == 2 && d.Key(&seen) == 3 && d.Uint(9) == 4
		}, 0},
		{"a26161016162820203", nil, nil, 0},
		{"826161a161626163", func(e *Encoder) {
			e.ArrayHeader(2)
			e.Text("a")
			e.MapHeader(1)
			e.Text("b")
			e.Text("c")
		}, nil, 0},
		{"a56161614161626142616361436164614461656145", nil, nil, 0},
		{"5f42010243030405ff", nil, nil, ErrIndefinite},
		{"7f657374726561646d696e67ff", nil, nil, ErrIndefinite},
		{"9fff", nil, nil, ErrIndefinite},
		{"9f018202039f0405ffff", nil, nil, ErrIndefinite},
		{"83018202039f0405ff", nil, nil, ErrIndefinite},
		{"bf61610161629f0203ffff", nil, nil, ErrIndefinite},
		{"826161bf61626163ff", nil, nil, ErrIndefinite},
	}
	for _, tc := range tests {
		t.Run(tc.hex, func(t *testing.T) {
			data := unhex(t, tc.hex)
			_, err := decodeOne(data, func(d *Decoder) int { d.Skip(); return 0 })
			if tc.err == 0 && err != nil || tc.err != 0 && !errors.Is(err, tc.err) {
				t.Fatalf("Skip: err = %v, want %v", err, tc.err)
			}
			if tc.check != nil {
				ok, err := decodeOne(data, tc.check)
				if err != nil || !ok {
					t.Errorf("decode: ok %v, err %v", ok, err)
				}
			}
			if tc.encode != nil {
				var e Encoder
				tc.encode(&e)
				if got := hex.EncodeToString(e.Bytes()); got != tc.hex {
					t.Errorf("encode = %s, want %s", got, tc.hex)
				}
			}
		})
	}
}

// Every way a decoder call can fail, with the offset it reports.
func TestDecodeErrors(t *testing.T) {
	small := Limits{MaxDepth: 2, MaxArray: 3, MaxMap: 2, MaxString: 4}
	uint8R := func(d *Decoder) { d.Uint(math.MaxUint8) }
	tests := []struct {
		name string
		hex  string
		lim  Limits
		read func(*Decoder)
		kind ErrorKind
		off  int
	}{
		{"empty", "", DefaultLimits, uint8R, ErrTruncated, 0},
		{"head truncated", "19 01", DefaultLimits, uint8R, ErrTruncated, 0},
		{"reserved ai", "1c", DefaultLimits, uint8R, ErrSyntax, 0},
		{"break", "ff", DefaultLimits, (*Decoder).Skip, ErrSyntax, 0},
		{"indefinite int", "1f", DefaultLimits, uint8R, ErrSyntax, 0},
		{"indefinite array", "9f ff", DefaultLimits, func(d *Decoder) { d.ArrayHeader() }, ErrIndefinite, 0},
		{"simple 24 below 32", "f8 10", DefaultLimits, (*Decoder).Skip, ErrSimple, 0},
		{"wrong type", "61 61", DefaultLimits, uint8R, ErrType, 0},
		{"uint range", "19 0100", DefaultLimits, uint8R, ErrRange, 0},
		{"negative as uint", "20", DefaultLimits, uint8R, ErrType, 0},
		{"int below min", "38 80", DefaultLimits, func(d *Decoder) { d.Int(math.MinInt8, math.MaxInt8) }, ErrRange, 0},
		{"int above max", "18 80", DefaultLimits, func(d *Decoder) { d.Int(math.MinInt8, math.MaxInt8) }, ErrRange, 0},
		{"inexact f64 as f32", "fb 3ff199999999999a", DefaultLimits, func(d *Decoder) { d.Float32() }, ErrInexact, 0},
		{"inexact int as f32", "1a 01000001", DefaultLimits, func(d *Decoder) { d.Float32() }, ErrInexact, 0},
		{"inexact int as f64", "1b 0020000000000001", DefaultLimits, func(d *Decoder) { d.Float64() }, ErrInexact, 0},
		{"huge negative as f64", "3b 8000000000000000", DefaultLimits, func(d *Decoder) { d.Float64() }, ErrInexact, 0},
		{"bool from null", "f6", DefaultLimits, func(d *Decoder) { d.Bool() }, ErrType, 0},
		{"string truncated", "65 6162", DefaultLimits, func(d *Decoder) { d.Text() }, ErrTruncated, 0},
		{"string huge", "7b ffffffffffffffff", DefaultLimits, func(d *Decoder) { d.Text() }, ErrStringLimit, 0},
		{"string limit", "45 0102030405", small, func(d *Decoder) { d.ByteString() }, ErrStringLimit, 0},
		{"bad utf8", "62 c328", DefaultLimits, func(d *Decoder) { d.Text() }, ErrUTF8, 0},
		{"bad utf8 missed by Intern", "62 c328", DefaultLimits, func(d *Decoder) { d.Intern = noIntern; d.Text() }, ErrUTF8, 0},
		{"bytes as text with Intern", "42 6162", DefaultLimits, func(d *Decoder) { d.Intern = noIntern; d.Text() }, ErrType, 0},
		{"string truncated with Intern", "65 6162", DefaultLimits, func(d *Decoder) { d.Intern = noIntern; d.Text() }, ErrTruncated, 0},
		{"surrogate", "63 eda080", DefaultLimits, (*Decoder).Skip, ErrUTF8, 0},
		{"array huge", "9b ffffffffffffffff", DefaultLimits, func(d *Decoder) { d.ArrayHeader() }, ErrArrayLimit, 0},
		{"array longer than input", "99 ffff 00", DefaultLimits, func(d *Decoder) { d.ArrayHeader() }, ErrTruncated, 0},
		{"array limit", "84 01020304", small, (*Decoder).Skip, ErrArrayLimit, 0},
		{"map limit", "a3 010101010101", small, (*Decoder).Skip, ErrMapLimit, 0},
		{"map longer than input", "a2 0101 01", DefaultLimits, (*Decoder).Skip, ErrTruncated, 0},
		{"depth", "81 81 81 00", small, (*Decoder).Skip, ErrDepth, 2},
		{"depth of empty", "81 81 80", small, (*Decoder).Skip, ErrDepth, 2},
		{"tag in array", "82 00 c1 00", DefaultLimits, (*Decoder).Skip, ErrTag, 2},
		{"undefined nested", "a1 01 f7", DefaultLimits, (*Decoder).Skip, ErrSimple, 2},
		{"trailing", "00 00", DefaultLimits, uint8R, ErrTrailing, 1},
		{"unfinished", "82 00 00", DefaultLimits, func(d *Decoder) { d.ArrayHeader(); d.Uint(1) }, ErrUnfinished, 2},
		{"text key", "a1 6161 00", DefaultLimits, func(d *Decoder) { var s KeySet; d.MapHeader(); d.Key(&s) }, ErrKey, 1},
		{"key 64", "a1 1840 00", DefaultLimits, func(d *Decoder) { var s KeySet; d.MapHeader(); d.Key(&s) }, ErrKey, 1},
		{"negative key", "a1 20 00", DefaultLimits, func(d *Decoder) { var s KeySet; d.MapHeader(); d.Key(&s) }, ErrKey, 1},
		{"dup key", "a2 05 00 05 00", DefaultLimits, func(d *Decoder) {
			var s KeySet
			d.MapHeader()
			d.Key(&s)
			d.Skip()
			d.Key(&s)
		}, ErrDupKey, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var d Decoder
			d.Reset(unhex(t, tc.hex), tc.lim)
			tc.read(&d)
			err := d.Finish()
			var e *Error
			if !errors.As(err, &e) || e.Kind != tc.kind || e.Offset != tc.off {
				t.Fatalf("err = %v, want %v at offset %d", err, tc.kind, tc.off)
			}
			if !strings.HasPrefix(err.Error(), "minicbor: ") || !strings.Contains(err.Error(), "offset "+itoa(tc.off)) {
				t.Errorf("message %q", err)
			}
			// Sticky: later calls do nothing and keep the first error.
			off := d.Offset()
			if d.Uint(math.MaxUint64) != 0 || d.Text() != "" || d.ArrayHeader() != 0 || d.IsNull() || d.Offset() != off || d.Err() != err {
				t.Error("decoder not sticky after an error")
			}
		})
	}
}

// Integers as floats, half-precision conversions and NaN quieting.
func TestFloatConversions(t *testing.T) {
	tests := []struct {
		hex  string
		f64  uint64
		f32  uint32
		no32 bool
	}{
		{"00", 0, 0, false},
		{"1a 01000000", math.Float64bits(1 << 24), math.Float32bits(1 << 24), false},
		{"1b 7ffffffffffffc00", math.Float64bits(0x7ffffffffffffc00), 0, true}, // exact in f64, not f32
		{"3b 7fffffffffffffff", math.Float64bits(-0x1p63), math.Float32bits(-0x1p63), false},
		{"1b fffffffffffff800", math.Float64bits(0xfffffffffffff800), 0, true},
		{"f9 0001", math.Float64bits(0x1p-24), math.Float32bits(0x1p-24), false},     // smallest subnormal half
		{"f9 03ff", math.Float64bits(0x3ffp-24), math.Float32bits(0x3ffp-24), false}, // largest subnormal half
		{"f9 7c01", 0x7ff8040000000000, 0x7fc02000, false},                           // signalling half NaN, quieted
		{"fa 7f800001", 0x7ff8000020000000, 0x7fc00001, false},                       // signalling single NaN, quieted
		{"fb 7ff0000020000000", 0x7ff0000020000000, 0x7fc00001, false},               // double NaN: kept as is, quieted as a single
		{"fb 7ff0000000000001", 0x7ff0000000000001, 0x7fc00000, false},               // payload below a single's: dropped
	}
	for _, tc := range tests {
		t.Run(tc.hex, func(t *testing.T) {
			data := unhex(t, tc.hex)
			f64, err := decodeOne(data, (*Decoder).Float64)
			if err != nil || math.Float64bits(f64) != tc.f64 {
				t.Errorf("Float64 = %#x, %v; want %#x", math.Float64bits(f64), err, tc.f64)
			}
			f32, err := decodeOne(data, (*Decoder).Float32)
			if tc.no32 {
				if !errors.Is(err, ErrInexact) {
					t.Errorf("Float32 err = %v, want ErrInexact", err)
				}
			} else if err != nil || math.Float32bits(f32) != tc.f32 {
				t.Errorf("Float32 = %#x, %v; want %#x", math.Float32bits(f32), err, tc.f32)
			}
		})
	}
}

// MapStart/MapEnd must give the same bytes as MapHeader, including the 2-byte head (n ≥ 24).
func TestMapStartEnd(t *testing.T) {
	for _, n := range []int{0, 1, 23, 24, 25, 63, 255, 256} {
		t.Run(itoa(n), func(t *testing.T) {
			var a, b Encoder
			a.Reset([]byte{0xaa})
			b.Reset([]byte{0xaa})
			a.MapHeader(n)
			pos := b.MapStart()
			for i := range n {
				a.Uint(uint64(i))
				a.Text("v")
				b.Uint(uint64(i))
				b.Text("v")
			}
			b.MapEnd(pos, n)
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Errorf("MapStart/MapEnd = %x, want %x", b.Bytes(), a.Bytes())
			}
		})
	}
}

// Zero limits take the defaults; depth is capped.
func TestLimitsDefaults(t *testing.T) {
	var d Decoder
	d.Reset(nil, Limits{MaxDepth: 1000})
	if d.lim.MaxDepth != MaxDepthCap || d.lim.MaxArray != DefaultLimits.MaxArray ||
		d.lim.MaxMap != DefaultLimits.MaxMap || d.lim.MaxString != DefaultLimits.MaxString {
		t.Errorf("limits = %+v", d.lim)
	}
	deep := bytes.Repeat([]byte{0x81}, MaxDepthCap+1)
	d.Reset(append(deep, 0), Limits{MaxDepth: 1000})
	d.Skip()
	if !errors.Is(d.Finish(), ErrDepth) {
		t.Errorf("depth %d: err = %v", MaxDepthCap+1, d.Err())
	}
	d.Reset(append(deep[1:], 0), Limits{MaxDepth: 1000})
	d.Skip()
	if err := d.Finish(); err != nil {
		t.Errorf("depth %d: err = %v", MaxDepthCap, err)
	}
}

// ByteString aliases the input but cannot be appended into it.
func TestByteStringAliasClipped(t *testing.T) {
	data := []byte{0x42, 1, 2, 0x01}
	var d Decoder
	d.Reset(data, DefaultLimits)
	b := d.ByteString()
	_ = append(b, 9)
	if data[3] != 0x01 {
		t.Error("append to ByteString's result overwrote the input")
	}
}

// Decoding allocates nothing but what it returns.
func TestDecodeAllocs(t *testing.T) {
	data := unhex(t, "a4 01 1b0000018c5a2b3c4d 02 fb3ff199999999999a 03 83 f5 f4 f6 04 44 01020304")
	var d Decoder
	allocs := testing.AllocsPerRun(100, func() {
		d.Reset(data, DefaultLimits)
		var seen KeySet
		for n := d.MapHeader(); n > 0; n-- {
			switch d.Key(&seen) {
			case 1:
				d.Uint(math.MaxUint64)
			case 2:
				d.Float64()
			default:
				d.Skip()
			}
		}
		if d.Finish() != nil {
			t.Fatal(d.Err())
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per decode, want 0", allocs)
	}
}

// noIntern is an Intern hook that knows no string.
func noIntern([]byte) (string, bool) { return "", false }
