package models

import (
	"math"
	"testing"
)

func TestProjectionRankOne(t *testing.T) {
	// F = (1, 2, 3)ᵀ, λ = 0.5: FᵀF + λ = 14.5 and P[c] = F[c]/14.5.
	a := &Appetence{Rank: 1, Factors: []byte{1, 2, 0xFD}, Lambda: 0.5}
	P := a.Projection()
	for c, f := range []float64{1, 2, -3} {
		if want := f / 14.5; math.Abs(P[c]-want) > 4e-16*math.Abs(want) {
			t.Errorf("P[%d] = %v, want %v", c, P[c], want)
		}
	}
}

// TestProjectionSolves checks (FᵀF + λI)·P[c] = F[c] for every row, FᵀF computed independently,
// up to what an explicit inverse guarantees: a relative residual of order Rank·2⁻⁵³·κ, with the
// condition number κ ≤ trace(G)/λ.
func TestProjectionSolves(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ncat, rank int
		lambda     float32
	}{
		{"square", 32, 32, 1000},
		{"budget", 1000, 32, 1000},
		{"small ridge", 1000, 32, 0.01},
		{"fewer categories than rank", 3, 32, 1},
		{"odd rank", 100, 33, 50},
		{"rank 64", 200, 64, 10},
		{"rank 1", 10, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := randAppetence(uint64(tc.ncat+tc.rank), tc.ncat, tc.rank)
			a.Lambda = tc.lambda
			P := a.Projection()
			R, n := tc.rank, tc.ncat
			if len(P) != n*R {
				t.Fatalf("len(P) = %d, want %d", len(P), n*R)
			}
			F := func(c, j int) float64 { return float64(int8(a.Factors[c*R+j])) }
			G := make([]float64, R*R)
			gmax, trace := 0.0, 0.0
			for i := range R {
				for j := range R {
					s := 0.0
					for c := range n {
						s += F(c, i) * F(c, j)
					}
					if i == j {
						s += float64(tc.lambda)
					}
					G[i*R+j] = s
					gmax = max(gmax, math.Abs(s))
					if i == j {
						trace += s
					}
				}
			}
			worst := 0.0
			for c := range n {
				p := P[c*R : c*R+R]
				pmax := 0.0
				for _, v := range p {
					pmax = max(pmax, math.Abs(v))
				}
				for i := range R {
					s := 0.0
					for j := range R {
						s += G[i*R+j] * p[j]
					}
					worst = max(worst, math.Abs(s-F(c, i))/(gmax*pmax+1e-300))
				}
			}
			if tol := float64(R) * 0x1p-53 * trace / float64(tc.lambda); worst > tol {
				t.Errorf("relative residual %g > %g", worst, tol)
			}
		})
	}
}

// TestGramInt8 checks FᵀF against int64 sums, including the extreme −128 over as many categories
// as a model may have (MaxCategories), where the int32 partial sums are largest.
func TestGramInt8(t *testing.T) {
	for _, tc := range []struct{ n, R int }{{1, 1}, {3, 2}, {7, 3}, {1000, 32}, {5, 33}, {MaxCategories, 3}} {
		a := randAppetence(uint64(tc.n), tc.n, tc.R)
		if tc.n == MaxCategories {
			for i := range a.Factors {
				if i%5 != 0 {
					a.Factors[i] = 0x80
				}
			}
		}
		g := gramInt8(a.Factors, tc.R)
		for i := range tc.R {
			for j := range tc.R {
				var s int64
				if j >= i {
					for c := range tc.n {
						s += int64(int8(a.Factors[c*tc.R+i])) * int64(int8(a.Factors[c*tc.R+j]))
					}
				}
				if g[i*tc.R+j] != s {
					t.Fatalf("n=%d R=%d: G[%d][%d] = %d, want %d", tc.n, tc.R, i, j, g[i*tc.R+j], s)
				}
			}
		}
	}
}

func TestProjectionRefusesInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Appetence
	}{
		{"rank 0", Appetence{Factors: []byte{1, 2}, Lambda: 1}},
		{"ragged", Appetence{Rank: 2, Factors: []byte{1, 2, 3}, Lambda: 1}},
		{"lambda 0", Appetence{Rank: 1, Factors: []byte{1, 2}}},
		{"lambda negative", Appetence{Rank: 1, Factors: []byte{1, 2}, Lambda: -1}},
		{"lambda NaN", Appetence{Rank: 1, Factors: []byte{1, 2}, Lambda: float32(math.NaN())}},
		{"lambda Inf", Appetence{Rank: 1, Factors: []byte{1, 2}, Lambda: float32(math.Inf(1))}},
		{"lambda swamped", Appetence{Rank: 2, Factors: []byte{1, 1, 0, 0}, Lambda: 1e-30}}, // last pivot 0
		{"too many categories", Appetence{Rank: 1, Factors: make([]byte, MaxCategories+1), Lambda: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if P := tc.a.Projection(); P != nil {
				t.Errorf("Projection = %v, want nil", P)
			}
		})
	}
	// All-zero factors: G = λI, a valid model whose projection is zero.
	a := &Appetence{Rank: 4, Factors: make([]byte, 12), Lambda: 1e-45}
	P := a.Projection()
	if len(P) != 12 {
		t.Fatalf("zero factors: len(P) = %d", len(P))
	}
	for _, v := range P {
		if v != 0 {
			t.Fatalf("zero factors: P = %v", P)
		}
	}
}

// BenchmarkProjection is the once-per-bundle cost of the fold-in projection (and, for
// Cholesky, of the check in Validate).
func BenchmarkProjection(b *testing.B) {
	a := randAppetence(1, 1000, 32)
	b.Run("1000x32", func(b *testing.B) {
		for b.Loop() {
			a.Projection()
		}
	})
	b.Run("Gram+Cholesky/1000x32", func(b *testing.B) {
		for b.Loop() {
			a.cholesky()
		}
	})
	b.Run("Gram/1000x32", func(b *testing.B) {
		for b.Loop() {
			gramInt8(a.Factors, 32)
		}
	})
}
