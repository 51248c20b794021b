package host

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
)

func TestZZProbe(t *testing.T) {
	h := newHost(t, testConfig(t).WithPoolSize(1).WithTrustedKeys(testPub).WithInterruptibleCalls(os.Getenv("PROBE_NOCLOSE") == ""))
	if env := os.Getenv("PROBE_GOGC"); env != "" {
		h.modCfg = h.modCfg.WithEnv("GOGC", env)
		if l := os.Getenv("PROBE_GOMEMLIMIT"); l != "" {
			h.modCfg = h.modCfg.WithEnv("GOMEMLIMIT", l)
		}
		for len(h.idle) > 0 {
			h.discard(<-h.idle)
		}
	}
	ctx := context.Background()
	if _, err := h.LoadBundle(ctx, signed(testBundle(1, "bench"))); err != nil {
		t.Fatal(err)
	}
	_, profile, err := h.Handle(ctx, nil, visit(t0))
	if err != nil {
		t.Fatal(err)
	}
	s := acquire(t, h)
	for _, tc := range []struct {
		name string
		op   wire.Op
		in   []byte
	}{
		{"loadprofile", wire.OpLoadProfile, minicbor.Marshal(nil, &wire.Request{Now: t0, Seed: 1, Profile: profile})},
		{"loadprofile-again", wire.OpLoadProfile, minicbor.Marshal(nil, &wire.Request{Now: t0, Seed: 1, Profile: profile})},
		{"handle", wire.OpHandle, minicbor.Marshal(nil, pageView())},
		{"info", wire.OpInfo, nil},
	} {
		const n = 3000
		var mem0 = s.in.mem.Size()
		start := time.Now()
		for range n {
			if _, err := s.raw(tc.op, tc.in); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("%s: %v/op, mem %d -> %d", tc.name, time.Since(start)/n, mem0, s.in.mem.Size())
	}
}
