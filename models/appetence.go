package models

import (
	"math"

	"github.com/presage-dev/presage/internal/detmath"
)

// Appetence scoring. Once per bundle, Projection computes P, whose row c is (FᵀF + λI)⁻¹ F[c] for the
// int8 factors F and the ridge λ = Lambda (float64, in a fixed order with every product rounded, so P
// is bit-identical everywhere). Then, per visitor:
//
//  1. Fold: u = Σ_c affinity_c · P[c] over the visitor's few affine categories, which is the ridge
//     fold-in u = (FᵀF + λI)⁻¹ Fᵀ a, quantised to int8: u ≈ vscale · q.
//  2. Scores: for every category c, the exact integer dot d_c = F[c] · q (int8·int8 summed in
//     int32: identical everywhere, and the hot loop).
//  3. Prob / TopCategories: appetence_c = σ(Slope · vscale · d_c + Intercept), since F[c]·u is the
//     fitted preference and vscale·q dequantises u. Slope and vscale are positive (Validate, Fold),
//     so ranking by d_c is ranking by appetence.

// DefaultTop is how many categories an answer lists when Appetence.Top is 0.
const DefaultTop = 5

// CategoryScore is a category index with its dot product and appetence.
type CategoryScore struct {
	Category int
	Dot      int32
	Prob     float64
}

// Categories returns the number of categories the model scores.
func (a *Appetence) Categories() int {
	if a.Rank == 0 {
		return 0
	}
	return len(a.Factors) / int(a.Rank)
}

// Fold projects a visitor's category affinities into the model's space with the projection proj
// (from Projection): u = Σᵢ weights[i] · proj[cats[i]], then quantises u into q (len(q) ≥ Rank)
// with q[j] = round(u[j]/vscale) in [−127, 127] and returns vscale (0, with q all zero, when there
// is no signal). Categories out of range (of the model or of proj) and non-finite weights are
// skipped; cats and weights pair up to the shorter of the two. The sum runs in the order given, with
// every product rounded, so q and vscale are bit-identical everywhere.
func (a *Appetence) Fold(q []int8, proj []float64, cats []int, weights []float64) (vscale float64) {
	R := int(a.Rank)
	q = q[:R]
	var acc [MaxRank]float64
	ncat := a.Categories()
	if R > 0 {
		ncat = min(ncat, len(proj)/R)
	}
	if len(weights) < len(cats) {
		cats = cats[:len(weights)]
	}
	for i, c := range cats {
		w := weights[i]
		if c < 0 || c >= ncat || !finite(w) || w == 0 {
			continue
		}
		row := proj[c*R : c*R+R]
		for j, p := range row {
			acc[j] += float64(w * p)
		}
	}
	m, nan := 0.0, false
	for _, x := range acc[:R] {
		nan = nan || x != x // ∞−∞ from a degenerate projection: no signal rather than int8(NaN)
		if ax := math.Abs(x); ax > m {
			m = ax
		}
	}
	if nan || !(m > 0) || math.IsInf(m, 0) {
		clear(q)
		return 0
	}
	inv := 127 / m
	for j, x := range acc[:R] {
		r := math.Round(float64(x * inv)) // |x·inv| ≤ 127 up to rounding
		if r > 127 {
			r = 127
		} else if r < -127 {
			r = -127
		}
		q[j] = int8(r)
	}
	return m / 127
}

// Scores sets dst[c] = Factors[c] · q for every category c: exact int32 dot products of int8
// vectors. dst must hold Categories() entries and q Rank entries. This is the scalar kernel, fully
// unrolled for rank 32. An AppetenceKernel (NewAppetenceKernel), which repacks the factors once per
// bundle, computes the same numbers 2.5–4× faster.
func (a *Appetence) Scores(dst []int32, q []int8) {
	R := int(a.Rank)
	n := a.Categories()
	dst = dst[:n]
	q = q[:R]
	F := a.Factors[:n*R]
	if R == 32 {
		scores32(dst, F, q)
		return
	}
	var w [MaxRank]int32
	for j, x := range q {
		w[j] = int32(x)
	}
	ws := w[:R]
	for c := range dst {
		row := F[c*R : c*R+R]
		var s0, s1, s2, s3 int32
		j := 0
		for ; j+4 <= R; j += 4 {
			s0 += int32(int8(row[j])) * ws[j]
			s1 += int32(int8(row[j+1])) * ws[j+1]
			s2 += int32(int8(row[j+2])) * ws[j+2]
			s3 += int32(int8(row[j+3])) * ws[j+3]
		}
		for ; j < R; j++ {
			s0 += int32(int8(row[j])) * ws[j]
		}
		dst[c] = s0 + s1 + s2 + s3
	}
}

// scores32 is Scores for rank 32: q lives in 32 local variables and each row is one expression,
// which Go's wasm backend compiles to straight-line loads and multiply-adds (3× faster under
// wazero than indexing an array of q; see BenchmarkAppetence).
func scores32(dst []int32, F []byte, q []int8) {
	q = q[:32]
	w0, w1, w2, w3, w4, w5, w6, w7 := int32(q[0]), int32(q[1]), int32(q[2]), int32(q[3]), int32(q[4]), int32(q[5]), int32(q[6]), int32(q[7])
	w8, w9, w10, w11, w12, w13, w14, w15 := int32(q[8]), int32(q[9]), int32(q[10]), int32(q[11]), int32(q[12]), int32(q[13]), int32(q[14]), int32(q[15])
	w16, w17, w18, w19, w20, w21, w22, w23 := int32(q[16]), int32(q[17]), int32(q[18]), int32(q[19]), int32(q[20]), int32(q[21]), int32(q[22]), int32(q[23])
	w24, w25, w26, w27, w28, w29, w30, w31 := int32(q[24]), int32(q[25]), int32(q[26]), int32(q[27]), int32(q[28]), int32(q[29]), int32(q[30]), int32(q[31])
	for c := range dst {
		r := (*[32]byte)(F[c*32 : c*32+32])
		dst[c] = int32(int8(r[0]))*w0 + int32(int8(r[1]))*w1 + int32(int8(r[2]))*w2 + int32(int8(r[3]))*w3 +
			int32(int8(r[4]))*w4 + int32(int8(r[5]))*w5 + int32(int8(r[6]))*w6 + int32(int8(r[7]))*w7 +
			int32(int8(r[8]))*w8 + int32(int8(r[9]))*w9 + int32(int8(r[10]))*w10 + int32(int8(r[11]))*w11 +
			int32(int8(r[12]))*w12 + int32(int8(r[13]))*w13 + int32(int8(r[14]))*w14 + int32(int8(r[15]))*w15 +
			int32(int8(r[16]))*w16 + int32(int8(r[17]))*w17 + int32(int8(r[18]))*w18 + int32(int8(r[19]))*w19 +
			int32(int8(r[20]))*w20 + int32(int8(r[21]))*w21 + int32(int8(r[22]))*w22 + int32(int8(r[23]))*w23 +
			int32(int8(r[24]))*w24 + int32(int8(r[25]))*w25 + int32(int8(r[26]))*w26 + int32(int8(r[27]))*w27 +
			int32(int8(r[28]))*w28 + int32(int8(r[29]))*w29 + int32(int8(r[30]))*w30 + int32(int8(r[31]))*w31
	}
}

// Logit returns the log-odds of appetence for a category with dot product dot (from Scores) for a
// visitor folded in with vscale (from Fold): Slope·vscale·dot + Intercept.
func (a *Appetence) Logit(dot int32, vscale float64) float64 {
	f := float64(float64(a.Slope) * vscale)
	return float64(f*float64(dot)) + float64(a.Intercept)
}

// Prob returns the appetence σ(Logit(dot, vscale)) in [0, 1].
func (a *Appetence) Prob(dot int32, vscale float64) float64 {
	return detmath.Sigmoid(a.Logit(dot, vscale))
}

// TopCategories appends to dst the n categories with the highest dot products (n ≤ 0 means Top,
// or DefaultTop when Top is 0), best first, ties broken by the lower category index, with their
// appetence. dots are the output of Scores.
func (a *Appetence) TopCategories(dst []CategoryScore, dots []int32, vscale float64, n int) []CategoryScore {
	if n <= 0 {
		n = int(a.Top)
		if n == 0 {
			n = DefaultTop
		}
	}
	var buf [64]int32
	idx := buf[:0]
	if n > len(buf) {
		idx = make([]int32, 0, min(n, len(dots)))
	}
	idx = topK(idx, dots, n)
	base := len(dst)
	for _, c := range idx {
		dst = append(dst, CategoryScore{Category: int(c), Dot: dots[c]})
	}
	for i := base; i < len(dst); i++ {
		dst[i].Prob = a.Prob(dst[i].Dot, vscale)
	}
	return dst
}

// TopK appends to dst the indices of the k largest scores, largest first, ties broken by the lower
// index. It scans scores once, eight at a time, and only inserts a score that beats the current
// k-th: O(len(scores)) on typical data, O(len(scores)·k) at worst (ascending scores). It allocates
// only if dst must grow.
func TopK(dst []int, scores []int32, k int) []int { return topK(dst, scores, k) }

func topK[I int | int32](dst []I, scores []int32, k int) []I {
	if k <= 0 {
		return dst
	}
	base := len(dst)
	full := false
	var worst int32
	for i := 0; i < len(scores); {
		if full && i+8 <= len(scores) {
			s := (*[8]int32)(scores[i : i+8])
			if max(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]) <= worst {
				i += 8
				continue
			}
		}
		d := scores[i]
		if !full || d > worst {
			// Insert i into the sorted tail; on a tie the earlier (lower) index stays ahead.
			out := dst[base:]
			if len(out) < k {
				dst = append(dst, 0)
				out = dst[base:]
			}
			j := len(out) - 1
			for j > 0 && d > scores[out[j-1]] {
				out[j] = out[j-1]
				j--
			}
			out[j] = I(i)
			if len(out) == k {
				full, worst = true, scores[out[k-1]]
			}
		}
		i++
	}
	return dst
}
