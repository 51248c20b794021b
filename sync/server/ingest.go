package server

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/sync/store"
)

// errDraining is returned to batches submitted after shutdown began.
var errDraining = errors.New("server: shutting down")

// ingester is group commit. Handlers submit decoded batches and wait; committer goroutines take
// whatever has queued up — one batch when traffic is light, up to MaxGroup under load — and count
// it in one store transaction, hence one fsync, then answer every handler of the group. There is
// no timer: a group is what arrived while the previous commit was running (plus what handlers
// already running submit during one yield), so latency under light load is one commit, and under
// heavy load the groups grow, up to MaxGroup batches per commit.
type ingester struct {
	st       store.Store
	queue    chan *pending
	maxGroup int
	timeout  time.Duration
	m        *metrics
	log      *slog.Logger

	mu     sync.RWMutex // held for reading while sending to queue; for writing to close it
	closed bool
	wg     sync.WaitGroup
}

// pending is one submitted batch and where its answer goes. res has room for the answer, so
// that a committer never blocks on a handler that went away.
type pending struct {
	b   *wire.Batch
	res chan result
}

type result struct {
	fresh bool
	err   error
}

func newIngester(st store.Store, cfg Config, m *metrics) *ingester {
	g := &ingester{st: st, queue: make(chan *pending, cfg.QueueSize), maxGroup: cfg.MaxGroup,
		timeout: cfg.CommitTimeout, m: m, log: cfg.Logger}
	for range cfg.Committers {
		g.wg.Go(g.run)
	}
	return g
}

// submit queues b and waits until it is durable. fresh is false for a batch counted before. If
// ctx ends first (the client went away), the batch may still be committed: the client's retry
// is then recognised as a duplicate.
func (g *ingester) submit(ctx context.Context, b *wire.Batch) (fresh bool, err error) {
	p := &pending{b: b, res: make(chan result, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return false, errDraining
	}
	select {
	case g.queue <- p:
		g.mu.RUnlock()
	case <-ctx.Done():
		g.mu.RUnlock()
		return false, ctx.Err()
	}
	select {
	case r := <-p.res:
		return r.fresh, r.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// close stops accepting batches, commits everything queued, and returns when the committers have
// answered the last of them.
func (g *ingester) close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.queue)
	}
	g.mu.Unlock()
	g.wg.Wait()
}

func (g *ingester) depth() float64 { return float64(len(g.queue)) }

func (g *ingester) run() {
	group := make([]*pending, 0, g.maxGroup)
	batches := make([]*wire.Batch, 0, g.maxGroup)
	for p := range g.queue {
		group = append(group[:0], p)
		// Let handlers that are runnable (decoded, about to submit) join this group before it
		// closes: one yield, no timer. With one client nothing else is runnable and the commit
		// starts at once; under load the groups grow and the CPU per batch drops by a sixth
		// (BenchmarkIngest, A/B on the project's machine).
		runtime.Gosched()
	fill:
		for len(group) < g.maxGroup {
			select {
			case q, ok := <-g.queue:
				if !ok {
					break fill
				}
				group = append(group, q)
			default:
				break fill
			}
		}
		batches = batches[:0]
		for _, p := range group {
			batches = append(batches, p.b)
		}
		g.commit(group, batches)
		clear(group) // let the batches be collected while the next group waits
	}
}

func (g *ingester) commit(group []*pending, batches []*wire.Batch) {
	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	start := time.Now()
	fresh, err := g.st.Ingest(ctx, batches)
	g.m.commitSecs.Observe(time.Since(start).Seconds())
	g.m.groupSize.Observe(float64(len(group)))
	if err != nil {
		g.m.commitErrs.Inc()
		g.log.Error("group commit failed; its batches were refused with 503", "batches", len(group), "err", err)
		for _, p := range group {
			p.res <- result{err: err}
		}
		return
	}
	var accepted, cells int
	for i, p := range group {
		if fresh[i] {
			accepted++
			cells += len(p.b.Cells)
		}
	}
	// Counted before anyone is answered: a client that reads /metrics after its 204 sees its batch.
	g.m.batches.WithLabelValues("accepted").Add(float64(accepted))
	g.m.batches.WithLabelValues("duplicate").Add(float64(len(group) - accepted))
	g.m.cells.Add(float64(cells))
	for i, p := range group {
		p.res <- result{fresh: fresh[i]}
	}
}
