package budget

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

// Budget is the bundle of the budgets, with everything derived from it.
type Budget struct {
	Bundle   *models.Bundle
	Envelope []byte
	Pub      ed25519.PublicKey
	Module   []byte // the module with the bundle compiled in
	Profile  []byte // a returning visitor: 3 sessions, product views, a purchase
}

var (
	once   sync.Once
	budget *Budget
	errB   error
)

func load(b *testing.B) *Budget {
	b.Helper()
	once.Do(func() { budget, errB = build(context.Background()) })
	if errB != nil {
		b.Fatal(errB)
	}
	return budget
}

func build(ctx context.Context) (*Budget, error) {
	bundle, _, err := demo.Train(ctx, demo.Config{Seed: 3, Visitors: 6000, Items: 1000, Categories: 1000, Rank: 32, Neighbours: 20})
	if err != nil {
		return nil, err
	}
	_, priv, _ := ed25519.GenerateKey(bytes.NewReader(make([]byte, 64)))
	pub := priv.Public().(ed25519.PublicKey)
	env := signing.Sign(bundle, priv)
	base, err := modbuild.Build(ctx)
	if err != nil {
		return nil, err
	}
	built, err := modbuild.Embed(ctx, base, env, pub)
	if err != nil {
		return nil, err
	}
	a := agent.New()
	if err := a.SetBundle(bundle, 0); err != nil {
		return nil, err
	}
	a.Start(nil, 1)
	for _, req := range history(bundle) {
		if _, err := a.Handle(req); err != nil {
			return nil, err
		}
	}
	return &Budget{Bundle: bundle, Envelope: env, Pub: pub, Module: built.Module, Profile: a.SaveProfile(nil)}, nil
}

const t0 = int64(1767225600000)

// history is a returning visitor's past: three sessions of product views, one purchase.
func history(b *models.Bundle) []*wire.Request {
	var reqs []*wire.Request
	for s := range 3 {
		start := t0 + int64(s)*7*24*3600*1000
		evs := []wire.Event{{Type: wire.EventArrival, Time: start, Channel: wire.ChannelGenericSearch, Device: wire.DeviceMobile}}
		for i := range 6 {
			item := (s*37 + i*11) % len(b.Items)
			evs = append(evs, wire.Event{Type: wire.EventProductView, Time: start + int64(i+1)*30000,
				Item: b.Items[item], Category: b.Categories[b.ItemCategory[item]], Value: 20})
		}
		if s == 1 {
			evs = append(evs, wire.Event{Type: wire.EventPurchase, Time: start + 400000, Value: 40,
				Lines: []wire.Line{{Item: b.Items[11], Price: 40}}})
		}
		reqs = append(reqs, &wire.Request{Now: start + 500000, Seed: uint64(s + 1), Events: evs})
	}
	return reqs
}

// event is the request of the end-to-end benchmarks: one product view, two slots to decide, and
// recs recommendations (0: the page shows none, and the agent computes none).
func event(b *models.Bundle, recs uint8) []byte {
	req := &wire.Request{Now: t0 + 30*24*3600*1000, Seed: 9, Slots: []string{"banner", "popin"}, MaxRecs: recs,
		Events: []wire.Event{{Type: wire.EventProductView, Time: t0 + 30*24*3600*1000, Item: b.Items[5],
			Category: b.Categories[b.ItemCategory[5]], Value: 20}}}
	var e minicbor.Encoder
	req.EncodeCBOR(&e)
	return e.Bytes()
}

// withoutAppetence is the budget bundle less its appetence model, one version newer.
func withoutAppetence(bu *Budget) *models.Bundle {
	nb := *bu.Bundle
	nb.Appetence = nil
	nb.Version++
	return &nb
}

// BenchmarkEvent is one event end to end, as the issue defines it: the request decoded, the event
// applied, features, every score (1,000 appetence scores included), segments, two decisions, the
// reply encoded. The page asks for no recommendation (BenchmarkEventRecommendations does). The returning visitor's profile is loaded once, before the loop (its
// load is BenchmarkAcquireLoadProfile); the profile then evolves, bounded by its caps.
func BenchmarkEvent(b *testing.B) {
	bu := load(b)
	b.Run("native", func(b *testing.B) { benchNative(b, bu.Bundle, bu.Profile, event(bu.Bundle, 0)) })
	b.Run("module", func(b *testing.B) { benchModule(b, bu, nil, event(bu.Bundle, 0), false) })
	b.Run("module-interruptible", func(b *testing.B) { benchModule(b, bu, nil, event(bu.Bundle, 0), true) })
}

// BenchmarkEventRecommendations is BenchmarkEventNoAppetence on a page that shows 6 recommendations:
// the neighbour scores of up to 20 items (8 looked at, then purchases), what the visitor saw or bought left out.
func BenchmarkEventRecommendations(b *testing.B) {
	bu := load(b)
	nb := withoutAppetence(bu)
	b.Run("native", func(b *testing.B) { benchNative(b, nb, bu.Profile, event(nb, 6)) })
	b.Run("module", func(b *testing.B) { benchModule(b, bu, nb, event(nb, 6), false) })
}

// BenchmarkEventNoAppetence is BenchmarkEvent without the 1,000-category appetence pass.
func BenchmarkEventNoAppetence(b *testing.B) {
	bu := load(b)
	nb := withoutAppetence(bu)
	b.Run("native", func(b *testing.B) { benchNative(b, nb, bu.Profile, event(nb, 0)) })
	b.Run("module", func(b *testing.B) { benchModule(b, bu, nb, event(nb, 0), false) })
	b.Run("module-interruptible", func(b *testing.B) { benchModule(b, bu, nb, event(nb, 0), true) })
}

func benchNative(b *testing.B, bundle *models.Bundle, profile, req []byte) {
	a := agent.New()
	if err := a.SetBundle(bundle, 0); err != nil {
		b.Fatal(err)
	}
	if err := a.LoadProfile(profile, 1); err != nil {
		b.Fatal(err)
	}
	var out []byte
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		out = a.Call(wire.OpHandle, req, out[:0])
	}
	cpu.report(b)
	checkReply(b, out)
}

// benchModule times req in the module, with calls interruptible (the host's default: the deadline
// guard, see runtime/host) or not.
func benchModule(b *testing.B, bu *Budget, replace *models.Bundle, req []byte, interruptible bool) {
	ctx := context.Background()
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	cfg := host.NewConfig().WithPoolSize(1).WithInterruptibleCalls(interruptible).WithCompilationCacheDir(b.TempDir()).WithCallTimeout(time.Minute).
		WithTrustedKeys(bu.Pub, key.Public().(ed25519.PublicKey))
	h, err := host.New(ctx, bu.Module, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(ctx)
	if replace != nil {
		if _, err := h.LoadBundle(ctx, signing.Sign(replace, key)); err != nil {
			b.Fatal(err)
		}
	}
	s, err := h.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Release()
	if err := s.LoadProfile(bu.Profile, 1); err != nil {
		b.Fatal(err)
	}
	var out []byte
	b.ReportAllocs()
	cpu := startCPU()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t := time.Now()
		if out, err = s.AppendCall(out[:0], wire.OpHandle, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
	}
	cpu.report(b)
	reportQuantiles(b, lat)
	checkReply(b, out)
}

func checkReply(b *testing.B, out []byte) {
	var r wire.Reply
	var d minicbor.Decoder
	d.Reset(out, minicbor.DefaultLimits)
	r.DecodeCBOR(&d)
	if err := d.Finish(); err != nil || r.Err != nil || r.Answer == nil || len(r.Answer.Scores) != 3 {
		b.Fatalf("bad reply: %v %+v", err, r.Err)
	}
}

// BenchmarkAppetence is the 1,000-category appetence pass alone, natively: fold-in, 1,000 dot
// products, top 5.
func BenchmarkAppetence(b *testing.B) {
	bu := load(b)
	app := bu.Bundle.Appetence
	k := models.NewAppetenceKernel(app)
	proj := app.Projection()
	q := make([]int8, app.Rank)
	dots := make([]int32, len(bu.Bundle.Categories))
	cats, weights := []int{1, 5, 9, 40, 300}, []float64{3, 1, 0.5, 2, 1}
	var top []int
	b.ReportAllocs()
	for b.Loop() {
		vs := app.Fold(q, proj, cats, weights)
		k.Scores(dots, q)
		top = models.TopK(top[:0], dots, 5)
		_ = app.Prob(dots[top[0]], vs)
	}
}

// BenchmarkAcquireLoadProfile is the fixed cost of serving a returning visitor from the pool.
func BenchmarkAcquireLoadProfile(b *testing.B) {
	bu := load(b)
	for _, interruptible := range []bool{false, true} {
		name := "uninterruptible"
		if interruptible {
			name = "interruptible"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			h, err := host.New(ctx, bu.Module, host.NewConfig().WithPoolSize(1).WithCompilationCacheDir(b.TempDir()).WithCallTimeout(time.Minute).
				WithInterruptibleCalls(interruptible))
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(ctx)
			b.ReportAllocs()
			cpu := startCPU()
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t := time.Now()
				s, err := h.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := s.LoadProfile(bu.Profile, 1); err != nil {
					b.Fatal(err)
				}
				s.Release()
				lat = append(lat, time.Since(t))
			}
			cpu.report(b)
			reportQuantiles(b, lat)
		})
	}
}

// BenchmarkModuleSize reports the size of the module with the budget bundle compiled in, as metrics
// (bytes); the budget is 500,000 bytes brotli.
func BenchmarkModuleSize(b *testing.B) {
	bu := load(b)
	var gz, br bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(bu.Module)
	zw.Close()
	bw := brotli.NewWriterLevel(&br, brotli.BestCompression)
	bw.Write(bu.Module)
	bw.Close()
	for b.Loop() {
	}
	b.ReportMetric(float64(len(bu.Module)), "raw-bytes")
	b.ReportMetric(float64(gz.Len()), "gzip-bytes")
	b.ReportMetric(float64(br.Len()), "brotli-bytes")
	b.ReportMetric(float64(len(bu.Envelope)), "bundle-bytes")
}

// BenchmarkCallOverhead is the fixed cost of one ABI call in wazero, which every event pays: an
// Info call (no work) and a Handle with no event and no slot (request and reply codecs, no scoring).
func BenchmarkCallOverhead(b *testing.B) {
	bu := load(b)
	var e minicbor.Encoder
	(&wire.Request{Now: t0 + 30*24*3600*1000, Seed: 9}).EncodeCBOR(&e)
	empty := e.Bytes()
	for _, c := range []struct {
		name string
		op   wire.Op
		in   []byte
	}{{"info", wire.OpInfo, nil}, {"empty-handle", wire.OpHandle, empty}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			h, err := host.New(ctx, bu.Module, host.NewConfig().WithPoolSize(1).WithInterruptibleCalls(false).
				WithCompilationCacheDir(b.TempDir()).WithCallTimeout(time.Minute))
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(ctx)
			s, err := h.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Release()
			if err := s.LoadProfile(bu.Profile, 1); err != nil {
				b.Fatal(err)
			}
			var out []byte
			cpu := startCPU()
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t := time.Now()
				if out, err = s.AppendCall(out[:0], c.op, c.in); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
			}
			cpu.report(b)
			reportQuantiles(b, lat)
		})
	}
}

// TestDumpBudget writes the budget's bundle envelope, public key, profile and no-appetence event
// request to $PRESAGE_BUDGET_DUMP, for tools that look inside the module (call counts, profiles).
func TestDumpBudget(t *testing.T) {
	dir := os.Getenv("PRESAGE_BUDGET_DUMP")
	if dir == "" {
		t.Skip("set PRESAGE_BUDGET_DUMP to a directory")
	}
	bu, err := build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	nb := withoutAppetence(bu)
	var e minicbor.Encoder
	(&wire.Request{Profile: bu.Profile, Seed: 1}).EncodeCBOR(&e)
	for name, data := range map[string][]byte{
		"bundle.cbor": bu.Envelope, "noapp.cbor": signing.Sign(nb, key), "noapp.pub": key.Public().(ed25519.PublicKey),
		"bundle.pub": bu.Pub, "loadprofile.req": e.Bytes(), "event.req": event(nb, 0), "module.wasm": bu.Module,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cpuClock is the CPU time of the benchmark's thread. On a shared machine the wall clock counts the
// time spent waiting for a core; the thread's CPU time does not, so cpu-ns/op is the steadier figure
// (cache and hyperthread contention still show).
type cpuClock struct{ start time.Duration }

func startCPU() cpuClock {
	runtime.LockOSThread() // b.Loop runs on this goroutine; unlocked by report
	return cpuClock{threadCPU()}
}

func (c cpuClock) report(b *testing.B) {
	used := threadCPU() - c.start
	runtime.UnlockOSThread()
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const rusageThread = 1 // RUSAGE_THREAD (Linux)

// reportQuantiles reports the median and the 99th percentile of per-call latencies: the budgets are
// medians, and the mean (ns/op) also carries the module's garbage collections, which run inside
// whichever call needs the memory.
func reportQuantiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
