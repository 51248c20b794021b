package minicbor

import (
	"math"
	"unsafe"
)

// The table-driven struct codec that cborgen's generated methods call. Each struct type gets a
// [Struct] table (field offsets, keys and kinds) and two one-line methods; one interpreter in
// this file encodes and decodes every type. Generated per-field code and per-type generic helpers
// cost the wasm module about 90 KB of code; the tables and this interpreter made it 14.6 KB smaller
// after brotli (internal/budget BenchmarkModuleSize).
//
// The tables are written by the generator from the Go declarations, with unsafe.Offsetof and
// unsafe.Sizeof, and every store below is a typed store of the field's own type (a named type has
// the layout of its underlying type), so the garbage collector sees every pointer written. The
// rules are fxamacker's, as the generated code had them: omitempty leaves out zero numbers (-0
// included), false, empty strings and slices, nil pointers and structs with nothing to write; a
// nil slice or pointer is null, and null decodes to nil; a slice of a uint8 type is a byte string.

// Kind says how a struct field is encoded.
type Kind uint8

// The kinds of fields. The integer kinds are ordered by size, signed after unsigned.
const (
	KindBool Kind = iota + 1
	KindString
	KindFloat32
	KindFloat64
	KindUint8
	KindUint16
	KindUint32
	KindUint64
	KindInt8
	KindInt16
	KindInt32
	KindInt64
	KindBytes   // a slice of a uint8 type: a byte string, null when nil
	KindSlice   // a slice of Field.Elem values: an array, null when nil
	KindStruct  // a struct (Field.Type) by value
	KindPtr     // a pointer to a struct (Field.Type): null when nil
	KindStructs // a slice of structs (Field.Type): an array, null when nil
)

// KindUint and KindInt are the kinds of uint and int, whose size is the platform's.
const (
	KindUint = KindUint32 + Kind(^uint(0)>>63)
	KindInt  = KindInt32 + Kind(^uint(0)>>63)
)

// Field describes one encoded struct field.
type Field struct {
	Off  uintptr // unsafe.Offsetof the field
	Key  uint8   // the map key, 0..63
	Kind Kind
	Elem Kind    // KindSlice: the kind of the elements (bool, string, a float or an integer)
	Omit bool    // omitempty
	Type *Struct // KindStruct, KindPtr, KindStructs: the struct's table
}

// Struct describes a struct type for [Encoder.Struct] and [Decoder.Struct].
type Struct struct {
	Fields []Field // ascending keys
	Size   uintptr // unsafe.Sizeof the struct: the stride of a slice of it
	// New allocates n zero structs and returns the first (a valid pointer when n is 0): KindPtr
	// and KindStructs fields of this type need it.
	New func(n int) unsafe.Pointer
}

// sliceHeader is the layout of every Go slice.
type sliceHeader struct {
	data     unsafe.Pointer
	len, cap int
}

// elemSize is the size of a slice element of each basic kind.
var elemSize = [...]uintptr{KindBool: 1, KindString: unsafe.Sizeof(""), KindFloat32: 4, KindFloat64: 8,
	KindUint8: 1, KindUint16: 2, KindUint32: 4, KindUint64: 8, KindInt8: 1, KindInt16: 2, KindInt32: 4, KindInt64: 8}

// bits returns the width of an integer kind.
func bits(k Kind) uint {
	return 8 << ((k - KindUint8) & 3)
}

// Struct writes the struct at p, described by s, as a map keyed by field number, keys ascending,
// or null when p is nil.
func (e *Encoder) Struct(p unsafe.Pointer, s *Struct) {
	if p == nil {
		e.Null()
		return
	}
	// One pass: the head's byte is reserved and written at the end, so that each omitempty test runs
	// once. The commonest items (short texts, small integers, singles, one-byte heads) are written
	// here without a call: in WebAssembly a call costs more than the append it wraps.
	e.buf = append(e.buf, majorMap)
	pos, n := len(e.buf)-1, 0
	for i := range s.Fields {
		f := &s.Fields[i]
		q := unsafe.Add(p, f.Off)
		switch {
		case !f.Omit:
		case f.Kind == KindString:
			if len(*(*string)(q)) == 0 {
				continue
			}
		case f.Kind >= KindBytes && f.Kind != KindStruct && f.Kind != KindPtr: // slices
			if (*sliceHeader)(q).len == 0 {
				continue
			}
		case empty(q, f):
			continue
		}
		n++
		if f.Key < 24 {
			e.buf = append(e.buf, f.Key)
		} else {
			e.Uint(uint64(f.Key))
		}
		switch f.Kind {
		case KindString:
			if t := *(*string)(q); len(t) < 24 {
				e.buf = append(append(e.buf, majorText|byte(len(t))), t...)
				continue
			}
		case KindFloat32:
			b := math.Float32bits(*(*float32)(q))
			e.buf = append(e.buf, ibFloat32, byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
			continue
		case KindUint8:
			if v := *(*uint8)(q); v < 24 {
				e.buf = append(e.buf, v)
				continue
			}
		}
		e.value(q, f.Kind, f)
	}
	if n < 24 {
		e.buf[pos] = majorMap | byte(n)
	} else {
		e.MapEnd(pos, n)
	}
}

// empty reports whether omitempty leaves out the field f at p.
func empty(p unsafe.Pointer, f *Field) bool {
	switch f.Kind {
	case KindBool, KindUint8, KindInt8:
		return *(*uint8)(p) == 0
	case KindUint16, KindInt16:
		return *(*uint16)(p) == 0
	case KindUint32, KindInt32:
		return *(*uint32)(p) == 0
	case KindUint64, KindInt64:
		return *(*uint64)(p) == 0
	case KindFloat32:
		return *(*float32)(p) == 0 // -0 too; NaN is not empty
	case KindFloat64:
		return *(*float64)(p) == 0
	case KindString:
		return len(*(*string)(p)) == 0
	case KindPtr:
		return *(*unsafe.Pointer)(p) == nil
	case KindStruct: // empty when every field is omitempty and empty
		for i := range f.Type.Fields {
			if g := &f.Type.Fields[i]; !g.Omit || !empty(unsafe.Add(p, g.Off), g) {
				return false
			}
		}
		return true
	}
	return len(*(*[]byte)(p)) == 0 // slices: only the length of the header is read
}

// value writes the value of kind k at p; f describes the field (nil for a slice element).
func (e *Encoder) value(p unsafe.Pointer, k Kind, f *Field) {
	switch k {
	case KindBool:
		e.Bool(*(*bool)(p))
	case KindString:
		e.Text(*(*string)(p))
	case KindFloat32:
		e.Float32(*(*float32)(p))
	case KindFloat64:
		e.Float64(*(*float64)(p))
	case KindUint8, KindUint16, KindUint32, KindUint64:
		if v := load(p, k); v < 24 {
			e.buf = append(e.buf, byte(v)) // the commonest item: no call
		} else {
			e.Uint(v)
		}
	case KindInt8, KindInt16, KindInt32, KindInt64:
		sh := 64 - bits(k)
		e.Int(int64(load(p, k)<<sh) >> sh)
	case KindBytes:
		EncodeBytes(e, *(*[]byte)(p))
	case KindStruct:
		e.Struct(p, f.Type)
	case KindPtr:
		e.Struct(*(*unsafe.Pointer)(p), f.Type)
	default: // KindSlice, KindStructs
		h := (*sliceHeader)(p)
		if h.data == nil {
			e.Null()
			return
		}
		e.ArrayHeader(h.len)
		for i := range h.len {
			if k == KindStructs {
				e.Struct(unsafe.Add(h.data, uintptr(i)*f.Type.Size), f.Type)
			} else {
				e.value(unsafe.Add(h.data, uintptr(i)*elemSize[f.Elem]), f.Elem, nil)
			}
		}
	}
}

// load reads an integer of kind k, zero-extended.
func load(p unsafe.Pointer, k Kind) uint64 {
	switch bits(k) {
	case 8:
		return uint64(*(*uint8)(p))
	case 16:
		return uint64(*(*uint16)(p))
	case 32:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

// store writes the low bits of v as an integer of kind k.
func store(p unsafe.Pointer, k Kind, v uint64) {
	switch bits(k) {
	case 8:
		*(*uint8)(p) = uint8(v)
	case 16:
		*(*uint16)(p) = uint16(v)
	case 32:
		*(*uint32)(p) = uint32(v)
	default:
		*(*uint64)(p) = v
	}
}

// Struct reads a map keyed by field number into the struct at p, described by s, which must be
// zero (the generated DecodeCBOR resets it; nested structs are zero by then). Unknown keys are
// skipped and duplicate keys refused.
func (d *Decoder) Struct(p unsafe.Pointer, s *Struct) {
	var seen KeySet
	next := 0 // keys come ascending from every encoder we know: look from after the last match
	for n := d.MapHeader(); n > 0; n-- {
		k, ok := d.small()
		switch {
		case !ok:
			k = d.Key(&seen)
		case seen&(1<<k) != 0:
			d.fail(ErrDupKey, d.off-1, byte(k))
			k = -1
		default:
			seen |= 1 << k
		}
		var f *Field
		for j := range s.Fields {
			i := next + j
			if i >= len(s.Fields) {
				i -= len(s.Fields)
			}
			if int(s.Fields[i].Key) == k {
				f, next = &s.Fields[i], i+1
				break
			}
		}
		if f == nil {
			d.Skip()
			continue
		}
		d.value(unsafe.Add(p, f.Off), f.Kind, f)
	}
	if d.reuse {
		zeroUnseen(p, s, seen)
	}
}

// value reads a value of kind k into p; f describes the field (nil for a slice element).
func (d *Decoder) value(p unsafe.Pointer, k Kind, f *Field) {
	switch k {
	case KindBool:
		*(*bool)(p) = d.Bool()
	case KindString:
		*(*string)(p) = d.Text()
	case KindFloat32:
		if b, ok := d.single(); ok {
			*(*float32)(p) = math.Float32frombits(b)
			return
		}
		*(*float32)(p) = d.Float32()
	case KindFloat64:
		*(*float64)(p) = d.Float64()
	case KindUint8, KindUint16, KindUint32, KindUint64:
		if v, ok := d.small(); ok {
			store(p, k, uint64(v))
			return
		}
		store(p, k, d.Uint(math.MaxUint64>>(64-bits(k))))
	case KindInt8, KindInt16, KindInt32, KindInt64:
		max := int64(math.MaxInt64 >> (64 - bits(k)))
		store(p, k, uint64(d.Int(-max-1, max)))
	case KindBytes:
		b := (*[]byte)(p)
		if d.reuse && *b != nil {
			*b = decodeBytesInto(d, (*b)[:0])
		} else {
			*b = DecodeBytes(d)
		}
	case KindStruct:
		d.Struct(p, f.Type)
	case KindPtr:
		q := *(*unsafe.Pointer)(p)
		if d.SkipNull() {
			*(*unsafe.Pointer)(p) = nil
			return
		}
		if q == nil || !d.reuse {
			q = f.Type.New(1)
			*(*unsafe.Pointer)(p) = q
		}
		d.Struct(q, f.Type) // reused: Struct zeroes what the map leaves out
	default: // KindSlice, KindStructs
		h := (*sliceHeader)(p)
		n := d.arrayLen()
		if n < 0 {
			*h = sliceHeader{}
			return
		}
		switch {
		case d.reuse && h.data != nil && h.cap >= n:
			h.len = n
		case k == KindStructs:
			*h = sliceHeader{f.Type.New(n), n, n}
		default:
			*h = sliceHeader{newElems(f.Elem, n), n, n}
		}
		q := h.data
		for i := range n {
			if k == KindStructs {
				d.Struct(unsafe.Add(q, uintptr(i)*f.Type.Size), f.Type) // reused: as for KindPtr
			} else {
				d.value(unsafe.Add(q, uintptr(i)*elemSize[f.Elem]), f.Elem, nil)
			}
		}
	}
}

// Reuse reads a map keyed by field number into the struct at p, described by s, like [Decoder.Struct]
// after a reset to zero, except that it keeps the memory the struct's earlier value held: slices
// whose capacity suffices and the targets of pointers are decoded into, not allocated anew. What
// was decoded equals what Struct gives, but for one thing: an absent omitempty slice is empty,
// not nil (both encode alike). Reusing is for a caller that decodes one message type over and
// over (the wasm module's requests and profiles), where every allocation is dear: the struct
// must own its memory, as nothing else may see it overwritten.
func (d *Decoder) Reuse(p unsafe.Pointer, s *Struct) {
	d.reuse = true
	d.Struct(p, s)
	d.reuse = false
}

// zeroUnseen gives the fields of the struct at p that the map left out the value Struct leaves
// them: zero, nil for pointers and for slices that are not omitempty, except that omitempty slices
// keep their memory at length 0. The fields the map had were overwritten whole, so a reused struct
// holds nothing of its earlier value without being zeroed first: the fields of a typical request
// are visited once instead of twice.
func zeroUnseen(p unsafe.Pointer, s *Struct, seen KeySet) {
	for i := range s.Fields {
		f := &s.Fields[i]
		if seen&(1<<f.Key) != 0 {
			continue
		}
		q := unsafe.Add(p, f.Off)
		switch f.Kind {
		case KindPtr:
			*(*unsafe.Pointer)(q) = nil
		case KindBytes, KindSlice, KindStructs:
			if f.Omit {
				(*sliceHeader)(q).len = 0
			} else {
				*(*sliceHeader)(q) = sliceHeader{}
			}
		case KindStruct:
			zeroUnseen(q, f.Type, 0) // all of it, as Struct leaves an absent struct
		case KindString:
			*(*string)(q) = ""
		default:
			store(q, f.Kind, 0) // bits gives bool 8, float32 32 and float64 64: zero bits of the field's size
		}
	}
}

// newElems allocates n zero elements of basic kind k (a valid pointer when n is 0). The length
// was checked against the remaining input, so the allocation is bounded by the input's size.
func newElems(k Kind, n int) unsafe.Pointer {
	if k == KindString {
		return unsafe.Pointer(unsafe.SliceData(make([]string, n)))
	}
	switch elemSize[k] {
	case 1:
		return unsafe.Pointer(unsafe.SliceData(make([]uint8, n)))
	case 2:
		return unsafe.Pointer(unsafe.SliceData(make([]uint16, n)))
	case 4:
		return unsafe.Pointer(unsafe.SliceData(make([]uint32, n)))
	}
	return unsafe.Pointer(unsafe.SliceData(make([]uint64, n)))
}

// arrayLen reads null (-1, also after an error) or an array head (its length).
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

// EncodeBytes writes b as a byte string, or null if b is nil.
func EncodeBytes(e *Encoder, b []byte) {
	if b == nil {
		e.Null()
		return
	}
	e.ByteString(b)
}

// DecodeBytes reads null (nil) or a byte string into a new slice: decoded values never alias the
// input, which the wasm module reuses from call to call.
func DecodeBytes(d *Decoder) []byte {
	if d.SkipNull() {
		return nil
	}
	return decodeBytesInto(d, nil)
}

// decodeBytesInto is DecodeBytes into dst's memory when it is large enough (nil: a new slice of the
// exact size; an empty byte string stays non-nil, unlike null).
func decodeBytesInto(d *Decoder, dst []byte) []byte {
	if d.SkipNull() {
		return nil
	}
	b := d.ByteString()
	if d.err != nil {
		return nil
	}
	if dst == nil {
		dst = make([]byte, 0, len(b))
	}
	return append(dst, b...)
}
