package models

import "math"

// Projection returns the fold-in projection of the model: ncat×Rank float64, row c being
// (FᵀF + Lambda·I)⁻¹ F[c] for the int8 factors F, so that Σ_c a_c·P[c] = (FᵀF + Lambda·I)⁻¹ Fᵀa is the
// ridge fold-in of a visitor with category affinities a (see Fold). Compute it once per bundle: it
// costs about 1.5·ncat·Rank² multiply-adds (FᵀF, exact in integers, and the products) and holds
// ncat·Rank·8 bytes: 256 KB and about 1 ms natively, 6–7 ms under wazero, for 1,000 categories of
// rank 32 (BenchmarkProjection).
//
// The result is bit-identical on every platform: FᵀF is exact integer arithmetic, and the Cholesky
// factorisation G = LLᵀ, the inverse G⁻¹ and the products P[c] = G⁻¹·F[c] use only +, −, ×, / and
// math.Sqrt (all correctly rounded), in a fixed order, with every product that meets a sum written
// float64(x*y) so that no compiler fuses it into a multiply-add.
//
// It returns nil when a does not pass Validate's checks of the appetence model.
func (a *Appetence) Projection() []float64 {
	R, n := int(a.Rank), a.Categories()
	L := a.cholesky()
	if L == nil || n == 0 {
		return nil
	}
	G := inverseFromCholesky(L, R)
	P := make([]float64, n*R)
	project(P, a.Factors, G, R)
	return P
}

// project sets P[c] = G⁻¹·F[c] for every category c: P[c][i] is the dot product of F[c] and row i
// of G⁻¹, summed in four partial sums (the m-th over the j ≡ m mod 4, in increasing order) added as
// (s₀+s₁)+(s₂+s₃), so that four chains of additions run in parallel. The dot product is written
// out rather than called: a call per output costs more than the sum in Go's wasm. (Unrolled for
// rank 32 with F[c] in local variables, as scores32 does, it runs 2.5× faster under wazero, 3.2 →
// 1.3 ms for 1,000 categories, but costs 1.7 KB of brotli-compressed module: not worth it for a
// computation once per bundle.)
func project(P []float64, F []byte, G []float64, R int) {
	var f [MaxRank]float64
	for c := range len(F) / R {
		for j, b := range F[c*R : c*R+R] {
			f[j] = float64(int8(b))
		}
		x := f[:R]
		p := P[c*R : c*R+R]
		for i := range p {
			y := G[i*R : i*R+R]
			y = y[:len(x)]
			var s0, s1, s2, s3 float64
			j := 0
			for ; j+4 <= len(x); j += 4 {
				xs, ys := (*[4]float64)(x[j:j+4]), (*[4]float64)(y[j:j+4])
				s0 += float64(xs[0] * ys[0])
				s1 += float64(xs[1] * ys[1])
				s2 += float64(xs[2] * ys[2])
				s3 += float64(xs[3] * ys[3])
			}
			if j < len(x) {
				s0 += float64(x[j] * y[j])
			}
			if j+1 < len(x) {
				s1 += float64(x[j+1] * y[j+1])
			}
			if j+2 < len(x) {
				s2 += float64(x[j+2] * y[j+2])
			}
			p[i] = (s0 + s1) + (s2 + s3)
		}
	}
}

// inverseFromCholesky returns G⁻¹ = L⁻ᵀL⁻¹ (R×R, row-major, exactly symmetric) from the lower
// Cholesky factor L of G. The explicit inverse costs R³/2 operations, nothing beside the ncat·R²
// of the products, and makes each row of the projection one matrix-vector product instead of two
// triangular solves, whose additions form one long dependent chain. Its error is of order
// κ(G)·2⁻⁵³ relative, where κ(G) ≤ 1 + ‖FᵀF‖₂/λ, far below the int8 quantisation of the fold-in.
func inverseFromCholesky(L []float64, R int) []float64 {
	// M = L⁻¹, lower triangular, column by column: M[i][j] = −(Σ_{j≤k<i} L[i][k]·M[k][j]) / L[i][i].
	M := make([]float64, R*R)
	for j := range R {
		M[j*R+j] = 1 / L[j*R+j]
		for i := j + 1; i < R; i++ {
			s := 0.0
			li := L[i*R : i*R+i]
			for k := j; k < i; k++ {
				s += float64(li[k] * M[k*R+j])
			}
			M[i*R+j] = -s / L[i*R+i]
		}
	}
	// G⁻¹[i][j] = Σ_{k ≥ max(i,j)} M[k][i]·M[k][j], upper triangle, mirrored.
	G := make([]float64, R*R)
	for i := range R {
		for j := i; j < R; j++ {
			s := 0.0
			for k := j; k < R; k++ {
				mk := M[k*R : k*R+R]
				s += float64(mk[i] * mk[j])
			}
			G[i*R+j] = s
			G[j*R+i] = s
		}
	}
	return G
}

// cholesky returns the lower-triangular factor L (Rank×Rank, row-major) of G = FᵀF + Lambda·I, or nil
// when the lengths or Lambda are invalid or G is not numerically positive definite.
//
// In exact arithmetic every pivot of the factorisation of FᵀF + λI is at least λ (a pivot is the
// reciprocal of a diagonal entry of the inverse of a leading block, whose eigenvalues are ≥ λ), so G
// is positive definite for every λ > 0. A computed pivot below λ/2 means rounding (of order
// Rank·2⁻⁵³·max FᵀF) has swamped the ridge, and is refused. This is a necessary check, not a bound on
// conditioning, but a trained λ is far from the limit: 27–36% of the diagonal of FᵀF in the
// simulated 1,000-category bundle. (Fold treats a non-finite sum
// as no signal, so even a degenerate P could not make scoring platform-dependent.)
func (a *Appetence) cholesky() []float64 {
	R := int(a.Rank)
	lambda := float64(a.Lambda)
	if R == 0 || R > MaxRank || len(a.Factors)%R != 0 || len(a.Factors)/R > MaxCategories ||
		!finite(lambda) || !(lambda > 0) {
		return nil
	}
	gram := gramInt8(a.Factors, R)
	L := make([]float64, R*R)
	half := float64(lambda / 2)
	for j := range R {
		lj := L[j*R : j*R+j]
		d := float64(gram[j*R+j]) + lambda
		for _, l := range lj {
			d -= float64(l * l)
		}
		if !(d >= half) || math.IsInf(d, 0) {
			return nil
		}
		ljj := math.Sqrt(d)
		L[j*R+j] = ljj
		for i := j + 1; i < R; i++ {
			s := float64(gram[j*R+i])
			li := L[i*R : i*R+j]
			for k, l := range li {
				s -= float64(l * lj[k])
			}
			L[i*R+j] = s / ljj
		}
	}
	return L
}

// gramInt8 returns the upper triangle of FᵀF (row-major R×R; the lower triangle is left zero) for
// the int8 matrix F of len(F)/R rows, exactly. Each entry is the dot product of two columns of F,
// taken from a transposed copy with four int32 accumulators: contiguous loads and independent
// additions, with the sums in registers. (Accumulating the outer products of the rows instead loads
// and stores an entry of FᵀF per product: 2.5× slower under wazero, even with two entries packed
// per int64.) With at most MaxCategories = 2¹⁶ rows, each int32 partial sum stays within
// 2¹⁴·2¹⁴ = 2²⁸ in magnitude, so all of it is exact.
func gramInt8(F []byte, R int) []int64 {
	n := len(F) / R
	cols := make([]int32, R*n)
	for c := range n {
		for j, f := range F[c*R : c*R+R] {
			cols[j*n+c] = int32(int8(f))
		}
	}
	gram := make([]int64, R*R)
	for i := range R {
		ci := cols[i*n : i*n+n]
		for j := i; j < R; j++ {
			cj := cols[j*n : j*n+n]
			cj = cj[:len(ci)]
			var s0, s1, s2, s3 int32
			k := 0
			for ; k+4 <= len(ci); k += 4 {
				xs, ys := (*[4]int32)(ci[k:k+4]), (*[4]int32)(cj[k:k+4])
				s0 += xs[0] * ys[0]
				s1 += xs[1] * ys[1]
				s2 += xs[2] * ys[2]
				s3 += xs[3] * ys[3]
			}
			for ; k < len(ci); k++ {
				s0 += ci[k] * cj[k]
			}
			gram[i*R+j] = int64(s0) + int64(s1) + int64(s2) + int64(s3)
		}
	}
	return gram
}
