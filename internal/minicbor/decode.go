package minicbor

import (
	"math"
	"unicode/utf8"
)

// MaxDepthCap bounds Limits.MaxDepth. It sizes the decoder's fixed stack of open containers and
// equals cborx.DecMode's MaxNestedLevels, so that whatever minicbor accepts fxamacker accepts too.
const MaxDepthCap = 32

// Limits bound the work and memory that hostile input can cost. Depth counts open arrays and
// maps (a top-level map is depth 1, as fxamacker counts it); the others bound one item each.
// A field ≤ 0 takes DefaultLimits' value; MaxDepth is capped at MaxDepthCap, MaxArray at 2³⁰
// and MaxMap at 2²⁹.
type Limits struct {
	MaxDepth  int // nesting of arrays and maps
	MaxArray  int // items in one array
	MaxMap    int // pairs in one map
	MaxString int // bytes in one text or byte string
}

// DefaultLimits suit requests, replies and profiles: our types nest at most 6 deep, struct maps
// hold at most 64 keys, and no message needs more than 65,536 items in one array or 1 MiB in one
// string.
var DefaultLimits = Limits{MaxDepth: 16, MaxArray: 1 << 16, MaxMap: 256, MaxString: 1 << 20}

// BundleLimits suit bundles and envelopes: catalogue arrays index items with uint16 (so 65,536
// items at most, with room to spare up to 1 Mi), and the neighbour and factor tables are byte
// strings of a few MiB inside an envelope's payload.
var BundleLimits = Limits{MaxDepth: 16, MaxArray: 1 << 20, MaxMap: 256, MaxString: 16 << 20}

// Decoder reads CBOR items from a byte slice. The first error sticks: every later call returns a
// zero value and does nothing, so that generated code can decode a whole message and check
// [Decoder.Finish] once. It never panics, and it checks every declared length against both the
// limits and the remaining input before anything is allocated, so hostile input costs at most
// O(len(input)) memory.
//
// The decoder tracks how many items each open array or map still holds, which gives it the
// nesting depth without the caller saying where a container ends, and lets Finish report a
// container left half-read.
type Decoder struct {
	data  []byte
	off   int
	err   error
	lim   Limits
	depth int                 // open containers
	left  [MaxDepthCap]uint32 // items still to read in each open container, innermost last
	reuse bool                // inside Reuse: keep the memory the destination already holds

	// Intern, when set, is asked for a string equal to a text's bytes before one is allocated: a
	// caller that knows the strings its messages repeat (a bundle's item, campaign and slot ids)
	// decodes them with no allocation, which in WebAssembly costs more than the decoding itself.
	// It must not keep b. Reset leaves it as it is.
	Intern func(b []byte) (string, bool)
}

// Reset starts decoding data with the limits lim (see [Limits] for zero fields).
func (d *Decoder) Reset(data []byte, lim Limits) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultLimits.MaxDepth
	}
	if lim.MaxDepth > MaxDepthCap {
		lim.MaxDepth = MaxDepthCap
	}
	if lim.MaxArray <= 0 {
		lim.MaxArray = DefaultLimits.MaxArray
	}
	if lim.MaxMap <= 0 {
		lim.MaxMap = DefaultLimits.MaxMap
	}
	if lim.MaxString <= 0 {
		lim.MaxString = DefaultLimits.MaxString
	}
	lim.MaxArray = min(lim.MaxArray, 1<<30) // so that the items left in a container fit in a uint32
	lim.MaxMap = min(lim.MaxMap, 1<<29)
	d.data, d.off, d.err, d.lim, d.depth = data, 0, nil, lim, 0
}

// Err returns the first error, if any.
func (d *Decoder) Err() error { return d.err }

// Offset returns the offset of the next item.
func (d *Decoder) Offset() int { return d.off }

// Finish returns the first error, or an error if a container is still open or bytes follow the
// top-level item.
func (d *Decoder) Finish() error {
	switch {
	case d.err != nil:
	case d.depth != 0:
		d.fail(ErrUnfinished, d.off, 0)
	case d.off != len(d.data):
		d.fail(ErrTrailing, d.off, 0)
	}
	return d.err
}

// fail records the first error. Not inlined: it is called from many places, and the module's
// size matters more than the speed of failing.
//
//go:noinline
func (d *Decoder) fail(k ErrorKind, off int, ib byte) {
	if d.err == nil {
		d.err = &Error{Kind: k, Offset: off, Initial: ib}
	}
}

// typeErr records an item of the wrong type, naming tags and unsupported simple values as such.
func (d *Decoder) typeErr(start int, ib byte) {
	k := ErrType
	switch {
	case ib>>5 == majorTag>>5:
		k = ErrTag
	case ib>>5 == majorOther>>5 && ib != ibFalse && ib != ibTrue && ib != ibNull && (ib < ibFloat16 || ib > ibFloat64):
		k = ErrSimple
	}
	d.fail(k, start, ib)
}

// done counts one complete item against the open containers, closing those it completes.
func (d *Decoder) done() {
	for d.depth > 0 {
		d.left[d.depth-1]--
		if d.left[d.depth-1] > 0 {
			return
		}
		d.depth--
	}
}

// head reads an item's initial byte and argument: the value of an integer, the length of a string,
// array or map, the bits of a float, the number of a simple value. ok is false after an error.
func (d *Decoder) head() (ib byte, arg uint64, start int, ok bool) {
	start = d.off
	if d.err != nil {
		return 0, 0, start, false
	}
	data := d.data
	if start >= len(data) {
		d.fail(ErrTruncated, start, 0)
		return 0, 0, start, false
	}
	ib = data[start]
	ai := ib & 0x1f
	if ai < 24 {
		d.off = start + 1
		return ib, uint64(ai), start, true
	}
	if ai > 27 {
		if ai == 31 && ib >= majorBytes && ib < majorTag {
			d.fail(ErrIndefinite, start, ib)
		} else {
			d.fail(ErrSyntax, start, ib) // reserved 28..30, or a break or indefinite head where none can be
		}
		return 0, 0, start, false
	}
	n := 1 << (ai - 24) // argument bytes: 1, 2, 4, 8
	if len(data)-start-1 < n {
		d.fail(ErrTruncated, start, ib)
		return 0, 0, start, false
	}
	for _, b := range data[start+1 : start+1+n] {
		arg = arg<<8 | uint64(b)
	}
	d.off = start + 1 + n
	return ib, arg, start, true
}

// small reads an unsigned integer below 24, whose head is one byte: the commonest item of our
// messages (keys, counts, enums). It is inlined where head is a call, and calls are dear in
// WebAssembly. ok is false, and nothing is read, for any other item or after an error.
func (d *Decoder) small() (int, bool) {
	if d.err != nil || d.off >= len(d.data) || d.data[d.off] >= 24 {
		return 0, false
	}
	v := int(d.data[d.off])
	d.off++
	d.done()
	return v, true
}

// single reads a 4-byte float that is not a NaN (NaNs take Float32's path) the way small reads
// an integer.
func (d *Decoder) single() (uint32, bool) {
	o := d.off
	if d.err != nil || o+5 > len(d.data) || d.data[o] != ibFloat32 {
		return 0, false
	}
	b := uint32(d.data[o+1])<<24 | uint32(d.data[o+2])<<16 | uint32(d.data[o+3])<<8 | uint32(d.data[o+4])
	if b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0 {
		return 0, false
	}
	d.off = o + 5
	d.done()
	return b, true
}

// Uint reads an unsigned integer no greater than max.
func (d *Decoder) Uint(max uint64) uint64 {
	ib, v, start, ok := d.head()
	if !ok {
		return 0
	}
	if ib>>5 != majorUint>>5 {
		d.typeErr(start, ib)
		return 0
	}
	if v > max {
		d.fail(ErrRange, start, ib)
		return 0
	}
	d.done()
	return v
}

// Int reads an integer in [min, max].
func (d *Decoder) Int(min, max int64) int64 {
	ib, v, start, ok := d.head()
	if !ok {
		return 0
	}
	var x int64
	switch ib >> 5 {
	case majorUint >> 5:
		if v > math.MaxInt64 {
			d.fail(ErrRange, start, ib)
			return 0
		}
		x = int64(v)
	case majorNeg >> 5:
		if v > math.MaxInt64 {
			d.fail(ErrRange, start, ib)
			return 0
		}
		x = ^int64(v) // -1 - v
	default:
		d.typeErr(start, ib)
		return 0
	}
	if x < min || x > max {
		d.fail(ErrRange, start, ib)
		return 0
	}
	d.done()
	return x
}

// number reads any numeric item as float64. A half or single NaN is widened as described at
// Float64. With single set, the value must also be exact as a float32.
func (d *Decoder) number(single bool) float64 {
	ib, v, start, ok := d.head()
	if !ok {
		return 0
	}
	var f float64
	exact := true
	switch {
	case ib == ibFloat64:
		f = math.Float64frombits(v)
	case ib == ibFloat32:
		f, single = f32to64(uint32(v)), false
	case ib == ibFloat16:
		f, single = f32to64(f16to32(uint16(v))), false
	case ib>>5 == majorUint>>5:
		f = float64(v)
		exact = v <= 1<<53 || (f < 0x1p64 && uint64(f) == v)
	case ib>>5 == majorNeg>>5:
		x := ^int64(v)
		f = float64(x)
		exact = v <= math.MaxInt64 && (x >= -(1<<53) || int64(f) == x)
	default:
		d.typeErr(start, ib)
		return 0
	}
	if single && f == f && float64(float32(f)) != f {
		exact = false
	}
	if !exact {
		d.fail(ErrInexact, start, ib)
		return 0
	}
	d.done()
	return f
}

// Float64 reads a float of any width, or an integer that float64 holds exactly (as JavaScript
// encoders write integral numbers). A half or single NaN is widened the way the hardware (and
// so fxamacker) widens it: quiet bit set, payload kept in the high bits.
func (d *Decoder) Float64() float64 {
	return d.number(false)
}

// Float32 reads a half or single float, or a double or an integer that float32 holds exactly:
// minicbor never rounds silently (fxamacker rounds a double into a float32; it accepts everything
// minicbor accepts, with the same result). A NaN comes back quiet, as fxamacker returns it; a
// double NaN keeps the high bits of its payload.
func (d *Decoder) Float32() float32 {
	f := d.number(true)
	if f != f { // NaN: build the single from the double's bits; float32(f) is not portable for NaN
		b := math.Float64bits(f)
		return math.Float32frombits(uint32(b>>32)&0x80000000 | 0x7fc00000 | uint32(b>>29)&0x7fffff)
	}
	return float32(f)
}

// f32to64 widens a single to a double, NaNs included, deterministically on every platform.
func f32to64(b uint32) float64 {
	if b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0 {
		return math.Float64frombits(uint64(b&0x80000000)<<32 | 0x7ff8000000000000 | uint64(b&0x7fffff)<<29)
	}
	return float64(math.Float32frombits(b))
}

// f16to32 widens a half to a single exactly as github.com/x448/float16 (used by fxamacker) does.
func f16to32(h uint16) uint32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h&0x7c00) >> 10
	coef := uint32(h&0x03ff) << 13
	switch {
	case exp == 0x1f && coef == 0:
		return sign | 0x7f800000
	case exp == 0x1f:
		return sign | 0x7fc00000 | coef
	case exp == 0 && coef == 0:
		return sign
	case exp == 0: // subnormal: normalise
		exp++
		for coef&0x7f800000 == 0 {
			coef <<= 1
			exp--
		}
		coef &= 0x007fffff
	}
	return sign | (exp+(0x7f-0xf))<<23 | coef
}

// Bool reads false or true.
func (d *Decoder) Bool() bool {
	ib, _, start, ok := d.head()
	if !ok {
		return false
	}
	if ib != ibFalse && ib != ibTrue {
		d.typeErr(start, ib)
		return false
	}
	d.done()
	return ib == ibTrue
}

// str reads the head and body of a string of the given major type; its body is checked as one of
// major type as (text for UTF-8, bytes not at all).
func (d *Decoder) str(major, as byte) []byte {
	ib, n, start, ok := d.head()
	if !ok {
		return nil
	}
	if ib&0xe0 != major {
		d.typeErr(start, ib)
		return nil
	}
	return d.body(as, n, start, ib)
}

// body checks and takes the n bytes of a string whose head starts at start.
func (d *Decoder) body(major byte, n uint64, start int, ib byte) []byte {
	if n > uint64(d.lim.MaxString) {
		d.fail(ErrStringLimit, start, ib)
		return nil
	}
	if n > uint64(len(d.data)-d.off) {
		d.fail(ErrTruncated, start, ib)
		return nil
	}
	end := d.off + int(n)
	b := d.data[d.off:end:end]
	if major == majorText && !utf8.Valid(b) {
		d.fail(ErrUTF8, start, ib)
		return nil
	}
	d.off = end
	d.done()
	return b
}

// Text reads a text string into a new Go string; invalid UTF-8 is an error.
//
//go:noinline
func (d *Decoder) Text() string {
	if d.Intern == nil {
		return string(d.str(majorText, majorText))
	}
	// Interned strings are valid UTF-8 (they were decoded once), so a hit needs no validation:
	// the bytes are taken as a byte string's, and only a miss is checked.
	start := d.off
	b := d.str(majorText, majorBytes)
	if len(b) == 0 {
		return ""
	}
	if s, ok := d.Intern(b); ok {
		return s
	}
	if !utf8.Valid(b) {
		d.fail(ErrUTF8, start, d.data[start])
		return ""
	}
	return string(b)
}

// ByteString reads a byte string. The result ALIASES the input (its capacity is clipped, so
// appending to it cannot overwrite the input); copy it to keep it beyond the input's life.
func (d *Decoder) ByteString() []byte {
	return d.str(majorBytes, majorBytes)
}

// container reads an array or map head (per = 1 or 2 items per entry) and opens it.
func (d *Decoder) container(major byte, max int, per uint64, over ErrorKind) int {
	ib, n, start, ok := d.head()
	if !ok {
		return 0
	}
	if ib&0xe0 != major {
		d.typeErr(start, ib)
		return 0
	}
	return d.open(n, per, max, over, start, ib)
}

// open checks a container's size against depth, limit and the remaining input (every item takes
// at least one byte), then pushes it.
func (d *Decoder) open(n, per uint64, max int, over ErrorKind, start int, ib byte) int {
	switch {
	case d.depth >= d.lim.MaxDepth:
		d.fail(ErrDepth, start, ib)
	case n > uint64(max):
		d.fail(over, start, ib)
	case n*per > uint64(len(d.data)-d.off): // n ≤ max < 2⁶³, no overflow
		d.fail(ErrTruncated, start, ib)
	case n == 0:
		d.done()
		return 0
	default:
		d.left[d.depth] = uint32(n * per)
		d.depth++
		return int(n)
	}
	return 0
}

// ArrayHeader reads an array head and returns its length; the caller reads that many items.
func (d *Decoder) ArrayHeader() int {
	return d.container(majorArray, d.lim.MaxArray, 1, ErrArrayLimit)
}

// MapHeader reads a map head and returns its number of pairs; the caller reads twice as many
// items, key then value.
func (d *Decoder) MapHeader() int {
	return d.container(majorMap, d.lim.MaxMap, 2, ErrMapLimit)
}

// IsNull reports whether the next item is null, without reading it.
func (d *Decoder) IsNull() bool {
	return d.err == nil && d.off < len(d.data) && d.data[d.off] == ibNull
}

// SkipNull reads the next item if it is null and reports whether it did.
func (d *Decoder) SkipNull() bool {
	if !d.IsNull() {
		return false
	}
	d.off++
	d.done()
	return true
}

// Skip reads and discards the next item, nested items included. It checks everything the typed
// readers check (limits, UTF-8, no tags, no indefinite lengths, no simple values but false, true
// and null), so that skipping unknown fields never lets through what decoding would refuse. It
// loops instead of recursing: its stack use does not depend on the input.
func (d *Decoder) Skip() {
	base := d.depth
	for {
		ib, n, start, ok := d.head()
		if !ok {
			return
		}
		switch ib >> 5 {
		case majorBytes >> 5, majorText >> 5:
			d.body(ib&0xe0, n, start, ib)
		case majorArray >> 5:
			d.open(n, 1, d.lim.MaxArray, ErrArrayLimit, start, ib)
		case majorMap >> 5:
			d.open(n, 2, d.lim.MaxMap, ErrMapLimit, start, ib)
		case majorTag >> 5:
			d.fail(ErrTag, start, ib)
		case majorOther >> 5:
			switch ib {
			case ibFalse, ibTrue, ibNull, ibFloat16, ibFloat32, ibFloat64:
				d.done()
			default:
				d.fail(ErrSimple, start, ib)
			}
		default: // integers
			d.done()
		}
		if d.err != nil || d.depth <= base {
			return
		}
	}
}

// KeySet records the keys already read from one struct map, for duplicate detection. The zero
// value is empty.
type KeySet uint64

// Key reads the key of a struct map: an unsigned integer below 64 not read before into seen. It
// returns -1 after an error. Restricting keys to 0..63 keeps duplicate detection to one bit test
// with no allocation; the generator enforces the same range on the tags.
func (d *Decoder) Key(seen *KeySet) int {
	ib, v, start, ok := d.head()
	if !ok {
		return -1
	}
	if ib>>5 != majorUint>>5 || v >= 64 {
		d.fail(ErrKey, start, ib)
		return -1
	}
	if *seen&(1<<v) != 0 {
		d.fail(ErrDupKey, start, ib)
		return -1
	}
	*seen |= 1 << v
	d.done()
	return int(v)
}
