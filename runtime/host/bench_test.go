package host

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
)

// modes runs a benchmark with interruptible calls (the default: the deadline guard), with
// interruptible calls through wazero's own checks (what a module the guard refuses gets), and
// without: the differences are what interrupting costs (see Config.WithInterruptibleCalls).
func modes(b *testing.B, pool int, f func(b *testing.B, h *Host, profile []byte)) {
	for _, m := range []struct {
		name string
		cfg  Config
	}{{"interruptible", testConfig(b)}, {"wazero-checks", testConfig(b).withoutGuard()}, {"uninterruptible", testConfig(b).WithInterruptibleCalls(false)}} {
		b.Run(m.name, func(b *testing.B) {
			h, profile := benchHost(b, m.cfg.WithPoolSize(pool))
			f(b, h, profile)
		})
	}
}

// benchHost is a host with a bundle loaded, every instance created, and the profile of a visitor
// who has visited once.
func benchHost(b *testing.B, cfg Config) (*Host, []byte) {
	b.Helper()
	h := newHost(b, cfg.WithTrustedKeys(testPub))
	ctx := context.Background()
	if _, err := h.LoadBundle(ctx, signed(testBundle(1, "bench"))); err != nil {
		b.Fatal(err)
	}
	_, profile, err := h.Handle(ctx, nil, visit(t0))
	if err != nil {
		b.Fatal(err)
	}
	var held []*Session
	for range h.cfg.poolSize {
		s, err := h.Acquire(ctx)
		if err != nil {
			b.Fatal(err)
		}
		held = append(held, s)
	}
	for _, s := range held {
		s.Release()
	}
	return h, profile
}

// pageView is the request of the Handle benchmarks: one page view, one slot to decide.
func pageView() *wire.Request {
	return &wire.Request{Now: t0 + 60_000, Seed: 3, Slots: []string{"hero"},
		Events: []wire.Event{{Type: wire.EventPageView, Time: t0 + 60_000, Page: wire.PageCategory}}}
}

// BenchmarkAcquireLoadProfileRelease is the fixed cost of serving a visitor: a new one (empty
// profile) and a returning one (the profile of one earlier visit).
func BenchmarkAcquireLoadProfileRelease(b *testing.B) {
	modes(b, 1, func(b *testing.B, h *Host, profile []byte) {
		ctx := context.Background()
		for _, bb := range []struct {
			name    string
			profile []byte
		}{{"new", nil}, {"returning", profile}} {
			b.Run(bb.name, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					s, err := h.Acquire(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if err := s.LoadProfile(bb.profile, uint64(i)); err != nil {
						b.Fatal(err)
					}
					s.Release()
				}
			})
		}
	})
}

// BenchmarkHostHandle is one page view end to end, as an edge serves it: acquire, load profile,
// handle, save profile, release.
func BenchmarkHostHandle(b *testing.B) {
	modes(b, 1, func(b *testing.B, h *Host, profile []byte) {
		ctx := context.Background()
		req := pageView()
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := h.Handle(ctx, profile, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHostHandleParallel is BenchmarkHostHandle from GOMAXPROCS goroutines over a pool of as
// many instances.
func BenchmarkHostHandleParallel(b *testing.B) {
	modes(b, 0, func(b *testing.B, h *Host, profile []byte) {
		ctx := context.Background()
		req := pageView()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := h.Handle(ctx, profile, req); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkSessionHandle is one OpHandle on a held session: encode, call, decode.
func BenchmarkSessionHandle(b *testing.B) {
	modes(b, 1, func(b *testing.B, h *Host, profile []byte) {
		s := acquire(b, h)
		if err := s.LoadProfile(profile, 1); err != nil {
			b.Fatal(err)
		}
		req := pageView()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.Handle(req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCallInfo is the raw ABI round trip of OpInfo, the reply appended to a reused buffer.
func BenchmarkCallInfo(b *testing.B) {
	modes(b, 1, func(b *testing.B, h *Host, _ []byte) {
		s := acquire(b, h)
		buf := make([]byte, 0, 4096)
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = s.AppendCall(buf[:0], wire.OpInfo, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNative runs the operations of the other benchmarks on the native agent, through the same
// byte-level Call: the floor that the wasm figures compare with.
func BenchmarkNative(b *testing.B) {
	_, profile := benchHost(b, testConfig(b).WithPoolSize(1))
	a := agent.New()
	out := a.Call(wire.OpLoadBundle, signed(testBundle(1, "bench")), nil)
	for _, bb := range []struct {
		name string
		op   wire.Op
		in   []byte
	}{
		{"LoadProfile/new", wire.OpLoadProfile, minicbor.Marshal(nil, &wire.Request{Now: t0, Seed: 1})},
		{"LoadProfile/returning", wire.OpLoadProfile, minicbor.Marshal(nil, &wire.Request{Now: t0, Seed: 1, Profile: profile})},
		{"Handle", wire.OpHandle, minicbor.Marshal(nil, pageView())},
		{"Info", wire.OpInfo, nil},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out = a.Call(bb.op, bb.in, out[:0])
			}
		})
	}
}

// BenchmarkGuardCost is BenchmarkSessionHandle with interruptible calls through the deadline guard
// (the default) and without interruptible calls, interleaved one call each per iteration so that
// both see the same machine: the medians (p50) and their ratio are what the guard costs per call
// (guard.go). wazero's own checks are measured by the other benchmarks' wazero-checks mode, not
// here: interleaved, their calls slow the next call on another instance down by 2–4×.
//
//	go test -run '^$' -bench GuardCost -benchtime 5000x -count 5 ./runtime/host
func BenchmarkGuardCost(b *testing.B) {
	var sess [2]*Session
	for i, cfg := range []Config{testConfig(b), testConfig(b).WithInterruptibleCalls(false)} {
		h, profile := benchHost(b, cfg.WithPoolSize(1))
		if h.guarded != (i == 0) {
			b.Fatalf("configuration %d: guarded %v", i, h.guarded)
		}
		sess[i] = acquire(b, h)
		if err := sess[i].LoadProfile(profile, 1); err != nil {
			b.Fatal(err)
		}
	}
	req := pageView()
	var lat [2][]time.Duration
	for b.Loop() {
		for i, s := range sess {
			t := time.Now()
			if _, err := s.Handle(req); err != nil {
				b.Fatal(err)
			}
			lat[i] = append(lat[i], time.Since(t))
		}
	}
	var p50 [2]float64
	for i := range lat {
		slices.Sort(lat[i])
		p50[i] = float64(lat[i][len(lat[i])/2]) / 1e3
	}
	b.ReportMetric(p50[0], "guarded-p50-µs")
	b.ReportMetric(p50[1], "uninterruptible-p50-µs")
	b.ReportMetric(p50[0]/p50[1], "ratio")
}
