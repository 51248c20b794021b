package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/presage-dev/presage/internal/loopsim"
	"github.com/presage-dev/presage/models/signing"
)

// fedArgs are the flags of `presage simulate loop -federated`.
type fedArgs struct {
	server, keyFile, modFile, site, jsonOut string
	visitors, rounds, senders, public       int
	share                                   float64
	kill                                    bool
	seed                                    uint64
}

// runSimulateFed is `presage simulate loop -federated`: k federated rounds end to end over HTTP
// (loopsim.RunFederated), then the published federated model and a central model fitted on the
// same raw rows, evaluated on held-out simulated visitors. Without -server it runs the sync server
// in this process, on a loopback port and a temporary embedded store, with a clock that follows
// the simulated days (one day per round, each with its own privacy budget); with -server, a server
// on the real clock, the rounds are dated in the 13 complete days before today.
func runSimulateFed(ctx context.Context, a fedArgs, stdout, stderr io.Writer) error {
	cfg := loopsim.FedConfig{Visitors: a.visitors, Rounds: a.rounds, ModuleShare: a.share, Seed: a.seed, Senders: a.senders,
		Site: a.site, Public: a.public}
	maxRounds := loopsim.MaxFedRounds
	if a.server != "" {
		maxRounds = loopsim.MaxRounds
	}
	switch {
	case a.kill:
		return usagef("-kill is not available with -federated (the server runs in this process, on a simulated clock)")
	case a.rounds < 1 || a.rounds > maxRounds:
		return usagef("-rounds: want 1 to %d with -federated%s", maxRounds, map[bool]string{true: " against a server on the real clock"}[a.server != ""])
	case a.visitors < 10 || a.visitors > loopsim.MaxFedVisitors:
		return usagef("-visitors: want 10 to %d (the population) with -federated", loopsim.MaxFedVisitors)
	case !(a.share >= 0 && a.share <= 1):
		return usagef("-module-share: want a share in [0, 1]")
	case a.public < 10:
		return usagef("-public: want at least 10")
	}
	if cfg.Site == "" {
		cfg.Site = "fed-" + fmt.Sprint(time.Now().Unix())
	}
	if a.server != "" {
		u, err := url.Parse(a.server)
		if err != nil || !loopsim.Loopback(u.Hostname()) {
			return usagef("-server %q: only a loopback address (127.0.0.1, ::1, localhost)", a.server)
		}
		if a.keyFile == "" {
			return usagef("-server needs -key: the first bundle is signed with the key the server trusts")
		}
		if cfg.Token = os.Getenv("PRESAGE_ADMIN_TOKEN"); cfg.Token == "" {
			return usagef("-server needs the admin token in PRESAGE_ADMIN_TOKEN")
		}
		k, err := signing.LoadPrivate(a.keyFile)
		if err != nil {
			return usageError{err}
		}
		cfg.Key, cfg.Server = k, a.server
	}
	if a.share > 0 {
		var err error
		if cfg.Module, err = loadModule(ctx, a.modFile, stderr); err != nil {
			return err
		}
	}
	start := time.Now()
	if a.server == "" {
		ls, err := loopsim.StartLocal(ctx, loopsim.LocalConfig{})
		if err != nil {
			return err
		}
		defer ls.Close()
		cfg.Server, cfg.Token, cfg.Key, cfg.SetDay = ls.URL, ls.Token, ls.Key, ls.Clock.SetDay
		fmt.Fprintf(stdout, "started a sync server in this process on %s (embedded store in %s; k-anonymity 50; its clock follows the simulated days)\n", ls.URL, ls.Dir)
	}
	bar := newProgress(stderr)
	cfg.Progress, cfg.Log = bar.Update, stdout
	res, err := loopsim.RunFederated(ctx, cfg)
	bar.Done()
	if err != nil {
		return err
	}
	printFed(stdout, res, time.Since(start))
	if err := writeJSON(a.jsonOut, res); err != nil {
		return err
	}
	if res.MaxDayEpsilon > res.Epsilon*(1+1e-9) {
		return fmt.Errorf("a day spent ε = %g, above the budget %g", res.MaxDayEpsilon, res.Epsilon)
	}
	if res.Applied == 0 {
		return errors.New("no federated round was applied")
	}
	return nil
}

func printFed(w io.Writer, res *loopsim.FedResult, took time.Duration) {
	verdict := "MET"
	if res.Ratio < 0.98 {
		verdict = "NOT MET"
	}
	fmt.Fprintf(w, "federated: k = %d rounds over HTTP (%d applied), %d visitors (%d contributing, %d of them in wazero; %d held out), %d batches\n",
		len(res.Rounds), res.Applied, res.Visitors, res.Contributing, res.ModuleVisitors, res.HeldOut, res.Batches)
	fmt.Fprintf(w, "        held-out AUC on %d examples of the held-out visitors: federated %.4f (published bundle v%d), central %.4f (fitted on the %d raw training rows, %.1f %% positive)\n",
		res.HeldRows, res.FedAUC, res.Version, res.CentralAUC, res.TrainRows, 100*res.PositiveRate)
	fmt.Fprintf(w, "        ratio %.4f (goal ≥ 0.98: %s) at ε = %.4g per visitor per day at most (budget ε = %g, δ = %g; server ledger, %d days; a visitor present on every day: ε = %.2f in all)\n",
		res.Ratio, verdict, res.MaxDayEpsilon, res.Epsilon, res.Delta, res.LedgerDays, res.TotalEpsilon)
	fmt.Fprintf(w, "took %v\n", took.Round(100*time.Millisecond))
}
