package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/presage-dev/presage/models"
)

// GBTOptions tune FitGBT. The zero value fits 100 trees of depth 4 at learning rate 0.1, with no
// calibration.
type GBTOptions struct {
	Name string // becomes Logistic.Name

	Trees        int     // boosting rounds; 0 means 100
	Depth        int     // maximum depth of a tree, 1 to MaxGBTDepth; 0 means 4
	LearningRate float64 // shrinkage of every leaf; 0 means 0.1
	L2           float64 // λ, the ridge on leaf values (in the Newton step); 0 means 1, negative none
	MinLeaf      int     // fewest training rows in a leaf; 0 means 20
	MinHessian   float64 // smallest Σ p(1−p)·w in a leaf; 0 means 1e-3
	Bins         int     // most histogram bins per feature, 2 to 256; 0 means 255
	Subsample    float64 // share of the training rows each tree sees, drawn with Rand; 0 or 1: all

	// ClassWeight and Balanced weigh the rows as in LogisticOptions.
	ClassWeight [2]float64
	Balanced    bool

	// Calibration is the share of rows (0 ≤ f < 1) held out, drawn with Rand, to fit Platt's
	// σ(a·F + b) on the boosted logit F after the fit; 0 means none. With EarlyStop > 0 the same rows
	// pick the number of trees: the fit keeps the round of least held-out log loss, once EarlyStop
	// rounds have passed without improving it.
	Calibration float64
	EarlyStop   int
	Rand        *rand.Rand // nil: a PCG seeded with (1, 2)

	Progress func(done, total int) // called after each tree; total = Trees
}

// MaxGBTDepth bounds the depth of a tree: children are stored as a one-byte forward offset in
// breadth-first order (models.Trees), which a tree of depth 6 (127 nodes) always fits.
const MaxGBTDepth = 6

// GBTReport describes a boosted-trees fit.
type GBTReport struct {
	TrainRows, HoldoutRows int
	Trees, Nodes           int     // trees kept and their nodes
	TrainLogLoss           float64 // mean log loss of the returned model on the training rows
	HoldoutLogLoss         float64 // the same on the held-out rows (0 without)
	PlattA, PlattB         float64
	Gain                   []float64 // per input column: the loss reduction of its splits, summed
}

// FitGBT fits gradient-boosted decision trees for labels y ∈ {0,1} on the columns of X and returns
// them as a models.Logistic with Trees and zero Weights: p = σ(Bias + Σ trees).
//
// Method: Newton boosting of the log loss (Friedman 2001, "Greedy function approximation: a gradient
// boosting machine", Annals of Statistics 29(5):1189–1232; Chen & Guestrin 2016, "XGBoost: a scalable
// tree boosting system", KDD'16, §2.2): each round fits a tree to the gradients gᵢ = wᵢ(pᵢ − yᵢ) and
// Hessians hᵢ = wᵢpᵢ(1 − pᵢ), a leaf is worth −η·G/(H + λ), and a split is chosen to maximise
// G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ). Splits are searched over histograms of at most Bins
// quantile bins per feature (as LightGBM and XGBoost's "hist" method do), whose edges are values of
// the training data rounded to float32: the device compares float32(x) with the same edges, so it
// takes the branch the trainer took. Trees grow level by level to Depth. With opt.Calibration a
// share of rows is held out for Platt scaling, folded into the leaves and the bias.
//
// The returned Logistic.Features are the columns the trees split on, as indices into names (the
// caller remaps them to Bundle.Features), in increasing order.
func FitGBT(ctx context.Context, X *mat.Dense, y []float64, names []string, opt GBTOptions) (models.Logistic, GBTReport, error) {
	n, d := X.Dims()
	fail := func(msg string) (models.Logistic, GBTReport, error) {
		return models.Logistic{}, GBTReport{}, errors.New("train: gbt: " + msg)
	}
	switch {
	case len(names) != d:
		return fail(strconv.Itoa(len(names)) + " names for " + strconv.Itoa(d) + " columns")
	case len(y) != n:
		return fail("labels and rows differ in number")
	case d > math.MaxUint16:
		return fail("too many features")
	case opt.Calibration < 0 || opt.Calibration >= 1:
		return fail("calibration share outside [0,1)")
	case opt.Subsample < 0 || opt.Subsample > 1:
		return fail("subsample outside [0,1]")
	}
	o := opt
	if o.Trees <= 0 {
		o.Trees = 100
	}
	if o.Depth <= 0 {
		o.Depth = 4
	}
	if o.Depth > MaxGBTDepth {
		return fail("depth " + strconv.Itoa(o.Depth) + " above " + strconv.Itoa(MaxGBTDepth))
	}
	if o.LearningRate <= 0 {
		o.LearningRate = 0.1
	}
	switch {
	case o.L2 == 0:
		o.L2 = 1
	case o.L2 < 0:
		o.L2 = 0
	}
	if o.MinLeaf <= 0 {
		o.MinLeaf = 20
	}
	if o.MinHessian <= 0 {
		o.MinHessian = 1e-3
	}
	if o.Bins == 0 {
		o.Bins = 255
	}
	if o.Bins < 2 || o.Bins > 256 {
		return fail("bins outside [2, 256]")
	}
	if o.Subsample == 0 {
		o.Subsample = 1
	}
	if (o.Trees+1)*(1<<(o.Depth+1)) > models.MaxTreeNodes {
		return fail("trees × nodes per tree above " + strconv.Itoa(models.MaxTreeNodes))
	}
	rng := o.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
	}
	raw := X.RawMatrix()
	for i := range n {
		if y[i] != 0 && y[i] != 1 {
			return fail("label not 0 or 1 at row " + strconv.Itoa(i))
		}
		if !allFinite(raw.Data[i*raw.Stride : i*raw.Stride+d]) {
			return fail("NaN or infinite feature at row " + strconv.Itoa(i))
		}
	}

	// Split rows into training and held-out parts.
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	var train, hold []int
	if nh := int(math.Round(o.Calibration * float64(n))); nh > 0 {
		rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		hold, train = idx[:nh], idx[nh:]
		slices.Sort(hold)
		slices.Sort(train)
	} else {
		train = idx
	}
	nt := len(train)
	if nt < 2*o.MinLeaf {
		return fail("too few training rows (" + strconv.Itoa(nt) + ")")
	}

	// Row weights, normalised to mean 1.
	cw := o.ClassWeight
	for k := range cw {
		if cw[k] == 0 {
			cw[k] = 1
		}
		if cw[k] < 0 {
			return fail("negative class weight")
		}
	}
	pos := 0.0
	for _, i := range train {
		pos += y[i]
	}
	if pos == 0 || pos == float64(nt) {
		return fail("the training rows hold one class only")
	}
	if o.Balanced {
		cw = [2]float64{float64(nt) / (2 * (float64(nt) - pos)), float64(nt) / (2 * pos)}
	}
	w := make([]float64, nt)
	sw := 0.0
	for k, i := range train {
		w[k] = cw[int(y[i])]
		sw += w[k]
	}
	for k := range w {
		w[k] *= float64(nt) / sw
	}

	// Histogram bins of the training rows, column-major.
	cuts := make([][]float32, d)
	bins := make([][]uint8, d)
	col := make([]float32, nt)
	for j := range d {
		for k, i := range train {
			col[k] = float32(raw.Data[i*raw.Stride+j])
		}
		cuts[j] = binCuts(col, o.Bins)
		bins[j] = make([]uint8, nt)
		for k, v := range col {
			bins[j][k] = uint8(binOf(cuts[j], v))
		}
	}

	// Boosting.
	py := 0.0
	for k, i := range train {
		py += w[k] * y[i]
	}
	py /= float64(nt)
	base := float64(float32(math.Log(py / (1 - py))))
	F := make([]float64, nt)
	for k := range F {
		F[k] = base
	}
	Fh := make([]float64, len(hold))
	for k := range Fh {
		Fh[k] = base
	}
	g := make([]float64, nt)
	h := make([]float64, nt)
	gain := make([]float64, d)
	g1 := &grower{o: &o, bins: bins, cuts: cuts, g: g, h: h, gain: gain}
	var trees []gbtTree
	best, bestLoss, since := 0, math.Inf(1), 0
	rows := make([]int32, 0, nt)
	for t := range o.Trees {
		if err := ctx.Err(); err != nil {
			return models.Logistic{}, GBTReport{}, err
		}
		for k, i := range train {
			p := sigmoid(F[k])
			g[k] = w[k] * (p - y[i])
			h[k] = w[k] * p * (1 - p)
		}
		rows = rows[:0]
		for k := range nt {
			if o.Subsample >= 1 || rng.Float64() < o.Subsample {
				rows = append(rows, int32(k))
			}
		}
		tr := g1.grow(rows)
		trees = append(trees, tr)
		for k := range F {
			F[k] += float64(tr.leafBinned(bins, k))
		}
		for k, i := range hold {
			Fh[k] += float64(tr.leaf(raw.Data[i*raw.Stride : i*raw.Stride+d]))
		}
		if o.Progress != nil {
			o.Progress(t+1, o.Trees)
		}
		if o.EarlyStop > 0 && len(hold) > 0 {
			l := 0.0
			for k, i := range hold {
				l += softplus(Fh[k]) - y[i]*Fh[k]
			}
			if l < bestLoss-1e-12 {
				best, bestLoss, since = t+1, l, 0
			} else if since++; since >= o.EarlyStop {
				break
			}
		}
	}
	if o.EarlyStop > 0 && len(hold) > 0 {
		trees = trees[:best]
	}

	// Platt calibration on the held-out rows' margins, recomputed for the trees kept.
	a, b := 1.0, 0.0
	if len(hold) > 0 {
		s := make([]float64, len(hold))
		yh := make([]float64, len(hold))
		for k, i := range hold {
			x := raw.Data[i*raw.Stride : i*raw.Stride+d]
			s[k] = base
			for t := range trees {
				s[k] += float64(trees[t].leaf(x))
			}
			yh[k] = y[i]
		}
		var err error
		if a, b, err = fitPlatt(ctx, s, yh, nil, true); err != nil {
			return models.Logistic{}, GBTReport{}, err
		}
	}

	m := flatten(trees, d, a, o.Name)
	m.Bias = float32(a*base + b)
	rep := GBTReport{TrainRows: nt, HoldoutRows: len(hold), Trees: len(trees), Nodes: len(m.Trees.Value),
		PlattA: a, PlattB: b, Gain: gain}
	cols := make([]uint16, d) // model feature k reads input column m.Features[k]
	for k, f := range m.Features {
		cols[k] = f
	}
	loss := func(rows []int) float64 {
		if len(rows) == 0 {
			return 0
		}
		s := 0.0
		for _, i := range rows {
			z := m.Logit(raw.Data[i*raw.Stride:i*raw.Stride+d], cols)
			s += softplus(z) - y[i]*z
		}
		return s / float64(len(rows))
	}
	rep.TrainLogLoss, rep.HoldoutLogLoss = loss(train), loss(hold)
	return m, rep, nil
}

// binCuts returns at most bins−1 increasing cut values among the values: a value v falls in bin
// binOf(cuts, v) = #{c ∈ cuts : c ≤ v}. With few distinct values every one starts a bin; otherwise
// bins of about equal counts are made of whole runs of equal values, so that a value shared by many
// rows (zero, typically) fills its own bin without swallowing its neighbours.
func binCuts(values []float32, bins int) []float32 {
	s := slices.Clone(values)
	slices.Sort(s)
	u := slices.Compact(slices.Clone(s))
	if len(u) <= bins {
		return u[1:]
	}
	target := (len(s) + bins - 1) / bins
	cuts := make([]float32, 0, bins-1)
	acc := 0
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if i > 0 && acc >= target && len(cuts) < bins-1 {
			cuts = append(cuts, s[i])
			acc = 0
		}
		acc += j - i
		i = j
	}
	return cuts
}

// binOf is the bin of v: the number of cuts at or below it.
func binOf(cuts []float32, v float32) int {
	lo, hi := 0, len(cuts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if cuts[m] <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// gbtNode is a node while training: a split sends bins ≤ bin (values below thr) left.
type gbtNode struct {
	feature int
	bin     int
	thr     float32
	left    int // index of the left child in the tree, 0 for a leaf
	value   float32
}

type gbtTree []gbtNode

// leaf returns the value of the leaf that a raw row reaches, comparing float32(x) as models.Trees does.
func (t gbtTree) leaf(x []float64) float32 {
	i := 0
	for t[i].left != 0 {
		if float32(x[t[i].feature]) < t[i].thr {
			i = t[i].left
		} else {
			i = t[i].left + 1
		}
	}
	return t[i].value
}

// leafBinned is leaf for training row k, from its bins.
func (t gbtTree) leafBinned(bins [][]uint8, k int) float32 {
	i := 0
	for t[i].left != 0 {
		if int(bins[t[i].feature][k]) <= t[i].bin {
			i = t[i].left
		} else {
			i = t[i].left + 1
		}
	}
	return t[i].value
}

// grower grows one tree level by level over histograms.
type grower struct {
	o        *GBTOptions
	bins     [][]uint8
	cuts     [][]float32
	g, h     []float64
	gain     []float64
	hg, hh   []float64 // histogram scratch: per bin
	hn       []int32
	partBuf  []int32
	nodeRows [][]int32
}

func (gr *grower) grow(rows []int32) gbtTree {
	o := gr.o
	lambda := o.L2
	tree := gbtTree{{}}
	nodeRows := append(gr.nodeRows[:0], rows)
	leafValue := func(rs []int32) float32 {
		G, H := 0.0, 0.0
		for _, k := range rs {
			G += gr.g[k]
			H += gr.h[k]
		}
		return float32(-o.LearningRate * G / (H + lambda))
	}
	level := []int{0}
	for depth := 0; depth < o.Depth && len(level) > 0; depth++ {
		var next []int
		for _, ni := range level {
			rs := nodeRows[ni]
			f, bin, gain, ok := gr.bestSplit(rs)
			if !ok {
				continue
			}
			gr.gain[f] += gain
			// Partition the node's rows in place: left part first.
			l := 0
			for _, k := range rs {
				if int(gr.bins[f][k]) <= bin {
					l++
				}
			}
			part := append(gr.partBuf[:0], rs...)
			li, ri := 0, l
			for _, k := range part {
				if int(gr.bins[f][k]) <= bin {
					rs[li] = k
					li++
				} else {
					rs[ri] = k
					ri++
				}
			}
			gr.partBuf = part
			left := len(tree)
			tree[ni].feature, tree[ni].bin, tree[ni].thr, tree[ni].left = f, bin, gr.cuts[f][bin], left
			tree = append(tree, gbtNode{}, gbtNode{})
			nodeRows = append(nodeRows, rs[:l], rs[l:])
			next = append(next, left, left+1)
		}
		level = next
	}
	for i := range tree {
		if tree[i].left == 0 {
			tree[i].value = leafValue(nodeRows[i])
		}
	}
	gr.nodeRows = nodeRows[:0]
	return tree
}

// bestSplit finds the split of the rows of largest gain, honouring MinLeaf and MinHessian.
func (gr *grower) bestSplit(rs []int32) (feature, bin int, gain float64, ok bool) {
	o := gr.o
	if len(rs) < 2*o.MinLeaf {
		return 0, 0, 0, false
	}
	lambda := o.L2
	G, H := 0.0, 0.0
	for _, k := range rs {
		G += gr.g[k]
		H += gr.h[k]
	}
	parent := G * G / (H + lambda)
	best := 1e-12
	nb := o.Bins
	if len(gr.hg) < nb {
		gr.hg, gr.hh, gr.hn = make([]float64, nb), make([]float64, nb), make([]int32, nb)
	}
	for f := range gr.bins {
		nc := len(gr.cuts[f])
		if nc == 0 {
			continue
		}
		hg, hh, hn := gr.hg[:nc+1], gr.hh[:nc+1], gr.hn[:nc+1]
		clear(hg)
		clear(hh)
		clear(hn)
		bf := gr.bins[f]
		for _, k := range rs {
			b := bf[k]
			hg[b] += gr.g[k]
			hh[b] += gr.h[k]
			hn[b]++
		}
		GL, HL, NL := 0.0, 0.0, 0
		for b := range nc {
			GL += hg[b]
			HL += hh[b]
			NL += int(hn[b])
			NR := len(rs) - NL
			if NL < o.MinLeaf {
				continue
			}
			if NR < o.MinLeaf {
				break
			}
			HR := H - HL
			if HL < o.MinHessian || HR < o.MinHessian {
				continue
			}
			GR := G - GL
			if gn := GL*GL/(HL+lambda) + GR*GR/(HR+lambda) - parent; gn > best {
				best, feature, bin, ok = gn, f, b, true
			}
		}
	}
	return feature, bin, best, ok
}

// flatten lays the trees out as models.Trees over the columns they split on, with the calibration
// slope a folded into the leaves.
func flatten(trees []gbtTree, d int, a float64, name string) models.Logistic {
	used := make([]bool, d)
	for _, t := range trees {
		for _, nd := range t {
			if nd.left != 0 {
				used[nd.feature] = true
			}
		}
	}
	remap := make([]uint16, d)
	m := models.Logistic{Name: name}
	for j, u := range used {
		if u {
			remap[j] = uint16(len(m.Features))
			m.Features = append(m.Features, uint16(j))
		}
	}
	m.Weights = make([]float32, len(m.Features))
	tr := &models.Trees{}
	for _, t := range trees {
		root := len(tr.Value)
		tr.Roots = append(tr.Roots, uint16(root))
		for i, nd := range t {
			if nd.left == 0 {
				tr.Child = append(tr.Child, 0)
				tr.Feature = append(tr.Feature, 0)
				tr.Value = append(tr.Value, float32(a*float64(nd.value)))
				continue
			}
			tr.Child = append(tr.Child, byte(nd.left-i))
			tr.Feature = append(tr.Feature, remap[nd.feature])
			tr.Value = append(tr.Value, nd.thr)
		}
	}
	if len(tr.Roots) > 0 {
		m.Trees = tr
	}
	return m
}
