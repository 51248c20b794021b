// Copyright 2009 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE-GO file.

package detmath

import "math"

// Bit-level helpers ported from Go's math/bits.go, frexp.go and ldexp.go. They only move exponent
// bits, so they are exact; they are here so that no result depends on an assembly version of
// math.Frexp or math.Ldexp on some platform.

const (
	mask  = 0x7FF
	shift = 64 - 11 - 1
	bias  = 1023

	smallestNormal = 2.2250738585072014e-308 // 2**-1022
)

var (
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
	nan    = math.NaN()
)

// isNaN reports whether f is a NaN, without a function call.
func isNaN(f float64) bool { return f != f }

// normalize returns a normal number y and exponent exp satisfying x == y × 2**exp.
func normalize(x float64) (y float64, exp int) {
	if math.Abs(x) < smallestNormal {
		return float64(x * (1 << 52)), -52
	}
	return x, 0
}

// frexp breaks f into a fraction in [½, 1) and a power of two (math.Frexp).
func frexp(f float64) (frac float64, exp int) {
	switch {
	case f == 0:
		return f, 0 // correctly return -0
	case math.IsInf(f, 0) || isNaN(f):
		return f, 0
	}
	f, exp = normalize(f)
	x := math.Float64bits(f)
	exp += int((x>>shift)&mask) - bias + 1
	x &^= mask << shift
	x |= (-1 + bias) << shift
	frac = math.Float64frombits(x)
	return
}

// ldexp returns frac × 2**exp (math.Ldexp).
func ldexp(frac float64, exp int) float64 {
	switch {
	case frac == 0:
		return frac // correctly return -0
	case math.IsInf(frac, 0) || isNaN(frac):
		return frac
	}
	frac, e := normalize(frac)
	exp += e
	x := math.Float64bits(frac)
	exp += int(x>>shift)&mask - bias
	if exp < -1075 {
		return math.Copysign(0, frac) // underflow
	}
	if exp > 1023 { // overflow
		if frac < 0 {
			return negInf
		}
		return posInf
	}
	var m float64 = 1
	if exp < -1022 { // denormal
		exp += 53
		m = 1.0 / (1 << 53) // 2**-53
	}
	x &^= mask << shift
	x |= uint64(exp+bias) << shift
	return float64(m * math.Float64frombits(x))
}
