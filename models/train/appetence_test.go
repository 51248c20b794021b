package train

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/models"
)

// synthBlocks draws visitors who each belong to one of nBlocks groups and mostly touch categories of
// their group's block (blockSize consecutive categories), with some noise elsewhere. next holds one
// further category from the visitor's block.
func synthBlocks(nVis, nBlocks, blockSize int, seed uint64) (rows [][]Entry, next [][]int, group []int) {
	rng := rand.New(rand.NewPCG(seed, 5))
	nCat := nBlocks * blockSize
	rows = make([][]Entry, nVis)
	next = make([][]int, nVis)
	group = make([]int, nVis)
	for u := range nVis {
		g := rng.IntN(nBlocks)
		group[u] = g
		picked := map[int]bool{}
		for range 2 + rng.IntN(4) {
			c := g*blockSize + rng.IntN(blockSize)
			if rng.Float64() < 0.1 {
				c = rng.IntN(nCat)
			}
			if picked[c] {
				continue
			}
			picked[c] = true
			rows[u] = append(rows[u], Entry{Col: c, Val: float64(1 + rng.IntN(5))})
		}
		next[u] = []int{g*blockSize + rng.IntN(blockSize)}
	}
	return rows, next, group
}

func TestFitAppetenceBlocks(t *testing.T) {
	const nBlocks, blockSize = 6, 10
	rows, next, _ := synthBlocks(4000, nBlocks, blockSize, 1)
	tests := []struct {
		name string
		opt  AppetenceOptions
	}{
		{"leave-one-out", AppetenceOptions{Rand: rand.New(rand.NewPCG(1, 1))}},
		{"next", AppetenceOptions{Next: next, Rand: rand.New(rand.NewPCG(1, 1))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, rep, err := FitAppetence(context.Background(), rows, nBlocks*blockSize, nBlocks, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(rep.Loss); i++ {
				if rep.Loss[i] > rep.Loss[i-1]*(1+1e-9) {
					t.Errorf("ALS loss rose at sweep %d: %g → %g", i, rep.Loss[i-1], rep.Loss[i])
				}
			}
			// Block structure: each category's nearest category (cosine of factors) is in its block.
			Y := mat.NewDense(nBlocks*blockSize, nBlocks, DequantizeInt8(app.Factors, app.Scale))
			wrong := 0
			for c := range nBlocks * blockSize {
				best, bs := -1, math.Inf(-1)
				for d := range nBlocks * blockSize {
					if d == c {
						continue
					}
					if s := cosine(Y.RawRowView(c), Y.RawRowView(d)); s > bs {
						best, bs = d, s
					}
				}
				if best/blockSize != c/blockSize {
					wrong++
				}
			}
			if wrong > 0 {
				t.Errorf("%d categories have a nearest neighbour outside their block", wrong)
			}
			// A new visitor of block 2 gets block-2 categories as top appetences.
			p := AppetenceProbs(app, []Entry{{Col: 20, Val: 3}, {Col: 23, Val: 1}, {Col: 27, Val: 2}})
			order := make([]int, len(p))
			for i := range order {
				order[i] = i
			}
			slices.SortFunc(order, func(a, b int) int { return cmpDesc(p[a], p[b]) })
			for _, c := range order[:5] {
				if c/blockSize != 2 {
					t.Errorf("top categories %v include %d outside block 2", order[:5], c)
				}
			}
			for _, v := range p {
				if !(v > 0 && v < 1) {
					t.Fatalf("probability %g", v)
				}
			}
			if !(rep.CalibrationLogLoss < 0.9*rep.BaseLogLoss) {
				t.Errorf("calibrated log loss %g vs base rate %g", rep.CalibrationLogLoss, rep.BaseLogLoss)
			}
			if !(rep.HitRate > 0.4 && rep.HitRate > 4*rep.PopularHitRate) {
				t.Errorf("hit rate %g, popularity baseline %g", rep.HitRate, rep.PopularHitRate)
			}
			if app.Slope <= 0 {
				t.Errorf("slope %g", app.Slope)
			}
			t.Logf("loss %.1f→%.1f, calib logloss %.4f (base %.4f), hit@5 %.3f (popular %.3f), slope %.3g intercept %.3g",
				rep.Loss[0], rep.Loss[len(rep.Loss)-1], rep.CalibrationLogLoss, rep.BaseLogLoss,
				rep.HitRate, rep.PopularHitRate, app.Slope, app.Intercept)
		})
	}
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func cosine(a, b []float64) float64 {
	ab, aa, bb := 0.0, 0.0, 0.0
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	return ab / math.Sqrt(aa*bb+1e-300)
}

// The device's arithmetic (int8 factors, a projection computed from them and Lambda, an int8
// visitor) tracks the float fold-in y_c·(YᵀY+λI)⁻¹Yᵀa of the dequantised factors Y = Scale·F with
// the ridge λ = Lambda·Scale² they stand for: only the visitor's int8 rounding separates them.
func TestAppetenceQuantisedScoresTrackFloat(t *testing.T) {
	rows, _, _ := synthBlocks(2000, 5, 8, 2)
	app, _, err := FitAppetence(context.Background(), rows, 40, 8, AppetenceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 / (float64(app.Scale) * float64(app.Scale)); math.Abs(float64(app.Lambda)/want-1) > 1e-6 {
		t.Errorf("Lambda = %g, want λ/Scale² = %g", app.Lambda, want)
	}
	r := int(app.Rank)
	Y := mat.NewDense(40, r, DequantizeInt8(app.Factors, app.Scale))
	var G mat.SymDense
	G.SymOuterK(1, Y.T())
	for k := range r {
		G.SetSym(k, k, G.At(k, k)+float64(app.Lambda)*float64(app.Scale)*float64(app.Scale))
	}
	var ch mat.Cholesky
	if !ch.Factorize(&G) {
		t.Fatal("not positive definite")
	}
	sc, err := newAppetenceScorer(app)
	if err != nil {
		t.Fatal(err)
	}
	worst, top := 0.0, 0.0
	for _, a := range rows[:200] {
		aff := mat.NewVecDense(40, nil)
		for _, e := range a {
			aff.SetVec(e.Col, e.Val)
		}
		var yta, v, s mat.VecDense
		yta.MulVec(Y.T(), aff)
		if err := ch.SolveVecTo(&v, &yta); err != nil {
			t.Fatal(err)
		}
		s.MulVec(Y, &v)
		vs := sc.fold(a)
		for c, d := range sc.dots {
			worst = math.Max(worst, math.Abs(s.AtVec(c)-sc.raw.Logit(d, vs)))
			top = math.Max(top, math.Abs(s.AtVec(c)))
		}
	}
	if worst > 0.02*top {
		t.Errorf("device scores differ from float by %g (scores up to %g)", worst, top)
	}
	t.Logf("device vs float fold-in: worst %.3g of scores up to %.3g", worst, top)
}

// AppetenceProbs is, bit for bit, what a device running package models computes.
func TestAppetenceProbsIsTheDevice(t *testing.T) {
	rows, _, _ := synthBlocks(1000, 4, 6, 5)
	app, _, err := FitAppetence(context.Background(), rows, 24, 4, AppetenceOptions{Iterations: 5})
	if err != nil {
		t.Fatal(err)
	}
	b := &models.Bundle{Format: models.FormatVersion, Categories: make([]string, 24), Appetence: app}
	for i := range b.Categories {
		b.Categories[i] = strconv.Itoa(i)
	}
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	proj := app.Projection()
	k := models.NewAppetenceKernel(app)
	q, dots := make([]int8, app.Rank), make([]int32, 24)
	for _, a := range rows[:50] {
		var cats []int
		var w []float64
		for _, e := range a {
			cats, w = append(cats, e.Col), append(w, e.Val)
		}
		vs := app.Fold(q, proj, cats, w)
		k.Scores(dots, q)
		got := AppetenceProbs(app, a)
		for c, d := range dots {
			if want := app.Prob(d, vs); math.Float64bits(got[c]) != math.Float64bits(want) {
				t.Fatalf("category %d: AppetenceProbs %v, device %v", c, got[c], want)
			}
		}
	}
}

func TestFitAppetenceDeterministic(t *testing.T) {
	rows, _, _ := synthBlocks(1500, 4, 6, 3)
	var first []byte
	for _, w := range []int{1, 4} {
		calls := 0
		app, _, err := FitAppetence(context.Background(), rows, 24, 4,
			AppetenceOptions{Workers: w, Iterations: 5, Rand: rand.New(rand.NewPCG(9, 9)),
				Progress: func(done, total int) {
					calls++
					if done != calls || total != 5 {
						t.Errorf("progress %d/%d at call %d", done, total, calls)
					}
				}})
		if err != nil {
			t.Fatal(err)
		}
		if calls != 5 {
			t.Errorf("%d progress calls", calls)
		}
		all := binary.LittleEndian.AppendUint32(slices.Clone(app.Factors), math.Float32bits(app.Lambda))
		all = binary.LittleEndian.AppendUint32(all, math.Float32bits(app.Slope))
		all = binary.LittleEndian.AppendUint32(all, math.Float32bits(app.Intercept))
		if first == nil {
			first = all
		} else if !bytes.Equal(first, all) {
			t.Error("result depends on the number of workers")
		}
	}
}

func TestFitAppetenceErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	good := [][]Entry{{{0, 1}, {1, 2}}, {{1, 1}}}
	tests := []struct {
		name string
		ctx  context.Context
		rows [][]Entry
		nCat int
		rank int
	}{
		{"range", context.Background(), [][]Entry{{{5, 1}}}, 5, 2},
		{"zero-value", context.Background(), [][]Entry{{{1, 0}}}, 5, 2},
		{"nan", context.Background(), [][]Entry{{{1, math.NaN()}}}, 5, 2},
		{"repeat", context.Background(), [][]Entry{{{1, 1}, {1, 2}}}, 5, 2},
		{"rank", context.Background(), good, 5, 0},
		{"empty", context.Background(), nil, 5, 2},
		{"cancelled", cancelled, good, 5, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := FitAppetence(tt.ctx, tt.rows, tt.nCat, tt.rank, AppetenceOptions{}); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestFitAppetenceUncalibrated(t *testing.T) {
	rows, _, _ := synthBlocks(500, 3, 5, 4)
	app, rep, err := FitAppetence(context.Background(), rows, 15, 3, AppetenceOptions{Holdout: -1, Iterations: 3})
	if err != nil {
		t.Fatal(err)
	}
	if app.Slope != 1 || app.Intercept != 0 || rep.CalibrationVisits != 0 || rep.TrainVisitors != 500 {
		t.Errorf("slope %g intercept %g, report %+v", app.Slope, app.Intercept, rep)
	}
}
