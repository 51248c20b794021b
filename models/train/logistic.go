package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/models"
)

// DefaultL2 is the ridge penalty λ used when LogisticOptions.L2 is 0.
const DefaultL2 = 1e-4

// LogisticOptions tune FitLogistic. The zero value fits an L2-regularised (λ = DefaultL2),
// unweighted, uncalibrated model.
type LogisticOptions struct {
	Name string // becomes Logistic.Name

	// L2 is λ in the loss below, on the standardised scale; 0 means DefaultL2, a negative value none.
	L2 float64

	// ClassWeight weighs negative (index 0) and positive (index 1) rows in the loss; zeros mean 1. A
	// soft label y weighs (1−y)·ClassWeight[0] + y·ClassWeight[1]. Balanced overrides it with
	// n/(2·n_class). Weighting shifts the probabilities; calibrate to undo that.
	ClassWeight [2]float64
	Balanced    bool

	// Calibration is the share of rows (0 ≤ f < 1) held out, drawn with Rand, to fit Platt's
	// σ(a·logit + b) after the regression; 0 means no calibration.
	Calibration float64
	Rand        *rand.Rand // nil: a PCG seeded with (1, 2)

	MaxIterations int     // L-BFGS major iterations; 0 means 500
	GradTol       float64 // stop when ‖∇‖∞ falls below it; 0 means 1e-7

	Progress func(done, total int) // called after each L-BFGS iteration; total = MaxIterations
}

// LogisticReport describes a logistic fit.
type LogisticReport struct {
	TrainRows, HoldoutRows int
	TrainLogLoss           float64 // mean unweighted log loss of the returned model on the training rows
	HoldoutLogLoss         float64 // the same on the calibration rows (0 without calibration)
	Iterations             int     // L-BFGS major iterations
	Evaluations            int     // loss-and-gradient evaluations
	Status                 string  // gonum/optimize termination status
	Converged              bool
	PlattA, PlattB         float64   // calibration σ(a·logit + b); 1 and 0 without calibration
	StdWeights             []float64 // coefficients on the standardised scale: comparable importances
	Constant               []int     // columns found constant and given weight 0
	Float32Error           float64   // max |Δp| on training rows from storing Weights and Bias as float32
}

// logisticFit keeps the fit in float64, in both parametrisations, so that tests can check the fold.
type logisticFit struct {
	beta0    float64   // intercept on the standardised scale
	beta     []float64 // coefficients on the standardised scale
	mu, sd   []float64 // column means and standard deviations; sd = 0 marks a constant column
	a, b     float64   // Platt calibration
	w        []float64 // folded raw-unit weights
	bias     float64   // folded raw-unit bias
	res      fitResult
	train    []int // training rows
	holdout  []int // calibration rows
	constant []int
}

// stdProb is the fitted model's probability computed the long way: standardise, logit, calibrate.
func (f *logisticFit) stdProb(x []float64) float64 {
	z := f.beta0
	for j, v := range x {
		if f.sd[j] > 0 {
			z += f.beta[j] * (v - f.mu[j]) / f.sd[j]
		}
	}
	return sigmoid(f.a*z + f.b)
}

// rawLogit is the folded model's logit Bias + Σ w_j·x_j.
func (f *logisticFit) rawLogit(x []float64) float64 {
	z := f.bias
	for j, v := range x {
		z += f.w[j] * v
	}
	return z
}

// FitLogistic fits a calibrated logistic regression of labels y ∈ [0,1] on the columns of X (one
// row per example, one column per feature named in names) and returns it in the bundle's form.
//
// Model: logistic regression (Cox 1958, "The regression analysis of binary sequences", JRSS B
// 20(2):215–242), p(y=1 | x) = σ(β₀ + Σⱼ βⱼ·zⱼ), zⱼ = (xⱼ − μⱼ)/sⱼ with the column mean μⱼ and standard
// deviation sⱼ of the training rows (a constant column gets zⱼ = 0, hence no weight and no NaN).
// Loss: the weighted mean log loss plus a ridge on the standardised coefficients (not on β₀),
//
//	J(β) = Σᵢ wᵢ·[log(1+e^{ηᵢ}) − yᵢ·ηᵢ] / Σᵢ wᵢ + (λ/2)·Σⱼ βⱼ²,
//
// minimised with gonum/optimize's L-BFGS (Liu & Nocedal 1989, "On the limited memory BFGS method
// for large scale optimization", Math. Programming 45:503–528) and the analytic gradient
// ∂J/∂βⱼ = Σᵢ wᵢ(pᵢ−yᵢ)zᵢⱼ/Σwᵢ + λβⱼ. With opt.Calibration > 0 a share of rows is held out and
// Platt scaling σ(a·η + b) is fitted on it (Platt 1999). Standardising first makes one λ mean the same
// for every feature and conditions the problem (Hastie, Tibshirani & Friedman, The Elements of
// Statistical Learning, 2nd ed. 2009, §4.4 and §3.4.1).
//
// Both the standardisation and the calibration are affine in the logit, so they fold into raw-unit
// weights: wⱼ = a·βⱼ/sⱼ and Bias = a·(β₀ − Σⱼ βⱼμⱼ/sⱼ) + b, and σ(Bias + Σ wⱼxⱼ) is the fitted
// model's probability (exactly, up to the float32 storage reported in Float32Error). The returned
// Logistic.Features are 0..len(names)−1: indices into names, which the caller remaps to
// Bundle.Features.
func FitLogistic(ctx context.Context, X *mat.Dense, y []float64, names []string, opt LogisticOptions) (models.Logistic, LogisticReport, error) {
	r, c := X.Dims()
	if len(names) != c {
		return models.Logistic{}, LogisticReport{}, errors.New("train: logistic: " + strconv.Itoa(len(names)) +
			" names for " + strconv.Itoa(c) + " columns")
	}
	if c > math.MaxUint16+1 {
		return models.Logistic{}, LogisticReport{}, errors.New("train: logistic: too many features")
	}
	_ = r
	f, err := fitLogistic(ctx, X, y, opt)
	if err != nil {
		return models.Logistic{}, LogisticReport{}, err
	}
	m := models.Logistic{Name: opt.Name, Bias: float32(f.bias),
		Features: make([]uint16, c), Weights: make([]float32, c)}
	for j := range c {
		m.Features[j] = uint16(j)
		m.Weights[j] = float32(f.w[j])
	}
	rep := LogisticReport{
		TrainRows: len(f.train), HoldoutRows: len(f.holdout),
		Iterations: f.res.Iterations, Evaluations: f.res.Evals,
		Status: f.res.Status.String(), Converged: f.res.Converged,
		PlattA: f.a, PlattB: f.b, StdWeights: f.beta, Constant: f.constant,
	}
	// One pass over the training rows for both their loss and the float32 storage error: on a
	// million rows each pass is a sweep through the whole matrix.
	raw := X.RawMatrix()
	train := 0.0
	for _, i := range f.train {
		x := raw.Data[i*raw.Stride : i*raw.Stride+c]
		z := f.rawLogit(x)
		train += softplus(z) - y[i]*z
		z32 := float64(m.Bias)
		for j, v := range x {
			z32 += float64(m.Weights[j]) * v
		}
		rep.Float32Error = math.Max(rep.Float32Error, math.Abs(sigmoid(z32)-sigmoid(z)))
	}
	rep.TrainLogLoss = train / float64(len(f.train))
	if len(f.holdout) > 0 {
		s := 0.0
		for _, i := range f.holdout {
			z := f.rawLogit(raw.Data[i*raw.Stride : i*raw.Stride+c])
			s += softplus(z) - y[i]*z
		}
		rep.HoldoutLogLoss = s / float64(len(f.holdout))
	}
	return m, rep, nil
}

func fitLogistic(ctx context.Context, X *mat.Dense, y []float64, opt LogisticOptions) (*logisticFit, error) {
	n, d := X.Dims()
	if len(y) != n {
		return nil, errors.New("train: logistic: labels and rows differ in number")
	}
	raw := X.RawMatrix()
	for i := range n {
		if y[i] < 0 || y[i] > 1 || math.IsNaN(y[i]) {
			return nil, errors.New("train: logistic: label outside [0,1] at row " + strconv.Itoa(i))
		}
		if !allFinite(raw.Data[i*raw.Stride : i*raw.Stride+d]) {
			return nil, errors.New("train: logistic: NaN or infinite feature at row " + strconv.Itoa(i))
		}
	}
	if opt.Calibration < 0 || opt.Calibration >= 1 {
		return nil, errors.New("train: logistic: calibration share outside [0,1)")
	}
	lambda := opt.L2
	switch {
	case lambda == 0:
		lambda = DefaultL2
	case lambda < 0:
		lambda = 0
	}
	maxIter := opt.MaxIterations
	if maxIter <= 0 {
		maxIter = 500
	}
	gradTol := opt.GradTol
	if gradTol <= 0 {
		gradTol = 1e-7
	}

	f := &logisticFit{a: 1}
	// Split rows into training and calibration parts.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	nh := int(math.Round(opt.Calibration * float64(n)))
	if nh > 0 {
		rng := opt.Rand
		if rng == nil {
			rng = rand.New(rand.NewPCG(1, 2))
		}
		rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		f.holdout = idx[:nh]
		f.train = idx[nh:]
	} else {
		f.train = idx
	}
	nt := len(f.train)
	if nt == 0 {
		return nil, errors.New("train: logistic: no training rows")
	}

	// Standardise the training part.
	f.mu, f.sd = make([]float64, d), make([]float64, d)
	for _, i := range f.train {
		for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+d] {
			f.mu[j] += v
		}
	}
	for j := range d {
		f.mu[j] /= float64(nt)
	}
	for _, i := range f.train {
		for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+d] {
			e := v - f.mu[j]
			f.sd[j] += e * e
		}
	}
	for j := range d {
		f.sd[j] = math.Sqrt(f.sd[j] / float64(nt))
		if f.sd[j] <= 1e-12*math.Max(1, math.Abs(f.mu[j])) {
			f.sd[j] = 0
			f.constant = append(f.constant, j)
		}
	}
	Z := mat.NewDense(nt, d, nil)
	yt := make([]float64, nt)
	for k, i := range f.train {
		row := Z.RawRowView(k)
		for j, v := range raw.Data[i*raw.Stride : i*raw.Stride+d] {
			if f.sd[j] > 0 {
				row[j] = (v - f.mu[j]) / f.sd[j]
			}
		}
		yt[k] = y[i]
	}

	// Row weights, normalised to sum to 1.
	cw := opt.ClassWeight
	for k := range cw {
		if cw[k] == 0 {
			cw[k] = 1
		}
		if cw[k] < 0 {
			return nil, errors.New("train: logistic: negative class weight")
		}
	}
	if opt.Balanced {
		pos := 0.0
		for _, v := range yt {
			pos += v
		}
		if pos == 0 || pos == float64(nt) {
			return nil, errors.New("train: logistic: balanced weights need both classes")
		}
		cw = [2]float64{float64(nt) / (2 * (float64(nt) - pos)), float64(nt) / (2 * pos)}
	}
	wt := make([]float64, nt)
	sw := 0.0
	for k, v := range yt {
		wt[k] = (1-v)*cw[0] + v*cw[1]
		sw += wt[k]
	}
	if sw <= 0 {
		return nil, errors.New("train: logistic: row weights sum to zero")
	}
	for k := range wt {
		wt[k] /= sw
	}

	// J(β) and its gradient; x = (β₀, β₁..β_d).
	eta := mat.NewVecDense(nt, nil)
	resid := mat.NewVecDense(nt, nil)
	gv := mat.NewVecDense(d, nil)
	eval := func(g, x []float64) float64 {
		eta.MulVec(Z, mat.NewVecDense(d, x[1:]))
		e, rr := eta.RawVector().Data, resid.RawVector().Data
		loss, g0 := 0.0, 0.0
		for k := range nt {
			z := e[k] + x[0]
			loss += wt[k] * (softplus(z) - yt[k]*z)
			rr[k] = wt[k] * (sigmoid(z) - yt[k])
			g0 += rr[k]
		}
		gv.MulVec(Z.T(), resid)
		g[0] = g0
		for j := range d {
			g[j+1] = gv.AtVec(j) + lambda*x[j+1]
			loss += 0.5 * lambda * x[j+1] * x[j+1]
		}
		return loss
	}
	x0 := make([]float64, d+1)
	// Start from the intercept of the weighted base rate: the best model with no features.
	py := 0.0
	for k, v := range yt {
		py += wt[k] * v
	}
	py = math.Min(math.Max(py, 1e-9), 1-1e-9)
	x0[0] = math.Log(py / (1 - py))
	res, err := minimise(ctx, eval, x0, maxIter, gradTol, opt.Progress)
	if err != nil {
		return nil, err
	}
	f.res = res
	f.beta0, f.beta = res.X[0], append([]float64(nil), res.X[1:]...)

	if nh > 0 {
		s := make([]float64, nh)
		yh := make([]float64, nh)
		for k, i := range f.holdout {
			x := raw.Data[i*raw.Stride : i*raw.Stride+d]
			z := f.beta0
			for j, v := range x {
				if f.sd[j] > 0 {
					z += f.beta[j] * (v - f.mu[j]) / f.sd[j]
				}
			}
			s[k], yh[k] = z, y[i]
		}
		f.a, f.b, err = fitPlatt(ctx, s, yh, nil, true)
		if err != nil {
			return nil, err
		}
	}

	// Fold standardisation and calibration into raw units.
	f.w = make([]float64, d)
	f.bias = f.beta0
	for j := range d {
		if f.sd[j] > 0 {
			f.w[j] = f.a * f.beta[j] / f.sd[j]
			f.bias -= f.beta[j] * f.mu[j] / f.sd[j]
		}
	}
	f.bias = f.a*f.bias + f.b
	return f, nil
}

// FitLogisticRows is FitLogistic for rows given as slices (all of the same length).
func FitLogisticRows(ctx context.Context, rows [][]float64, y []float64, names []string, opt LogisticOptions) (models.Logistic, LogisticReport, error) {
	if len(rows) == 0 {
		return models.Logistic{}, LogisticReport{}, errors.New("train: logistic: no rows")
	}
	X := mat.NewDense(len(rows), len(names), nil)
	for i, r := range rows {
		if len(r) != len(names) {
			return models.Logistic{}, LogisticReport{}, errors.New("train: logistic: row " + strconv.Itoa(i) +
				" has " + strconv.Itoa(len(r)) + " values for " + strconv.Itoa(len(names)) + " names")
		}
		copy(X.RawRowView(i), r)
	}
	return FitLogistic(ctx, X, y, names, opt)
}
