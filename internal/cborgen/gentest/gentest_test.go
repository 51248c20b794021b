package gentest

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/minicbor"
)

// fill sets v to pseudo-random contents; depth bounds the recursion through *All.
func fill(r *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		switch r.IntN(4) {
		case 0:
			v.SetInt(0)
		case 1:
			v.SetInt(-1 << (bits - 1))
		default:
			v.SetInt(int64(r.Uint64()) >> (64 - r.IntN(bits) - 1))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := v.Type().Bits()
		if r.IntN(3) == 0 {
			v.SetUint(0)
		} else {
			v.SetUint(r.Uint64() >> (64 - r.IntN(bits) - 1))
		}
	case reflect.Float32:
		f := math.Float32frombits(r.Uint32())
		if r.IntN(3) == 0 {
			f = float32(math.Copysign(0, float64(r.IntN(2)-1)))
		}
		if f != f {
			f = math.Float32frombits(math.Float32bits(f) | 0x400000)
		}
		v.SetFloat(float64(f))
	case reflect.Float64:
		f := math.Float64frombits(r.Uint64())
		if r.IntN(3) == 0 {
			f = 0
		}
		v.SetFloat(f)
	case reflect.String:
		v.SetString([]string{"", "a", "été", "水𐅑", "\x00x"}[r.IntN(5)])
	case reflect.Slice:
		switch k := r.IntN(6); {
		case k < 2:
			v.SetZero()
		case k == 2:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			n := 1 + r.IntN(5)
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(r, s.Index(i), depth)
			}
			v.Set(s)
		}
	case reflect.Pointer:
		if depth <= 0 || r.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(r, p.Elem(), depth-1)
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && v.Type().Field(i).Name != "Skipped" {
				fill(r, v.Field(i), depth)
			}
		}
	}
}

// equal compares values with nil and empty slices equal and floats by value (NaNs by bits).
func equal(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || x != x && math.Float64bits(x) == math.Float64bits(y)
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
	return a.Interface() == b.Interface()
}

// TestDifferential: for random values of every supported shape, minicbor (through the generated
// code) and cborx.EncMode write the same bytes, and both decoders read them back to the value.
func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	var reused All // decoded into with Reuse, value after value: it holds the memory of the last
	var d minicbor.Decoder
	for i := range 3000 {
		var v All
		fill(r, reflect.ValueOf(&v).Elem(), 2)
		mb := minicbor.Marshal(nil, &v)
		fb, err := cborx.EncMode.Marshal(&v)
		if err != nil || !bytes.Equal(mb, fb) {
			t.Fatalf("value %d: encodings differ (%v)\nminicbor  %x\nfxamacker %x", i, err, mb, fb)
		}
		var m, x All
		if err := minicbor.Unmarshal(mb, &m, minicbor.DefaultLimits); err != nil {
			t.Fatalf("value %d: minicbor: %v", i, err)
		}
		if err := cborx.DecMode.Unmarshal(mb, &x); err != nil {
			t.Fatalf("value %d: fxamacker: %v", i, err)
		}
		want := reflect.ValueOf(v)
		if !equal(want, reflect.ValueOf(m)) || !equal(want, reflect.ValueOf(x)) {
			t.Fatalf("value %d: round trip differs\nwant %+v\nmini %+v\nfx   %+v", i, v, m, x)
		}
		if again := minicbor.Marshal(nil, &m); !bytes.Equal(again, mb) {
			t.Fatalf("value %d: re-encoding differs", i)
		}
		d.Reset(mb, minicbor.DefaultLimits)
		reused.DecodeCBORReuse(&d)
		if err := d.Finish(); err != nil {
			t.Fatalf("value %d: Reuse: %v", i, err)
		}
		if again := minicbor.Marshal(nil, &reused); !bytes.Equal(again, mb) {
			t.Fatalf("value %d: decoded with Reuse over the previous value, it encodes differently\nwant %x\ngot  %x", i, mb, again)
		}
	}
}

// TestOmitEmptyStructs pins fxamacker's rule for omitempty struct values: written unless every
// field is omitempty and empty.
func TestOmitEmptyStructs(t *testing.T) {
	tests := []struct {
		name string
		v    OnlyOmit
		want string
	}{
		{"zero", OnlyOmit{}, "a0"},
		{"nested set", OnlyOmit{In: Inner{B: "x"}}, "a101a1026178"},
		{"outer set", OnlyOmit{X: -1}, "a10020"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mb := minicbor.Marshal(nil, &tc.v)
			fb, _ := cborx.EncMode.Marshal(&tc.v)
			if got := hexs(mb); got != tc.want || !bytes.Equal(mb, fb) {
				t.Errorf("minicbor %s, fxamacker %x, want %s", got, fb, tc.want)
			}
		})
	}
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
