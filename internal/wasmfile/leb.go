package wasmfile

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// decoder reads the primitive encodings of the binary format from one section's contents. The first
// error sticks: later reads return zero values, so callers check d.err once per logical item.
type decoder struct {
	buf  []byte
	pos  int
	base int // offset of buf[0] in the module, so that errors point at absolute offsets
	err  error
}

var errEOF = errors.New("unexpected end")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w at offset %#x", err, d.base+d.pos)
	}
}

func (d *decoder) failf(format string, args ...any) { d.fail(fmt.Errorf(format, args...)) }

func (d *decoder) done() bool { return d.err != nil || d.pos == len(d.buf) }

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.buf) {
		d.fail(errEOF)
		return 0
	}
	b := d.buf[d.pos]
	d.pos++
	return b
}

// bytes returns the next n bytes, aliasing the input.
func (d *decoder) bytes(n uint32) []byte {
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(len(d.buf)-d.pos) {
		d.fail(errEOF)
		return nil
	}
	b := d.buf[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b
}

// uleb reads an unsigned LEB128 number of at most bits bits. As the spec requires, it rejects
// encodings longer than ceil(bits/7) bytes and final bytes with bits set beyond the width.
func (d *decoder) uleb(bits uint) uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		start := d.pos
		b := d.byte()
		if d.err != nil {
			return 0
		}
		if bits-shift <= 7 { // last byte allowed: no continuation, no bits past the width
			if b&0x80 != 0 || (bits-shift < 7 && b>>(bits-shift) != 0) {
				d.pos = start
				d.failf("LEB128 overflows u%d", bits)
				return 0
			}
			return v | uint64(b)<<shift
		}
		v |= uint64(b&0x7f) << shift
		if b&0x80 == 0 {
			return v
		}
	}
}

func (d *decoder) u32() uint32 { return uint32(d.uleb(32)) }

func (d *decoder) u64() uint64 { return d.uleb(64) }

// sleb reads a signed LEB128 number of at most bits bits. The unused bits of the last possible byte
// must repeat the sign bit.
func (d *decoder) sleb(bits uint) int64 {
	var v int64
	for shift := uint(0); ; shift += 7 {
		start := d.pos
		b := d.byte()
		if d.err != nil {
			return 0
		}
		if rest := bits - shift; rest <= 7 {
			sx := int64(b<<1) << 56 >> 57 // the 7 payload bits, sign-extended
			if b&0x80 != 0 || sx < -1<<(rest-1) || sx >= 1<<(rest-1) {
				d.pos = start
				d.failf("LEB128 overflows s%d", bits)
				return 0
			}
			return v | sx<<shift
		}
		v |= int64(b&0x7f) << shift
		if b&0x80 == 0 {
			if b&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			return v
		}
	}
}

// name reads a length-prefixed UTF-8 string.
func (d *decoder) name() string {
	b := d.bytes(d.u32())
	if d.err == nil && !utf8.Valid(b) {
		d.failf("name is not valid UTF-8")
	}
	return string(b)
}

// count reads a vector length and checks that the rest of the buffer could hold that many items of
// at least minSize bytes each, so a hostile count never drives an allocation.
func (d *decoder) count(minSize int) int {
	n := d.u32()
	if d.err == nil && uint64(n)*uint64(minSize) > uint64(len(d.buf)-d.pos) {
		d.failf("vector of %d items does not fit in %d bytes", n, len(d.buf)-d.pos)
		return 0
	}
	return int(n)
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
