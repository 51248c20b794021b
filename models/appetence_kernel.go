package models

// AppetenceKernel computes the same dot products as Appetence.Scores, 2.5× (wazero) to 4× (native)
// faster, from a copy of the factors repacked once per bundle (SWAR: SIMD within a register). Build
// it when a bundle is loaded; it is read-only afterwards.
//
// Three categories share one int64: packed = F[c₀][j] + F[c₁][j]·2²¹ + F[c₂][j]·2⁴², so a single
// 64-bit multiply by q[j] and one addition advance three dot products at once. Over a block of up
// to 32 dimensions each lane stays within ±32·128·128 = ±2¹⁹, which a signed 21-bit lane holds,
// so the lanes never overflow into each other and are decoded exactly after the block (low lane
// first, sign-extended, then subtracted before shifting). Ranks above 32 run in blocks of 32.
// Everything is integer arithmetic: results are exact and identical on every platform.
//
// Go's wasm backend emits no SIMD, and each scalar int8 product costs a sign-extending load, a
// multiply and an add; the packed form does a third of the loads, multiplies and adds.
type AppetenceKernel struct {
	rank   int
	ncat   int
	packed []int64 // per group of three categories g, per dimension j: packed[g·rank + j]
}

const (
	laneBits  = 21
	laneBlock = 32 // dimensions per block: 32·128·128 = 2¹⁹ < 2²⁰ fits a signed 21-bit lane
)

// NewAppetenceKernel repacks a's factors: one int64 per three categories and dimension, about
// 2.7× the size of Factors (85 KB for 1,000 categories of rank 32). a must be valid.
func NewAppetenceKernel(a *Appetence) *AppetenceKernel {
	R, n := int(a.Rank), a.Categories()
	groups := (n + 2) / 3
	k := &AppetenceKernel{rank: R, ncat: n, packed: make([]int64, groups*R)}
	f := func(c, j int) int64 {
		if c >= n {
			return 0
		}
		return int64(int8(a.Factors[c*R+j]))
	}
	for g := range groups {
		for j := range R {
			c := 3 * g
			k.packed[g*R+j] = f(c, j) + f(c+1, j)<<laneBits + f(c+2, j)<<(2*laneBits)
		}
	}
	return k
}

// Categories returns the number of categories the kernel scores.
func (k *AppetenceKernel) Categories() int { return k.ncat }

// unpack splits a packed sum into its three signed 21-bit lanes.
func unpack(acc int64) (l0, l1, l2 int32) {
	const sh = 64 - laneBits
	a0 := acc << sh >> sh
	acc = (acc - a0) >> laneBits
	a1 := acc << sh >> sh
	a2 := (acc - a1) >> laneBits
	return int32(a0), int32(a1), int32(a2)
}

// Scores sets dst[c] = Factors[c] · q for every category c, exactly as Appetence.Scores does.
// dst must hold Categories() entries and q Rank entries.
func (k *AppetenceKernel) Scores(dst []int32, q []int8) {
	R, n := k.rank, k.ncat
	dst = dst[:n]
	q = q[:R]
	full := n / 3
	if R == laneBlock {
		swarScores32(dst, k.packed, q, full)
		if rem := n - 3*full; rem > 0 {
			var last [3]int32
			swarScores32(last[:], k.packed[full*laneBlock:], q, 1)
			copy(dst[3*full:], last[:rem])
		}
		return
	}
	var w [MaxRank]int64
	for j, x := range q {
		w[j] = int64(x)
	}
	for g := 0; g < (n+2)/3; g++ {
		row := k.packed[g*R : g*R+R]
		var t0, t1, t2 int32
		for b := 0; b < R; b += laneBlock {
			e := min(b+laneBlock, R)
			var acc int64
			for j, p := range row[b:e] {
				acc += p * w[b+j]
			}
			l0, l1, l2 := unpack(acc)
			t0, t1, t2 = t0+l0, t1+l1, t2+l2
		}
		c := 3 * g
		dst[c] = t0
		if c+1 < n {
			dst[c+1] = t1
		}
		if c+2 < n {
			dst[c+2] = t2
		}
	}
}

// swarScores32 is Scores for rank 32 over the first groups of three categories: q lives in 32
// local variables and each group is one expression of 32 multiply-adds, which Go's wasm backend
// compiles to straight-line code (2× faster under wazero than indexing an array of q, and than a
// function call per group).
func swarScores32(dst []int32, P []int64, q []int8, groups int) {
	q = q[:32]
	w0, w1, w2, w3, w4, w5, w6, w7 := int64(q[0]), int64(q[1]), int64(q[2]), int64(q[3]), int64(q[4]), int64(q[5]), int64(q[6]), int64(q[7])
	w8, w9, w10, w11, w12, w13, w14, w15 := int64(q[8]), int64(q[9]), int64(q[10]), int64(q[11]), int64(q[12]), int64(q[13]), int64(q[14]), int64(q[15])
	w16, w17, w18, w19, w20, w21, w22, w23 := int64(q[16]), int64(q[17]), int64(q[18]), int64(q[19]), int64(q[20]), int64(q[21]), int64(q[22]), int64(q[23])
	w24, w25, w26, w27, w28, w29, w30, w31 := int64(q[24]), int64(q[25]), int64(q[26]), int64(q[27]), int64(q[28]), int64(q[29]), int64(q[30]), int64(q[31])
	for g := 0; g < groups; g++ {
		p := (*[32]int64)(P[g*32 : g*32+32])
		acc := p[0]*w0 + p[1]*w1 + p[2]*w2 + p[3]*w3 +
			p[4]*w4 + p[5]*w5 + p[6]*w6 + p[7]*w7 +
			p[8]*w8 + p[9]*w9 + p[10]*w10 + p[11]*w11 +
			p[12]*w12 + p[13]*w13 + p[14]*w14 + p[15]*w15 +
			p[16]*w16 + p[17]*w17 + p[18]*w18 + p[19]*w19 +
			p[20]*w20 + p[21]*w21 + p[22]*w22 + p[23]*w23 +
			p[24]*w24 + p[25]*w25 + p[26]*w26 + p[27]*w27 +
			p[28]*w28 + p[29]*w29 + p[30]*w30 + p[31]*w31
		l0, l1, l2 := unpack(acc)
		d := (*[3]int32)(dst[3*g : 3*g+3])
		d[0], d[1], d[2] = l0, l1, l2
	}
}
