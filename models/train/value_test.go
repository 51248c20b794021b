package train

import (
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// loadCDNOW reads the 2,357-customer CDNOW calibration summary (weeks) with mean repeat spend.
func loadCDNOW(t testing.TB) ([]Customer, []float64) {
	t.Helper()
	path := filepath.Join(datasetsDir(), "cdnow", "cdnow_customers_summary_with_transactions.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("CDNOW data not available: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2358 || recs[0][1] != "x" || recs[0][2] != "t_x" || recs[0][3] != "T" || recs[0][4] != "zbar" {
		t.Fatalf("unexpected file: %d records, header %v", len(recs), recs[0])
	}
	var cs []Customer
	var spend []float64
	for _, r := range recs[1:] {
		v := make([]float64, 4)
		for k := range v {
			if v[k], err = strconv.ParseFloat(r[k+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		cs = append(cs, Customer{X: v[0], Tx: v[1], T: v[2]})
		spend = append(spend, v[3])
	}
	return cs, spend
}

func TestFitBGNBDCDNOW(t *testing.T) {
	cs, spend := loadCDNOW(t)
	r, alpha, a, b, ll, err := FitBGNBD(cs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("BG/NBD r=%.6f alpha=%.6f a=%.6f b=%.6f LL=%.4f", r, alpha, a, b, ll)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"r", r, 0.243}, {"alpha", alpha, 4.414}, {"a", a, 0.793}, {"b", b, 2.426}} {
		if e := relErr(c.got, c.want); e > 0.005 {
			t.Errorf("%s = %g, want %g ± 0.5%% (off by %.3f%%)", c.name, c.got, c.want, 100*e)
		}
	}
	if math.Abs(ll-(-9582.4)) > 0.5 {
		t.Errorf("log-likelihood %g, paper −9582.4", ll)
	}
	x := make([]float64, len(cs))
	for i, c := range cs {
		x[i] = c.X
	}
	p, q, g, err := FitGammaGamma(x, spend)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Gamma-Gamma p=%.6f q=%.6f gamma=%.6f", p, q, g)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p", p, 6.25}, {"q", q, 3.74}, {"gamma", g, 15.44}} {
		if e := relErr(c.got, c.want); e > 0.005 {
			t.Errorf("%s = %g, want %g ± 0.5%% (off by %.3f%%)", c.name, c.got, c.want, 100*e)
		}
	}
	v, err := FitValue(cs, spend, ValueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v.R != r || v.P != p || v.Horizon != 52 || v.UnitDays != 7 {
		t.Errorf("FitValue %+v", v)
	}
}

// simBGNBD simulates the BG/NBD story for n customers observed for T ∈ [26, 52].
func simBGNBD(n int, r, alpha, a, b float64, seed uint64) []Customer {
	src := rand.NewPCG(seed, 77)
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: r, Beta: alpha, Src: src}
	drop := distuv.Beta{Alpha: a, Beta: b, Src: src}
	cs := make([]Customer, n)
	for i := range cs {
		T := 26 + 26*rng.Float64()
		l, p := lam.Rand(), drop.Rand()
		t, x, tx := 0.0, 0.0, 0.0
		for {
			t += rng.ExpFloat64() / l
			if t > T {
				break
			}
			x, tx = x+1, t
			if rng.Float64() < p {
				break
			}
		}
		cs[i] = Customer{X: x, Tx: tx, T: T}
	}
	return cs
}

func TestFitBGNBDSynthetic(t *testing.T) {
	tests := []struct {
		name              string
		r, alpha, a, b    float64
		tolR, tolA, tolAB float64
	}{
		{"cdnow-like", 0.25, 4.4, 0.8, 2.4, 0.08, 0.10, 0.25},
		{"loyal", 1.5, 10, 0.5, 6, 0.08, 0.10, 0.25},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := simBGNBD(30000, tt.r, tt.alpha, tt.a, tt.b, 1)
			r, alpha, a, b, _, err := FitBGNBD(cs)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("fitted r=%.4f alpha=%.4f a=%.4f b=%.4f", r, alpha, a, b)
			if relErr(r, tt.r) > tt.tolR || relErr(alpha, tt.alpha) > tt.tolA ||
				relErr(a, tt.a) > tt.tolAB || relErr(b, tt.b) > tt.tolAB {
				t.Errorf("fitted (%g, %g, %g, %g), true (%g, %g, %g, %g)", r, alpha, a, b, tt.r, tt.alpha, tt.a, tt.b)
			}
			// The truth should not beat the fit.
			if BGNBDLogLik(cs, r, alpha, a, b) < BGNBDLogLik(cs, tt.r, tt.alpha, tt.a, tt.b) {
				t.Error("true parameters have a higher likelihood than the fitted ones")
			}
		})
	}
}

func TestFitGammaGammaSynthetic(t *testing.T) {
	const p, q, g = 6.0, 4.0, 15.0
	src := rand.NewPCG(3, 3)
	rng := rand.New(src)
	nu := distuv.Gamma{Alpha: q, Beta: g, Src: src}
	n := 20000
	x, m := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i] = float64(1 + rng.IntN(8))
		z := distuv.Gamma{Alpha: p, Beta: nu.Rand(), Src: src}
		s := 0.0
		for range int(x[i]) {
			s += z.Rand()
		}
		m[i] = s / x[i]
	}
	gp, gq, gg, err := FitGammaGamma(x, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fitted p=%.4f q=%.4f gamma=%.4f", gp, gq, gg)
	if relErr(gp, p) > 0.05 || relErr(gq, q) > 0.1 || relErr(gg, g) > 0.15 {
		t.Errorf("fitted (%g, %g, %g), true (%g, %g, %g)", gp, gq, gg, p, q, g)
	}
}

// The analytic gradients match central differences.
func TestValueGradients(t *testing.T) {
	cs := simBGNBD(300, 0.4, 3, 0.8, 2, 5)
	th := []float64{math.Log(0.4), math.Log(3), math.Log(0.8), math.Log(2)}
	g := make([]float64, 4)
	bgnbdLL(cs, math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), math.Exp(th[3]), g)
	f := func(th []float64) float64 {
		return bgnbdLL(cs, math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), math.Exp(th[3]), nil)
	}
	checkGrad(t, "bgnbd", f, th, g)

	x := []float64{1, 2, 5, 3}
	m := []float64{10, 30, 22.5, 7}
	th3 := []float64{math.Log(3), math.Log(2), math.Log(12)}
	g3 := make([]float64, 3)
	ggLL(x, m, math.Exp(th3[0]), math.Exp(th3[1]), math.Exp(th3[2]), g3)
	f3 := func(th []float64) float64 { return ggLL(x, m, math.Exp(th[0]), math.Exp(th[1]), math.Exp(th[2]), nil) }
	checkGrad(t, "gamma-gamma", f3, th3, g3)
}

func checkGrad(t *testing.T, name string, f func([]float64) float64, x, g []float64) {
	t.Helper()
	for i := range x {
		h := 1e-6
		xp, xm := append([]float64(nil), x...), append([]float64(nil), x...)
		xp[i] += h
		xm[i] -= h
		num := (f(xp) - f(xm)) / (2 * h)
		if math.Abs(num-g[i]) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Errorf("%s: ∂/∂θ%d analytic %g, numeric %g", name, i, g[i], num)
		}
	}
}

func TestValueErrors(t *testing.T) {
	tests := []struct {
		name string
		cs   []Customer
	}{
		{"empty", nil},
		{"tx-after-T", []Customer{{X: 1, Tx: 5, T: 4}}},
		{"negative-x", []Customer{{X: -1, Tx: 0, T: 4}}},
		{"x-without-tx", []Customer{{X: 2, Tx: 0, T: 4}}},
		{"nan", []Customer{{X: math.NaN(), Tx: 0, T: 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, _, _, _, err := FitBGNBD(tt.cs); err == nil {
				t.Error("no error")
			}
		})
	}
	if _, _, _, err := FitGammaGamma([]float64{1, 2}, []float64{1}); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, _, _, err := FitGammaGamma([]float64{0, 0, 0}, []float64{0, 0, 0}); err == nil {
		t.Error("no repeat customers accepted")
	}
}
