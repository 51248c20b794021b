package minicbor_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/minicbor"
)

// FuzzDecoderPrimitives drives the decoder with arbitrary calls on arbitrary bytes.
//   - ops is a program: each byte picks a method (and its bounds); none may panic, the offset
//     only moves forward within the input, and after the first error every call returns a zero
//     value and the error stays the same.
//   - If Skip accepts the whole input, fxamacker (cborx.DecMode) finds it well-formed.
//   - ops[0] also picks a Go type; if minicbor reads the input as one item of that type,
//     fxamacker must read it too, to the same value (floats compared by bits).
func FuzzDecoderPrimitives(f *testing.F) {
	f.Fuzz(func(t *testing.T, ops, data []byte) {
		if len(ops) > 256 {
			ops = ops[:256]
		}
		lim := minicbor.Limits{MaxDepth: 8, MaxArray: 64, MaxMap: 32, MaxString: 256}
		var d minicbor.Decoder
		d.Reset(data, lim)
		var seen minicbor.KeySet
		var firstErr error
		last := 0
		for _, op := range ops {
			zero := call(&d, op, &seen)
			if off := d.Offset(); off < last || off > len(data) {
				t.Fatalf("offset %d after %d (len %d)", off, last, len(data))
			}
			last = d.Offset()
			if firstErr != nil {
				if d.Err() != firstErr || !zero {
					t.Fatalf("op %d after error %v: err %v, zero %v", op, firstErr, d.Err(), zero)
				}
			}
			firstErr = d.Err()
		}
		if err := d.Finish(); err != nil && !errors.As(err, new(*minicbor.Error)) {
			t.Fatalf("Finish: untyped error %v", err)
		}

		d.Reset(data, minicbor.DefaultLimits)
		d.Skip()
		if d.Finish() == nil {
			if err := cborx.DecMode.Wellformed(data); err != nil {
				t.Fatalf("minicbor skips %x, fxamacker: %v", data, err)
			}
		}

		if len(ops) > 0 {
			single(t, ops[0], data)
		}
	})
}

// call runs one decoder method picked by op and reports whether it returned a zero value.
func call(d *minicbor.Decoder, op byte, seen *minicbor.KeySet) bool {
	switch op % 16 {
	case 0:
		return d.Uint(uint64(1)<<(op>>4*4)-1) == 0
	case 1:
		m := int64(1)<<(op>>4*4) - 1
		return d.Int(-m, m) == 0
	case 2:
		return d.Int(math.MinInt64, math.MaxInt64) == 0
	case 3:
		return math.Float32bits(d.Float32()) == 0
	case 4:
		return math.Float64bits(d.Float64()) == 0
	case 5:
		return !d.Bool()
	case 6:
		return d.Text() == ""
	case 7:
		return d.ByteString() == nil
	case 8:
		return d.ArrayHeader() == 0
	case 9:
		return d.MapHeader() == 0
	case 10:
		d.Skip()
		return true
	case 11:
		return !d.IsNull()
	case 12:
		return !d.SkipNull()
	case 13:
		if op>>4 == 0 {
			*seen = 0
		}
		return d.Key(seen) == -1
	case 14:
		return minicbor.DecodeBytes(d) == nil
	default:
		_ = d.Finish()
		return true
	}
}

// single decodes data as one item of the Go type picked by sel with both decoders.
func single(t *testing.T, sel byte, data []byte) {
	var d minicbor.Decoder
	d.Reset(data, minicbor.DefaultLimits)
	var m, x any
	switch sel % 9 {
	case 0:
		m, x = uint8(d.Uint(math.MaxUint8)), new(uint8)
	case 1:
		m, x = d.Uint(math.MaxUint64), new(uint64)
	case 2:
		m, x = int8(d.Int(math.MinInt8, math.MaxInt8)), new(int8)
	case 3:
		m, x = d.Int(math.MinInt64, math.MaxInt64), new(int64)
	case 4:
		m, x = math.Float32bits(d.Float32()), new(float32)
	case 5:
		m, x = math.Float64bits(d.Float64()), new(float64)
	case 6:
		m, x = d.Bool(), new(bool)
	case 7:
		m, x = d.Text(), new(string)
	default:
		m, x = minicbor.DecodeBytes(&d), new([]byte)
	}
	if d.Finish() != nil {
		return
	}
	if err := cborx.DecMode.Unmarshal(data, x); err != nil {
		t.Fatalf("minicbor reads %x as %T, fxamacker: %v", data, x, err)
	}
	var got any
	switch p := x.(type) {
	case *uint8:
		got = *p
	case *uint64:
		got = *p
	case *int8:
		got = *p
	case *int64:
		got = *p
	case *float32:
		got = math.Float32bits(*p)
	case *float64:
		got = math.Float64bits(*p)
	case *bool:
		got = *p
	case *string:
		got = *p
	case *[]byte:
		if !bytes.Equal(*p, m.([]byte)) || (*p == nil) != (m.([]byte) == nil) {
			t.Fatalf("%x: minicbor %x, fxamacker %x", data, m, *p)
		}
		return
	}
	if got != m {
		t.Fatalf("%x: minicbor %v, fxamacker %v", data, m, got)
	}
}

// seedPrimitives are FuzzDecoderPrimitives' committed seeds: (ops, data) pairs.
var seedPrimitives = map[string][2][]byte{
	"uint8":          {{0x00, 0x0f}, {0x18, 0xff}},
	"int-neg":        {{0x02}, {0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	"float16-nan":    {{0x04}, {0xf9, 0x7c, 0x01}},
	"float32-snan":   {{0x03}, {0xfa, 0x7f, 0x80, 0x00, 0x01}},
	"float64-to-f32": {{0x03}, {0xfb, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
	"int-as-float":   {{0x05}, {0x1b, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01}},
	"text":           {{0x07, 0x06}, {0x64, 0xf0, 0x90, 0x85, 0x91}},
	"bad-utf8":       {{0x07}, {0x62, 0xc3, 0x28}},
	"bytes-null":     {{0x0e}, {0xf6}},
	"struct-map":     {{0x09, 0x0d, 0x00, 0x1d, 0x06, 0x0f}, {0xa2, 0x01, 0x00, 0x02, 0x61, 0x61}},
	"dup-key":        {{0x09, 0x0d, 0x0a, 0x1d, 0x0a}, {0xa2, 0x05, 0x00, 0x05, 0x00}},
	"deep":           {{0x0a}, bytes.Repeat([]byte{0x81}, 40)},
	"huge-array":     {{0x08, 0x0a}, {0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	"truncated":      {{0x0a, 0x0a}, {0x82, 0x19, 0x01}},
	"tag-undefined":  {{0x0a, 0x0a, 0x0f}, {0xc1, 0x00, 0xf7}},
}

// TestSeedCorpus checks that FuzzDecoderPrimitives' committed seeds are in place and unchanged;
// with PRESAGE_WRITE_CORPUS=1 it (re)writes them.
func TestSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecoderPrimitives")
	for name, s := range seedPrimitives {
		path := filepath.Join(dir, name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", s[0], s[1])
		if os.Getenv("PRESAGE_WRITE_CORPUS") == "1" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s missing or stale (regenerate with PRESAGE_WRITE_CORPUS=1): %v", path, err)
		}
	}
}
