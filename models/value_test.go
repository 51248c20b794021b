package models

import (
	"math"
	"runtime"
	"testing"
)

// CDNOW parameters. The published ones are rounded to three decimals (Fader, Hardie & Lee 2005,
// Table 1; Fader & Hardie 2013). The maximum-likelihood ones were refitted here from
// /work/shared/datasets/cdnow/cdnow_customers_summary_with_transactions.csv (2,357 customers, BG/NBD
// LL −9582.43 as in the paper; Gamma-Gamma on the 946 with x > 0, LL −4055.92) with gonum's
// Nelder-Mead then BFGS: the golden values of Hardie's spreadsheets come from unrounded parameters,
// and the rounded ones move E[X(31.86)] by 0.0015 and the Gamma-Gamma means by up to 0.05.
var (
	cdnowPublished = Value{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426, P: 6.25, Q: 3.74, Gamma: 15.44, Horizon: 39}
	cdnowMLE       = Value{R: 0.2425929084, Alpha: 4.413530921, A: 0.7928849667, B: 2.425750258,
		P: 6.248802448, Q: 3.744588438, Gamma: 15.44774833, Horizon: 39}
)

// naiveHyp2F1 sums the series of ₂F₁ directly, for reference.
func naiveHyp2F1(a, b, c, z float64) float64 {
	sum, term := 1.0, 1.0
	for n := 0.0; n < 1e6; n++ {
		term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
		sum += term
		if math.Abs(term) < 1e-18*math.Abs(sum) && n > math.Abs(a)+math.Abs(b) {
			break
		}
	}
	return sum
}

// naiveConditional is eq. 10 of Fader, Hardie & Lee (2005) as printed, with package math.
func naiveConditional(v *Value, t, x, tx, T float64) float64 {
	r, al, a, b := v.R, v.Alpha, v.A, v.B
	z := t / (al + T + t)
	num := (a + b + x - 1) / (a - 1) * (1 - math.Pow((al+T)/(al+T+t), r+x)*naiveHyp2F1(r+x, b+x, a+b+x-1, z))
	den := 1.0
	if x > 0 {
		den += a / (b + x - 1) * math.Pow((al+T)/(al+tx), r+x)
	}
	return num / den
}

func TestBGNBDGolden(t *testing.T) {
	// Hardie's spreadsheet values, as asserted by lifetimes
	// (tests/test_estimation.py::test_expectation_returns_same_value_Hardie_excel_sheet and
	// ::test_conditional_expectation_returns_same_value_as_Hardie_excel_sheet); see
	// /work/shared/datasets/cdnow/SOURCE.md.
	times := []float64{0.1429, 1, 3, 31.8571, 32, 78}
	want := []float64{0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576}
	t.Run("E[X(t)]/MLE", func(t *testing.T) {
		v := cdnowMLE
		for i, tt := range times {
			got := v.Expected(tt)
			// Printed precision (±0.00005) for every t but 78 weeks, where we get 1.85797: the
			// spreadsheet's value is 0.0004 lower, as if its ₂F₁ series (z = 0.946 there, slow to
			// converge in the original form) were cut after about 150 terms. lifetimes checks it to
			// 3 decimals.
			tol := 0.00005
			if tt == 78 {
				tol = 0.0005
			}
			if math.Abs(got-want[i]) > tol {
				t.Errorf("E[X(%v)] = %.6f, want %v ± %v", tt, got, want[i], tol)
			}
		}
	})
	t.Run("E[X(t)]/published", func(t *testing.T) {
		v := cdnowPublished
		for i, tt := range times {
			got := v.Expected(tt)
			// The rounded parameters shift the curve by up to 0.16 %: the tolerance of the other
			// implementations' tests (rtol 1e-2 in pymc-marketing and btyd).
			if math.Abs(got-want[i]) > 0.01*want[i] {
				t.Errorf("E[X(%v)] = %.6f, want %v ± 1%%", tt, got, want[i])
			}
			// And it is exactly eq. 9 as printed, summed naively.
			r, al, a, b := v.R, v.Alpha, v.A, v.B
			ref := (a + b - 1) / (a - 1) * (1 - math.Pow(al/(al+tt), r)*naiveHyp2F1(r, b, a+b-1, tt/(al+tt)))
			if math.Abs(got-ref) > 1e-12*ref {
				t.Errorf("E[X(%v)] = %.17g, eq. 9 gives %.17g", tt, got, ref)
			}
		}
	})
	t.Run("E[Y(39)|2,30.43,38.86]", func(t *testing.T) {
		for name, v := range map[string]Value{"MLE": cdnowMLE, "published": cdnowPublished} {
			got := v.ConditionalExpected(39, 2, 30.43, 38.86)
			if math.Abs(got-1.226) > 0.0005 {
				t.Errorf("%s: E[Y(39)|x=2, t_x=30.43, T=38.86] = %.6f, want 1.226", name, got)
			}
			if ref := naiveConditional(&v, 39, 2, 30.43, 38.86); math.Abs(got-ref) > 1e-12*ref {
				t.Errorf("%s: %.17g, eq. 10 gives %.17g", name, got, ref)
			}
		}
	})
}

// cdnowFirst10 are x (frequency) and zbar (mean repeat spend) of customers 1–10 of
// /work/shared/datasets/cdnow/cdnow_customers_summary_with_transactions.csv.
var cdnowFirst10 = []struct{ x, zbar float64 }{
	{2, 22.35}, {1, 11.77}, {0, 0}, {0, 0}, {0, 0}, {7, 73.74}, {1, 11.77}, {0, 0}, {2, 25.55}, {0, 0},
}

func TestGammaGammaGolden(t *testing.T) {
	// Conditional expected average profit of customers 1–10 "from Hardie spreadsheet
	// http://brucehardie.com/notes/025/", as asserted by lifetimes
	// (tests/test_estimation.py::TestGammaGammaFitter::test_conditional_expected_average_profit).
	want := []float64{24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17}
	for _, tc := range []struct {
		name string
		v    Value
		tol  float64
	}{
		// lifetimes sets p=6.25, q=3.74, v=15.44 and checks with atol=0.1: the rounding of the
		// parameters moves the population mean pγ/(q−1) from 35.17 to 35.22.
		{"published", cdnowPublished, 0.1},
		// Unrounded: within the printed precision, except customer 1 (24.6586): the CSV's zbar
		// 22.35 is itself rounded, and 22.34 would give 24.650.
		{"MLE", cdnowMLE, 0.01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, c := range cdnowFirst10 {
				got := tc.v.ExpectedSpend(c.x, c.zbar)
				if math.Abs(got-want[i]) > tc.tol {
					t.Errorf("customer %d: E[M|x=%v, m=%v] = %.4f, want %v ± %v", i+1, c.x, c.zbar, got, want[i], tc.tol)
				}
			}
		})
	}
}

func TestValueFormulas(t *testing.T) {
	v := cdnowMLE
	t.Run("alive", func(t *testing.T) {
		tests := []struct {
			name      string
			x, tx, T  float64
			want, tol float64
		}{
			{"no repeat purchase", 0, 0, 38.86, 1, 0},
			{"just bought", 5, 38.86, 38.86, 1 / (1 + v.A/(v.B+4)), 1e-15},
			{"customer 1", 2, 30.43, 38.86, 1 / (1 + v.A/(v.B+1)*math.Pow((v.Alpha+38.86)/(v.Alpha+30.43), v.R+2)), 1e-15},
			{"long gone", 20, 1, 500, 0, 1e-10},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := v.Alive(tc.x, tc.tx, tc.T); math.Abs(got-tc.want) > tc.tol {
					t.Errorf("Alive(%v, %v, %v) = %v, want %v", tc.x, tc.tx, tc.T, got, tc.want)
				}
			})
		}
	})
	t.Run("conditional vs naive", func(t *testing.T) {
		for _, h := range []struct{ t, x, tx, T float64 }{
			{1, 0, 0, 0}, {52, 0, 0, 10}, {10, 1, 5, 20}, {26, 7, 29.43, 38.86}, {100, 3, 2, 30}, {0.01, 4, 3, 5},
		} {
			got, ref := v.ConditionalExpected(h.t, h.x, h.tx, h.T), naiveConditional(&v, h.t, h.x, h.tx, h.T)
			if math.Abs(got-ref) > 1e-11*ref {
				t.Errorf("ConditionalExpected(%v) = %.17g, eq. 10 gives %.17g", h, got, ref)
			}
		}
	})
	t.Run("a = 1 is continuous", func(t *testing.T) {
		for _, x := range []float64{0, 3} {
			at := func(a float64) float64 {
				w := v
				w.A = a
				return w.ConditionalExpected(30, x, 10, 20)
			}
			mid, lo, hi := at(1), at(1-1e-7), at(1+1e-7)
			if !(mid > 0) || math.Abs(lo-mid) > 1e-6*mid || math.Abs(hi-mid) > 1e-6*mid {
				t.Errorf("x=%v: E at a = 1-1e-7, 1, 1+1e-7: %v %v %v", x, lo, mid, hi)
			}
		}
	})
	t.Run("a+b+x-1 = 0", func(t *testing.T) {
		w := Value{R: 0.5, Alpha: 3, A: 0.25, B: 0.75, Horizon: 1}
		got := w.Expected(10)
		lo, hi := w, w
		lo.B, hi.B = 0.75-1e-9, 0.75+1e-9
		if !(got > 0) || math.Abs(lo.Expected(10)-got) > 1e-6*got || math.Abs(hi.Expected(10)-got) > 1e-6*got {
			t.Errorf("E[X(10)] around a+b = 1: %v %v %v", lo.Expected(10), got, hi.Expected(10))
		}
	})
	t.Run("monotone in t", func(t *testing.T) {
		prev := 0.0
		for tt := 0.5; tt < 2000; tt *= 1.5 {
			e := v.ConditionalExpected(tt, 3, 20, 30)
			if !(e > prev) {
				t.Fatalf("E[Y(%v)] = %v not above E at the previous horizon %v", tt, e, prev)
			}
			prev = e
		}
	})
	t.Run("units", func(t *testing.T) {
		if got := v.Units(14); got != 2 {
			t.Errorf("Units(14) = %v with UnitDays 0, want 2 weeks", got)
		}
		d := Value{UnitDays: 1}
		if got := d.Units(14); got != 14 {
			t.Errorf("Units(14) = %v with UnitDays 1, want 14", got)
		}
	})
	t.Run("spend", func(t *testing.T) {
		if got, want := v.ExpectedSpend(0, 100), v.P*v.Gamma/(v.Q-1); math.Abs(got-want) > 1e-12*want {
			t.Errorf("ExpectedSpend(0, 100) = %v, want the population mean %v", got, want)
		}
		if got := v.ExpectedSpend(1e6, 50); math.Abs(got-50) > 0.01 {
			t.Errorf("ExpectedSpend(1e6, 50) = %v, want about 50", got)
		}
		if got := (&Value{R: 1, Alpha: 1, A: 1, B: 1}).ExpectedSpend(3, 10); got != 0 {
			t.Errorf("ExpectedSpend without Gamma-Gamma = %v, want 0", got)
		}
	})
	t.Run("estimate", func(t *testing.T) {
		e := v.Estimate(2, 30.43, 38.86, 22.35)
		if e.Alive != v.Alive(2, 30.43, 38.86) || e.Purchases != v.ConditionalExpected(39, 2, 30.43, 38.86) ||
			e.Spend != v.ExpectedSpend(2, 22.35) || e.Value != e.Purchases*e.Spend {
			t.Errorf("Estimate = %+v", e)
		}
		w := v
		w.P, w.Q, w.Gamma = 0, 0, 0
		if e := w.Estimate(2, 30.43, 38.86, 22.35); e.Spend != 22.35 {
			t.Errorf("Estimate without Gamma-Gamma: spend %v, want the customer's mean 22.35", e.Spend)
		}
	})
}

// TestValueNeverNaN evaluates every function over parameters at and beyond the edges Validate
// allows and over hostile histories: nothing may come out NaN, infinite or out of range.
func TestValueNeverNaN(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	rs := []float64{1e-9, 0.243, 5, 1e9}
	alphas := []float64{1e-9, 4.4, 1e9}
	as := []float64{1e-9, 0.793, 1, 1 + 1e-12, 3, 1e9}
	bs := []float64{1e-9, 2.4, 1e9}
	xs := []float64{0, 1, 7, 1e6, 1e300, nan, -1}
	times := []float64{0, 38.86, 1e7, nan, -3}
	horizons := []float64{0, 1e-9, 39, 1e7, inf}
	if testing.Short() || runtime.GOARCH == "wasm" {
		xs, times, horizons = []float64{0, 2, 1e300, nan}, []float64{0, 38.86, 1e7}, []float64{1e-9, 39, 1e7}
	}
	n := 0
	for _, r := range rs {
		for _, al := range alphas {
			for _, a := range as {
				for _, b := range bs {
					v := Value{R: r, Alpha: al, A: a, B: b, P: a, Q: math.Min(1+b, 1e9), Gamma: r, Horizon: 39}
					if err := (&Bundle{Format: FormatVersion, Value: &v}).Validate(); err != nil {
						t.Fatalf("parameters %+v: %v", v, err)
					}
					for _, tt := range horizons {
						if e := v.Expected(tt); !finite(e) || e < 0 {
							t.Fatalf("%+v: Expected(%v) = %v", v, tt, e)
						}
					}
					for _, x := range xs {
						if s := v.ExpectedSpend(x, 1e300); !finite(s) || s < 0 {
							t.Fatalf("%+v: ExpectedSpend(%v) = %v", v, x, s)
						}
						for _, T := range times {
							for _, tx := range times {
								if p := v.Alive(x, tx, T); !(p >= 0 && p <= 1) {
									t.Fatalf("%+v: Alive(%v, %v, %v) = %v", v, x, tx, T, p)
								}
								for _, h := range horizons {
									n++
									if e := v.ConditionalExpected(h, x, tx, T); !finite(e) || e < 0 {
										t.Fatalf("%+v: ConditionalExpected(%v, %v, %v, %v) = %v", v, h, x, tx, T, e)
									}
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d conditional expectations checked", n)
}

func BenchmarkValue(b *testing.B) {
	v := cdnowMLE
	b.Run("ConditionalExpected", func(b *testing.B) {
		var s float64
		for b.Loop() {
			s += v.ConditionalExpected(39, 2, 30.43, 38.86)
		}
	})
	b.Run("ConditionalExpected/52weeks-new", func(b *testing.B) {
		var s float64
		for b.Loop() {
			s += v.ConditionalExpected(52, 1, 1, 2)
		}
	})
	b.Run("Alive", func(b *testing.B) {
		var s float64
		for b.Loop() {
			s += v.Alive(2, 30.43, 38.86)
		}
	})
}
