package models

import "math"

// Projection returns the fold-in projection of the model: ncat×Rank float64, row c being
// (FᵀF + Lambda·I)⁻¹ F[c] for the int8 factors F, so that Σ_c a_c·P[c] = (FᵀF + Lambda·I)⁻¹ Fᵀa is the
// ridge fold-in of a visitor with category affinities a (see Fold). Compute it once per bundle: it
// costs about 1.5·ncat·Rank² multiply-adds (FᵀF and the products) and ncat·Rank·8 bytes (256 KB for 1,000 categories of
// rank 32; see BenchmarkProjection for the time).
//
// The result is bit-identical on every platform: FᵀF is exact integer arithmetic, and the Cholesky
// factorisation, the inverse G⁻¹ and the products P[c] = G⁻¹·F[c] use only +, −, ×, / and math.Sqrt (all correctly
// rounded), in a fixed order, with every product that meets a sum written float64(x*y) so that no
// compiler fuses it into a multiply-add.
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
	if R == 32 {
		project32(P, a.Factors, G)
		return P
	}
	project(P, a.Factors, G, R)
	return P
}

// project sets P[c][i] = dot4(F[c], G⁻¹[i]) for every category c (G⁻¹ is symmetric, so row i is
// column i and P[c] = G⁻¹·F[c]).
func project(P []float64, F []byte, G []float64, R int) {
	var f [MaxRank]float64
	for c := range len(F) / R {
		for j, b := range F[c*R : c*R+R] {
			f[j] = float64(int8(b))
		}
		p := P[c*R : c*R+R]
		for i := range p {
			p[i] = dot4(f[:R], G[i*R:i*R+R])
		}
	}
}

// dot4 returns Σ_j x[j]·y[j] (len(y) ≥ len(x)) summed the way project32 sums: four partial sums,
// the m-th over the j ≡ m (mod 4) in increasing order, then (s₀+s₁)+(s₂+s₃). Each output is then
// the same at every rank and on every platform, and the four chains of additions run in parallel.
func dot4(x, y []float64) float64 {
	y = y[:len(x)]
	var s [4]float64
	for j, v := range x {
		s[j&3] += float64(v * y[j])
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// project32 is project for rank 32, bit for bit, with the factors of a category in 32 local variables and each
// output one straight-line expression, as in scores32 (the generic loop is about 4× slower under
// wazero).
func project32(P []float64, F []byte, G []float64) {
	G = G[:32*32]
	for c := range len(F) / 32 {
		r := (*[32]byte)(F[c*32 : c*32+32])
		f0, f1, f2, f3, f4, f5, f6, f7 := float64(int8(r[0])), float64(int8(r[1])), float64(int8(r[2])), float64(int8(r[3])), float64(int8(r[4])), float64(int8(r[5])), float64(int8(r[6])), float64(int8(r[7]))
		f8, f9, f10, f11, f12, f13, f14, f15 := float64(int8(r[8])), float64(int8(r[9])), float64(int8(r[10])), float64(int8(r[11])), float64(int8(r[12])), float64(int8(r[13])), float64(int8(r[14])), float64(int8(r[15]))
		f16, f17, f18, f19, f20, f21, f22, f23 := float64(int8(r[16])), float64(int8(r[17])), float64(int8(r[18])), float64(int8(r[19])), float64(int8(r[20])), float64(int8(r[21])), float64(int8(r[22])), float64(int8(r[23]))
		f24, f25, f26, f27, f28, f29, f30, f31 := float64(int8(r[24])), float64(int8(r[25])), float64(int8(r[26])), float64(int8(r[27])), float64(int8(r[28])), float64(int8(r[29])), float64(int8(r[30])), float64(int8(r[31]))
		p := (*[32]float64)(P[c*32 : c*32+32])
		for i := range 32 {
			g := (*[32]float64)(G[i*32 : i*32+32])
			s0 := 0 + float64(f0*g[0]) + float64(f4*g[4]) + float64(f8*g[8]) + float64(f12*g[12]) + float64(f16*g[16]) + float64(f20*g[20]) + float64(f24*g[24]) + float64(f28*g[28])
			s1 := 0 + float64(f1*g[1]) + float64(f5*g[5]) + float64(f9*g[9]) + float64(f13*g[13]) + float64(f17*g[17]) + float64(f21*g[21]) + float64(f25*g[25]) + float64(f29*g[29])
			s2 := 0 + float64(f2*g[2]) + float64(f6*g[6]) + float64(f10*g[10]) + float64(f14*g[14]) + float64(f18*g[18]) + float64(f22*g[22]) + float64(f26*g[26]) + float64(f30*g[30])
			s3 := 0 + float64(f3*g[3]) + float64(f7*g[7]) + float64(f11*g[11]) + float64(f15*g[15]) + float64(f19*g[19]) + float64(f23*g[23]) + float64(f27*g[27]) + float64(f31*g[31])
			p[i] = (s0 + s1) + (s2 + s3)
		}
	}
}

// inverseFromCholesky returns G⁻¹ = L⁻ᵀL⁻¹ (R×R, row-major, exactly symmetric) from the lower
// Cholesky factor L of G. The explicit inverse costs R³/2 operations, nothing beside the ncat·R²
// of the products, and makes each row of the projection one matrix-vector product instead of two
// triangular solves, whose additions form one long dependent chain. Its error is of order
// κ(G)·2⁻⁵³ relative, where κ(G) ≤ 1 + max FᵀF/λ, far below the int8 quantisation of the fold-in.
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
// conditioning: a trained λ is a sizeable share of FᵀF, far from it. (Fold treats a non-finite sum
// as no signal, so even a degenerate P could not make scoring platform-dependent.)
func (a *Appetence) cholesky() []float64 {
	R := int(a.Rank)
	lambda := float64(a.Lambda)
	if R == 0 || R > MaxRank || len(a.Factors)%R != 0 || !finite(lambda) || !(lambda > 0) {
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
// the int8 matrix F of len(F)/R rows, exactly, as a sum of the outer products of the rows. A pair
// of factors (F[c][j], F[c][j+1]) is packed in one int64 as F[c][j] + F[c][j+1]·2³², so one 64-bit
// multiply-add advances two entries of a row of FᵀF (SWAR, as in AppetenceKernel), and the R×R/2
// accumulators stay in the first-level cache. Over a block of at most 2¹⁶ categories each lane sums
// to at most 2¹⁶·2¹⁴ = 2³⁰ in magnitude, so the low lane is the int32 of the packed sum and the high
// lane the rest: both exact.
func gramInt8(F []byte, R int) []int64 {
	const block = 1 << 16
	n := len(F) / R
	h := (R + 1) / 2
	acc := make([]int64, R*h) // acc[i·h + p] packs FᵀF[i][2p] and FᵀF[i][2p+1]
	gram := make([]int64, R*R)
	var pr [MaxRank/2 + 1]int64
	for b := 0; b < n; b += block {
		for c := b; c < min(b+block, n); c++ {
			row := F[c*R : c*R+R]
			for p := range h {
				v := int64(int8(row[2*p]))
				if 2*p+1 < R {
					v += int64(int8(row[2*p+1])) << 32
				}
				pr[p] = v
			}
			for i, f := range row {
				x := int64(int8(f))
				if x == 0 {
					continue
				}
				p0 := i >> 1
				a := acc[i*h+p0 : i*h+h]
				for p, v := range pr[p0:h] {
					a[p] += x * v
				}
			}
		}
		for i := range R {
			for p := i >> 1; p < h; p++ {
				v := acc[i*h+p]
				lo := int64(int32(v))
				if j := 2 * p; j >= i {
					gram[i*R+j] += lo
				}
				if j := 2*p + 1; j < R {
					gram[i*R+j] += (v - lo) >> 32
				}
				acc[i*h+p] = 0
			}
		}
	}
	return gram
}
