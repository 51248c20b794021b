package detmath

// Sigmoid returns the logistic function 1/(1+e**-x), bit-identically on every platform.
//
// It never overflows: for x < 0 it is computed as e**x/(1+e**x), so that Exp only ever sees a
// non-positive argument. Sigmoid(+Inf) = 1, Sigmoid(-Inf) = 0, Sigmoid(NaN) = NaN; the result is in
// [0, 1] for every other input.
func Sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + Exp(-x))
	}
	if isNaN(x) {
		return x
	}
	e := Exp(x)
	return e / (1 + e)
}

// Logit returns log(p/(1-p)), the inverse of Sigmoid, for p in [0, 1]: Logit(0) = -Inf,
// Logit(1) = +Inf, and NaN outside [0, 1].
func Logit(p float64) float64 {
	if !(p >= 0 && p <= 1) {
		return nan
	}
	return Log(p) - Log1p(-p)
}
