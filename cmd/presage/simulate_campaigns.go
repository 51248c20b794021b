package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/presage-dev/presage/internal/campaignsim"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/sync/stats"
)

// campaignScenarios are the scenarios of `presage simulate campaigns`, in the order they run.
var campaignScenarios = []string{"targeting", "aa", "srm", "bandit", "pressure"}

// campaignsResult is what `presage simulate campaigns -json` writes.
type campaignsResult struct {
	Targeting []campaignsim.TargetingResult `json:"targeting,omitempty"`
	AA        *campaignsim.PeekResult       `json:"aa,omitempty"`
	SRM       *srmResult                    `json:"srm,omitempty"`
	Bandit    []banditResult                `json:"bandit,omitempty"`
	Pressure  []pressureResult              `json:"pressure,omitempty"`
	Missed    []string                      `json:"missed"` // the goals not met
}

type srmResult struct {
	AARuns, AAFired       int
	Nominal               float64
	SplitRuns, SplitFound int // the 52/48 split of 20,000 visitors
}

type banditResult struct {
	Seed                       uint64
	Global, PerSegment         float64 // regret in conversions, all rounds
	GlobalLast, PerSegmentLast float64 // the last round's
}

type pressureResult struct {
	Host         string // native or module
	Visitors     int
	Exposures    int
	Violations   int
	Unreached    []string
	SameAsNative bool
}

// runSimulateCampaigns is `presage simulate campaigns`: issue 7's simulations with ground truth
// (internal/campaignsim), each against its goal. It exits with status 1 when a goal is missed.
func runSimulateCampaigns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("simulate campaigns", "[-only LIST] [flags]", stderr)
	only := fl.String("only", strings.Join(campaignScenarios, ","), "scenarios to run, comma-separated: "+strings.Join(campaignScenarios, ", "))
	seeds := fl.Int("seeds", 0, "seeds per scenario (targeting, bandit); 0: 5 for targeting, 3 for the bandit")
	people := fl.Int("people", 20000, "targeting: people in the training campaign and fresh people targeted")
	aaRuns := fl.Int("aa-runs", campaignsim.DefaultAA.Runs, "aa: A/A experiments, each looked at every 100 visitors per arm up to 10,000")
	srmRuns := fl.Int("srm-runs", 20000, "srm: A/A experiments of 20,000 visitors (the rate's precision grows with them)")
	visitors := fl.Int("visitors", 10000, "pressure: simulated visitors, 1–5 sessions each")
	modFile := fl.String("module", "", "pressure: the generic module (presage.wasm built from ./wasm); default: go build ./wasm; \"none\": native only")
	jsonOut := fl.String("json", "", "also write the results as JSON to this file")
	if err := parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fl.Args(), " "))
	}
	run := map[string]bool{}
	for _, s := range splitList(*only) {
		if !slices.Contains(campaignScenarios, s) {
			return usagef("-only: unknown scenario %q (want %s)", s, strings.Join(campaignScenarios, ", "))
		}
		run[s] = true
	}
	if *seeds < 0 || *people < 1000 || *aaRuns <= 0 || *srmRuns <= 0 || *visitors <= 0 {
		return usagef("-seeds must be ≥ 0, -people ≥ 1000, and -aa-runs, -srm-runs and -visitors positive")
	}
	nSeeds := func(def int) int {
		if *seeds > 0 {
			return *seeds
		}
		return def
	}
	bar := newProgress(stderr)
	var res campaignsResult
	miss := func(format string, args ...any) { res.Missed = append(res.Missed, fmt.Sprintf(format, args...)) }

	if run["targeting"] {
		fmt.Fprintf(stdout, "targeting: an incentive for fresh people, incremental conversions per 1,000 incentives (true uplift), %d people per campaign\n", *people)
		fmt.Fprintf(stdout, "  %-7s %10s %12s %10s %9s %9s  %s\n", "seeds", "uplift", "band 52–60%", "everyone", "vs band", "vs all", "goal ≥ 1.3× band, ≥ 2× all")
		for s := range uint64(nSeeds(5)) {
			bar.Update(fmt.Sprintf("targeting, seed %d", s+1), int(s), nSeeds(5))
			r, err := campaignsim.Targeting(ctx, *people, 2*s+1, 2*s+2)
			if err != nil {
				return err
			}
			res.Targeting = append(res.Targeting, r)
			fmt.Fprintf(stdout, "  %-7s %10.1f %12.1f %10.1f %9s %8.1f×  %s\n", fmt.Sprintf("%d/%d", r.TrainSeed, r.FreshSeed),
				r.Uplift, r.Propensity, r.Everyone, ratio(r.Uplift, r.Propensity), r.Uplift/r.Everyone, verdictOf(r.Met()))
			if !r.Met() {
				miss("targeting, seeds %d/%d", r.TrainSeed, r.FreshSeed)
			}
		}
		bar.Done()
	}

	if run["aa"] {
		cfg := campaignsim.DefaultAA
		cfg.Runs = *aaRuns
		cfg.Progress = func(d, t int) { bar.Update("A/A experiments", d, t) }
		r, err := campaignsim.Peek(cfg)
		bar.Done()
		if err != nil {
			return err
		}
		res.AA = &r
		lo, hi := rateInterval(r.Sequential, r.Runs)
		ok := r.Sequential*100 <= 5*r.Runs
		fmt.Fprintf(stdout, "aa: %d A/A experiments at 5 %%, %d looks each: false positives, sequential %d (%.1f %%, 95 %% CI %.1f–%.1f %%), naive peeking %d (%.1f %%); goal ≤ 5 %%: %s\n",
			r.Runs, r.Looks, r.Sequential, 100*float64(r.Sequential)/float64(r.Runs), 100*lo, 100*hi, r.Naive, 100*float64(r.Naive)/float64(r.Runs), verdictOf(ok))
		if !ok {
			miss("aa: %d of %d sequential false positives", r.Sequential, r.Runs)
		}
	}

	if run["srm"] {
		aa := campaignsim.SRMConfig{Runs: *srmRuns, Visitors: 20000, Shares: []float64{0.5, 0.25, 0.25}, Expected: []float64{2, 1, 1}, Seed: 5,
			Progress: func(d, t int) { bar.Update("SRM, A/A split 2:1:1", d, t) }}
		fired, err := campaignsim.SRM(aa)
		if err != nil {
			return err
		}
		split := campaignsim.SRMConfig{Runs: 1000, Visitors: 20000, Shares: []float64{0.52, 0.48}, Expected: []float64{1, 1}, Seed: 4,
			Progress: func(d, t int) { bar.Update("SRM, 52/48 split", d, t) }}
		found, err := campaignsim.SRM(split)
		bar.Done()
		if err != nil {
			return err
		}
		res.SRM = &srmResult{AARuns: aa.Runs, AAFired: fired, Nominal: stats.SRMThreshold, SplitRuns: split.Runs, SplitFound: found}
		lo, hi := rateInterval(fired, aa.Runs)
		// The rate is "no more than nominal" unless its interval lies wholly above the nominal rate.
		okRate, okSplit := lo <= stats.SRMThreshold, found*100 >= 95*split.Runs
		fmt.Fprintf(stdout, "srm: χ² check at p < %g: fired in %d of %d A/A runs of 20,000 visitors split 2:1:1 (%.3f %%, 95 %% CI %.3f–%.3f %%; nominal %.1f %%): %s\n",
			stats.SRMThreshold, fired, aa.Runs, 100*float64(fired)/float64(aa.Runs), 100*lo, 100*hi, 100*stats.SRMThreshold, verdictOf(okRate))
		fmt.Fprintf(stdout, "     a 52/48 split of 20,000 visitors (50/50 asked) caught in %d of %d runs; goal: caught: %s\n", found, split.Runs, verdictOf(okSplit))
		if !okRate {
			miss("srm: fires at %d of %d A/A runs", fired, aa.Runs)
		}
		if !okSplit {
			miss("srm: caught a 52/48 split in %d of %d runs", found, split.Runs)
		}
	}

	if run["bandit"] {
		const rounds, perRound = 10, 2000
		fmt.Fprintf(stdout, "bandit: two segments whose best variants differ, %d rounds × %d visitors through real agents and the store; regret against the per-segment oracle, in conversions\n", rounds, perRound)
		fmt.Fprintf(stdout, "  %-5s %10s %12s %12s %15s  %s\n", "seed", "global", "per segment", "last: global", "last: segment", "goal: per segment lower")
		dir, err := os.MkdirTemp("", "presage-bandit-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		for s := range uint64(nSeeds(3)) {
			var regret [2][]float64
			for i, perSegment := range []bool{false, true} {
				stage := fmt.Sprintf("bandit seed %d, global", s+1)
				if perSegment {
					stage = fmt.Sprintf("bandit seed %d, per segment", s+1)
				}
				sub, err := os.MkdirTemp(dir, "run-")
				if err != nil {
					return err
				}
				regret[i], err = campaignsim.BanditRegret(ctx, campaignsim.BanditConfig{Dir: sub, PerSegment: perSegment,
					Rounds: rounds, PerRound: perRound, Seed: s + 1, Progress: func(d, t int) { bar.Update(stage, d, t) }})
				if err != nil {
					return err
				}
			}
			bar.Done()
			g, p := regret[0], regret[1]
			r := banditResult{Seed: s + 1, Global: campaignsim.Sum(g), PerSegment: campaignsim.Sum(p), GlobalLast: g[rounds-1], PerSegmentLast: p[rounds-1]}
			res.Bandit = append(res.Bandit, r)
			ok := r.PerSegment < r.Global && r.PerSegmentLast < r.GlobalLast
			fmt.Fprintf(stdout, "  %-5d %10.1f %12.1f %12.1f %15.1f  %s\n", r.Seed, r.Global, r.PerSegment, r.GlobalLast, r.PerSegmentLast, verdictOf(ok))
			if !ok {
				miss("bandit, seed %d", r.Seed)
			}
		}
	}

	if run["pressure"] {
		if err := simulatePressure(ctx, *visitors, *modFile, bar, stdout, &res, miss); err != nil {
			return err
		}
	}

	if err := writeJSON(*jsonOut, res); err != nil {
		return err
	}
	if len(res.Missed) > 0 {
		return fmt.Errorf("%d goals missed: %s", len(res.Missed), strings.Join(res.Missed, "; "))
	}
	fmt.Fprintln(stdout, "every goal met")
	return nil
}

// simulatePressure runs the pressure scenario natively and, unless modFile is "none", in the
// module, and checks every exposure against the caps.
func simulatePressure(ctx context.Context, visitors int, modFile string, bar *progress, stdout io.Writer, res *campaignsResult, miss func(string, ...any)) error {
	b := campaignsim.PressureBundle()
	fmt.Fprintf(stdout, "pressure: %d visitors, 1–5 sessions each, 4 capped campaigns and a pressure budget; every exposure replayed by an independent checker\n", visitors)
	nd, err := campaignsim.NativeDriver(b)
	if err != nil {
		return err
	}
	native, err := campaignsim.Pressure(nd, visitors, func(d, t int) { bar.Update("pressure, native agent", d, t) })
	bar.Done()
	if err != nil {
		return err
	}
	report := func(host string, logs [][]campaignsim.Exposure, same bool) {
		tally, bad := campaignsim.CheckCaps(b, logs)
		r := pressureResult{Host: host, Visitors: visitors, Exposures: tally.Exposures, Violations: len(bad), Unreached: tally.Unreached(), SameAsNative: same}
		res.Pressure = append(res.Pressure, r)
		ok := len(bad) == 0 && same
		extra := ""
		if host == "module" {
			extra = fmt.Sprintf(", the same exposures as natively: %t", same)
		}
		fmt.Fprintf(stdout, "  %-6s %d exposures (%d shown, %d holdout), %d over a cap%s; goal 0: %s\n", host, tally.Exposures, tally.Shown, tally.Holdout, len(bad), extra, verdictOf(ok))
		if len(r.Unreached) > 0 {
			fmt.Fprintf(stdout, "         caps never reached (untested by this run): %s\n", strings.Join(r.Unreached, ", "))
		}
		for i, v := range bad {
			if i == 5 {
				break
			}
			fmt.Fprintf(stdout, "         %s\n", v)
		}
		if !ok {
			miss("pressure in the %s: %d over a cap", host, len(bad))
		}
	}
	report("native", native, true)
	if modFile == "none" {
		return nil
	}
	var wasm []byte
	if modFile != "" {
		wasm, err = os.ReadFile(modFile)
	} else {
		bar.Update("pressure, building the module", 0, 1)
		wasm, err = modbuild.Build(ctx)
	}
	if err != nil {
		return usagef("no module for the pressure scenario: %v (pass -module FILE, or -module none)", err)
	}
	md, done, err := campaignsim.ModuleDriver(ctx, wasm, b)
	if err != nil {
		return err
	}
	defer done()
	logs, err := campaignsim.Pressure(md, visitors, func(d, t int) { bar.Update("pressure, module in wazero", d, t) })
	bar.Done()
	if err != nil {
		return err
	}
	same := true
	for v := range logs {
		if !slices.Equal(logs[v], native[v]) {
			same = false
			break
		}
	}
	report("module", logs, same)
	return nil
}

func verdictOf(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// ratio formats a/b, or says that b is not positive (the band lost conversions).
func ratio(a, b float64) string {
	if b <= 0 {
		return "band ≤ 0"
	}
	return fmt.Sprintf("%.1f×", a/b)
}

// rateInterval is the 95 % interval of a rate of k in n: the equal-tailed credible interval of its
// Beta posterior under a uniform prior, as the dashboard gives for conversion rates.
func rateInterval(k, n int) (lo, hi float64) {
	return stats.Posterior(stats.Arm{Visitors: int64(n), Conversions: int64(k)}, stats.Uniform).Interval(0.95)
}
