package train

import (
	"cmp"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/models"
)

// Entry is one non-zero cell of a sparse row: a column (here a category index) and its value.
type Entry struct {
	Col int
	Val float64
}

// AppetenceOptions tune FitAppetence. The zero value is usable.
type AppetenceOptions struct {
	Lambda     float64 // ridge λ of ALS; 0 means 1
	FoldLambda float64 // ridge of the device's fold-in, on the trained factors; 0 means Lambda
	Alpha      float64 // confidence c = 1 + Alpha·affinity; 0 means 10
	Iterations int     // ALS sweeps (each solves visitors then categories); 0 means 15

	// Holdout is the share of visitors kept out of ALS and used, folded in as the device would, to
	// calibrate Slope and Intercept; 0 means 0.1, a negative value none (then, or when no visitor can
	// be labelled, Slope is 1 and Intercept 0: scores, not probabilities; the report says so with
	// CalibrationVisits 0). At most MaxCalibration of them are used (0: 2000).
	Holdout        float64
	MaxCalibration int
	// Next optionally gives, per visitor (same indexing as the rows), the categories visited next
	// (e.g. in the following session). With it the held-out visitors are labelled on every category
	// by Next; without it one category of each held-out visitor is hidden from its row and becomes the
	// target among the categories the rest of the row has not touched (leave-one-out).
	Next [][]int

	Top     uint16     // copied to Appetence.Top
	Rand    *rand.Rand // initial factors and the hold-out draw; nil: a PCG seeded with (1, 2)
	Workers int        // 0 means GOMAXPROCS; the result does not depend on it

	Progress func(done, total int) // ALS sweeps done out of Iterations
}

// AppetenceReport describes an appetence fit.
type AppetenceReport struct {
	Loss               []float64 // ALS objective after each sweep (non-increasing)
	TrainVisitors      int
	CalibrationVisits  int     // held-out visitors used for calibration
	CalibrationRows    int     // (visitor, category) pairs in the calibration fit
	CalibrationLogLoss float64 // mean log loss of the calibrated, quantised model on those rows
	BaseLogLoss        float64 // the same for the constant base rate: calibration should beat it
	HitRate            float64 // share of held-out visitors with a target among their top-Top scores
	PopularHitRate     float64 // the same when ranking by global category popularity (a baseline)
}

// FitAppetence fits the category-appetence model from visitor × category affinities (rows: one per
// visitor, each a sparse list of categories in [0, nCat) with a positive affinity: the same
// quantity, e.g. decayed view counts, that the agent accumulates on device) and returns it
// quantised, with a calibration that makes the score read as a probability.
//
// Model: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008, "Collaborative
// filtering for implicit feedback datasets", ICDM'08). Preference p_uc = 1 if visitor u touched c,
// else 0; confidence c_uc = 1 + α·a_uc. Loss:
//
//	Σ_u Σ_c c_uc·(p_uc − x_u·y_c)² + λ·(Σ_u ‖x_u‖² + Σ_c ‖y_c‖²),
//
// minimised by alternating least squares with the paper's YᵀY + Yᵀ(Cᵘ−I)Y speed-up, each row's
// normal equations solved by a gonum/mat Cholesky factorisation.
//
// Serving: the device cannot run a weighted solve per visitor, so it uses the linear fold-in with
// the category factors fixed and unit confidence, a ridge regression of the visitor's affinities on
// them. Y is quantised to int8 codes in [−7, 7] (QuantizeInt4: Y ≈ Scale·F; fifteen levels halve
// the factors' download against ±127 and rank held-out visitors as well) and the ridge
// λ′ = FoldLambda is shipped in the units of F, Lambda = λ′/Scale², so that
// u = (FᵀF + Lambda·I)⁻¹Fᵀa = Scale·v for the fold-in v of the dequantised factors, and
// F[c]·u = y_c·v: the device needs no scale. It computes the projection (FᵀF + Lambda·I)⁻¹Fᵀ
// itself, once per bundle (models.Appetence.Projection). The appetence of c is
// σ(Slope·ŝ_c + Intercept), where ŝ_c = vscale·(F[c]·q) is that dot product as the device computes it
// with the visitor quantised to int8 (q, vscale); Slope and Intercept are Platt-fitted (Platt 1999)
// on held-out visitors, scored by the functions of package models that the device runs
// (appetenceScorer), against the category they visit next.
func FitAppetence(ctx context.Context, rows [][]Entry, nCat, rank int, opt AppetenceOptions) (*models.Appetence, AppetenceReport, error) {
	var rep AppetenceReport
	if nCat < 1 || rank < 1 || rank > math.MaxUint16 {
		return nil, rep, errors.New("train: appetence: need nCat ≥ 1 and 1 ≤ rank ≤ 65535")
	}
	if opt.Next != nil && len(opt.Next) != len(rows) {
		return nil, rep, errors.New("train: appetence: Next and rows differ in length")
	}
	seen := make([]int, nCat)
	for i := range seen {
		seen[i] = -1
	}
	for u, r := range rows {
		for _, e := range r {
			if e.Col < 0 || e.Col >= nCat {
				return nil, rep, errors.New("train: appetence: category out of range in row " + strconv.Itoa(u))
			}
			if !(e.Val > 0) || math.IsInf(e.Val, 0) {
				return nil, rep, errors.New("train: appetence: affinity must be positive and finite in row " + strconv.Itoa(u))
			}
			if seen[e.Col] == u {
				return nil, rep, errors.New("train: appetence: repeated category in row " + strconv.Itoa(u))
			}
			seen[e.Col] = u
		}
	}
	lambda := defaultTo(opt.Lambda, 1)
	foldLambda := defaultTo(opt.FoldLambda, lambda)
	alpha := defaultTo(opt.Alpha, 10)
	if !(lambda > 0 && foldLambda > 0 && alpha > 0) {
		return nil, rep, errors.New("train: appetence: Lambda, FoldLambda and Alpha must be positive")
	}
	iters := opt.Iterations
	if iters <= 0 {
		iters = 15
	}
	holdShare := defaultTo(opt.Holdout, 0.1)
	if holdShare < 0 || holdShare >= 1 {
		holdShare = max(0, min(holdShare, 0.5))
	}
	maxCal := opt.MaxCalibration
	if maxCal <= 0 {
		maxCal = 2000
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	rng := opt.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
	}

	// Choose calibration visitors among those that can be labelled.
	var eligible []int
	for u, r := range rows {
		if (opt.Next != nil && len(r) > 0 && len(opt.Next[u]) > 0) || (opt.Next == nil && len(r) >= 2) {
			eligible = append(eligible, u)
		}
	}
	rng.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	nHold := min(int(math.Round(holdShare*float64(len(rows)))), len(eligible), maxCal)
	calib := slices.Clone(eligible[:nHold])
	slices.Sort(calib)
	isHeld := make([]bool, len(rows))
	for _, u := range calib {
		isHeld[u] = true
	}
	var train [][]Entry
	for u, r := range rows {
		if !isHeld[u] && len(r) > 0 {
			train = append(train, r)
		}
	}
	rep.TrainVisitors = len(train)
	if len(train) == 0 {
		return nil, rep, errors.New("train: appetence: no training visitors")
	}

	Y, loss, err := implicitALS(ctx, train, nCat, rank, lambda, alpha, iters, rng, workers, opt.Progress)
	rep.Loss = loss
	if err != nil {
		return nil, rep, err
	}

	app := &models.Appetence{Rank: uint16(rank), Top: opt.Top, Slope: 1}
	if app.Factors, app.Scale, err = QuantizeInt4(Y.RawMatrix().Data); err != nil {
		return nil, rep, err
	}
	// The ridge in the units of the int8 factors: F ≈ Y/Scale, so FᵀF ≈ YᵀY/Scale².
	s2 := float64(app.Scale) * float64(app.Scale)
	app.Lambda = float32(foldLambda / s2)
	if !(s2 > 0) || math.IsInf(float64(app.Lambda), 0) || !(app.Lambda > 0) {
		return nil, rep, errors.New("train: appetence: factors vanish or the fold-in ridge is out of float32 range")
	}
	sc, err := newAppetenceScorer(app)
	if err != nil {
		return nil, rep, err
	}

	if nHold == 0 {
		return app, rep, nil
	}
	// Calibration rows: held-out visitors scored exactly as on device.
	popCount := make([]float64, nCat)
	for _, r := range train {
		for _, e := range r {
			popCount[e.Col]++
		}
	}
	top := int(opt.Top)
	if top == 0 {
		top = 5
	}
	var s, y []float64
	var dots []int32      // per calibration row, the device's dot product…
	var vscales []float64 // …and the visitor's scale, to report the loss exactly as the device scores
	hits, popHits := 0, 0
	inRow := make([]bool, nCat)
	target := make([]bool, nCat)
	for _, u := range calib {
		a := slices.Clone(rows[u])
		if opt.Next == nil {
			h := rng.IntN(len(a))
			clear(target)
			target[a[h].Col] = true
			a = slices.Delete(a, h, h+1)
		} else {
			clear(target)
			for _, c := range opt.Next[u] {
				if c >= 0 && c < nCat {
					target[c] = true
				}
			}
		}
		clear(inRow)
		for _, e := range a {
			inRow[e.Col] = true
		}
		vs := sc.fold(a)
		logits := make([]float64, nCat)
		for c, d := range sc.dots {
			logits[c] = sc.raw.Logit(d, vs) // Slope 1, Intercept 0: the device's uncalibrated logit
		}
		var cands []int
		for c := range nCat {
			if opt.Next == nil && inRow[c] {
				continue // leave-one-out: only untouched categories are candidates
			}
			cands = append(cands, c)
			s = append(s, logits[c])
			y = append(y, b2f(target[c]))
			dots, vscales = append(dots, sc.dots[c]), append(vscales, vs)
		}
		if hitAt(cands, logits, target, top) {
			hits++
		}
		if hitAt(cands, popCount, target, top) {
			popHits++
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, rep, err
	}
	// Platt on every positive and a weighted sample of the negatives (weight 1/rate keeps the loss
	// unbiased): the rows are mostly negatives, and 20 per positive pin the two parameters down.
	npos := 0.0
	for _, v := range y {
		npos += v
	}
	rate := math.Min(1, 20*math.Max(npos, 1)/math.Max(float64(len(y))-npos, 1))
	var ss, ys, ws []float64
	for i := range s {
		if y[i] > 0 || rate >= 1 || rng.Float64() < rate {
			w := 1.0
			if y[i] == 0 {
				w = 1 / rate
			}
			ss, ys, ws = append(ss, s[i]), append(ys, y[i]), append(ws, w)
		}
	}
	sl, ic, err := fitPlatt(ctx, ss, ys, ws, false)
	if err != nil {
		return nil, rep, err
	}
	app.Slope, app.Intercept = float32(sl), float32(ic)
	rep.CalibrationVisits = len(calib)
	rep.CalibrationRows = len(s)
	rep.HitRate = float64(hits) / float64(len(calib))
	rep.PopularHitRate = float64(popHits) / float64(len(calib))
	z := make([]float64, len(s))
	base := 0.0
	for i := range s {
		z[i] = app.Logit(dots[i], vscales[i])
		base += y[i]
	}
	rep.CalibrationLogLoss = logLoss(z, y)
	base = math.Min(math.Max(base/float64(len(y)), 1e-12), 1-1e-12)
	for i := range z {
		z[i] = math.Log(base / (1 - base))
	}
	rep.BaseLogLoss = logLoss(z, y)
	return app, rep, nil
}

func defaultTo(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// hitAt reports whether a target is among the top candidates by score (ties: smaller index).
func hitAt(cands []int, score []float64, target []bool, top int) bool {
	c := slices.Clone(cands)
	slices.SortFunc(c, func(i, j int) int {
		if score[i] != score[j] {
			return cmp.Compare(score[j], score[i])
		}
		return cmp.Compare(i, j)
	})
	for _, k := range c[:min(top, len(c))] {
		if target[k] {
			return true
		}
	}
	return false
}

// appetenceScorer scores visitors with the functions of package models that the device runs
// (agent: compile, appetence, appetenceOf), so that calibration, evaluation and serving cannot
// disagree: the projection once per model, then per visitor Fold, the integer kernel and Logit/Prob.
type appetenceScorer struct {
	app  *models.Appetence
	raw  models.Appetence // app with Slope 1 and Intercept 0: Logit gives the uncalibrated score
	proj []float64
	k    *models.AppetenceKernel
	q    []int8
	dots []int32 // the dot products of the last fold
	cats []int
	w    []float64
}

func newAppetenceScorer(app *models.Appetence) (*appetenceScorer, error) {
	proj := app.Projection()
	if proj == nil {
		return nil, errors.New("train: appetence: FᵀF + Lambda·I is not numerically positive definite")
	}
	sc := &appetenceScorer{app: app, raw: *app, proj: proj, k: models.NewAppetenceKernel(app),
		q: make([]int8, app.Rank), dots: make([]int32, app.Categories())}
	sc.raw.Slope, sc.raw.Intercept = 1, 0
	return sc, nil
}

// fold folds in a visitor with affinities a, sets sc.dots and returns the visitor's scale.
func (sc *appetenceScorer) fold(a []Entry) (vscale float64) {
	sc.cats, sc.w = sc.cats[:0], sc.w[:0]
	for _, e := range a {
		sc.cats, sc.w = append(sc.cats, e.Col), append(sc.w, e.Val)
	}
	vscale = sc.app.Fold(sc.q, sc.proj, sc.cats, sc.w)
	sc.k.Scores(sc.dots, sc.q)
	return vscale
}

// AppetenceProbs returns the appetence of every category for a visitor with affinities a, computed
// by the functions of package models exactly as the device computes it (Projection, Fold, the
// integer kernel, Prob): a reference scorer to check the agent against. It computes the projection
// on each call (a few milliseconds for 1,000 categories of rank 32), and returns nil for an app that
// does not validate.
func AppetenceProbs(app *models.Appetence, a []Entry) []float64 {
	sc, err := newAppetenceScorer(app)
	if err != nil {
		return nil
	}
	vs := sc.fold(a)
	p := make([]float64, len(sc.dots))
	for c, d := range sc.dots {
		p[c] = app.Prob(d, vs)
	}
	return p
}

// implicitALS returns the category factors Y (nCat×rank) of the weighted matrix factorisation of Hu,
// Koren & Volinsky (2008), and the objective after each sweep.
func implicitALS(ctx context.Context, rows [][]Entry, nCat, rank int, lambda, alpha float64, iters int,
	rng *rand.Rand, workers int, progress func(done, total int)) (*mat.Dense, []float64, error) {
	nU := len(rows)
	// Transpose: for each category, its visitors.
	cols := make([][]Entry, nCat)
	for u, r := range rows {
		for _, e := range r {
			cols[e.Col] = append(cols[e.Col], Entry{Col: u, Val: e.Val})
		}
	}
	X := mat.NewDense(nU, rank, nil)
	Y := mat.NewDense(nCat, rank, nil)
	sd := 0.1 / math.Sqrt(float64(rank))
	for i, d := 0, Y.RawMatrix().Data; i < len(d); i++ {
		d[i] = sd * rng.NormFloat64()
	}
	var loss []float64
	for it := range iters {
		if err := ctx.Err(); err != nil {
			return nil, loss, err
		}
		if err := alsHalf(ctx, X, Y, rows, lambda, alpha, workers); err != nil {
			return nil, loss, err
		}
		if err := alsHalf(ctx, Y, X, cols, lambda, alpha, workers); err != nil {
			return nil, loss, err
		}
		loss = append(loss, alsLoss(X, Y, rows, lambda, alpha))
		if progress != nil {
			progress(it+1, iters)
		}
	}
	return Y, loss, nil
}

// alsHalf solves every row u of dst given the fixed factors src:
// (SᵀS + Sᵀ(Cᵘ−I)S + λI)·x_u = SᵀCᵘp(u), where only the rows of S that u touched differ from SᵀS.
// The update is a BLAS syrk and the solve a LAPACK Cholesky (potrf, then two trsv) from gonum, without the
// condition estimate that mat.Cholesky adds, which cost more than the factorisation at this size.
func alsHalf(ctx context.Context, dst, src *mat.Dense, rows [][]Entry, lambda, alpha float64, workers int) error {
	_, f := src.Dims()
	var G mat.SymDense
	G.SymOuterK(1, src.T())
	gdata := make([]float64, f*f)
	for i := range f {
		for j := range f {
			gdata[i*f+j] = G.At(i, j)
		}
		gdata[i*f+i] += lambda
	}
	const chunk = 128
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range min(workers, (len(rows)+chunk-1)/chunk) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			adata := make([]float64, f*f)
			A := blas64.Symmetric{Uplo: blas.Upper, N: f, Stride: f, Data: adata}
			var bdata []float64
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(rows) || ctx.Err() != nil {
					return
				}
				for u := lo; u < min(lo+chunk, len(rows)); u++ {
					out := dst.RawRowView(u)
					clear(out)
					if len(rows[u]) == 0 {
						continue
					}
					// A = G + Σ (c−1)·y yᵀ = G + BᵀB with B's rows √(c−1)·y; rhs Σ c·y.
					copy(adata, gdata)
					bdata = bdata[:0]
					for _, e := range rows[u] {
						y := src.RawRowView(e.Col)
						c := 1 + alpha*e.Val
						sq := math.Sqrt(c - 1)
						for k, v := range y {
							out[k] += c * v
							bdata = append(bdata, sq*v)
						}
					}
					B := blas64.General{Rows: len(rows[u]), Cols: f, Stride: f, Data: bdata}
					blas64.Syrk(blas.Trans, 1, B, 1, A)
					t, ok := lapack64.Potrf(A)
					if !ok {
						mu.Lock()
						firstErr = errors.New("train: appetence: ALS system not positive definite")
						mu.Unlock()
						return
					}
					// A = UᵀU: solve Uᵀz = rhs, then Ux = z, in place.
					xv := blas64.Vector{N: f, Inc: 1, Data: out}
					blas64.Trsv(blas.Trans, t, xv)
					blas64.Trsv(blas.NoTrans, t, xv)
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}

// alsLoss is the implicit-ALS objective, with Σ_c (x·y_c)² = xᵀ(YᵀY)x so that the unobserved cells
// cost O(rank²) per visitor instead of O(nCat·rank).
func alsLoss(X, Y *mat.Dense, rows [][]Entry, lambda, alpha float64) float64 {
	_, f := Y.Dims()
	var G mat.SymDense
	G.SymOuterK(1, Y.T())
	g := make([]float64, f*f)
	for i := range f {
		for j := range f {
			g[i*f+j] = G.At(i, j)
		}
	}
	total, reg := 0.0, 0.0
	for u, r := range rows {
		x := X.RawRowView(u)
		for i, xi := range x {
			total += xi * floats.Dot(g[i*f:(i+1)*f], x)
			reg += xi * xi
		}
		for _, e := range r {
			s := floats.Dot(x, Y.RawRowView(e.Col))
			c := 1 + alpha*e.Val
			total += -2*s + 1 + (c-1)*(1-s)*(1-s)
		}
	}
	ny := mat.Norm(Y, 2)
	return total + lambda*(reg+ny*ny)
}
