package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/presage-dev/presage/internal/loopsim"
	"github.com/presage-dev/presage/models/signing"
)

// runSimulateLoop is `presage simulate loop`: simulated visitors with known conversion rates drive
// a bandit campaign through a sync server over HTTP (internal/loopsim), with a share of them in
// the module under wazero; then the counts the agents sent are compared with the server's report.
// Without -server it starts `presage serve` itself (this same executable) on a loopback port, a
// temporary data folder and a generated key, so that -kill can SIGKILL it mid-run and restart it.
func runSimulateLoop(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := newFlags("simulate loop", "[-server URL -key FILE] [-visitors N] [-rounds K] [-module-share S] [-kill] [flags]", stderr)
	server := fl.String("server", "", "a running sync server on a loopback address (PRESAGE_ADMIN_TOKEN holds its admin token); default: start one")
	keyFile := fl.String("key", "", "with -server: the signing key the server trusts (presage serve -key)")
	visitors := fl.Int("visitors", 2000, "visitors per round")
	rounds := fl.Int("rounds", 5, fmt.Sprintf("rounds (one simulated day each; at most %d, or %d with -federated on the server it starts)", loopsim.MaxRounds, loopsim.MaxFedRounds))
	share := fl.Float64("module-share", 0.1, "share of visitors run through the module in wazero (the rest through the native agent)")
	kill := fl.Bool("kill", false, "SIGKILL the server in the middle round, with batches in flight, and restart it on the same data (needs no -server)")
	rates := fl.String("rates", "0.03,0.045,0.07", "true conversion rates of the variants a, b, c…")
	modFile := fl.String("module", "", "the generic module (presage.wasm built from ./wasm); default: go build ./wasm")
	seed := fl.Uint64("seed", 1, "seed of the visitors and their conversions")
	senders := fl.Int("senders", 8, "concurrent batch posts")
	site := fl.String("site", "", "the site simulated (default: loop-<time>, a new site)")
	jsonOut := fl.String("json", "", "also write the result as JSON to this file")
	federated := fl.Bool("federated", false, "run federated rounds instead (simulate_fed.go): -visitors is the population (default 90,000), -rounds is k (default 60)")
	public := fl.Int("public", 3000, "with -federated: visitors of another seed whose examples set the public standardisation")
	if err := parse(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fl.Args(), " "))
	}
	if *federated {
		set := map[string]bool{}
		fl.Visit(func(f *flag.Flag) { set[f.Name] = true })
		fa := fedArgs{server: *server, keyFile: *keyFile, visitors: *visitors, rounds: *rounds, share: *share, kill: *kill,
			modFile: *modFile, seed: *seed, senders: *senders, site: *site, jsonOut: *jsonOut, public: *public}
		if !set["visitors"] {
			fa.visitors = 90_000
		}
		if !set["rounds"] {
			fa.rounds = 60
		}
		if !set["senders"] {
			fa.senders = 16
		}
		return runSimulateFed(ctx, fa, stdout, stderr)
	}
	cfg := loopsim.Config{Visitors: *visitors, Rounds: *rounds, ModuleShare: *share, Seed: *seed, Senders: *senders, Site: *site}
	for _, s := range splitList(*rates) {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return usagef("-rates: %q is not a number", s)
		}
		cfg.Rates = append(cfg.Rates, r)
	}
	if cfg.Site == "" {
		cfg.Site = "loop-" + strconv.FormatInt(time.Now().Unix(), 10)
	}
	if *rounds < 1 || *rounds > loopsim.MaxRounds {
		return usagef("-rounds: want 1 to %d", loopsim.MaxRounds)
	}
	if *visitors < 1 || *visitors > loopsim.MaxVisitors {
		return usagef("-visitors: want 1 to %d per round", loopsim.MaxVisitors)
	}
	if !(*share >= 0 && *share <= 1) {
		return usagef("-module-share: want a share in [0, 1]")
	}
	if *server != "" && *kill {
		return usagef("-kill needs a server this command starts: leave out -server")
	}
	if *server != "" {
		u, err := url.Parse(*server)
		if err != nil || !loopsim.Loopback(u.Hostname()) {
			return usagef("-server %q: only a loopback address (127.0.0.1, ::1, localhost)", *server)
		}
		if *keyFile == "" {
			return usagef("-server needs -key: the first bundle is signed with the key the server trusts")
		}
		if cfg.Token = os.Getenv("PRESAGE_ADMIN_TOKEN"); cfg.Token == "" {
			return usagef("-server needs the admin token in PRESAGE_ADMIN_TOKEN")
		}
		k, err := signing.LoadPrivate(*keyFile)
		if err != nil {
			return usageError{err}
		}
		cfg.Key, cfg.Server = k, *server
	}
	if *share > 0 {
		var err error
		if cfg.Module, err = loadModule(ctx, *modFile, stderr); err != nil {
			return err
		}
	}

	start := time.Now()
	var srv *childServer
	if *server == "" {
		var err error
		if srv, err = startChildServer(ctx, *rounds); err != nil {
			return err
		}
		defer srv.stop()
		cfg.Server, cfg.Token, cfg.Key = srv.url, srv.token, srv.key
		fmt.Fprintf(stdout, "started presage serve on %s (temporary data in %s; -k-anonymity 1, so that every cell is reported exactly)\n", srv.url, srv.dir)
		if *kill {
			cfg.Kill = srv.killAndRestart
		}
	}
	bar := newProgress(stderr)
	cfg.Progress, cfg.Log = bar.Update, stdout
	res, err := loopsim.Run(ctx, cfg)
	bar.Done()
	if err != nil {
		if srv != nil {
			err = fmt.Errorf("%w\nserver log (last lines):\n%s", err, srv.logTail())
		}
		return err
	}
	printLoop(stdout, res, cfg, time.Since(start))
	if err := writeJSON(*jsonOut, res); err != nil {
		return err
	}
	if !res.Equal {
		return errors.New("counts differ: something sent was lost or counted twice")
	}
	if !res.Truthful {
		return errors.New("the agents' counts differ from the ground truth drawn")
	}
	return nil
}

// loadModule reads the generic module from file, or builds it from ./wasm when file is "".
func loadModule(ctx context.Context, file string, stderr io.Writer) ([]byte, error) {
	var mod []byte
	var err error
	if file != "" {
		mod, err = os.ReadFile(file)
	} else {
		fmt.Fprintln(stderr, "building the module (go build ./wasm)…")
		mod, err = goBuildModule(ctx, stderr)
	}
	if err != nil {
		return nil, fmt.Errorf("-module: %w", err)
	}
	return mod, nil
}

func printLoop(w io.Writer, res *loopsim.Result, cfg loopsim.Config, took time.Duration) {
	best := res.Variants[res.Best]
	fmt.Fprintf(w, "bandit: the best variant is %s (true rate %.3g)", best, cfg.Rates[res.Best])
	if res.To90 >= 0 {
		fmt.Fprintf(w, "; it got ≥ 90 %% of the traffic outside the holdout after %d visitors and kept it to the last round\n", res.To90)
	} else {
		fmt.Fprintf(w, "; it did not get ≥ 90 %% of the last round's traffic outside the holdout\n")
	}
	shown := 0
	for _, rd := range res.Rounds {
		for _, n := range rd.Shown {
			shown += n
		}
	}
	fmt.Fprintf(w, "        regret against the oracle (always %s): %.1f expected conversions over the %d visitors shown a variant (%d held out), %.1f %% of the oracle's %.1f\n",
		best, res.Regret, shown, len(res.Rounds)*cfg.Visitors-shown, 100*res.Regret/res.Oracle, res.Oracle)
	fmt.Fprintln(w, "federated: not run by the bandit loop; run it with  presage simulate loop -federated  (k rounds over HTTP, AUC against a central fit)")
	kill := ""
	if res.Killed {
		kill = fmt.Sprintf(", across a SIGKILL and a restart, %d acknowledged batches sent again", res.Resent)
	}
	verdict := "EQUAL"
	if !res.Equal {
		verdict = "DIFFERENT"
	}
	fmt.Fprintf(w, "nothing lost: %s — %d batches sent and acknowledged (%d POST attempts%s); the server counts %d\n",
		verdict, res.Batches, res.Attempts, kill, res.StoredBatches)
	for _, v := range res.Variants {
		s, st := res.Sent[v], res.Stored[v]
		fmt.Fprintf(w, "        %s: sent %d exposures, %d conversions; stored %d, %d\n", v, s.Exposures, s.Conversions, st.Exposures, st.Conversions)
	}
	if !res.Truthful {
		fmt.Fprintln(w, "        the agents' cells differ from the ground truth drawn (visitors shown, conversions)")
	}
	fmt.Fprintf(w, "took %v\n", took.Round(100*time.Millisecond))
}

// childServer is a `presage serve` process this command started, on a loopback port and a
// temporary data folder that outlive its restarts.
type childServer struct {
	bin, dir, addr, url, token string
	key                        []byte
	args                       []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *tailBuffer
}

// startChildServer makes a key and a data folder and starts the server.
func startChildServer(ctx context.Context, rounds int) (*childServer, error) {
	bin, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this executable to run presage serve: %w", err)
	}
	dir, err := os.MkdirTemp("", "presage-loop-")
	if err != nil {
		return nil, err
	}
	key, err := signing.GenerateKey(rand.Reader)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	keyPath := filepath.Join(dir, "presage.key")
	if err := writeFileAtomic(keyPath, signing.MarshalPrivate(key), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A free loopback port, kept across restarts (the listener sets SO_REUSEADDR).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	s := &childServer{bin: bin, dir: dir, addr: addr, url: "http://" + addr, token: "loop_" + hex.EncodeToString(tok), key: key,
		log: &tailBuffer{max: 8 << 10}}
	s.args = []string{"serve", "-addr", addr, "-data", filepath.Join(dir, "data"), "-key", keyPath,
		"-k-anonymity", "1", "-rate", "-1", "-dedup-days", strconv.Itoa(max(7, rounds+2)),
		"-log-format", "text", "-log-level", "warn", "-shutdown-timeout", "10s"}
	if err := s.start(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// start runs the server and waits (at most 60 s) for its "listening on" line.
func (s *childServer) start(ctx context.Context) error {
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = append(os.Environ(), "PRESAGE_ADMIN_TOKEN="+s.token, "PRESAGE_POSTGRES_URL=")
	cmd.Stderr = s.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting presage serve: %w", err)
	}
	done := make(chan struct{})
	listening := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "listening on ") {
				listening <- struct{}{}
			}
		}
		io.Copy(io.Discard, out)
	}()
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	t := time.NewTimer(60 * time.Second)
	defer t.Stop()
	select {
	case <-listening:
		return nil
	case <-done:
		return fmt.Errorf("presage serve exited at start:\n%s", s.log)
	case <-ctx.Done():
		cmd.Process.Kill()
		<-done
		return ctx.Err()
	case <-t.C:
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("presage serve did not listen within 60 s:\n%s", s.log)
	}
}

// killAndRestart sends SIGKILL (no shutdown, no flush: a crash), waits for the process to be gone
// and starts it again on the same data folder and address.
func (s *childServer) killAndRestart(ctx context.Context) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-done
	return s.start(ctx)
}

// stop ends the server with SIGTERM (SIGKILL after 20 s) and removes its folder.
func (s *childServer) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd != nil {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.dir)
}

func (s *childServer) logTail() string { return s.log.String() }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
