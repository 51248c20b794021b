package train

import (
	"context"
	"errors"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// sigmoid is the logistic function, written so that neither branch overflows.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// softplus is log(1+eᶻ) without overflow; the log loss of a logit z against a label y ∈ [0,1] is
// softplus(z) − y·z.
func softplus(z float64) float64 {
	return math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}

// logLoss is the mean log loss of logits against labels in [0, 1].
func logLoss(logit, y []float64) float64 {
	s := 0.0
	for i, z := range logit {
		s += softplus(z) - y[i]*z
	}
	return s / float64(len(logit))
}

// objective evaluates a function and its gradient in one pass and caches both, because
// gonum/optimize asks for Func and Grad separately at the same point, and for a sum over many rows
// the two share all their work.
type objective struct {
	eval func(grad, x []float64) float64
	x, g []float64
	f    float64
	ok   bool
}

func (o *objective) at(x []float64) {
	if o.ok && floats.Equal(o.x, x) {
		return
	}
	o.x = append(o.x[:0], x...)
	if len(o.g) != len(x) {
		o.g = make([]float64, len(x))
	}
	o.f = o.eval(o.g, x)
	o.ok = true
}

func (o *objective) problem(ctx context.Context) optimize.Problem {
	return optimize.Problem{
		Func: func(x []float64) float64 { o.at(x); return o.f },
		Grad: func(g, x []float64) { o.at(x); copy(g, o.g) },
		Status: func() (optimize.Status, error) {
			if err := ctx.Err(); err != nil {
				return optimize.Failure, err
			}
			return optimize.NotTerminated, nil
		},
	}
}

// progressRecorder forwards gonum's major iterations to a progress callback.
type progressRecorder struct {
	fn    func(done, total int)
	total int
}

func (r *progressRecorder) Init() error { return nil }

func (r *progressRecorder) Record(_ *optimize.Location, op optimize.Operation, st *optimize.Stats) error {
	if op == optimize.MajorIteration {
		r.fn(min(st.MajorIterations, r.total), r.total)
	}
	return nil
}

// fitResult is what the package's smooth minimisations report.
type fitResult struct {
	X          []float64
	F          float64
	Iterations int
	Evals      int
	Status     optimize.Status
	Converged  bool
}

// minimise runs gonum's L-BFGS on eval from x0. A line search that can make no further progress is
// how L-BFGS usually ends at a minimum in floating point, so that case returns the best point found
// with Converged set from the gradient; only cancellation and non-finite values are errors.
func minimise(ctx context.Context, eval func(grad, x []float64) float64, x0 []float64,
	maxIter int, gradTol float64, progress func(done, total int)) (fitResult, error) {
	obj := &objective{eval: eval}
	set := &optimize.Settings{
		GradientThreshold: gradTol,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Relative: 1e-14, Iterations: 20},
	}
	if progress != nil {
		set.Recorder = &progressRecorder{fn: progress, total: maxIter}
	}
	res, err := optimize.Minimize(obj.problem(ctx), x0, set, &optimize.LBFGS{})
	if cerr := ctx.Err(); cerr != nil {
		return fitResult{}, cerr
	}
	if res == nil {
		return fitResult{}, errors.New("train: optimiser: " + err.Error())
	}
	out := fitResult{
		X: res.X, F: res.F, Iterations: res.MajorIterations,
		Evals: res.FuncEvaluations, Status: res.Status,
	}
	if math.IsNaN(out.F) || math.IsInf(out.F, 0) || !allFinite(out.X) {
		return out, errors.New("train: optimiser diverged")
	}
	g := make([]float64, len(out.X))
	eval(g, out.X)
	switch {
	case res.Status == optimize.GradientThreshold, res.Status == optimize.FunctionConvergence:
		out.Converged = true
	case err != nil || res.Status == optimize.Failure:
		// Line search stalled: accept the point if it is (numerically) stationary.
		out.Converged = floats.Norm(g, math.Inf(1)) < math.Max(gradTol*100, 1e-6)
	}
	return out, nil
}

func allFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// fitPlatt fits p = σ(a·s + b) to labels y ∈ [0,1] with optional row weights w (nil = 1) by
// Newton's method with the analytic Hessian (gonum/optimize.Newton), minimising the weighted mean
// log loss. When the labels are binary and targets is set, it uses Platt's smoothed targets
// t₊ = (N₊+1)/(N₊+2), t₋ = 1/(N₋+2), which keep the fit finite on separable calibration sets.
//
// Platt, J. (1999). Probabilistic outputs for support vector machines and comparisons to regularized
// likelihood methods. In Advances in Large Margin Classifiers, MIT Press.
// Lin, H.-T., Lin, C.-J., Weng, R.C. (2007). A note on Platt's probabilistic outputs for support
// vector machines. Machine Learning 68:267–276.
func fitPlatt(ctx context.Context, s, y, w []float64, targets bool) (a, b float64, err error) {
	n := len(s)
	if n == 0 {
		return 0, 0, errors.New("train: calibration on no rows")
	}
	t := y
	if targets {
		np, nn := 0.0, 0.0
		binary := true
		for _, v := range y {
			switch v {
			case 1:
				np++
			case 0:
				nn++
			default:
				binary = false
			}
		}
		if binary {
			t = make([]float64, n)
			hi, lo := (np+1)/(np+2), 1/(nn+2)
			for i, v := range y {
				t[i] = lo
				if v == 1 {
					t[i] = hi
				}
			}
		}
	}
	wt := func(i int) float64 {
		if w == nil {
			return 1
		}
		return w[i]
	}
	sw, sy := 0.0, 0.0
	for i := range n {
		sw += wt(i)
		sy += wt(i) * t[i]
	}
	if sw <= 0 {
		return 0, 0, errors.New("train: calibration weights sum to zero")
	}
	mean := math.Min(math.Max(sy/sw, 1e-9), 1-1e-9)
	// f, gradient and Hessian in one pass over the rows.
	var hcache [3]float64
	eval := func(g, x []float64) float64 {
		f, g0, g1, h00, h01, h11 := 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
		for i := range n {
			z := x[0]*s[i] + x[1]
			p := sigmoid(z)
			wi := wt(i) / sw
			f += wi * (softplus(z) - t[i]*z)
			r := wi * (p - t[i])
			g0 += r * s[i]
			g1 += r
			v := wi * p * (1 - p)
			h00 += v * s[i] * s[i]
			h01 += v * s[i]
			h11 += v
		}
		g[0], g[1] = g0, g1
		hcache = [3]float64{h00, h01, h11}
		return f
	}
	obj := &objective{eval: eval}
	prob := obj.problem(ctx)
	prob.Hess = func(h *mat.SymDense, x []float64) {
		obj.at(x) // hcache always belongs to the cached point
		h.SetSym(0, 0, hcache[0]+1e-12)
		h.SetSym(0, 1, hcache[1])
		h.SetSym(1, 1, hcache[2]+1e-12)
	}
	set := &optimize.Settings{GradientThreshold: 1e-10, MajorIterations: 100,
		Converger: &optimize.FunctionConverge{Relative: 1e-14, Iterations: 3}}
	res, err := optimize.Minimize(prob, []float64{0, math.Log(mean / (1 - mean))}, set, &optimize.Newton{})
	if cerr := ctx.Err(); cerr != nil {
		return 0, 0, cerr
	}
	if res == nil || !allFinite(res.X) {
		if err == nil {
			err = errors.New("diverged")
		}
		return 0, 0, errors.New("train: calibration: " + err.Error())
	}
	return res.X[0], res.X[1], nil
}
