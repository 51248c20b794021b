package loopsim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
	"github.com/presage-dev/presage/sync/store"
)

// Limits of a run.
const (
	// MaxRounds is the largest number of rounds: one simulated day each, all inside the server's
	// retraining window (14 days, today held back).
	MaxRounds = 13
	// MaxVisitors is the largest number of visitors in one round.
	MaxVisitors = 200_000
	// Slot is the page slot the campaign fills.
	Slot = "banner"

	dayMs = 86400 * 1000
)

// Config is one run. Zero fields take the defaults documented on each.
type Config struct {
	Server   string             // base URL of the sync server; its host must be a loopback address
	Token    string             // the admin bearer token
	Key      ed25519.PrivateKey // signs the first bundle (the server must trust it); its public half verifies served bundles
	Site     string             // the site simulated; "" is "loop"
	Campaign string             // the bandit campaign's id; "" is "banner-test"
	// Rates are the true conversion rates of the variants a, b, c…; nil is 0.03, 0.045, 0.07.
	Rates       []float64
	Visitors    int     // visitors per round; 0 is 2,000
	Rounds      int     // 1 to MaxRounds; 0 is 5
	ModuleShare float64 // share of visitors run through the module in wazero, in [0, 1]
	Module      []byte  // the generic module (presage.wasm from ./wasm); needed when ModuleShare > 0
	Senders     int     // concurrent batch posts; 0 is 8
	Seed        uint64  // the visitors' and conversions' seed
	Today       int32   // Unix day the server sees as today; 0 is today's UTC date
	// Kill, if set, is called once in the middle round when half its batches are acknowledged, while
	// the others are in flight: it kills the server and restarts it on the same data and address,
	// returning once it listens again. After it, the round's first acknowledged batches are sent
	// again, as agents whose acknowledgement was lost would.
	Kill func(ctx context.Context) error
	// Resend is how many acknowledged batches are sent again after Kill; 0 is 100.
	Resend int
	// Retry bounds the posting of one batch or admin request.
	Retry Retry
	// Log receives one line per round (and per phase); nil discards them.
	Log io.Writer
	// Progress, if set, is called as batches of a round are acknowledged.
	Progress func(stage string, done, total int)
}

// Retry is the retry policy of every request: exponential backoff from First, doubling, at most
// Max between attempts, at most Attempts attempts and Within in all. Zero fields take 25 ms, 1 s,
// 15 attempts and 60 s.
type Retry struct {
	First, Max time.Duration
	Attempts   int
	Within     time.Duration
}

func (r Retry) withDefaults() Retry {
	orDefault(&r.First, 25*time.Millisecond)
	orDefault(&r.Max, time.Second)
	orDefault(&r.Attempts, 15)
	orDefault(&r.Within, 60*time.Second)
	return r
}

func (c Config) withDefaults() Config {
	orDefault(&c.Site, "loop")
	orDefault(&c.Campaign, "banner-test")
	if c.Rates == nil {
		c.Rates = []float64{0.03, 0.045, 0.07}
	}
	orDefault(&c.Visitors, 2000)
	orDefault(&c.Rounds, 5)
	orDefault(&c.Senders, 8)
	orDefault(&c.Resend, 100)
	orDefault(&c.Today, store.Day(time.Now()))
	c.Retry = c.Retry.withDefaults()
	return c
}

// orDefault sets *p to d when it is the zero value.
func orDefault[T comparable](p *T, d T) {
	var zero T
	if *p == zero {
		*p = d
	}
}

func (c Config) validate() error {
	u, err := url.Parse(c.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("loopsim: server %q: want http://HOST:PORT", c.Server)
	}
	if !Loopback(u.Hostname()) {
		return fmt.Errorf("loopsim: server %q: the simulation only sends traffic to a loopback address", c.Server)
	}
	if c.Key == nil {
		return errors.New("loopsim: no signing key")
	}
	if c.Token == "" {
		return errors.New("loopsim: no admin token")
	}
	if len(c.Rates) < 2 || len(c.Rates) > 26 {
		return errors.New("loopsim: want 2 to 26 variants' rates")
	}
	for _, r := range c.Rates {
		if !(r >= 0 && r <= 1) {
			return fmt.Errorf("loopsim: rate %g is not in [0, 1]", r)
		}
	}
	if c.Rounds < 1 || c.Rounds > MaxRounds {
		return fmt.Errorf("loopsim: rounds %d: want 1 to %d (one simulated day each, inside the retraining window)", c.Rounds, MaxRounds)
	}
	if c.Visitors < 1 || c.Visitors > MaxVisitors {
		return fmt.Errorf("loopsim: visitors %d: want 1 to %d per round", c.Visitors, MaxVisitors)
	}
	if !(c.ModuleShare >= 0 && c.ModuleShare <= 1) {
		return fmt.Errorf("loopsim: module share %g is not in [0, 1]", c.ModuleShare)
	}
	if c.ModuleShare > 0 && len(c.Module) == 0 {
		return errors.New("loopsim: a module share needs the module")
	}
	if c.Senders < 1 || c.Senders > 256 {
		return fmt.Errorf("loopsim: senders %d: want 1 to 256", c.Senders)
	}
	return nil
}

// Loopback reports whether host (a name or an address, no port) is a loopback address.
func Loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Round is what one round did.
type Round struct {
	Round    int       // from 1
	Day      int32     // the Unix day its batches carry
	Bundle   uint64    // the bundle version the visitors were served
	Visitors int       // visitors in the round
	Module   int       // … of which through the module in wazero
	Shown    []int     // visitors shown each variant (the rest are the campaign's holdout)
	Converts []int     // conversions of each variant (the ground truth drawn)
	Best     float64   // share of the visitors shown a variant that were shown the best one
	Regret   float64   // cumulative expected regret against the oracle, in conversions
	Outcome  string    // the retraining after the round: published, unchanged or refused
	Split    []float64 // the split it computed for the next round (Thompson sampling, 1 % floor)
}

// Counts are a cell's numbers.
type Counts struct {
	Exposures, Conversions int64
}

// Result is what a run did.
type Result struct {
	Variants []string
	Best     int // index of the best variant (the oracle's)
	Rounds   []Round
	// To90 is the number of visitors before the first round from which on every round showed the best
	// variant to at least 90 % of the visitors shown one; -1 if the last round did not.
	To90 int
	// Regret is the cumulative expected regret, in conversions, and Oracle the expected conversions
	// of the oracle, over the visitors shown a variant: the holdout, which every campaign keeps, is
	// not the bandit's to allocate.
	Regret float64
	Oracle float64

	Batches  int   // batches drained and acknowledged
	Attempts int64 // POST /v1/batches attempts, retries included
	Resent   int   // acknowledged batches sent again after the kill
	Killed   bool  // the server was killed and restarted mid-run
	// Sent is the agents' own tally per variant; Stored the server's report over the run's days.
	Sent, Stored  map[string]Counts
	StoredBatches int64 // batches the server counted for the site (duplicates excluded)
	Equal         bool  // Sent == Stored and StoredBatches == Batches
	// Truthful: the agents' tally (Sent) is the ground truth drawn, visitors shown and conversions
	// per variant, summed over the rounds.
	Truthful bool
}

// Run runs the loop. It publishes a first bundle for the site (signed with cfg.Key), defines the
// bandit campaign, and runs the rounds. An error stops it; a count mismatch does not (see
// Result.Equal).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &loop{cfg: cfg, c: newClient(cfg.Server, cfg.Token, cfg.Retry), pub: cfg.Key.Public().(ed25519.PublicKey),
		rng: mrand.New(mrand.NewPCG(cfg.Seed, 0x100b)), log: cfg.Log}
	if l.log == nil {
		l.log = io.Discard
	}
	l.nonce = freshNonce()
	for i := range cfg.Rates {
		l.variants = append(l.variants, string(rune('a'+i)))
	}
	l.best = 0
	for i, r := range cfg.Rates {
		if r > cfg.Rates[l.best] {
			l.best = i
		}
	}
	if cfg.ModuleShare > 0 {
		h, err := newHost(ctx, cfg.Module, l.pub, 2)
		if err != nil {
			return nil, err
		}
		defer h.Close(context.Background())
		l.host = h
	}
	return l.run(ctx)
}

// freshNonce draws the nonce of a run's batch ids.
func freshNonce() uint64 {
	var nonce [8]byte
	_, _ = rand.Read(nonce[:]) // never fails since Go 1.24
	return binary.LittleEndian.Uint64(nonce[:])
}

// newHost compiles the module for a pool of sessions trusting pub's bundles.
func newHost(ctx context.Context, module []byte, pub ed25519.PublicKey, pool int) (*host.Host, error) {
	// A generous call deadline: the simulation measures learning, not latency, and a machine
	// loaded by other work can stall a call past the default one.
	h, err := host.New(ctx, module, host.NewConfig().WithTrustedKeys(pub).WithPoolSize(pool).WithCallTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("loopsim: module: %w", err)
	}
	return h, nil
}

type loop struct {
	cfg      Config
	c        *client
	pub      ed25519.PublicKey
	rng      *mrand.Rand
	log      io.Writer
	nonce    uint64
	variants []string
	best     int
	host     *host.Host

	bundle  *models.Bundle // serving
	hostVer uint64         // the version the host serves
	visitor uint64         // visitors so far
}

func (l *loop) run(ctx context.Context) (*Result, error) {
	cfg := l.cfg
	res := &Result{Variants: l.variants, Best: l.best, To90: -1, Sent: map[string]Counts{}}
	if err := l.setUp(ctx); err != nil {
		return nil, err
	}
	first := cfg.Today - int32(cfg.Rounds)
	killRound := cfg.Rounds / 2
	for r := range cfg.Rounds {
		day := first + int32(r)
		rd, batches, err := l.visit(ctx, r, day)
		if err != nil {
			return nil, err
		}
		for _, bt := range batches {
			for _, c := range bt.Cells {
				if c.Campaign == cfg.Campaign {
					n := res.Sent[c.Variant]
					n.Exposures += int64(c.Exposures)
					n.Conversions += int64(c.Conversions)
					res.Sent[c.Variant] = n
				}
			}
		}
		var kill func(context.Context) error
		if cfg.Kill != nil && r == killRound {
			kill = cfg.Kill
		}
		st, err := l.send(ctx, fmt.Sprintf("round %d/%d", r+1, cfg.Rounds), batches, kill)
		if err != nil {
			return nil, err
		}
		res.Batches += len(batches)
		res.Attempts += st.attempts
		res.Resent += st.resent
		res.Killed = res.Killed || st.killed
		// Regret and oracle, expected.
		for i, n := range rd.Shown {
			res.Regret += float64(n) * (cfg.Rates[l.best] - cfg.Rates[i])
		}
		res.Oracle += float64(sum(rd.Shown)) * cfg.Rates[l.best]
		rd.Regret = res.Regret

		rep, err := l.retrain(ctx)
		if err != nil {
			return nil, err
		}
		rd.Outcome = rep.Outcome
		for _, a := range rep.Allocations {
			if a.Campaign == cfg.Campaign {
				rd.Split = a.Best
			}
		}
		if err := l.fetchBundle(ctx); err != nil {
			return nil, err
		}
		res.Rounds = append(res.Rounds, *rd)
		l.printRound(rd)
	}
	// To90: the visitors before the first round of the last run of rounds at ≥ 90 %.
	seen := 0
	for i, rd := range res.Rounds {
		if rd.Best >= 0.9 && res.To90 < 0 {
			res.To90 = seen
		} else if rd.Best < 0.9 {
			res.To90 = -1
		}
		seen += res.Rounds[i].Visitors
	}
	res.Truthful = true
	for i, v := range l.variants {
		var shown, conv int64
		for _, rd := range res.Rounds {
			shown += int64(rd.Shown[i])
			conv += int64(rd.Converts[i])
		}
		if res.Sent[v] != (Counts{shown, conv}) {
			res.Truthful = false
		}
	}
	if err := l.compare(ctx, res, first); err != nil {
		return nil, err
	}
	return res, nil
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// setUp publishes the site's first bundle (no campaign, full consent by default) and defines the
// bandit campaign, then retrains once so that the campaign is compiled into the bundle served.
func (l *loop) setUp(ctx context.Context) error {
	cfg := l.cfg
	b := &models.Bundle{Format: models.FormatVersion, Version: 1, Created: time.Now().Unix() - 60, Site: cfg.Site,
		Settings: &models.Settings{DefaultConsent: uint8(wire.ConsentFull)}}
	code, body, err := l.c.do(ctx, "POST", "/v1/admin/bundles?publish=true&site="+url.QueryEscape(cfg.Site), "application/cbor", signing.Sign(b, cfg.Key))
	if err != nil {
		return err
	}
	if code != 201 {
		return fmt.Errorf("loopsim: uploading the first bundle: %d %s", code, body)
	}
	def := store.Campaign{Site: cfg.Site, ID: cfg.Campaign, Status: store.StatusActive, Slot: Slot, Allocation: store.AllocBandit}
	for _, v := range l.variants {
		def.Variants = append(def.Variants, store.Variant{ID: v, Weight: 1, Content: "variant " + v})
	}
	code, body, err = l.c.doJSON(ctx, "POST", "/v1/admin/campaigns", def, nil)
	if err != nil {
		return err
	}
	if code != 201 {
		return fmt.Errorf("loopsim: creating the campaign: %d %s", code, body)
	}
	rep, err := l.retrain(ctx)
	if err != nil {
		return err
	}
	if rep.Outcome != "published" {
		return fmt.Errorf("loopsim: compiling the campaign in: retraining %s (%s)", rep.Outcome, rep.Reason)
	}
	if err := l.fetchBundle(ctx); err != nil {
		return err
	}
	fmt.Fprintf(l.log, "site %q: bundle v%d serves bandit campaign %q, variants %v, true conversion rates %v\n",
		cfg.Site, l.bundle.Version, cfg.Campaign, l.variants, cfg.Rates)
	return nil
}

type retrainReport struct {
	Outcome     string `json:"outcome"`
	Reason      string `json:"reason"`
	Version     uint64 `json:"version"`
	Allocations []struct {
		Campaign string    `json:"campaign"`
		Best     []float64 `json:"p_best"`
	} `json:"allocations"`
	Fed *struct {
		Outcome    string  `json:"outcome"`
		Reason     string  `json:"reason"`
		DayEpsilon float64 `json:"day_epsilon"`
		Models     []struct {
			Model      string  `json:"model"`
			NoisyCount float64 `json:"noisy_count"`
			Applied    bool    `json:"applied"`
			Reason     string  `json:"reason"`
		} `json:"models"`
	} `json:"federated"`
}

func (l *loop) retrain(ctx context.Context) (*retrainReport, error) {
	var rep retrainReport
	code, body, err := l.c.doJSON(ctx, "POST", "/v1/admin/retrain?site="+url.QueryEscape(l.cfg.Site), nil, &rep)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("loopsim: retraining: %d %s", code, body)
	}
	return &rep, nil
}

// fetchBundle gets the bundle served, verifies it and hands it to the native agents and the module.
func (l *loop) fetchBundle(ctx context.Context) error {
	b, env, err := l.c.served(ctx, l.cfg.Site, l.pub)
	if err != nil {
		return err
	}
	if l.bundle != nil && b.Version == l.bundle.Version {
		return nil
	}
	l.bundle = b
	if l.host != nil && b.Version != l.hostVer {
		if _, err := l.host.LoadBundle(ctx, env); err != nil {
			return fmt.Errorf("loopsim: the module refused bundle v%d: %w", b.Version, err)
		}
		l.hostVer = b.Version
	}
	return nil
}

// visit runs one round's visitors and returns their batches, drained, not yet sent.
func (l *loop) visit(ctx context.Context, r int, day int32) (*Round, []*wire.Batch, error) {
	cfg := l.cfg
	rd := &Round{Round: r + 1, Day: day, Bundle: l.bundle.Version, Visitors: cfg.Visitors,
		Shown: make([]int, len(l.variants)), Converts: make([]int, len(l.variants))}
	a := agent.New()
	if err := a.SetBundle(l.bundle, int64(day)*dayMs); err != nil {
		return nil, nil, fmt.Errorf("loopsim: the agent refused bundle v%d: %w", l.bundle.Version, err)
	}
	step := min(int64(1000), dayMs/2/int64(cfg.Visitors)) // visitors spread over the day's first half, from 06:00
	batches := make([]*wire.Batch, 0, cfg.Visitors)
	for i := range cfg.Visitors {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		l.visitor++
		seed := mix(cfg.Seed ^ mix(l.visitor))
		now := int64(day)*dayMs + 6*3600*1000 + int64(i)*step
		module := l.host != nil && l.rng.Float64() < cfg.ModuleShare
		v := visitor(a)
		if module {
			s, err := l.host.Acquire(ctx)
			if err != nil {
				return nil, nil, fmt.Errorf("loopsim: module: %w", err)
			}
			v = s
			rd.Module++
		}
		bt, shown, converted, err := l.oneVisitor(v, seed, now)
		if s, ok := v.(*host.Session); ok {
			s.Release()
		}
		if err != nil {
			return nil, nil, err
		}
		if shown >= 0 {
			rd.Shown[shown]++
			if converted {
				rd.Converts[shown]++
			}
		}
		batches = append(batches, bt)
	}
	rd.Best = float64(rd.Shown[l.best]) / float64(max(sum(rd.Shown), 1))
	return rd, batches, nil
}

// visitor is the native agent or a module session: what one visit needs.
type visitor interface {
	Handle(req *wire.Request) (*wire.Answer, error)
}

// oneVisitor is one visit: arrival with the banner slot asked for, a purchase with the true rate of
// the variant shown, the learning drained. shown is the variant's index, −1 if none.
func (l *loop) oneVisitor(v visitor, seed uint64, now int64) (bt *wire.Batch, shown int, converted bool, err error) {
	switch v := v.(type) {
	case *agent.Agent:
		v.Start(nil, seed)
	case *host.Session:
		if err := v.LoadProfile(nil, seed); err != nil {
			return nil, 0, false, fmt.Errorf("loopsim: module: %w", err)
		}
	}
	ans, err := v.Handle(&wire.Request{Now: now, Seed: seed, Slots: []string{Slot},
		Events: []wire.Event{{Type: wire.EventArrival, Time: now, Channel: wire.ChannelDirect}}})
	if err != nil {
		return nil, 0, false, fmt.Errorf("loopsim: handle: %w", err)
	}
	shown = -1
	for _, d := range ans.Decisions {
		if d.Slot == Slot && d.Campaign == l.cfg.Campaign {
			shown = slices.Index(l.variants, d.Variant)
		}
	}
	if shown >= 0 && l.rng.Float64() < l.cfg.Rates[shown] {
		converted = true
		t := now + 60_000
		if _, err := v.Handle(&wire.Request{Now: t, Seed: seed, Events: []wire.Event{{Type: wire.EventPurchase,
			Time: t, Value: 30, Lines: []wire.Line{{Item: "sku-1", Price: 30, Quantity: 1}}}}}); err != nil {
			return nil, 0, false, fmt.Errorf("loopsim: purchase: %w", err)
		}
	}
	drainSeed := seed ^ l.nonce // batch ids fresh per run, visitors reproducible
	switch v := v.(type) {
	case *agent.Agent:
		bt = v.Drain(now+120_000, drainSeed)
	case *host.Session:
		if bt, err = v.Drain(now+120_000, drainSeed); err != nil {
			return nil, 0, false, fmt.Errorf("loopsim: module drain: %w", err)
		}
	}
	return bt, shown, converted, nil
}

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

type sendStats struct {
	attempts int64
	resent   int
	killed   bool
}

// send posts batches with cfg.Senders workers, each batch retried until acknowledged. kill, if
// set, is run once half the batches are acknowledged; then the first acknowledged batches are sent
// again.
func (l *loop) send(ctx context.Context, stage string, batches []*wire.Batch, kill func(context.Context) error) (sendStats, error) {
	var st sendStats
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan *wire.Batch)
	var (
		acked    atomic.Int64
		attempts atomic.Int64
		mu       sync.Mutex
		ackOrder []*wire.Batch
		half     = make(chan struct{})
		halfOnce sync.Once
		wg       sync.WaitGroup
	)
	total := len(batches)
	worker := func() {
		defer wg.Done()
		for bt := range jobs {
			n, err := l.c.postBatch(ctx, bt)
			attempts.Add(int64(n))
			if err != nil {
				cancel(err)
				continue
			}
			mu.Lock()
			ackOrder = append(ackOrder, bt)
			a := acked.Add(1)
			if l.cfg.Progress != nil {
				l.cfg.Progress(stage, int(a), total) // under mu: one call at a time
			}
			mu.Unlock()
			if int(a)*2 >= total {
				halfOnce.Do(func() { close(half) })
			}
		}
	}
	for range l.cfg.Senders {
		wg.Add(1)
		go worker()
	}
	killDone := make(chan error, 1)
	if kill != nil {
		go func() {
			select {
			case <-half:
			case <-ctx.Done():
				killDone <- nil
				return
			}
			fmt.Fprintf(l.log, "  %s: SIGKILL to the server with %d of %d batches acknowledged, then a restart on the same data\n", stage, acked.Load(), total)
			if err := kill(ctx); err != nil {
				killDone <- fmt.Errorf("loopsim: kill and restart: %w", err)
				return
			}
			killDone <- nil
		}()
	} else {
		killDone <- nil
	}
feed:
	for _, bt := range batches {
		select {
		case jobs <- bt:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	kerr := <-killDone
	wg.Wait()
	if kerr != nil {
		return st, kerr
	}
	if err := context.Cause(ctx); err != nil {
		return st, err
	}
	st.attempts = attempts.Load()
	if kill != nil {
		st.killed = true
		// As agents whose acknowledgement was lost: send again batches already acknowledged.
		again := ackOrder[:min(l.cfg.Resend, len(ackOrder))]
		for _, bt := range again {
			n, err := l.c.postBatch(ctx, bt)
			st.attempts += int64(n)
			if err != nil {
				return st, err
			}
		}
		st.resent = len(again)
		fmt.Fprintf(l.log, "  %s: server back; %d acknowledged batches sent again\n", stage, len(again))
	}
	return st, nil
}

// compare reads the server's report over the run's days (k = 1) and compares it with the agents'
// tally.
func (l *loop) compare(ctx context.Context, res *Result, first int32) error {
	day := func(d int32) string { return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02") }
	var rep struct {
		Totals store.Totals       `json:"totals"`
		Cells  []store.ReportCell `json:"cells"`
	}
	q := url.Values{"site": {l.cfg.Site}, "campaign": {l.cfg.Campaign}, "from": {day(first)}, "to": {day(l.cfg.Today)}, "k": {"1"}}
	code, body, err := l.c.doJSON(ctx, "GET", "/v1/admin/reports?"+q.Encode(), nil, &rep)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("loopsim: report: %d %s (an exact comparison needs a server started with -k-anonymity 1)", code, body)
	}
	res.Stored = map[string]Counts{}
	for _, c := range rep.Cells {
		n := res.Stored[c.Variant]
		n.Exposures += c.Exposures
		n.Conversions += c.Conversions
		res.Stored[c.Variant] = n
	}
	res.StoredBatches = rep.Totals.Batches
	res.Equal = res.StoredBatches == int64(res.Batches) && len(res.Sent) == len(res.Stored)
	for v, n := range res.Sent {
		if res.Stored[v] != n {
			res.Equal = false
		}
	}
	return nil
}

func (l *loop) printRound(rd *Round) {
	split := ""
	if len(rd.Split) > 0 {
		split = ", next split " + floats(rd.Split, "%.3f")
	}
	mod := ""
	if rd.Module > 0 {
		mod = fmt.Sprintf(" (%d in wazero)", rd.Module)
	}
	fmt.Fprintf(l.log, "round %2d  bundle v%-3d %6d visitors%s  shown %s  best %5.1f %%  regret %7.1f  → retrain %s%s\n",
		rd.Round, rd.Bundle, rd.Visitors, mod, ints(rd.Shown), 100*rd.Best, rd.Regret, rd.Outcome, split)
}

func ints(xs []int) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += "/"
		}
		s += fmt.Sprint(x)
	}
	return s
}

func floats(xs []float64, f string) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += "/"
		}
		if math.IsNaN(x) {
			x = 0
		}
		s += fmt.Sprintf(f, x)
	}
	return s
}
