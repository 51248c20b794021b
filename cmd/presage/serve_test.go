package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/pgtest"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/store"
)

const serveToken = "serve-test-token-0123456789"

func TestServeUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"stray argument", []string{"serve", "extra"}, 2, "unexpected arguments"},
		{"bad log level", []string{"serve", "-log-level", "loud"}, 2, "-log-level"},
		{"bad log format", []string{"serve", "-log-format", "xml"}, 2, "-log-format"},
		{"missing key file", []string{"serve", "-key", "/nonexistent/presage.key"}, 1, "no such file"},
		{"short admin token", []string{"serve", "-data", "DATA"}, 1, "at least 16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PRESAGE_ADMIN_TOKEN", "short")
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				if a == "DATA" {
					args[i] = t.TempDir()
				}
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, stderr %q; want %d with %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

// buildPresage builds this command into dir, as the crash test runs it as a real process.
func buildPresage(t *testing.T, dir string) string {
	t.Helper()
	gocmd, err := exec.LookPath("go") // go test puts its own GOROOT/bin first in PATH
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "presage")
	cmd := exec.Command(gocmd, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveProc is a `presage serve` process.
type serveProc struct {
	cmd    *exec.Cmd
	url    string
	stderr *lockedBuffer
	done   chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServe starts the server on a free loopback port and waits for its "listening on" line.
func startServe(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "-addr", "127.0.0.1:0", "-rate", "-1", "-log-format", "text"}, args...)...)
	cmd.Env = append(os.Environ(), "PRESAGE_ADMIN_TOKEN="+serveToken)
	p := &serveProc{cmd: cmd, stderr: new(lockedBuffer), done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				lines <- strings.Fields(addr)[0]
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { p.done <- cmd.Wait() }()
	select {
	case p.url = <-lines:
	case err := <-p.done:
		t.Fatalf("presage serve exited: %v\n%s", err, p.stderr)
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("presage serve did not listen within 60 s\n%s", p.stderr)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	})
	return p
}

// crashBatch is batch n of the crash test: two cells whose counts depend on n.
func crashBatch(n int) *wire.Batch {
	id := make([]byte, 16)
	binary.BigEndian.PutUint64(id, uint64(n)+1)
	id[15] = 0xc5
	v := []string{"A", "B", "C"}[n%3]
	return &wire.Batch{ID: id, Site: "crash", Bundle: 1, Day: store.Day(time.Now()), Cells: []wire.Cell{
		{Campaign: "c", Variant: v, Segment: "s", Exposures: uint32(1 + n%5), Conversions: uint32(n % 2), Revenue: float64(n % 7)},
		{Campaign: "d", Exposures: 1},
	}}
}

// TestServeCrashRecovery kills the server with SIGKILL while batches are in flight, restarts it
// on the same data, and resends every batch that was not acknowledged, plus some that were, as
// agents would. Then the store must hold each batch exactly once: nothing acknowledged was lost,
// nothing retried was counted twice. Last, SIGTERM must stop the server cleanly.
func TestServeCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs it as a process")
	}
	bin := buildPresage(t, t.TempDir())
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			var args []string
			var scfg store.Config
			switch backend {
			case "sqlite":
				dir := t.TempDir()
				args, scfg = []string{"-data", dir}, store.Config{Dir: dir}
			case "postgres":
				if err := pgtest.Available(); err != nil {
					t.Skip(err)
				}
				pg, err := pgtest.Start(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { pg.Stop() })
				url, err := pg.CreateDatabase(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				args, scfg = []string{"-postgres", url}, store.Config{PostgresURL: url}
			}
			crashAndRecover(t, bin, args, scfg)
		})
	}
}

func crashAndRecover(t *testing.T, bin string, args []string, scfg store.Config) {
	const (
		total    = 1500 // batches
		killAt   = 400  // acknowledgements before the kill
		senders  = 8
		dupAfter = 100 // acknowledged batches sent again after the restart
	)
	bodies := make([][]byte, total)
	for n := range total {
		data, err := cborx.EncMode.Marshal(crashBatch(n))
		if err != nil {
			t.Fatal(err)
		}
		bodies[n] = data
	}
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(url string, n int) (int, error) {
		resp, err := client.Post(url+"/v1/batches", "application/cbor", bytes.NewReader(bodies[n]))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}

	p := startServe(t, bin, args...)
	var acked [total]atomic.Bool
	var nAcked, next atomic.Int64
	var killed atomic.Bool
	var wg sync.WaitGroup
	deadline := time.Now().Add(60 * time.Second)
	for range senders {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				n := int(next.Add(1) - 1)
				if n >= total {
					return
				}
				code, err := post(p.url, n)
				if err != nil {
					if killed.Load() {
						return // the server is gone: this batch and the rest are retried after the restart
					}
					t.Errorf("batch %d before the kill: %v", n, err)
					return
				}
				if code != 204 {
					t.Errorf("batch %d: status %d", n, code)
					return
				}
				acked[n].Store(true)
				if nAcked.Add(1) == killAt {
					killed.Store(true)
					p.cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		})
	}
	wg.Wait()
	if err := <-p.done; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the server was not killed: %v (acknowledged %d)", err, nAcked.Load())
	}
	t.Logf("killed after %d acknowledgements; %d batches handed out", nAcked.Load(), min(next.Load(), total))

	p = startServe(t, bin, args...)
	var resend []int
	dups := 0
	for n := range total {
		switch {
		case !acked[n].Load():
			resend = append(resend, n)
		case dups < dupAfter:
			resend = append(resend, n)
			dups++
		}
	}
	var idx atomic.Int64
	for range senders {
		wg.Go(func() {
			for {
				i := int(idx.Add(1) - 1)
				if i >= len(resend) {
					return
				}
				if code, err := post(p.url, resend[i]); err != nil || code != 204 {
					t.Errorf("resending batch %d: %d %v", resend[i], code, err)
					return
				}
			}
		})
	}
	wg.Wait()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop within 30 s of SIGTERM")
	}

	st, err := store.Open(context.Background(), scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	day := store.Day(time.Now())
	tot, err := st.Totals(ctx, "crash", day-1, day)
	if err != nil {
		t.Fatal(err)
	}
	if tot.Batches != total || tot.Cells != 2*total {
		t.Errorf("store holds %d batches and %d cells, sent %d and %d", tot.Batches, tot.Cells, total, 2*total)
	}
	rep, err := st.Report(ctx, store.ReportQuery{Site: "crash", From: day - 1, To: day, K: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]float64{}
	for n := range total {
		for _, c := range crashBatch(n).Cells {
			w := want[c.Campaign+"/"+c.Variant]
			w[0] += float64(c.Exposures)
			w[1] += float64(c.Conversions)
			w[2] += c.Revenue
			want[c.Campaign+"/"+c.Variant] = w
		}
	}
	got := map[string][3]float64{}
	for _, c := range rep.Cells {
		got[c.Campaign+"/"+c.Variant] = [3]float64{float64(c.Exposures), float64(c.Conversions), c.Revenue}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts in the store %v, sent %v", got, want)
	}
}

// TestServeStartBundle runs `presage serve -bundle` in-process twice on the same data: the first
// start adds and publishes the bundle, the second finds it stored and keeps serving it.
func TestServeStartBundle(t *testing.T) {
	dir := t.TempDir()
	key, err := signing.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "presage.key")
	if err := os.WriteFile(keyPath, signing.MarshalPrivate(key), 0o600); err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(dir, "bundle.cbor")
	env := signing.Sign(&models.Bundle{Format: models.FormatVersion, Version: 42, Site: "shop"}, key)
	if err := os.WriteFile(bundlePath, env, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PRESAGE_ADMIN_TOKEN", serveToken)
	for round := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- runServe(ctx, []string{"-addr", "127.0.0.1:0", "-data", filepath.Join(dir, "data"), "-key", keyPath,
				"-bundle", bundlePath, "-log-level", "error"}, pw, io.Discard)
			pw.Close()
		}()
		var url string
		published := false
		sc := bufio.NewScanner(pr)
		for url == "" && sc.Scan() {
			published = published || strings.HasPrefix(sc.Text(), "published bundle version 42")
			if addr, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				url = strings.Fields(addr)[0]
			}
		}
		go io.Copy(io.Discard, pr)
		if url == "" {
			cancel()
			t.Fatalf("round %d: no listening line: %v", round, <-done)
		}
		if published != (round == 0) {
			t.Errorf("round %d: published line %v", round, published)
		}
		resp, err := http.Get(url + "/v1/bundle?site=shop")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Equal(body, env) {
			t.Errorf("round %d: bundle %d, %d bytes", round, resp.StatusCode, len(body))
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
}
