package demo

import (
	"context"
	"crypto/ed25519"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

// TestEndToEnd trains a small bundle, compiles it into the real module and drives fresh visitors
// through wazero, checking every decision against its campaign's targeting and the pressure budget.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module and trains a bundle")
	}
	ctx := context.Background()
	cfg := Config{Visitors: 3000, Seed: 7}
	b, rep, err := Train(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, auc := range rep.AUC {
		if auc < 0.65 {
			t.Errorf("%s: held-out AUC %.3f, want ≥ 0.65 (the simulator's signal is learnable)", name, auc)
		}
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	pub := priv.Public().(ed25519.PublicKey)
	base, err := modbuild.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	built, err := modbuild.Embed(ctx, base, signing.Sign(b, priv), pub)
	if err != nil {
		t.Fatal(err)
	}
	if built.Info.Version != b.Version {
		t.Fatalf("module serves v%d, want v%d", built.Info.Version, b.Version)
	}
	h, err := host.New(ctx, built.Module, host.NewConfig().WithTrustedKeys(pub).WithCompilationCacheDir(t.TempDir()).WithCallTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	s, err := cfg.Sim()
	if err != nil {
		t.Fatal(err)
	}

	pressure := b.Pressure
	for n := range 25 {
		v := s.Visitor(2_000_000 + n)
		var profile []byte
		shownToday := map[int64]int{}
		shownSession := 0
		for i := range v.Events {
			e := v.Events[i]
			if e.Type == wire.EventArrival {
				shownSession = 0
			}
			req := &wire.Request{Now: e.Time, Seed: uint64(i + 1), Events: []wire.Event{e}, Slots: []string{"banner", "popin", "carousel"}}
			ans, saved, err := h.Handle(ctx, profile, req)
			if err != nil {
				t.Fatalf("visitor %d event %d: %v", v.Index, i, err)
			}
			profile = saved
			in := func(seg string) bool { return slices.Contains(ans.Segments, seg) }
			for _, d := range ans.Decisions {
				switch d.Campaign {
				case "vip-banner":
					if !in("vip") {
						t.Errorf("visitor %d: vip-banner decided outside the vip segment (%v)", v.Index, ans.Segments)
					}
				case "win-back":
					if !in("at_risk_valuable") {
						t.Errorf("visitor %d: win-back decided outside at_risk_valuable (%v)", v.Index, ans.Segments)
					}
				case "welcome-offer":
					if !in("hesitant") || (ans.Stage != wire.StageProspect && ans.Stage != wire.StageLead) {
						t.Errorf("visitor %d: welcome-offer decided for stage %s, segments %v", v.Index, ans.Stage, ans.Segments)
					}
				}
				if d.Campaign != "" && !d.Holdout {
					shownToday[e.Time/(24*3600*1000)]++
					shownSession++
				}
			}
			if day := e.Time / (24 * 3600 * 1000); shownToday[day] > int(pressure.PerDay) {
				t.Errorf("visitor %d: %d campaigns shown on day %d, budget %d", v.Index, shownToday[day], day, pressure.PerDay)
			}
			if shownSession > int(pressure.PerSession) {
				t.Errorf("visitor %d: %d campaigns shown in a session, budget %d", v.Index, shownSession, pressure.PerSession)
			}
			if len(saved) > 4096 {
				t.Errorf("visitor %d: profile of %d bytes, want ≤ 4096", v.Index, len(saved))
			}
		}
	}

	run, err := Run(ctx, h, s, RunConfig{Visitors: 40, Trace: -1, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if run.Visitors != 40 || run.Events == 0 || len(run.Decisions) == 0 || run.Recommendations == 0 {
		t.Errorf("demo run decided nothing: %+v", run)
	}
	if len(run.Learned.Cells) == 0 {
		t.Error("no learning was drained")
	}
}
