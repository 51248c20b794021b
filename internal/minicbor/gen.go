package minicbor

// Helpers for the code internal/cborgen generates. They are generic over the element type so that
// named element types (type Stage uint8) need no conversion, and so that each field costs one call
// in the generated code, which keeps the wasm module small.
//
// They follow fxamacker's rules for slices: a nil slice encodes as null and an empty one as an
// empty array (or byte string); null decodes to nil and an empty array to an empty, non-nil slice.
// A slice of a uint8 type is a byte string, as fxamacker encodes it.

// Unsigned is the set of unsigned integer types the helpers take (uint8 types are byte strings).
type Unsigned interface {
	~uint16 | ~uint32 | ~uint64 | ~uint
}

// Signed is the set of signed integer types the helpers take.
type Signed interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~int
}

// EncodeUints writes s as an array of unsigned integers, or null if s is nil.
func EncodeUints[T Unsigned](e *Encoder, s []T) {
	if s == nil {
		e.Null()
		return
	}
	e.ArrayHeader(len(s))
	for _, v := range s {
		e.Uint(uint64(v))
	}
}

// EncodeInts writes s as an array of integers, or null if s is nil.
func EncodeInts[T Signed](e *Encoder, s []T) {
	if s == nil {
		e.Null()
		return
	}
	e.ArrayHeader(len(s))
	for _, v := range s {
		e.Int(int64(v))
	}
}

// EncodeFloat32s writes s as an array of 4-byte floats, or null if s is nil.
func EncodeFloat32s[T ~float32](e *Encoder, s []T) {
	if s == nil {
		e.Null()
		return
	}
	e.ArrayHeader(len(s))
	for _, v := range s {
		e.Float32(float32(v))
	}
}

// EncodeFloat64s writes s as an array of 8-byte floats, or null if s is nil.
func EncodeFloat64s[T ~float64](e *Encoder, s []T) {
	if s == nil {
		e.Null()
		return
	}
	e.ArrayHeader(len(s))
	for _, v := range s {
		e.Float64(float64(v))
	}
}

// EncodeTexts writes s as an array of text strings, or null if s is nil.
func EncodeTexts[T ~string](e *Encoder, s []T) {
	if s == nil {
		e.Null()
		return
	}
	e.ArrayHeader(len(s))
	for _, v := range s {
		e.Text(string(v))
	}
}

// EncodeBools writes s as an array of booleans, or null if s is nil.
func EncodeBools[T ~bool](e *Encoder, s []T) {
	if s == nil {
		e.Null()
		return
	}
	e.ArrayHeader(len(s))
	for _, v := range s {
		e.Bool(bool(v))
	}
}

// EncodeBytes writes b as a byte string, or null if b is nil.
func EncodeBytes(e *Encoder, b []byte) {
	if b == nil {
		e.Null()
		return
	}
	e.ByteString(b)
}

// EncodeUint8s writes s, a slice of a named uint8 type, as a byte string, or null if s is nil.
func EncodeUint8s[T ~uint8](e *Encoder, s []T) {
	if s == nil {
		e.Null()
		return
	}
	e.head(majorBytes, uint64(len(s)))
	for _, v := range s {
		e.buf = append(e.buf, byte(v))
	}
}

// EncodeSlice writes s as an array of structs, or null if s is nil.
func EncodeSlice[T any, P interface {
	*T
	Marshaler
}](e *Encoder, s []T) {
	if s == nil {
		e.Null()
		return
	}
	e.ArrayHeader(len(s))
	for i := range s {
		P(&s[i]).EncodeCBOR(e)
	}
}

// arrayOf reads null (nil) or an array head, and makes the slice for it. The length was checked
// against the remaining input, so the allocation is bounded by the input's size.
func arrayOf[T any](d *Decoder) []T {
	if n := d.arrayLen(); n >= 0 {
		return make([]T, n)
	}
	return nil
}

// arrayLen reads null (-1, also after an error) or an array head (its length). It keeps the
// generic helpers, instantiated once per element type, small.
func (d *Decoder) arrayLen() int {
	if d.SkipNull() {
		return -1
	}
	n := d.ArrayHeader()
	if d.err != nil {
		return -1
	}
	return n
}

// DecodeUints reads null or an array of unsigned integers no greater than max.
func DecodeUints[T Unsigned](d *Decoder, max uint64) []T {
	s := arrayOf[T](d)
	for i := range s {
		s[i] = T(d.Uint(max))
	}
	return s
}

// DecodeInts reads null or an array of integers in [min, max].
func DecodeInts[T Signed](d *Decoder, min, max int64) []T {
	s := arrayOf[T](d)
	for i := range s {
		s[i] = T(d.Int(min, max))
	}
	return s
}

// DecodeFloat32s reads null or an array of numbers exact as float32.
func DecodeFloat32s[T ~float32](d *Decoder) []T {
	s := arrayOf[T](d)
	for i := range s {
		s[i] = T(d.Float32())
	}
	return s
}

// DecodeFloat64s reads null or an array of numbers exact as float64.
func DecodeFloat64s[T ~float64](d *Decoder) []T {
	s := arrayOf[T](d)
	for i := range s {
		s[i] = T(d.Float64())
	}
	return s
}

// DecodeTexts reads null or an array of text strings.
func DecodeTexts[T ~string](d *Decoder) []T {
	s := arrayOf[T](d)
	for i := range s {
		s[i] = T(d.Text())
	}
	return s
}

// DecodeBools reads null or an array of booleans.
func DecodeBools[T ~bool](d *Decoder) []T {
	s := arrayOf[T](d)
	for i := range s {
		s[i] = T(d.Bool())
	}
	return s
}

// DecodeBytes reads null (nil) or a byte string into a new slice: decoded values never alias the
// input, which the wasm module reuses from call to call.
func DecodeBytes(d *Decoder) []byte {
	if d.SkipNull() {
		return nil
	}
	b := d.ByteString()
	if d.err != nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}

// DecodeUint8s reads null or a byte string into a slice of a named uint8 type.
func DecodeUint8s[T ~uint8](d *Decoder) []T {
	if d.SkipNull() {
		return nil
	}
	b := d.ByteString()
	if d.err != nil {
		return nil
	}
	s := make([]T, len(b))
	for i, v := range b {
		s[i] = T(v)
	}
	return s
}

// DecodeSlice reads null or an array of structs.
func DecodeSlice[T any, P interface {
	*T
	Unmarshaler
}](d *Decoder) []T {
	s := arrayOf[T](d)
	for i := range s {
		P(&s[i]).DecodeCBOR(d)
	}
	return s
}

// DecodePtr reads null (nil) or a struct into a new value.
func DecodePtr[T any, P interface {
	*T
	Unmarshaler
}](d *Decoder) *T {
	if d.SkipNull() {
		return nil
	}
	p := P(new(T))
	p.DecodeCBOR(d)
	return (*T)(p)
}
