package train

import (
	"context"
	"errors"
	"math"

	"gonum.org/v1/gonum/mathext"

	"github.com/presage-dev/presage/models"
)

// Customer is one customer's calibration-period summary in the BG/NBD notation: X repeat purchases
// (purchases after the first), the last at time Tx, observed for T time units since the first
// purchase (0 ≤ Tx ≤ T; Tx = 0 when X = 0).
type Customer struct {
	X, Tx, T float64
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

// groups maps each customer to the index of its x among the distinct values of x, so that the
// gamma and digamma terms, which depend on a customer only through x, are computed once per value.
type groups struct {
	vals []float64
	of   []int
}

func groupBy(x []float64) groups {
	g := groups{of: make([]int, len(x))}
	at := map[float64]int{}
	for i, v := range x {
		k, ok := at[v]
		if !ok {
			k = len(g.vals)
			at[v] = k
			g.vals = append(g.vals, v)
		}
		g.of[i] = k
	}
	return g
}

type bgData struct {
	cs []Customer
	groups
}

func newBGData(cs []Customer) *bgData {
	x := make([]float64, len(cs))
	for i, c := range cs {
		x[i] = c.X
	}
	return &bgData{cs: cs, groups: groupBy(x)}
}

// bgnbdLL returns the summed BG/NBD log-likelihood and, if g is non-nil, stores in g its gradient
// with respect to the log-parameters (ln r, ln α, ln a, ln b).
func bgnbdLL(cs []Customer, r, alpha, a, b float64, g []float64) float64 {
	return newBGData(cs).ll(r, alpha, a, b, g)
}

func (d *bgData) ll(r, alpha, a, b float64, g []float64) float64 {
	// Per distinct x: A₁ − r·ln α and A₂ of the paper's log-likelihood, and their digammas.
	nv := len(d.vals)
	a12 := make([]float64, nv)
	var dr, da, db []float64
	if g != nil {
		dr, da, db = make([]float64, nv), make([]float64, nv), make([]float64, nv)
	}
	lgr, lgab, lgb := lgamma(r), lgamma(a+b), lgamma(b)
	psr, psab, psb := mathext.Digamma(r), mathext.Digamma(a+b), mathext.Digamma(b)
	for k, x := range d.vals {
		a12[k] = lgamma(r+x) - lgr + lgab + lgamma(b+x) - lgb - lgamma(a+b+x)
		if g != nil {
			psabx := mathext.Digamma(a + b + x)
			dr[k] = mathext.Digamma(r+x) - psr
			da[k] = psab - psabx
			db[k] = psab + mathext.Digamma(b+x) - psb - psabx
		}
	}
	ll := 0.0
	var gr, gal, ga, gb float64
	la := math.Log(alpha)
	for i, c := range d.cs {
		k, x := d.of[i], c.X
		a3 := -(r + x) * math.Log(alpha+c.T)
		lse, w3 := a3, 1.0
		var a4 float64
		if x > 0 {
			a4 = math.Log(a) - math.Log(b+x-1) - (r+x)*math.Log(alpha+c.Tx)
			m := math.Max(a3, a4)
			lse = m + math.Log(math.Exp(a3-m)+math.Exp(a4-m))
			w3 = math.Exp(a3 - lse)
		}
		ll += a12[k] + r*la + lse
		if g == nil {
			continue
		}
		w4 := 1 - w3
		gr += dr[k] + la - w3*math.Log(alpha+c.T)
		gal += r/alpha - w3*(r+x)/(alpha+c.T)
		ga += da[k]
		gb += db[k]
		if x > 0 {
			gr -= w4 * math.Log(alpha+c.Tx)
			gal -= w4 * (r + x) / (alpha + c.Tx)
			ga += w4 / a
			gb -= w4 / (b + x - 1)
		}
	}
	if g != nil {
		g[0], g[1], g[2], g[3] = r*gr, alpha*gal, a*ga, b*gb
	}
	return ll
}

// BGNBDLogLik returns the BG/NBD log-likelihood of the customers under (r, α, a, b), summed.
func BGNBDLogLik(customers []Customer, r, alpha, a, b float64) float64 {
	return bgnbdLL(customers, r, alpha, a, b, nil)
}

// FitBGNBD fits the BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "'Counting your
// customers' the easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2):275–284).
//
// Model: while active, a customer buys as a Poisson process of rate λ ~ Gamma(r, α); after each
// purchase the customer drops out with probability p ~ Beta(a, b). Loss: minus the log-likelihood
// of (x, t_x, T) summed over customers, the paper's eq. 6:
//
//	L = B(a, b+x)/B(a, b) · Γ(r+x)αʳ / (Γ(r)(α+T)^{r+x})
//	  + 1{x>0} · B(a+1, b+x−1)/B(a, b) · Γ(r+x)αʳ / (Γ(r)(α+t_x)^{r+x}),
//
// evaluated in logs with math.Lgamma and a log-sum-exp, minimised over (ln r, ln α, ln a, ln b) (so
// the parameters stay positive) by gonum/optimize's L-BFGS with the analytic gradient (digamma from
// gonum/mathext). Training runs natively; bit-identical results across hosts are not needed here.
// It returns the parameters and the maximised log-likelihood.
func FitBGNBD(customers []Customer) (r, alpha, a, b, loglik float64, err error) {
	if len(customers) == 0 {
		return 0, 0, 0, 0, 0, errors.New("train: bgnbd: no customers")
	}
	for _, c := range customers {
		if !(c.X >= 0) || !(c.Tx >= 0) || !(c.T >= c.Tx) || math.IsInf(c.T, 0) || (c.X > 0 && !(c.Tx > 0)) {
			return 0, 0, 0, 0, 0, errors.New("train: bgnbd: need X ≥ 0, 0 ≤ Tx ≤ T finite, Tx > 0 when X > 0")
		}
	}
	n := float64(len(customers))
	data := newBGData(customers)
	eval := func(g, th []float64) float64 {
		p := expAll(th)
		if p == nil {
			for i := range g {
				g[i] = 0
			}
			return math.Inf(1)
		}
		ll := data.ll(p[0], p[1], p[2], p[3], g)
		for i := range g {
			g[i] = -g[i] / n
		}
		return -ll / n
	}
	res, err := minimise(context.Background(), eval, []float64{0, 0, 0, 0}, 1000, 1e-10, nil)
	if err != nil {
		return 0, 0, 0, 0, 0, err
	}
	if !res.Converged {
		return 0, 0, 0, 0, 0, errors.New("train: bgnbd: did not converge (" + res.Status.String() + ")")
	}
	p := expAll(res.X)
	return p[0], p[1], p[2], p[3], -res.F * n, nil
}

// expAll returns exp of each value, or nil if one leaves the range where the likelihood is finite.
func expAll(th []float64) []float64 {
	p := make([]float64, len(th))
	for i, v := range th {
		if v < -30 || v > 30 {
			return nil
		}
		p[i] = math.Exp(v)
	}
	return p
}

// ggLL returns the Gamma-Gamma log-likelihood summed over repeat customers (x > 0, m > 0) and, if
// g is non-nil, stores in g its gradient in (ln p, ln q, ln γ).
func ggLL(x, m []float64, p, q, v float64, g []float64) float64 {
	return ggLLGrouped(x, m, groupBy(x), p, q, v, g)
}

func ggLLGrouped(x, m []float64, gr groups, p, q, v float64, g []float64) float64 {
	nv := len(gr.vals)
	lg := make([]float64, nv) // lnΓ(px+q) − lnΓ(px) per distinct x
	var dp, dq []float64
	if g != nil {
		dp, dq = make([]float64, nv), make([]float64, nv)
	}
	psq := mathext.Digamma(q)
	for k, xv := range gr.vals {
		px := p * xv
		lg[k] = lgamma(px+q) - lgamma(px)
		if g != nil {
			psPQ := mathext.Digamma(px + q)
			dp[k] = xv * (psPQ - mathext.Digamma(px) + math.Log(xv))
			dq[k] = psPQ - psq
		}
	}
	ll := 0.0
	var gp, gq, gv float64
	lgq, lv := lgamma(q), math.Log(v)
	for i, xi := range x {
		k, mi := gr.of[i], m[i]
		px := p * xi
		d := v + xi*mi
		lm, ld := math.Log(mi), math.Log(d)
		ll += lg[k] - lgq + q*lv + (px-1)*lm + px*math.Log(xi) - (px+q)*ld
		if g == nil {
			continue
		}
		gp += dp[k] + xi*(lm-ld)
		gq += dq[k] + lv - ld
		gv += q/v - (px+q)/d
	}
	if g != nil {
		g[0], g[1], g[2] = p*gp, q*gq, v*gv
	}
	return ll
}

// FitGammaGamma fits the Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, "The
// Gamma-Gamma model of monetary value", brucehardie.com/notes/025; after Colombo & Jiang 1999) on
// repeat customers: x[i] repeat transactions with mean value mbar[i]. Rows with x ≤ 0 or mbar ≤ 0
// carry no information on spend and are skipped.
//
// Model: a customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers,
// so the mean of x values, z̄, has the marginal density
//
//	f(z̄ | p, q, γ, x) = Γ(px+q)/(Γ(px)Γ(q)) · γ^q · z̄^{px−1} · x^{px} / (γ + x·z̄)^{px+q}.
//
// Loss: minus the summed log-likelihood, minimised over (ln p, ln q, ln γ) by L-BFGS with the
// analytic gradient.
func FitGammaGamma(x, mbar []float64) (p, q, gamma float64, err error) {
	if len(x) != len(mbar) {
		return 0, 0, 0, errors.New("train: gamma-gamma: x and mbar differ in length")
	}
	var xs, ms []float64
	for i := range x {
		if x[i] > 0 && mbar[i] > 0 && !math.IsInf(x[i], 0) && !math.IsInf(mbar[i], 0) {
			xs = append(xs, x[i])
			ms = append(ms, mbar[i])
		}
	}
	if len(xs) < 3 {
		return 0, 0, 0, errors.New("train: gamma-gamma: fewer than 3 repeat customers")
	}
	n := float64(len(xs))
	gr := groupBy(xs)
	eval := func(g, th []float64) float64 {
		pr := expAll(th)
		if pr == nil {
			for i := range g {
				g[i] = 0
			}
			return math.Inf(1)
		}
		ll := ggLLGrouped(xs, ms, gr, pr[0], pr[1], pr[2], g)
		for i := range g {
			g[i] = -g[i] / n
		}
		return -ll / n
	}
	// Start γ at the scale of the spend so that the first steps are sensible.
	mean := 0.0
	for _, v := range ms {
		mean += v
	}
	mean /= n
	res, err := minimise(context.Background(), eval, []float64{0, 0, math.Log(mean)}, 2000, 1e-10, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	if !res.Converged {
		return 0, 0, 0, errors.New("train: gamma-gamma: did not converge (" + res.Status.String() + ")")
	}
	pr := expAll(res.X)
	return pr[0], pr[1], pr[2], nil
}

// ValueOptions tune FitValue.
type ValueOptions struct {
	Horizon  float64 // Value.Horizon, in units; 0 means 52
	UnitDays float64 // Value.UnitDays; 0 means 7 (weeks)
}

// FitValue fits BG/NBD on every customer and Gamma-Gamma on the repeat customers (meanSpend[i]
// is customer i's mean repeat-transaction value; nil skips Gamma-Gamma) and returns the bundle's
// Value model.
func FitValue(customers []Customer, meanSpend []float64, opt ValueOptions) (*models.Value, error) {
	r, alpha, a, b, _, err := FitBGNBD(customers)
	if err != nil {
		return nil, err
	}
	v := &models.Value{R: r, Alpha: alpha, A: a, B: b,
		Horizon: defaultTo(opt.Horizon, 52), UnitDays: defaultTo(opt.UnitDays, 7)}
	if meanSpend != nil {
		if len(meanSpend) != len(customers) {
			return nil, errors.New("train: value: meanSpend and customers differ in length")
		}
		x := make([]float64, len(customers))
		for i, c := range customers {
			x[i] = c.X
		}
		if v.P, v.Q, v.Gamma, err = FitGammaGamma(x, meanSpend); err != nil {
			return nil, err
		}
	}
	return v, nil
}
