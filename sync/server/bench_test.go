package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

// benchDeadline bounds one benchmark run in time whatever b.N: a load loop that cannot finish
// within it fails instead of running on.
const benchDeadline = 3 * time.Minute

// drive hands out n = 0..total-1 to workers goroutines, each calling do(worker, n), and stops
// at the first error or at benchDeadline: every load loop here is bounded in count and in time.
func drive(total, workers int, do func(w, n int) error) error {
	var (
		next     atomic.Int64
		stop     atomic.Bool
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		stop.Store(true)
	}
	deadline := time.Now().Add(benchDeadline)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for !stop.Load() {
				n := int(next.Add(1) - 1)
				if n >= total {
					return
				}
				if time.Now().After(deadline) {
					fail(fmt.Errorf("not done within %s", benchDeadline))
					return
				}
				if err := do(w, n); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// cpuTime is the CPU time this process has used, user and system: on a machine shared with other
// work, CPU per batch says what the code costs where batches/s says what the machine had to give.
// It counts the load generator too (same process); PostgreSQL's own processes are not counted.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingStore counts group commits and their time, to report batches per commit and the
// commit's latency (one transaction and its fsync).
type countingStore struct {
	store.Store
	commits atomic.Int64
	nanos   atomic.Int64
}

func (c *countingStore) Ingest(ctx context.Context, bs []*wire.Batch) ([]bool, error) {
	t0 := time.Now()
	defer func() { c.nanos.Add(int64(time.Since(t0))) }()
	c.commits.Add(1)
	return c.Store.Ingest(ctx, bs)
}

// report adds the commit metrics to b.
func (c *countingStore) report(b *testing.B) {
	n := max(c.commits.Load(), 1)
	b.ReportMetric(float64(b.N)/float64(n), "batches/commit")
	b.ReportMetric(float64(c.nanos.Load())/float64(n)/1e6, "commit-ms")
}

// agentBatch is a batch as the agent drains it after a few pages: three cells, 16-byte id.
func agentBatch() *wire.Batch {
	return &wire.Batch{ID: batchID(0), Site: "shop-1", Bundle: 1747000000, Day: store.Day(time.Now()), Cells: []wire.Cell{
		{Campaign: "summer", Variant: "A", Segment: "persuadable", Exposures: 3, Conversions: 1, Revenue: 59.9},
		{Campaign: "summer", Segment: "persuadable", Exposures: 1},
		{Campaign: "welcome", Variant: "B", Segment: "new", Exposures: 2},
	}}
}

// BenchmarkIngest measures POST /v1/batches end to end over loopback HTTP, as agents would send
// them: decode, checks, group commit, and a 204 only once the batch is durable (SQLite fsyncs its
// WAL at every commit; PostgreSQL runs with fsync and synchronous_commit on). Every request is a
// distinct batch. It reports batches/s and the latency percentiles of one request; clients are a
// fixed pool of goroutines with keep-alive connections. "2nodes" runs two servers on one
// PostgreSQL database, clients alternating between them.
//
//	go test -run '^$' -bench Ingest -benchtime 20000x ./sync/server
func BenchmarkIngest(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(server.GCPercent)) // as presage serve runs
	for _, bc := range []struct {
		name    string
		backend int // index in backends
		nodes   int
		clients int
	}{
		{"sqlite/clients=1", 0, 1, 1},
		{"sqlite/clients=64", 0, 1, 64},
		{"sqlite/clients=128", 0, 1, 128},
		{"sqlite/clients=256", 0, 1, 256},
		{"postgres/clients=64", 1, 1, 64},
		{"postgres/clients=128", 1, 1, 128},
		{"postgres/2nodes/clients=128", 1, 2, 128},
	} {
		b.Run(bc.name, func(b *testing.B) {
			st := &countingStore{Store: backends[bc.backend].open(b)}
			cfg := testConfig()
			cfg.Now = time.Now
			if bc.backend == 1 {
				cfg.Committers = 2
			}
			var addrs []string
			for range bc.nodes {
				s := newServer(b, st, cfg)
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				go s.Serve(ln)
				addrs = append(addrs, ln.Addr().String())
			}
			template := encode(b, agentBatch())
			idAt := bytes.Index(template, batchID(0))
			conns := make([]*leanClient, bc.clients)
			bodies := make([][]byte, bc.clients)
			lat := make([][]time.Duration, bc.clients)
			for w := range conns {
				c, err := dialLean(addrs[w%len(addrs)])
				if err != nil {
					b.Fatal(err)
				}
				defer c.close()
				conns[w], bodies[w] = c, bytes.Clone(template)
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			start := time.Now()
			err := drive(b.N, bc.clients, func(w, n int) error {
				copy(bodies[w][idAt:], batchID(n+1))
				t0 := time.Now()
				code, err := conns[w].post(bodies[w])
				if err != nil {
					return err
				}
				if code != 204 {
					return fmt.Errorf("status %d", code)
				}
				lat[w] = append(lat[w], time.Since(t0))
				return nil
			})
			elapsed := time.Since(start)
			cpu := cpuTime() - cpu0
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / 1e6 }
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "batches/s")
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			st.report(b)
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/batch")
			tot, err := st.Totals(context.Background(), "shop-1", store.Day(time.Now())-1, store.Day(time.Now()))
			if err != nil || tot.Batches != int64(b.N) {
				b.Fatalf("store counted %d batches (%v), want %d", tot.Batches, err, b.N)
			}
		})
	}
}

// leanClient is a keep-alive HTTP/1.1 connection that posts batches with as little work as a load
// generator such as wrk does: the request is one write from a fixed prefix, and the answer's
// status line and headers are scanned without building a header map. net/http's client costs about as
// much CPU per request as the server; on 2 shared cores that would halve what the server gets.
type leanClient struct {
	conn net.Conn
	rd   *bufio.Reader
	head []byte
	buf  []byte
}

func dialLean(addr string) (*leanClient, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &leanClient{conn: conn, rd: bufio.NewReader(conn),
		head: []byte("POST /v1/batches HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/cbor\r\nContent-Length: ")}, nil
}

func (c *leanClient) close() { c.conn.Close() }

// post sends one batch and returns the status code.
func (c *leanClient) post(body []byte) (int, error) {
	c.buf = append(c.buf[:0], c.head...)
	c.buf = strconv.AppendInt(c.buf, int64(len(body)), 10)
	c.buf = append(c.buf, "\r\n\r\n"...)
	c.buf = append(c.buf, body...)
	if _, err := c.conn.Write(c.buf); err != nil {
		return 0, err
	}
	// The status line, then headers up to the blank line; a body only if Content-Length says so
	// (the 204 of an acknowledgement has none).
	line, err := c.rd.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := 0
	for {
		line, err := c.rd.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(line) <= 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, err
			}
		}
	}
	if _, err := c.rd.Discard(length); err != nil {
		return 0, err
	}
	return code, nil
}

// BenchmarkCommit measures the group committer alone (no HTTP, no decoding): what the store can
// take, durably, when batches arrive from many goroutines.
//
//	go test -run '^$' -bench Commit -benchtime 50000x ./sync/server
func BenchmarkCommit(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(server.GCPercent))
	for i, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			st := &countingStore{Store: be.open(b)}
			cfg := testConfig()
			cfg.Now = time.Now
			if i == 1 {
				cfg.Committers = 2
			}
			s := newServer(b, st, cfg)
			b.ResetTimer()
			err := drive(b.N, 64, func(_, n int) error {
				bt := agentBatch()
				bt.ID = batchID(n + 1)
				_, err := server.Submit(context.Background(), s, bt)
				return err
			})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
			st.report(b)
		})
	}
}
