package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/internal/loopsim"
	"github.com/presage-dev/presage/internal/modbuild"
)

// usageCase is a command line that must exit with status 2 and say want.
type usageCase struct {
	name string
	args []string
	want string
}

// checkUsage runs each case after the words of cmd.
func checkUsage(t *testing.T, cmd []string, cases []usageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append(slices.Clone(cmd), tc.args...), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 with %q", code, stderr.String(), tc.want)
			}
		})
	}
}

func TestSimulateLoopUsage(t *testing.T) {
	checkUsage(t, []string{"simulate", "loop"}, []usageCase{
		{"kill with a server", []string{"-server", "http://127.0.0.1:9", "-kill"}, "-kill needs a server this command starts"},
		{"not loopback", []string{"-server", "http://example.com:8080", "-key", "k"}, "only a loopback address"},
		{"server without key", []string{"-server", "http://127.0.0.1:9"}, "needs -key"},
		{"too many rounds", []string{"-rounds", "14"}, "-rounds: want 1 to 13"},
		{"bad share", []string{"-module-share", "1.5"}, "-module-share"},
		{"bad rates", []string{"-rates", "0.1,x"}, "-rates"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"federated with kill", []string{"-federated", "-kill"}, "-kill is not available with -federated"},
		{"federated, too many rounds on a real clock", []string{"-federated", "-server", "http://127.0.0.1:9", "-rounds", "14"}, "want 1 to 13"},
		{"federated, too few visitors", []string{"-federated", "-visitors", "5"}, "-visitors"},
	})
}

// TestSimulateLoopKill runs `presage simulate loop` as a process, as a user would: it starts
// `presage serve` itself, drives 3 rounds of 2,000 visitors (10 % of them through the module in
// wazero) through a bandit campaign of true conversion rates 3, 4.5 and 7 %, SIGKILLs the server in
// the middle round with batches in flight, restarts it and resends acknowledged batches. The store
// must then hold exactly what the agents sent, the best variant must get ≥ 90 % of the last round's
// visitors, and the whole run must take well under a minute.
func TestSimulateLoopKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and the module, runs a server process and 6,000 visitors")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	mod, err := modbuild.Path(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bin := buildPresage(t, t.TempDir())
	out := filepath.Join(t.TempDir(), "loop.json")
	cmd := exec.CommandContext(ctx, bin, "simulate", "loop", "-rounds", "3", "-visitors", "2000", "-module-share", "0.1",
		"-kill", "-module", mod, "-json", out, "-seed", "7")
	cmd.Env = append(os.Environ(), "PRESAGE_ADMIN_TOKEN=") // the command makes its own
	start := time.Now()
	output, err := cmd.CombinedOutput()
	took := time.Since(start)
	t.Logf("%s", output)
	if err != nil {
		t.Fatalf("presage simulate loop: %v", err)
	}
	if took > 40*time.Second {
		t.Errorf("the loop took %v, want well under a minute", took)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res loopsim.Result
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Killed || res.Resent == 0 {
		t.Errorf("the server was not killed and restarted, or nothing was resent: killed %v, resent %d", res.Killed, res.Resent)
	}
	if !res.Equal || res.StoredBatches != 6000 || res.Batches != 6000 {
		t.Errorf("counts differ: %d batches sent, %d stored; sent %+v, stored %+v", res.Batches, res.StoredBatches, res.Sent, res.Stored)
	}
	if !res.Truthful {
		t.Errorf("the agents' tally %+v is not the ground truth drawn", res.Sent)
	}
	if len(res.Rounds) != 3 {
		t.Fatalf("%d rounds, want 3", len(res.Rounds))
	}
	for _, rd := range res.Rounds {
		if rd.Module == 0 || rd.Module == rd.Visitors {
			t.Errorf("round %d: %d of %d visitors through the module, want a share", rd.Round, rd.Module, rd.Visitors)
		}
	}
	if last := res.Rounds[2]; last.Best < 0.9 {
		t.Errorf("the best variant got %.1f %% of the last round's visitors outside the holdout, want ≥ 90 %%", 100*last.Best)
	}
	if res.To90 < 0 || res.Regret <= 0 || res.Regret >= res.Oracle {
		t.Errorf("visitors to 90 %%: %d, regret %.1f of the oracle's %.1f", res.To90, res.Regret, res.Oracle)
	}
}
