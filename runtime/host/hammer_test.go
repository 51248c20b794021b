package host

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHammer runs sessions on 8 goroutines over a pool of 4 while bundles are swapped, and checks
// that every session answers from one bundle from start to end, that versions never go backwards
// for a goroutine, and that the pool never holds more than its size.
func TestHammer(t *testing.T) {
	const (
		workers  = 8
		pool     = 4
		bundles  = 6
		perSwaps = 15 // sessions per worker between two swaps, roughly
	)
	iters := perSwaps * bundles
	if testing.Short() || raceEnabled {
		iters = 4 * bundles
	}
	// A generous timeout: this test is about consistency, and calls are slow under -race.
	h := newHost(t, testConfig(t).WithTrustedKeys(testPub).WithPoolSize(pool).WithCallTimeout(time.Minute))
	ctx := context.Background()
	if _, err := h.LoadBundle(ctx, signed(testBundle(1, "v1"))); err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		sessions atomic.Int64
		maxLive  atomic.Int64
		stop     = make(chan struct{})
	)
	observe := func() {
		for n := h.live.Load(); n > maxLive.Load(); {
			if maxLive.CompareAndSwap(maxLive.Load(), n) {
				break
			}
		}
	}
	errs := make(chan error, workers+1)
	wg.Add(1)
	go func() { // the swapper
		defer wg.Done()
		for v := uint64(2); v <= bundles; v++ {
			for sessions.Load() < int64(v-1)*int64(workers*iters/bundles) {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
			if _, err := h.LoadBundle(ctx, signed(testBundle(v, fmt.Sprintf("v%d", v)))); err != nil {
				errs <- fmt.Errorf("LoadBundle v%d: %w", v, err)
				return
			}
		}
	}()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var profile []byte
			last := uint64(0)
			for i := range iters {
				err := func() error {
					s, err := h.Acquire(ctx)
					if err != nil {
						return err
					}
					defer s.Release()
					observe()
					info, err := s.Info()
					if err != nil {
						return err
					}
					v := info.Version
					if v < last {
						return fmt.Errorf("version went back from %d to %d", last, v)
					}
					if sv := s.Bundle(); sv != v {
						return fmt.Errorf("session says %d, module says %d", sv, v)
					}
					last = v
					if err := s.LoadProfile(profile, uint64(w*1000+i)); err != nil {
						return fmt.Errorf("LoadProfile: %w", err)
					}
					req := visit(t0 + int64(i)*60_000)
					req.Seed = uint64(i)
					ans, err := s.Handle(req)
					if err != nil {
						return fmt.Errorf("Handle: %w", err)
					}
					if want := fmt.Sprintf("v%d", v); ans.Decisions[0].Content != want {
						return fmt.Errorf("session on v%d answered %q", v, ans.Decisions[0].Content)
					}
					if info2, err := s.Info(); err != nil || info2.Version != v {
						return fmt.Errorf("bundle changed within a session: %d then %+v (%v)", v, info2, err)
					}
					if profile, err = s.SaveProfile(); err != nil {
						return fmt.Errorf("SaveProfile: %w", err)
					}
					sessions.Add(1)
					return nil
				}()
				if err != nil {
					errs <- fmt.Errorf("worker %d, iteration %d: %w", w, i, err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case err := <-errs:
		close(stop)
		<-done
		t.Fatal(err)
	}
	close(stop)
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if n := maxLive.Load(); n > pool {
		t.Errorf("%d instances alive at once, pool size %d", n, pool)
	}
	if info, _ := h.BundleInfo(); info.Version != bundles {
		t.Errorf("host ends on version %d, want %d", info.Version, bundles)
	}
	t.Logf("%d sessions, at most %d instances", sessions.Load(), maxLive.Load())
}
