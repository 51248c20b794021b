package stats

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// simulate runs one experiment of up to n visitors per arm at rates pt and pc, looking every step
// visitors, and reports whether the sequential test and a naive fixed-horizon test ever rejected at
// 5 %, and at how many visitors per arm the sequential test first did (0: never).
func simulate(r *rand.Rand, pt, pc float64, n, step int64) (seq, naive bool, at int64) {
	s := NewSequential()
	var t, c Arm
	bt := distuv.Binomial{N: float64(step), P: pt, Src: r}
	bc := distuv.Binomial{N: float64(step), P: pc, Src: r}
	for t.Visitors < n {
		t.Visitors += step
		c.Visitors += step
		t.Conversions += int64(bt.Rand())
		c.Conversions += int64(bc.Rand())
		d, err := s.Look(t, c)
		if err != nil {
			panic(err)
		}
		if d.P < 0.05 && !seq {
			seq, at = true, t.Visitors
		}
		if f, _ := DiffProportions(t, c, 0.95); f.P < 0.05 && t.Visitors >= 100 {
			naive = true
		}
	}
	return seq, naive, at
}

// TestSequentialAA is the guarantee the dashboard relies on: in 1,000 A/A experiments looked at after
// every 100 visitors per arm, up to 10,000, the sequential test rejects in at most 5 % of them, while
// the naive test, peeked at the same way, is fooled far more often.
func TestSequentialAA(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 5))
	seqFP, naiveFP := 0, 0
	const runs = 1000
	for range runs {
		seq, naive, _ := simulate(r, 0.05, 0.05, 10000, 100)
		if seq {
			seqFP++
		}
		if naive {
			naiveFP++
		}
	}
	t.Logf("false positives in %d A/A runs with 100 looks: sequential %d, naive peeking %d", runs, seqFP, naiveFP)
	if seqFP > runs*5/100 {
		t.Errorf("sequential test: %d false positives in %d A/A runs (> 5 %%)", seqFP, runs)
	}
	if naiveFP < runs*10/100 {
		t.Errorf("naive peeking: only %d false positives; the simulation does not peek as intended", naiveFP)
	}
}

// TestSequentialPower: a real lift from 5 % to 6.5 % is found, in most runs, within 10,000 visitors.
func TestSequentialPower(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 9))
	found := 0
	var sumAt int64
	for range 200 {
		if seq, _, at := simulate(r, 0.065, 0.05, 10000, 100); seq {
			found++
			sumAt += at
		}
	}
	t.Logf("5 %% → 6.5 %%: found in %d of 200 runs, after %d visitors per arm on average", found, sumAt/int64(max(found, 1)))
	if found < 150 {
		t.Errorf("found in only %d of 200 runs", found)
	}
}

func TestSequentialInterval(t *testing.T) {
	s := NewSequential()
	d, err := s.Look(Arm{Visitors: 50, Conversions: 5}, Arm{Visitors: 50, Conversions: 2})
	if err != nil || s.Looks() != 0 || d.P != 1 {
		t.Errorf("a look below MinVisitors is not a test: %+v %v", d, err)
	}
	d, _ = s.Look(Arm{Visitors: 5000, Conversions: 300}, Arm{Visitors: 5000, Conversions: 250})
	f, _ := DiffProportions(Arm{Visitors: 5000, Conversions: 300}, Arm{Visitors: 5000, Conversions: 250}, 0.95)
	if !(d.Lo < f.Lo && d.Hi > f.Hi) {
		t.Errorf("always-valid interval [%v, %v] should contain the fixed one [%v, %v]", d.Lo, d.Hi, f.Lo, f.Hi)
	}
	if _, err := (&Sequential{Alpha: 0.05}).Look(Arm{Visitors: 10}, Arm{Visitors: 10}); err == nil {
		t.Error("zero mixing variance accepted")
	}
}
