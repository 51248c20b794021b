package campaignsim

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models"
)

const pressureVisitors = 10000

// pressureReport checks a run, logs its tally, and fails on any violation or if a cap was never
// put to the test.
func pressureReport(t *testing.T, b *models.Bundle, logs [][]Exposure) {
	t.Helper()
	tally, bad := CheckCaps(b, logs)
	for i, v := range bad {
		if i < 10 {
			t.Error(v)
		}
	}
	t.Logf("%d visitors: %d exposures (%d shown, %d holdout), %d over a cap; caps reached: %v",
		len(logs), tally.Exposures, tally.Shown, tally.Holdout, len(bad), tally.Reached)
	for _, k := range tally.Unreached() {
		t.Errorf("cap %q never reached: the simulation does not test it", k)
	}
}

func pressureRun(t *testing.T, d Driver) [][]Exposure {
	t.Helper()
	logs, err := Pressure(d, pressureVisitors, nil)
	if err != nil {
		t.Fatal(err)
	}
	return logs
}

// TestPressureNative: 10,000 simulated visitors through the native agent, profiles saved and
// loaded between sessions; no exposure exceeds a frequency cap, a minimum gap or the pressure budget.
func TestPressureNative(t *testing.T) {
	b := PressureBundle()
	d, err := NativeDriver(b)
	if err != nil {
		t.Fatal(err)
	}
	logs := pressureRun(t, d)
	pressureReport(t, b, logs)

	// The checker itself: a second "welcome" a second after one (capped at one per session and one
	// per hour) is a violation it must see.
	for v, log := range logs {
		i := slices.IndexFunc(log, func(e Exposure) bool { return e.Campaign == "welcome" })
		if i < 0 {
			continue
		}
		e := log[i]
		e.At += 1000
		_, bad := CheckCaps(b, [][]Exposure{append(slices.Clone(log), e)})
		joined := strings.Join(bad, "\n")
		if !strings.Contains(joined, "session cap 1") || !strings.Contains(joined, "min gap 3600 s") {
			t.Fatalf("visitor %d: a second welcome a second later: violations %q, want the session cap and the gap", v, bad)
		}
		break
	}
}

// TestPressureModule: the same visitors through the module in wazero (runtime/host), the bundle
// loaded signed as a host loads it; the same checker, and the same exposures as natively.
func TestPressureModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	ctx := context.Background()
	wasm, err := modbuild.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := PressureBundle()
	d, done, err := ModuleDriver(ctx, wasm, b)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	logs := pressureRun(t, d)
	pressureReport(t, b, logs)

	nd, err := NativeDriver(PressureBundle())
	if err != nil {
		t.Fatal(err)
	}
	native := pressureRun(t, nd)
	for v := range logs {
		if !slices.Equal(logs[v], native[v]) {
			t.Fatalf("visitor %d: the module's exposures differ from the native agent's:\n%v\n%v", v, logs[v], native[v])
		}
	}
}
