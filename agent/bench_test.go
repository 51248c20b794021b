package agent_test

import (
	"context"
	"sync"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/models"
)

// The benchmark bundle: 1,000 items × 20 neighbours, 1,000 categories × rank 32, 3 propensity
// models, the value model and the demo's segments and campaigns, trained once (about a second).
var (
	benchOnce    sync.Once
	benchB       *models.Bundle
	benchErr     error
	benchProfile []byte
	benchEnd     int64
)

func benchFixture(b testing.TB) (*models.Bundle, []byte, int64) {
	b.Helper()
	benchOnce.Do(func() {
		benchB, _, benchErr = demo.Train(context.Background(), demo.Config{Seed: 3, Items: 1000, Categories: 1000, Rank: 32, Visitors: 3000})
		if benchErr != nil {
			return
		}
		a := agent.New()
		if benchErr = a.SetBundle(benchB, 0); benchErr != nil {
			return
		}
		a.Start(nil, 1)
		benchEnd = runHeavyVisitor(b, a, benchB, t0)
		benchProfile = a.SaveProfile(nil)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchB, benchProfile, benchEnd
}

// benchAgent is an agent serving bundle with the returning visitor loaded.
func benchAgent(b testing.TB, bundle *models.Bundle) *agent.Agent {
	b.Helper()
	_, profile, _ := benchFixture(b)
	a := agent.New()
	if err := a.SetBundle(bundle, 0); err != nil {
		b.Fatal(err)
	}
	if err := a.LoadProfile(profile, 1); err != nil {
		b.Fatal(err)
	}
	return a
}

// benchHandle runs one page view asking for two slots, bytes in and bytes out through Call.
func benchHandle(b *testing.B, bundle *models.Bundle) {
	_, _, end := benchFixture(b)
	a := benchAgent(b, bundle)
	in := enc(&wire.Request{Now: end + minute, Seed: 1, Slots: []string{"popin", "banner"},
		Events: []wire.Event{pvDwell(wire.PageProduct, 12000)}})
	r, out := call(b, a, wire.OpHandle, in)
	if r.Err != nil || len(r.Answer.Decisions) != 2 || len(r.Answer.Appetence) == 0 && bundle.Appetence != nil {
		b.Fatalf("reply %+v", r)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for b.Loop() {
		out = a.Call(wire.OpHandle, in, out[:0])
	}
}

func BenchmarkHandleEvent(b *testing.B) {
	bundle, _, _ := benchFixture(b)
	if len(bundle.Propensity) != 3 || bundle.Appetence == nil || bundle.Appetence.Categories() != 1000 || bundle.Appetence.Rank != 32 ||
		bundle.Neighbours.K != 20 || len(bundle.Items) != 1000 {
		b.Fatalf("bundle is not the benchmark's shape")
	}
	benchHandle(b, bundle)
}

func BenchmarkHandleEventNoAppetence(b *testing.B) {
	bundle, _, _ := benchFixture(b)
	noApp := cloneBundle(b, bundle)
	noApp.Appetence = nil
	benchHandle(b, noApp)
}

// BenchmarkAppetencePass is the 1,000-category pass alone: fold the visitor's affinities and score
// every category.
func BenchmarkAppetencePass(b *testing.B) {
	bundle, _, _ := benchFixture(b)
	a := benchAgent(b, bundle)
	if len(a.Profile().Affinity) == 0 {
		b.Fatal("the visitor has no affinity: nothing to fold")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a.AppetencePass()
	}
}

// BenchmarkLoadProfile loads a returning visitor's profile through Call.
func BenchmarkLoadProfile(b *testing.B) {
	bundle, profile, end := benchFixture(b)
	a := benchAgent(b, bundle)
	in := enc(&wire.Request{Now: end, Seed: 2, Profile: profile})
	callOK(b, a, wire.OpLoadProfile, in)
	out := a.Call(wire.OpLoadProfile, in, nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(profile)))
	b.ResetTimer()
	for b.Loop() {
		out = a.Call(wire.OpLoadProfile, in, out[:0])
	}
}

// BenchmarkSaveProfile saves the returning visitor's profile through Call.
func BenchmarkSaveProfile(b *testing.B) {
	bundle, _, _ := benchFixture(b)
	a := benchAgent(b, bundle)
	out := a.Call(wire.OpSaveProfile, nil, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		out = a.Call(wire.OpSaveProfile, nil, out[:0])
	}
}
