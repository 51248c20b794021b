package minicbor

import "math"

// Major types, shifted into the initial byte.
const (
	majorUint  = 0 << 5
	majorNeg   = 1 << 5
	majorBytes = 2 << 5
	majorText  = 3 << 5
	majorArray = 4 << 5
	majorMap   = 5 << 5
	majorTag   = 6 << 5
	majorOther = 7 << 5
)

// Initial bytes of the simple values and floats this package reads and writes.
const (
	ibFalse   = 0xf4
	ibTrue    = 0xf5
	ibNull    = 0xf6
	ibFloat16 = 0xf9
	ibFloat32 = 0xfa
	ibFloat64 = 0xfb
)

// Encoder appends CBOR items to a byte slice. It never fails: every Go value it accepts has an
// encoding. It writes the deterministic form that cborx.EncMode also writes: shortest integer
// and length heads, definite lengths only, float32 always as a 4-byte float and float64 always as
// an 8-byte float (no shortening, NaN payloads kept), so that the two codecs agree byte for byte.
// The zero value is ready to use. Most methods are marked noinline: generated code calls them
// once per field, and in the wasm module a call is far smaller than an inlined append.
type Encoder struct {
	buf []byte
}

// Reset makes the encoder append to buf (its contents are kept; pass buf[:0] to reuse storage).
func (e *Encoder) Reset(buf []byte) { e.buf = buf }

// Bytes returns the encoded bytes, including what the buffer passed to Reset held.
func (e *Encoder) Bytes() []byte { return e.buf }

// head writes an initial byte with its argument in the shortest form (RFC 8949 §4.2.1).
func (e *Encoder) head(major byte, v uint64) {
	switch {
	case v < 24:
		e.buf = append(e.buf, major|byte(v))
	case v <= math.MaxUint8:
		e.put(major|24, v, 1)
	case v <= math.MaxUint16:
		e.put(major|25, v, 2)
	case v <= math.MaxUint32:
		e.put(major|26, v, 4)
	default:
		e.put(major|27, v, 8)
	}
}

// put writes an initial byte and the n low bytes of v, big-endian. One append of a scratch array
// keeps the code small: it is linked into the wasm module.
//
//go:noinline
func (e *Encoder) put(ib byte, v uint64, n int) {
	var b [9]byte
	b[0] = ib
	for i := n; i > 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	e.buf = append(e.buf, b[:n+1]...)
}

// Uint writes an unsigned integer (major type 0).
func (e *Encoder) Uint(v uint64) { e.head(majorUint, v) }

// Int writes a signed integer: major type 0 when v ≥ 0, major type 1 (-1-n) otherwise.
//
//go:noinline
func (e *Encoder) Int(v int64) {
	if v < 0 {
		e.head(majorNeg, uint64(^v))
		return
	}
	e.head(majorUint, uint64(v))
}

// Float32 writes a 4-byte float with f's exact bits.
func (e *Encoder) Float32(f float32) { e.put(ibFloat32, uint64(math.Float32bits(f)), 4) }

// Float64 writes an 8-byte float with f's exact bits.
func (e *Encoder) Float64(f float64) { e.put(ibFloat64, math.Float64bits(f), 8) }

// Bool writes false or true.
//
//go:noinline
func (e *Encoder) Bool(b bool) {
	if b {
		e.buf = append(e.buf, ibTrue)
		return
	}
	e.buf = append(e.buf, ibFalse)
}

// Text writes a text string. s is written as is: the caller keeps it valid UTF-8, or the
// decoders (this one and cborx.DecMode) will refuse it.
//
//go:noinline
func (e *Encoder) Text(s string) {
	e.head(majorText, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// ByteString writes a byte string (a nil slice too; see [EncodeBytes] for nil as null).
//
//go:noinline
func (e *Encoder) ByteString(b []byte) {
	e.head(majorBytes, uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// ArrayHeader starts an array of n items; the caller writes them next.
func (e *Encoder) ArrayHeader(n int) { e.head(majorArray, uint64(n)) }

// MapHeader starts a map of n pairs; the caller writes 2n items next, key then value.
func (e *Encoder) MapHeader(n int) { e.head(majorMap, uint64(n)) }

// Null writes null.
//
//go:noinline
func (e *Encoder) Null() { e.buf = append(e.buf, ibNull) }

// MapStart reserves one byte for the head of a map whose size is not known yet and returns its
// position for [Encoder.MapEnd]. Generated code uses it so that each omitempty test runs once.
//
//go:noinline
func (e *Encoder) MapStart() int {
	e.buf = append(e.buf, majorMap)
	return len(e.buf) - 1
}

// MapEnd writes the head of the map started at pos with n pairs. A head longer than the reserved
// byte (n ≥ 24, rare) shifts the pairs written since.
func (e *Encoder) MapEnd(pos, n int) {
	if n < 24 {
		e.buf[pos] = majorMap | byte(n)
		return
	}
	var tmp Encoder
	tmp.buf = make([]byte, 0, 9)
	tmp.head(majorMap, uint64(n))
	h := len(tmp.buf)
	end := len(e.buf)
	for i := 1; i < h; i++ {
		e.buf = append(e.buf, 0)
	}
	copy(e.buf[pos+h:], e.buf[pos+1:end])
	copy(e.buf[pos:], tmp.buf)
}
