package detmath

import (
	"math"
	"math/big"
	"math/rand/v2"
	"runtime"
	"testing"
)

// A high-precision reference (math/big, 320 bits) to measure errors against the exact value rather
// than against package math, whose amd64 assembly is itself off by up to 2 ulp for Exp, overflows
// early near 709.78, and mishandles subnormal arguments of Log (golang/go#56600).

const refPrec = 320

func bigf(x float64) *big.Float { return new(big.Float).SetPrec(refPrec).SetFloat64(x) }

// refExp returns e**x: Taylor series of x/2**k, then k squarings.
func refExp(x *big.Float) *big.Float {
	k := 0
	r := new(big.Float).SetPrec(refPrec).Set(x)
	lim := bigf(0x1p-12)
	for new(big.Float).Abs(r).Cmp(lim) > 0 {
		r.SetMantExp(r, -1)
		k++
	}
	sum := bigf(1)
	term := bigf(1)
	for n := 1; n < 60; n++ {
		term.Mul(term, r)
		term.Quo(term, bigf(float64(n)))
		sum.Add(sum, term)
		if term.Sign() == 0 || term.MantExp(nil) < -refPrec-8 {
			break
		}
	}
	for range k {
		sum.Mul(sum, sum)
	}
	return sum
}

// refLog returns log(x) for x > 0 by Halley's iteration on e**y = x.
func refLog(x *big.Float) *big.Float {
	m := new(big.Float)
	e := x.MantExp(m) // x = m × 2**e, m in [0.5, 1)
	mf, _ := m.Float64()
	y := bigf(math.Log(mf) + float64(e)*math.Ln2)
	for range 3 {
		ey := refExp(y)
		num := new(big.Float).SetPrec(refPrec).Sub(x, ey)
		den := new(big.Float).SetPrec(refPrec).Add(x, ey)
		num.Quo(num, den)
		num.Mul(num, bigf(2))
		y.Add(y, num)
	}
	return y
}

// refUlps is the distance in ulps between got and the float64 nearest to the exact value.
func refUlps(got float64, exact *big.Float) uint64 {
	want, _ := exact.Float64()
	return ulps(got, want)
}

func TestAgainstExact(t *testing.T) {
	n := 3000
	if testing.Short() || runtime.GOARCH == "wasm" {
		n = 300
	}
	r := rand.New(rand.NewPCG(3, 5))
	type fcase struct {
		name string
		arg  func() (x, y float64)
		got  func(x, y float64) float64
		ref  func(x, y float64) *big.Float
	}
	uni := func(lo, hi float64) func() (float64, float64) {
		return func() (float64, float64) { return lo + (hi-lo)*r.Float64(), 0 }
	}
	cases := []fcase{
		{"Exp", uni(-708, 709.78), func(x, _ float64) float64 { return Exp(x) },
			func(x, _ float64) *big.Float { return refExp(bigf(x)) }},
		{"Exp/small", uni(-3, 3), func(x, _ float64) float64 { return Exp(x) },
			func(x, _ float64) *big.Float { return refExp(bigf(x)) }},
		{"Expm1", uni(-5, 50), func(x, _ float64) float64 { return Expm1(x) },
			func(x, _ float64) *big.Float { return new(big.Float).Sub(refExp(bigf(x)), bigf(1)) }},
		{"Log", func() (float64, float64) { return math.Exp(r.Float64()*1400 - 700), 0 },
			func(x, _ float64) float64 { return Log(x) }, func(x, _ float64) *big.Float { return refLog(bigf(x)) }},
		{"Log/subnormal", func() (float64, float64) { return math.Float64frombits(r.Uint64N(1<<52-1) + 1), 0 },
			func(x, _ float64) float64 { return Log(x) }, func(x, _ float64) *big.Float { return refLog(bigf(x)) }},
		{"Log1p", uni(-0.9, 3), func(x, _ float64) float64 { return Log1p(x) },
			func(x, _ float64) *big.Float { return refLog(new(big.Float).SetPrec(refPrec).Add(bigf(1), bigf(x))) }},
		{"Pow", func() (float64, float64) { return math.Exp(r.Float64()*20 - 10), r.Float64()*40 - 20 },
			func(x, y float64) float64 { return Pow(x, y) },
			func(x, y float64) *big.Float { return refExp(new(big.Float).Mul(refLog(bigf(x)), bigf(y))) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			limit := uint64(1)
			if c.name == "Pow" {
				// Go's algorithm squares x repeatedly for the integral part of y: as in package
				// math, its error grows with |y| and |log x| (under 10 ulps here). See Pow's doc.
				limit = 16
			}
			var worst uint64
			for range n {
				x, y := c.arg()
				d := refUlps(c.got(x, y), c.ref(x, y))
				if d > worst {
					worst = d
				}
				if d > limit {
					t.Fatalf("%s(%v, %v) = %v is %d ulps from the exact value", c.name, x, y, c.got(x, y), d)
				}
			}
			t.Logf("worst %d ulp over %d inputs", worst, n)
		})
	}
}
