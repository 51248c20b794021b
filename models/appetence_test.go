package models

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// randAppetence returns a valid appetence model of ncat categories and the given rank, with factors
// drawn over the whole int8 range (including -128) so that the kernels meet their extremes.
func randAppetence(seed uint64, ncat, rank int) *Appetence {
	r := rand.New(rand.NewPCG(seed, 1))
	a := &Appetence{Rank: uint16(rank), Scale: 0.02, Slope: 1.3, Intercept: -2, Lambda: 1000}
	a.Factors = make([]byte, ncat*rank)
	for i := range a.Factors {
		a.Factors[i] = byte(r.IntN(256))
	}
	return a
}

// naiveScores is the reference: one multiply-add per element, int64 accumulation.
func naiveScores(a *Appetence, q []int8) []int32 {
	R := int(a.Rank)
	out := make([]int32, a.Categories())
	for c := range out {
		var s int64
		for j := 0; j < R; j++ {
			s += int64(int8(a.Factors[c*R+j])) * int64(q[j])
		}
		out[c] = int32(s)
	}
	return out
}

func TestAppetenceKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 42))
	for _, tc := range []struct{ ncat, rank int }{
		{1, 1}, {2, 3}, {3, 32}, {4, 32}, {5, 32}, {1000, 32}, {7, 31}, {8, 33}, {10, 64}, {11, 100}, {3, 256}, {13, 17},
	} {
		a := randAppetence(uint64(tc.ncat*1000+tc.rank), tc.ncat, tc.rank)
		k := NewAppetenceKernel(a)
		for trial := range 20 {
			q := make([]int8, tc.rank)
			for j := range q {
				switch trial {
				case 0:
					q[j] = -128 // extreme lanes: -128·-128 summed over 32 = 2^19
				case 1:
					q[j] = 127
				default:
					q[j] = int8(r.IntN(256))
				}
			}
			if trial == 0 {
				for i := range a.Factors {
					a.Factors[i] = 0x80
				}
				k = NewAppetenceKernel(a)
			}
			want := naiveScores(a, q)
			got1 := make([]int32, len(want))
			got2 := make([]int32, len(want))
			a.Scores(got1, q)
			k.Scores(got2, q)
			for c := range want {
				if got1[c] != want[c] || got2[c] != want[c] {
					t.Fatalf("ncat=%d rank=%d trial %d category %d: scalar %d, swar %d, want %d",
						tc.ncat, tc.rank, trial, c, got1[c], got2[c], want[c])
				}
			}
			if trial == 0 {
				a = randAppetence(uint64(tc.ncat*1000+tc.rank), tc.ncat, tc.rank)
				k = NewAppetenceKernel(a)
			}
		}
	}
}

// benchVisitor folds a visitor with a handful of affine categories.
func benchVisitor(a *Appetence, proj []float64) ([]int8, float64) {
	q := make([]int8, a.Rank)
	vs := a.Fold(q, proj, []int{3, 17, 256, 511, 900}, []float64{2.5, 1, 0.7, 0.3, 0.1})
	return q, vs
}

func BenchmarkAppetence(b *testing.B) {
	a := randAppetence(1, 1000, 32)
	k := NewAppetenceKernel(a)
	proj := a.Projection()
	q, vs := benchVisitor(a, proj)
	dots := make([]int32, 1000)
	top := make([]CategoryScore, 0, 8)
	b.Run("Scores/scalar", func(b *testing.B) {
		for b.Loop() {
			a.Scores(dots, q)
		}
	})
	b.Run("Scores/swar", func(b *testing.B) {
		for b.Loop() {
			k.Scores(dots, q)
		}
	})
	b.Run("Full/scalar", func(b *testing.B) {
		for b.Loop() {
			vs = a.Fold(q, proj, []int{3, 17, 256, 511, 900}, []float64{2.5, 1, 0.7, 0.3, 0.1})
			a.Scores(dots, q)
			top = a.TopCategories(top[:0], dots, vs, 5)
		}
	})
	b.Run("Full/swar", func(b *testing.B) {
		for b.Loop() {
			vs = a.Fold(q, proj, []int{3, 17, 256, 511, 900}, []float64{2.5, 1, 0.7, 0.3, 0.1})
			k.Scores(dots, q)
			top = a.TopCategories(top[:0], dots, vs, 5)
		}
	})
	b.Run("Fold", func(b *testing.B) {
		for b.Loop() {
			vs = a.Fold(q, proj, []int{3, 17, 256, 511, 900}, []float64{2.5, 1, 0.7, 0.3, 0.1})
		}
	})
	b.Run("Top5", func(b *testing.B) {
		for b.Loop() {
			top = a.TopCategories(top[:0], dots, vs, 5)
		}
	})
}

func TestFold(t *testing.T) {
	// Fold only sums and quantises rows of the projection it is given: hand-written rows test it.
	a := &Appetence{Rank: 3, Scale: 1, Slope: 1, Lambda: 1, Factors: make([]byte, 9)}
	proj := []float64{1, 0, -1, 0, 2, 0, 127, -128, 5}
	q := make([]int8, 3)
	tests := []struct {
		name    string
		proj    []float64
		cats    []int
		weights []float64
		want    []int8
		vscale  float64
	}{
		{"one category", proj, []int{0}, []float64{2}, []int8{127, 0, -127}, 2.0 / 127},
		{"two categories", proj, []int{0, 1}, []float64{1, 1}, []int8{64, 127, -64}, 2.0 / 127}, // (1, 2, -1)
		{"extreme row", proj, []int{2}, []float64{1}, []int8{126, -127, 5}, 128.0 / 127},        // 127·127/128 = 126.0
		{"skips bad input", proj, []int{-1, 3, 1, 0}, []float64{1, 1, math.NaN(), math.Inf(1)}, []int8{0, 0, 0}, 0},
		{"pairs to the shorter", proj, []int{1, 0}, []float64{0.5}, []int8{0, 127, 0}, 1.0 / 127},
		{"no signal", proj, nil, nil, []int8{0, 0, 0}, 0},
		{"short projection", proj[:6], []int{2, 1}, []float64{1, 1}, []int8{0, 127, 0}, 2.0 / 127},
		{"no projection", nil, []int{0, 1}, []float64{1, 1}, []int8{0, 0, 0}, 0},
		{"overflow", []float64{1e308, 0, 0, -1e308, 0, 0, 0, 0, 0}, []int{0, 0}, []float64{2, 1}, []int8{0, 0, 0}, 0},
		{"NaN", []float64{math.Inf(1), 1, 0, math.Inf(-1), 1, 0, 0, 0, 0}, []int{0, 1}, []float64{1, 1}, []int8{0, 0, 0}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range q {
				q[i] = 99
			}
			vs := a.Fold(q, tc.proj, tc.cats, tc.weights)
			if !equal(q, tc.want) || math.Abs(vs-tc.vscale) > 1e-15 {
				t.Errorf("Fold = %v, %v; want %v, %v", q, vs, tc.want, tc.vscale)
			}
		})
	}
}

func TestAppetenceProb(t *testing.T) {
	a := randAppetence(3, 50, 32)
	q, vs := benchVisitor(a, a.Projection())
	if vs <= 0 {
		t.Fatal("no signal")
	}
	dots := make([]int32, 50)
	a.Scores(dots, q)
	for c, d := range dots {
		want := 1 / (1 + math.Exp(-(float64(a.Slope)*vs*float64(d) + float64(a.Intercept))))
		if got := a.Prob(d, vs); math.Abs(got-want) > 1e-15 {
			t.Errorf("category %d: Prob = %v, want %v", c, got, want)
		}
	}
	if got := a.Prob(0, 0); math.Abs(got-1/(1+math.Exp(2))) > 1e-16 {
		t.Errorf("Prob without signal = %v, want σ(Intercept)", got)
	}
}

func naiveTop(scores []int32, k int) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	return idx[:min(k, len(idx))]
}

func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for trial := range 500 {
		n := r.IntN(70)
		scores := make([]int32, n)
		spread := 1 + r.IntN(20) // small spreads make many ties
		for i := range scores {
			scores[i] = int32(r.IntN(spread) - spread/2)
			if trial%10 == 0 {
				scores[i] = int32(i) // ascending: the worst case
			}
			if trial%10 == 1 && i%3 == 0 {
				scores[i] = math.MinInt32
			}
		}
		k := r.IntN(12)
		want := naiveTop(scores, k)
		got := TopK([]int{-5}, scores, k)
		if got[0] != -5 || !equal(got[1:], want) {
			t.Fatalf("TopK(%v, %d) = %v, want %v", scores, k, got[1:], want)
		}
		a := &Appetence{Rank: 1, Scale: 1, Slope: 1, Top: uint16(k)}
		cs := a.TopCategories(nil, scores, 0.01, 0)
		if k == 0 {
			want = naiveTop(scores, DefaultTop)
		}
		if len(cs) != len(want) {
			t.Fatalf("TopCategories = %v, want %v", cs, want)
		}
		for i, c := range cs {
			if c.Category != want[i] || c.Dot != scores[c.Category] || c.Prob != a.Prob(c.Dot, 0.01) {
				t.Fatalf("TopCategories = %v, want %v", cs, want)
			}
		}
	}
}

func TestAppetenceNoAllocation(t *testing.T) {
	a := randAppetence(1, 1000, 32)
	k := NewAppetenceKernel(a)
	q := make([]int8, 32)
	dots := make([]int32, 1000)
	top := make([]CategoryScore, 0, 5)
	idx := make([]int, 0, 5)
	proj := a.Projection()
	cats, weights := []int{3, 17, 256}, []float64{2.5, 1, 0.7}
	allocs := testing.AllocsPerRun(50, func() {
		vs := a.Fold(q, proj, cats, weights)
		k.Scores(dots, q)
		a.Scores(dots, q)
		top = a.TopCategories(top[:0], dots, vs, 5)
		idx = TopK(idx[:0], dots, 5)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per visitor", allocs)
	}
}
