package cborx_test

import (
	"bytes"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
)

// codec is what cborgen generates.
type codec interface {
	minicbor.Marshaler
	minicbor.Unmarshaler
}

// gen fills values with pseudo-random contents that stress the encoders: edge integers, special
// floats (±0, ±Inf, quiet NaNs with payloads, subnormals), multi-byte UTF-8, nil versus empty
// slices, nil pointers.
type gen struct{ r *rand.Rand }

func (g *gen) fill(v reflect.Value) {
	r := g.r
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		var x int64
		switch r.IntN(6) {
		case 0:
		case 1:
			x = int64(r.IntN(61)) - 30
		case 2:
			x = -1 << (bits - 1)
		case 3:
			x = 1<<(bits-1) - 1
		default:
			x = int64(r.Uint64()) >> (64 - r.IntN(bits) - 1) // random magnitude, either sign
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := v.Type().Bits()
		var x uint64
		switch r.IntN(5) {
		case 0:
		case 1:
			x = uint64(r.IntN(30))
		case 2:
			x = math.MaxUint64 >> (64 - bits)
		default:
			x = r.Uint64() >> (64 - r.IntN(bits) - 1)
		}
		v.SetUint(x)
	case reflect.Float32:
		specials := []float32{0, float32(math.Copysign(0, -1)), 1, 0.1, -2.5, math.MaxFloat32,
			math.SmallestNonzeroFloat32, float32(math.Inf(1)), float32(math.Inf(-1)),
			math.Float32frombits(0x7fc00000), math.Float32frombits(0xffc12345)}
		f := specials[r.IntN(len(specials))]
		if r.IntN(2) == 0 {
			f = math.Float32frombits(r.Uint32())
			if f != f {
				f = math.Float32frombits(math.Float32bits(f) | 0x400000) // decoders quiet single NaNs
			}
		}
		v.SetFloat(float64(f))
	case reflect.Float64:
		specials := []float64{0, math.Copysign(0, -1), 1, 0.1, 1e300, -123.456, math.MaxFloat64,
			math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.Float64frombits(0x7ff8000000000000),
			math.Float64frombits(0x7ff0000000000001)} // a signalling NaN: doubles keep their bits
		f := specials[r.IntN(len(specials))]
		if r.IntN(2) == 0 {
			f = math.Float64frombits(r.Uint64())
		}
		v.SetFloat(f)
	case reflect.String:
		runes := []rune("abcxyz 0189_-éü水𐅑\u2028\x00")
		n := r.IntN(9)
		var b strings.Builder
		for range n {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		v.SetString(b.String())
	case reflect.Slice:
		switch r.IntN(8) {
		case 0, 1:
			v.SetZero() // nil
		case 2:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0)) // empty, not nil
		default:
			n := 1 + r.IntN(4)
			if v.Type().Elem().Kind() == reflect.Uint8 {
				n = r.IntN(40)
			}
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				g.fill(s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Pointer:
		if r.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		g.fill(p.Elem())
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				g.fill(v.Field(i))
			}
		}
	default:
		panic("gen: unexpected kind " + v.Kind().String())
	}
}

// equal compares decoded values: nil and empty slices are equal, floats compare by value (so -0
// equals 0, which omitempty drops) or, for NaNs, by bits.
func equal(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || x != x && y != y && math.Float64bits(x) == math.Float64bits(y)
	case reflect.String:
		return a.String() == b.String()
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return equal(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() && !equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	panic("equal: unexpected kind " + a.Kind().String())
}

func equalValues(a, b any) bool { return equal(reflect.ValueOf(a), reflect.ValueOf(b)) }

// checkSame encodes v with both encoders, then decodes the bytes with both decoders.
func checkSame[T any, P interface {
	*T
	codec
}](t *testing.T, v *T, lim minicbor.Limits) {
	t.Helper()
	mb := minicbor.Marshal(nil, P(v))
	fb, err := cborx.EncMode.Marshal(v)
	if err != nil {
		t.Fatalf("fxamacker Marshal: %v", err)
	}
	if !bytes.Equal(mb, fb) {
		t.Fatalf("encodings differ for %+v\nminicbor   %x\nfxamacker  %x", *v, mb, fb)
	}
	var m T
	if err := minicbor.Unmarshal(mb, P(&m), lim); err != nil {
		t.Fatalf("minicbor Unmarshal(%x): %v", mb, err)
	}
	if !equalValues(v, &m) {
		t.Fatalf("minicbor round trip differs:\n got %+v\nwant %+v", m, *v)
	}
	if again := minicbor.Marshal(nil, P(&m)); !bytes.Equal(again, mb) {
		t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, mb)
	}
	var x T
	if err := cborx.DecMode.Unmarshal(mb, &x); err != nil {
		t.Fatalf("fxamacker Unmarshal(%x): %v", mb, err)
	}
	if !equalValues(v, &x) {
		t.Fatalf("fxamacker decodes differently:\n got %+v\nwant %+v", x, *v)
	}
}

func differential[T any, P interface {
	*T
	codec
}](t *testing.T, seed uint64, n int, lim minicbor.Limits) {
	g := gen{rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15))}
	for range n {
		var v T
		g.fill(reflect.ValueOf(&v).Elem())
		checkSame[T, P](t, &v, lim)
	}
}

// TestDifferential checks, for pseudo-random values of every wire and bundle type, that minicbor
// and cborx.EncMode write the same bytes and that both decoders read them back to the value.
func TestDifferential(t *testing.T) {
	const n = 3000
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Request", func(t *testing.T) { differential[wire.Request](t, 1, n, minicbor.DefaultLimits) }},
		{"Event", func(t *testing.T) { differential[wire.Event](t, 2, n, minicbor.DefaultLimits) }},
		{"Reply", func(t *testing.T) { differential[wire.Reply](t, 3, n, minicbor.DefaultLimits) }},
		{"Answer", func(t *testing.T) { differential[wire.Answer](t, 4, n, minicbor.DefaultLimits) }},
		{"Batch", func(t *testing.T) { differential[wire.Batch](t, 5, n, minicbor.DefaultLimits) }},
		{"Explanation", func(t *testing.T) { differential[wire.Explanation](t, 6, n, minicbor.DefaultLimits) }},
		{"Bundle", func(t *testing.T) { differential[models.Bundle](t, 7, n, minicbor.BundleLimits) }},
		{"Envelope", func(t *testing.T) { differential[models.Envelope](t, 8, n, minicbor.BundleLimits) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

// Hand-picked values: zero values, null for nil slices without omitempty, -0 dropped by omitempty.
func TestKnownEncodings(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		name string
		v    codec
		hex  string
	}{
		{"empty reply", &wire.Reply{}, "a0"},
		{"zero request", &wire.Request{}, "a10100"},
		{"request", &wire.Request{Now: -1, Seed: 24, Slots: []string{"a"}}, "a3012002181804816161"},
		{"nil batch id is null", &wire.Reply{Batch: &wire.Batch{}}, "a105a101f6"},
		{"empty batch id", &wire.Reply{Batch: &wire.Batch{ID: []byte{}}}, "a105a10140"},
		{"-0 omitted", &wire.Event{Type: wire.EventPurchase, Value: negZero}, "a10108"},
		{"float32 stays 4 bytes", &wire.Score{Model: "m", Value: 1}, "a201616d02fa3f800000"},
		{"float64 stays 8 bytes", &wire.Event{Type: 1, Value: 1}, "a2010106fb3ff0000000000000"},
		{"NaN keeps its width", &wire.Score{Value: float32(math.NaN())}, "a2016002fa7fc00000"},
		{"nil variants are null", &models.Campaign{}, "a3016002600 5f6"},
		{"error reply", &wire.Reply{Err: &wire.Error{Code: wire.CodeBadRequest, Message: "x"}}, "a101a201010261 78"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := strings.ReplaceAll(tc.hex, " ", "")
			if got := hex.EncodeToString(minicbor.Marshal(nil, tc.v)); got != want {
				t.Errorf("minicbor = %s, want %s", got, want)
			}
			fb, err := cborx.EncMode.Marshal(tc.v)
			if got := hex.EncodeToString(fb); err != nil || got != want {
				t.Errorf("fxamacker = %s, %v; want %s", got, err, want)
			}
		})
	}
}

// Every half-precision value, and single/double NaN payloads, decode to the same bits in both
// decoders (minicbor reimplements x448/float16's conversion and the hardware's NaN widening).
func TestFloatBitsAgree(t *testing.T) {
	check := func(t *testing.T, item []byte) {
		t.Helper()
		var d minicbor.Decoder
		d.Reset(item, minicbor.DefaultLimits)
		m64 := d.Float64()
		if d.Finish() == nil {
			var f float64
			if err := cborx.DecMode.Unmarshal(item, &f); err != nil {
				t.Fatalf("fxamacker refuses %x as float64: %v", item, err)
			}
			if math.Float64bits(m64) != math.Float64bits(f) {
				t.Errorf("%x as float64: minicbor %#x, fxamacker %#x", item, math.Float64bits(m64), math.Float64bits(f))
			}
		} else if item[0] >= 0xf9 {
			t.Fatalf("minicbor refuses float %x as float64: %v", item, d.Err())
		}
		d.Reset(item, minicbor.DefaultLimits)
		m32 := d.Float32()
		if d.Finish() == nil {
			var f float32
			if err := cborx.DecMode.Unmarshal(item, &f); err != nil {
				t.Fatalf("fxamacker refuses %x as float32: %v", item, err)
			}
			if math.Float32bits(m32) != math.Float32bits(f) {
				t.Errorf("%x as float32: minicbor %#x, fxamacker %#x", item, math.Float32bits(m32), math.Float32bits(f))
			}
		}
	}
	t.Run("all halves", func(t *testing.T) {
		for h := range 1 << 16 {
			check(t, []byte{0xf9, byte(h >> 8), byte(h)})
		}
	})
	r := rand.New(rand.NewPCG(42, 43))
	t.Run("singles", func(t *testing.T) {
		for i := range 200000 {
			b := r.Uint32()
			if i%2 == 0 {
				b |= 0x7f800000 // NaNs and infinities
			}
			check(t, []byte{0xfa, byte(b >> 24), byte(b >> 16), byte(b >> 8), byte(b)})
		}
	})
	t.Run("doubles", func(t *testing.T) {
		for i := range 200000 {
			b := r.Uint64()
			switch i % 3 {
			case 0:
				b |= 0x7ff0000000000000
			case 1:
				b = math.Float64bits(float64(math.Float32frombits(uint32(b)))) // exact as float32
			}
			item := []byte{0xfb}
			for s := 56; s >= 0; s -= 8 {
				item = append(item, byte(b>>s))
			}
			check(t, item)
		}
	})
	t.Run("integers", func(t *testing.T) {
		for i := range 100000 {
			var e minicbor.Encoder
			x := int64(r.Uint64()) >> r.IntN(64)
			if i%2 == 0 {
				x &^= 1<<r.IntN(40) - 1 // trailing zeros: often exact
			}
			e.Int(x)
			check(t, e.Bytes())
		}
	})
}
