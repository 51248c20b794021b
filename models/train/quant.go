package train

import (
	"errors"
	"math"
)

// Quantisation shared by the bundle's compact model kinds. Signed values use a symmetric int8 code
// with one scale per matrix (value ≈ q·scale, q ∈ [-127, 127], stored as the byte of the two's
// complement int8); non-negative values use a uint8 code (value ≈ q·scale, q ∈ [0, 255]). One scale
// per matrix keeps the device's dequantisation to a single multiply, and −128 is left unused so that
// the code is symmetric and negation never overflows.
//
// Rounding uses the float32 scale as stored in the bundle, not the float64 it came from, so that the
// error bound |x − q·scale| ≤ scale/2 holds for what the device actually computes.

var errNotFinite = errors.New("train: cannot quantise a NaN or infinite value")

// Int8Scale is the symmetric per-matrix scale max|x|/127 as the float32 stored in a bundle; 0 when
// every value is 0.
func Int8Scale(x []float64) (float32, error) {
	m := 0.0
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, errNotFinite
		}
		m = math.Max(m, math.Abs(v))
	}
	return float32(m / 127), nil
}

// QuantizeInt8 codes x with the symmetric scale max|x|/127 and returns the codes (one byte each, the
// two's complement of an int8) and the scale. Every value is reproduced within scale/2 (plus a
// relative 2⁻²³ of max|x| from the float32 scale). An all-zero x gives scale 0 and zero codes.
func QuantizeInt8(x []float64) ([]byte, float32, error) {
	s, err := Int8Scale(x)
	if err != nil {
		return nil, 0, err
	}
	return QuantizeInt8With(nil, x, s), s, nil
}

// QuantizeInt8With appends to dst the int8 codes of x under a given scale, clamping to ±127. Used
// when the scale is chosen elsewhere (e.g. for a vector quantised the way the device does).
func QuantizeInt8With(dst []byte, x []float64, scale float32) []byte {
	return quantizeClamp(dst, x, scale, 127)
}

// QuantizeInt4 codes x with 15 symmetric levels, q ∈ [-7, 7], stored one per byte as int8 codes so
// that the device reads them exactly as QuantizeInt8's (same format, same kernels). The scale is the
// one of [-7, 7] that minimises the squared error, searched over clipping points max|x|·k/64 for
// k = 16…64: the few largest values are clamped so that the bulk gets finer steps. Fewer distinct
// codes compress to about half the bytes of int8 codes in the module's download.
func QuantizeInt4(x []float64) ([]byte, float32, error) {
	m, err := Int8Scale(x)
	if err != nil {
		return nil, 0, err
	}
	if m == 0 {
		return QuantizeInt8With(nil, x, 0), 0, nil
	}
	max := float64(m) * 127
	best, bestErr := float32(0), math.Inf(1)
	const L = 7
	for k := 16; k <= 64; k++ {
		s := float32(max * float64(k) / 64 / L)
		e := 0.0
		for _, v := range x {
			q := math.Max(-L, math.Min(L, math.Round(v/float64(s))))
			d := v - q*float64(s)
			e += d * d
		}
		if e < bestErr {
			best, bestErr = s, e
		}
	}
	return quantizeClamp(nil, x, best, L), best, nil
}

// quantizeClamp appends the symmetric codes of x under scale, clamped to ±lim.
func quantizeClamp(dst []byte, x []float64, scale float32, lim float64) []byte {
	s := float64(scale)
	for _, v := range x {
		q := 0.0
		if s > 0 {
			q = math.Max(-lim, math.Min(lim, math.Round(v/s)))
		}
		dst = append(dst, byte(int8(q)))
	}
	return dst
}

// DequantizeInt8 returns q·scale for every int8 code.
func DequantizeInt8(q []byte, scale float32) []float64 {
	out := make([]float64, len(q))
	for i, b := range q {
		out[i] = float64(int8(b)) * float64(scale)
	}
	return out
}

// QuantizeUint8 codes non-negative x with the scale max(x)/255. Every value is reproduced within
// scale/2 (plus a relative 2⁻²³ of max x). A negative, NaN or infinite value is an error: these codes
// carry similarities and counts, for which a negative value means a bug upstream.
func QuantizeUint8(x []float64) ([]byte, float32, error) {
	m := 0.0
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, 0, errNotFinite
		}
		if v < 0 {
			return nil, 0, errors.New("train: uint8 quantisation of a negative value")
		}
		m = math.Max(m, v)
	}
	s := float32(m / 255)
	return QuantizeUint8With(nil, x, s), s, nil
}

// QuantizeUint8With appends to dst the uint8 codes of x under a given scale, clamping to [0, 255].
func QuantizeUint8With(dst []byte, x []float64, scale float32) []byte {
	s := float64(scale)
	for _, v := range x {
		q := 0.0
		if s > 0 {
			q = math.Max(0, math.Min(255, math.Round(v/s)))
		}
		dst = append(dst, byte(q))
	}
	return dst
}

// DequantizeUint8 returns q·scale for every uint8 code.
func DequantizeUint8(q []byte, scale float32) []float64 {
	out := make([]float64, len(q))
	for i, b := range q {
		out[i] = float64(b) * float64(scale)
	}
	return out
}
