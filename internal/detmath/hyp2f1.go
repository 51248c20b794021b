package detmath

import "math"

// maxHypTerms bounds the work of one hypergeometric series. The terms shrink like |z|**n, so it
// is reached only for |z| very close to 1 (above about 0.998 for moderate parameters), where the
// truncated sum is returned: a bounded cost matters more on a device than the last digits.
const maxHypTerms = 20000

// Hyp2F1 returns the Gauss hypergeometric function ₂F₁(a, b; c; z) for |z| < 1, summed from its
// defining series Σₙ (a)ₙ(b)ₙ/(c)ₙ zⁿ/n!. It returns NaN for |z| ≥ 1, NaN arguments, and for c
// a non-positive integer (where the series is undefined). The summation order is fixed, so the
// result is bit-identical on every platform.
//
// Convergence is geometric with ratio |z|: fast for |z| ≤ ½, slow near 1. Callers that can should
// transform their argument first (see HypTail, used by the BG/NBD formulas in package models).
func Hyp2F1(a, b, c, z float64) float64 {
	if c <= 0 && c == math.Floor(c) {
		return nan
	}
	t := HypTail(a, b, c, z)
	if isNaN(t) {
		return t
	}
	return 1 + float64(b*t)/c
}

// HypTail returns c·(₂F₁(a, b; c; z) − 1)/b: the series of Hyp2F1 after its leading 1, scaled so
// that it has no singularity at b = 0 nor at c = 0. Its terms are
//
//	uₙ = (a)ₙ (b+1)ₙ₋₁ / (c+1)ₙ₋₁ · zⁿ/n!,  n ≥ 1,  u₁ = a·z,  uₙ₊₁ = uₙ·(a+n)(b+n)z / ((c+n)(n+1)).
//
// Formulas of the form (c/b)·(1 − (1−z)^b·₂F₁(a, b; c; z)), such as the BG/NBD expectations at
// a = 1 (b = a−1 = 0), need exactly this quantity. It is defined for |z| < 1 and c not a negative
// integer (c = 0 is fine); it returns NaN otherwise and for NaN arguments.
func HypTail(a, b, c, z float64) float64 {
	if isNaN(a) || isNaN(b) || isNaN(c) || !(math.Abs(z) < 1) || (c < 0 && c == math.Floor(c)) {
		return nan
	}
	// Stop once a term is below half an ulp of the sum, scaled by (1−|z|) so that the geometric
	// tail the series still owes is below that too.
	lim := float64(0x1p-53 * (1 - math.Abs(z)))
	// Past n > −min(a, b, c) every factor of the term ratio keeps its sign and the ratio tends
	// to z; before that a small term can be followed by larger ones.
	settle := 0.0
	for _, p := range [3]float64{a, b, c} {
		if -p > settle {
			settle = -p
		}
	}
	u := float64(a * z)
	sum := u
	for n := 1.0; n < maxHypTerms; n++ {
		if u == 0 && n > settle {
			break
		}
		ratio := float64(float64((a+n)*(b+n))*z) / float64((c+n)*(n+1))
		u = float64(u * ratio)
		sum += u
		if isNaN(sum) || math.IsInf(sum, 0) {
			break
		}
		if n > settle && math.Abs(ratio) < 1 && math.Abs(u) <= float64(lim*math.Abs(sum)) {
			break
		}
	}
	return sum
}
