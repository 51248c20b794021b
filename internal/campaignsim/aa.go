package campaignsim

import (
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/presage-dev/presage/sync/stats"
)

// peek runs one experiment of up to n visitors per arm at rates pt and pc, looking every step
// visitors, and reports whether the sequential test and a naive fixed-horizon test ever rejected at
// 5 %, and at how many visitors per arm the sequential test first did (0: never).
func peek(r *rand.Rand, pt, pc float64, n, step int64) (seq, naive bool, at int64, err error) {
	s := stats.NewSequential()
	var t, c stats.Arm
	bt := distuv.Binomial{N: float64(step), P: pt, Src: r}
	bc := distuv.Binomial{N: float64(step), P: pc, Src: r}
	for t.Visitors < n {
		t.Visitors += step
		c.Visitors += step
		t.Conversions += int64(bt.Rand())
		c.Conversions += int64(bc.Rand())
		d, err := s.Look(t, c)
		if err != nil {
			return false, false, 0, err
		}
		if d.P < 0.05 && !seq {
			seq, at = true, t.Visitors
		}
		if f, _ := stats.DiffProportions(t, c, 0.95); f.P < 0.05 && t.Visitors >= 100 {
			naive = true
		}
	}
	return seq, naive, at, nil
}

// PeekConfig sets a peeking simulation: Runs experiments of up to Visitors per arm, looked at
// after every Step visitors per arm.
type PeekConfig struct {
	Runs               int
	Visitors, Step     int64
	Treatment, Control float64 // true conversion rates; equal for A/A
	Seed               uint64
	Progress           func(done, total int)
}

// DefaultAA is issue 7's A/A simulation: 1,000 experiments at 5 % in both arms, looked at after
// every 100 visitors per arm up to 10,000 (100 looks).
var DefaultAA = PeekConfig{Runs: 1000, Visitors: 10000, Step: 100, Treatment: 0.05, Control: 0.05, Seed: 11}

// PeekResult counts the experiments that the always-valid sequential test and the naive
// fixed-horizon test, peeked at every look, declared different at 5 %.
type PeekResult struct {
	Runs, Looks       int
	Sequential, Naive int
	MeanAt            int64 // mean visitors per arm at the sequential test's first rejection
}

// Peek runs cfg's experiments.
func Peek(cfg PeekConfig) (PeekResult, error) {
	if cfg.Runs <= 0 || cfg.Step <= 0 || cfg.Visitors < cfg.Step {
		return PeekResult{}, fmt.Errorf("campaignsim: peek: %d runs of %d visitors by %d: want positive runs and visitors ≥ step", cfg.Runs, cfg.Visitors, cfg.Step)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 5))
	res := PeekResult{Runs: cfg.Runs, Looks: int(cfg.Visitors / cfg.Step)}
	var sumAt int64
	for i := range cfg.Runs {
		seq, naive, at, err := peek(r, cfg.Treatment, cfg.Control, cfg.Visitors, cfg.Step)
		if err != nil {
			return res, err
		}
		if seq {
			res.Sequential++
			sumAt += at
		}
		if naive {
			res.Naive++
		}
		if cfg.Progress != nil && (i+1)%50 == 0 {
			cfg.Progress(i+1, cfg.Runs)
		}
	}
	res.MeanAt = sumAt / int64(max(res.Sequential, 1))
	return res, nil
}

// SRMConfig sets a sample-ratio-mismatch simulation: Runs experiments of Visitors each, assigned
// at random with the true Shares, checked against the Expected split (stats.SampleRatio).
type SRMConfig struct {
	Runs     int
	Visitors int
	Shares   []float64 // the true assignment probabilities
	Expected []float64 // the split asked for (weights)
	Seed     uint64
	Progress func(done, total int)
}

// SRM runs cfg's experiments and returns how many the check flagged (p < stats.SRMThreshold).
func SRM(cfg SRMConfig) (fired int, err error) {
	r := rand.New(rand.NewPCG(cfg.Seed, 1))
	obs := make([]int64, len(cfg.Shares))
	for i := range cfg.Runs {
		clear(obs)
		for range cfg.Visitors {
			u, k := r.Float64(), 0
			for k < len(cfg.Shares)-1 && u >= cfg.Shares[k] {
				u -= cfg.Shares[k]
				k++
			}
			obs[k]++
		}
		_, p, err := stats.SampleRatio(obs, cfg.Expected)
		if err != nil {
			return fired, err
		}
		if p < stats.SRMThreshold {
			fired++
		}
		if cfg.Progress != nil && (i+1)%100 == 0 {
			cfg.Progress(i+1, cfg.Runs)
		}
	}
	return fired, nil
}
