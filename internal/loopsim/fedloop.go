package loopsim

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
	"github.com/presage-dev/presage/sync/fed/fedsim"
	"github.com/presage-dev/presage/sync/store"
)

// The federated loop (RunFederated): issue 4's federated figure, end to end over HTTP.
//
// A population of simulated visitors (internal/sim, ground truth known) lives k days. Each day,
// every visitor active that day, or the day before, runs that day's events through its own device —
// the native agent, or for a share of the visitors the module in wazero — whose profile is kept
// between days as the bytes a cookie would hold; the device is drained at the day's end and the
// batch (clipped model updates, agent/federated.go) is posted to the server. Then the server's
// clock moves to the next day and the loop asks for a retraining: the server runs one federated
// round on the day's updates (noise, privacy charged to the day in its ledger, the held-back
// check) and publishes the next bundle, which the devices pick up (GET /v1/bundle, verified). One
// visitor in HeldOutEvery never contributes: their examples, replayed through the agent with their
// true labels, score both the published federated model and a central logistic regression fitted
// on the raw rows of the contributing visitors, the same examples their devices learnt from.
//
// # Why the server's clock follows the simulation
//
// A retraining learns from the most recent complete day before the server's today, and the privacy
// ledger charges that day at most its budget (ε = 1 per visitor per day). With a server on the
// real clock, k simulated days must all lie in the 13 complete days of its 14-day window before
// today, and a second round on the same day is refused by the ledger: k ≤ 13 (MaxRounds). With
// SetDay, the loop moves the server's clock one day per round (server.Config.Now), as k real days
// would, and k is bounded only by MaxFedRounds: each day has its own budget, and the ledger still
// shows ε per visitor per day. Several rounds on one day (fed.Config.RoundsPerDay) would instead
// split a day's budget, multiplying each round's noise by √rounds, and local steps on a device
// holding one or two examples a day add little: a day per round is what a deployment does.

// Limits and defaults of the federated loop.
const (
	MaxFedRounds   = 366
	MaxFedVisitors = 1_000_000
)

// FedConfig is one run of the federated loop. Zero fields take the defaults documented on each.
type FedConfig struct {
	Server string             // base URL of the sync server; its host must be a loopback address
	Token  string             // the admin bearer token
	Key    ed25519.PrivateKey // signs the first bundle (the server must trust it)
	Site   string             // "" is "fed"
	// Visitors is the simulated population; 0 is 90,000 (about 3,000 contributing visitors a day
	// over 60 days: the daily cohort sets the noise of the mean gradient, σ/n).
	Visitors int
	// Rounds is k, the simulated days, one federated round each; 0 is 60.
	Rounds int
	// Public is the size of another population (another seed) whose examples set the first
	// bundle's public standardisation; 0 is 3,000.
	Public int
	// HeldOutEvery: visitor i with i % HeldOutEvery == HeldOutEvery−1 never contributes and is
	// evaluated on; 0 is 5.
	HeldOutEvery int
	Items        int // catalogue; 0 is 300
	Categories   int // 0 is 20
	ModuleShare  float64
	Module       []byte // the generic module; needed when ModuleShare > 0
	Senders      int    // concurrent batch posts; 0 is 16
	Workers      int    // goroutines running the devices; 0 is 2
	Seed         uint64
	// Nonce goes into every batch id, so that two runs against one server never collide; 0 draws
	// one from crypto/rand. (It also decides which batches the server holds back.)
	Nonce uint64
	// SetDay moves the server's clock to a Unix day (its today). Nil: the server keeps its own
	// clock, whose today is Today, and Rounds is at most MaxRounds.
	SetDay func(day int32)
	// Today is the server's today when SetDay is nil, and the day after the last round; 0 is
	// today's UTC date.
	Today    int32
	Retry    Retry
	Log      io.Writer
	Progress func(stage string, done, total int)
}

func (c FedConfig) withDefaults() FedConfig {
	orDefault(&c.Site, "fed")
	orDefault(&c.Visitors, 90_000)
	orDefault(&c.Rounds, 60)
	orDefault(&c.Public, 3000)
	orDefault(&c.HeldOutEvery, 5)
	orDefault(&c.Items, 300)
	orDefault(&c.Categories, 20)
	orDefault(&c.Senders, 16)
	orDefault(&c.Workers, 2)
	orDefault(&c.Today, store.Day(time.Now()))
	c.Retry = c.Retry.withDefaults()
	return c
}

func (c FedConfig) validate() error {
	if err := (Config{Server: c.Server, Token: c.Token, Key: c.Key, Rates: []float64{0, 0}, Rounds: 1, Visitors: 1,
		ModuleShare: c.ModuleShare, Module: c.Module, Senders: min(c.Senders, 256)}).validate(); err != nil {
		return err
	}
	maxRounds := MaxFedRounds
	if c.SetDay == nil {
		maxRounds = MaxRounds
	}
	switch {
	case c.Rounds < 1 || c.Rounds > maxRounds:
		why := "one simulated day each"
		if c.SetDay == nil {
			why = "one simulated day each, inside the retraining window of a server on the real clock"
		}
		return fmt.Errorf("loopsim: rounds %d: want 1 to %d (%s)", c.Rounds, maxRounds, why)
	case c.Visitors < 10 || c.Visitors > MaxFedVisitors:
		return fmt.Errorf("loopsim: visitors %d: want 10 to %d", c.Visitors, MaxFedVisitors)
	case c.HeldOutEvery < 2:
		return fmt.Errorf("loopsim: held-out share 1/%d: want 1/2 or less", c.HeldOutEvery)
	case c.Public < 10:
		return fmt.Errorf("loopsim: public population %d: want at least 10", c.Public)
	case c.Workers < 1 || c.Workers > 64:
		return fmt.Errorf("loopsim: workers %d: want 1 to 64", c.Workers)
	case c.Senders < 1 || c.Senders > 256:
		return fmt.Errorf("loopsim: senders %d: want 1 to 256", c.Senders)
	}
	return nil
}

// FedRound is what one round (one simulated day) of the federated loop did.
type FedRound struct {
	Round    int    // from 1
	Day      int32  // the Unix day of its events and batches
	Bundle   uint64 // the version the devices ran
	Active   int    // devices that ran (active that day or the day before)
	Module   int    // … of which in wazero
	Batches  int    // batches posted (empty drains are not sent)
	Outcome  string // the retraining: published, unchanged, refused
	Fed      string // the federated round: applied, refused, skipped
	Reason   string // why the round did not apply, if it did not
	Next     uint64 // the version served after the retraining
	Noisy    float64
	DayEps   float64 // ε the day has spent, as the server reports it
	AUC      float64 // the served model's AUC on the held-out visitors after the round
	Examples int     // raw examples the contributing devices took that day
}

// FedResult is what a federated run achieved.
type FedResult struct {
	Rounds                           []FedRound
	Visitors, Contributing, HeldOut  int
	ModuleVisitors                   int // contributing visitors whose device is the module
	Public                           int
	TrainRows, HeldRows, PublicRows  int
	Applied                          int    // rounds whose step the server applied
	Version                          uint64 // the published bundle evaluated
	FedAUC, CentralAUC, Ratio        float64
	Epsilon, Delta                   float64 // the server's budget per visitor per day
	MaxDayEpsilon, TotalEpsilon      float64 // from the server's ledger: the largest day, and all days
	LedgerDays                       int
	Batches                          int
	Attempts                         int64
	PositiveRate                     float64 // share of training rows labelled 1
	FirstDay, LastDay                int32
	ModelFeatures, CentralIterations int
}

// RunFederated runs the federated loop (see the comment above FedConfig).
func RunFederated(ctx context.Context, cfg FedConfig) (*FedResult, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	f := &fedLoop{cfg: cfg, c: newClient(cfg.Server, cfg.Token, cfg.Retry), pub: cfg.Key.Public().(ed25519.PublicKey), log: cfg.Log}
	if f.log == nil {
		f.log = io.Discard
	}
	f.nonce = cfg.Nonce
	if f.nonce == 0 {
		f.nonce = freshNonce()
	}
	if cfg.ModuleShare > 0 {
		h, err := newHost(ctx, cfg.Module, f.pub, cfg.Workers)
		if err != nil {
			return nil, err
		}
		defer h.Close(context.Background())
		f.host = h
	}
	return f.run(ctx)
}

type fedLoop struct {
	cfg   FedConfig
	c     *client
	pub   ed25519.PublicKey
	log   io.Writer
	nonce uint64
	host  *host.Host

	mu      sync.RWMutex
	bundle  *models.Bundle
	env     []byte
	hostVer uint64
}

// device is one simulated visitor's device between days.
type device struct {
	profile []byte
	next    int  // next event
	last    int  // last round active
	module  bool // runs in wazero
	seed    uint64
}

func (f *fedLoop) run(ctx context.Context) (*FedResult, error) {
	cfg := f.cfg
	day0 := cfg.Today - int32(cfg.Rounds)
	res := &FedResult{Visitors: cfg.Visitors, Public: cfg.Public, FirstDay: day0, LastDay: day0 + int32(cfg.Rounds) - 1}
	if cfg.SetDay != nil {
		cfg.SetDay(day0)
	}
	s, err := sim.New(sim.Config{Seed: cfg.Seed, Visitors: cfg.Visitors, Items: cfg.Items, Categories: cfg.Categories,
		Days: cfg.Rounds, HoldoutDays: -1, Start: int64(day0) * dayMs})
	if err != nil {
		return nil, fmt.Errorf("loopsim: simulator: %w", err)
	}
	pubSim, err := sim.New(sim.Config{Seed: cfg.Seed + 1000, Visitors: cfg.Public, Items: cfg.Items, Categories: cfg.Categories,
		Days: cfg.Rounds, HoldoutDays: -1, Start: int64(day0) * dayMs})
	if err != nil {
		return nil, fmt.Errorf("loopsim: simulator: %w", err)
	}
	base := fedsim.Base(s.Catalogue(), cfg.Site, 1)
	base.Created = int64(day0)*86400 - 3600
	visitors := s.All()

	// The raw rows, replayed apart from the devices (the same examples the devices take): the
	// public population's set the standardisation, the held-out visitors' are evaluated on, the
	// contributing visitors' fit the central model, with their day for the per-round tally.
	pubRows, err := f.replayAll(ctx, base, pubSim.All(), func(int) bool { return true })
	if err != nil {
		return nil, err
	}
	res.PublicRows = len(pubRows)
	first := fedsim.ZeroModel(base, pubRows)
	held := func(i int) bool { return i%cfg.HeldOutEvery == cfg.HeldOutEvery-1 }
	heldRows, err := f.replayAll(ctx, base, visitors, held)
	if err != nil {
		return nil, err
	}
	trainRows, err := f.replayAll(ctx, base, visitors, func(i int) bool { return !held(i) })
	if err != nil {
		return nil, err
	}
	res.HeldRows, res.TrainRows = len(heldRows), len(trainRows)
	pos := 0.0
	for _, e := range trainRows {
		pos += e.Y
	}
	res.PositiveRate = pos / float64(max(len(trainRows), 1))
	res.ModelFeatures = len(first.Propensity[0].Features)

	if err := f.publishFirst(ctx, first); err != nil {
		return nil, err
	}
	fmt.Fprintf(f.log, "site %q: bundle v%d serves federated model %q at zero weights over %d features (standardised on %d public examples); %d visitors over %d days, 1 in %d held out\n",
		cfg.Site, f.bundle.Version, fedsim.Model, res.ModelFeatures, len(pubRows), cfg.Visitors, cfg.Rounds, cfg.HeldOutEvery)

	devs := make([]device, len(visitors))
	for i := range devs {
		devs[i].last = -2
		devs[i].seed = mix(cfg.Seed ^ mix(uint64(i)+1))
		devs[i].module = f.host != nil && float64(mix(devs[i].seed)>>11)/(1<<53) < cfg.ModuleShare
		if !held(i) {
			res.Contributing++
			if devs[i].module {
				res.ModuleVisitors++
			}
		}
	}
	res.HeldOut = cfg.Visitors - res.Contributing
	for d := range cfg.Rounds {
		day := day0 + int32(d)
		if cfg.SetDay != nil {
			cfg.SetDay(day)
		}
		rd, batches, err := f.day(ctx, visitors, devs, d, day, held)
		if err != nil {
			return nil, err
		}
		st, err := (&loop{cfg: Config{Senders: cfg.Senders, Progress: cfg.Progress}, c: f.c, log: f.log}).send(ctx,
			fmt.Sprintf("day %d/%d", d+1, cfg.Rounds), batches, nil)
		if err != nil {
			return nil, err
		}
		res.Batches += len(batches)
		res.Attempts += st.attempts
		if cfg.SetDay != nil {
			cfg.SetDay(day + 1)
		}
		rep, err := (&loop{cfg: Config{Site: cfg.Site}, c: f.c}).retrain(ctx)
		if err != nil {
			return nil, err
		}
		rd.Outcome = rep.Outcome
		if fr := rep.Fed; fr != nil {
			rd.Fed, rd.DayEps = fr.Outcome, fr.DayEpsilon
			if fr.Outcome != "applied" {
				rd.Reason = fr.Reason
			}
			for _, m := range fr.Models {
				if m.Model == fedsim.Model {
					rd.Noisy = m.NoisyCount
					if !m.Applied && m.Reason != "" {
						rd.Reason = m.Reason
					}
				}
			}
			if fr.Outcome == "applied" {
				res.Applied++
			}
		}
		if err := f.fetch(ctx); err != nil {
			return nil, err
		}
		rd.Next = f.bundle.Version
		if rd.AUC, err = fedsim.AUC(&f.bundle.Propensity[0], heldRows); err != nil {
			return nil, err
		}
		res.Rounds = append(res.Rounds, *rd)
		fmt.Fprintf(f.log, "round %3d  day %s  bundle v%-3d %6d devices (%d in wazero)  %6d batches  → %s, federated %s (noisy count %.0f, day ε %.3f) v%d, held-out AUC %.4f%s\n",
			rd.Round, dayString(day), rd.Bundle, rd.Active, rd.Module, rd.Batches, rd.Outcome, rd.Fed, rd.Noisy, rd.DayEps, rd.Next, rd.AUC, reasonSuffix(rd.Reason))
	}

	res.Version = f.bundle.Version
	fm := f.bundle.Propensity[0]
	if fm.Name != fedsim.Model || fm.Fed == nil {
		return nil, fmt.Errorf("loopsim: the published bundle v%d has no federated model %q", f.bundle.Version, fedsim.Model)
	}
	cm, err := fedsim.Central(ctx, trainRows)
	if err != nil {
		return nil, fmt.Errorf("loopsim: central model: %w", err)
	}
	if res.FedAUC, err = fedsim.AUC(&fm, heldRows); err != nil {
		return nil, err
	}
	if res.CentralAUC, err = fedsim.AUC(&cm, heldRows); err != nil {
		return nil, err
	}
	res.Ratio = res.FedAUC / res.CentralAUC
	if err := f.ledger(ctx, res, day0, day0+int32(cfg.Rounds)); err != nil {
		return nil, err
	}
	return res, nil
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}

func dayString(d int32) string { return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02") }

// replayAll replays the visitors keep selects through fresh agents on b, in cfg.Workers goroutines,
// and returns their raw examples in visitor order.
func (f *fedLoop) replayAll(ctx context.Context, b *models.Bundle, vs []sim.Visitor, keep func(int) bool) ([]fedsim.Example, error) {
	out := make([][]fedsim.Example, len(vs))
	err := parallel(ctx, f.cfg.Workers, len(vs), func(_, i int) error {
		if !keep(i) {
			return nil
		}
		ex, err := fedsim.Replay(b, &vs[i])
		out[i] = ex
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("loopsim: replay: %w", err)
	}
	var all []fedsim.Example
	for _, ex := range out {
		all = append(all, ex...)
	}
	return all, nil
}

// parallel runs fn(worker, i) for i in [0, n) on workers goroutines; the first error stops it.
func parallel(ctx context.Context, workers, n int, fn func(worker, i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	stop := atomic.Bool{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = fn(w, i)
				}
				if err != nil {
					once.Do(func() { first = err })
					stop.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// publishFirst uploads and publishes the first bundle, then reads it back as served.
func (f *fedLoop) publishFirst(ctx context.Context, b *models.Bundle) error {
	code, body, err := f.c.do(ctx, "POST", "/v1/admin/bundles?publish=true&site="+url.QueryEscape(f.cfg.Site), "application/cbor", signing.Sign(b, f.cfg.Key))
	if err != nil {
		return err
	}
	if code != 201 {
		return fmt.Errorf("loopsim: uploading the first bundle: %d %s", code, body)
	}
	return f.fetch(ctx)
}

// fetch gets the bundle served and verifies it; the devices pick it up at their next run.
func (f *fedLoop) fetch(ctx context.Context) error {
	b, env, err := f.c.served(ctx, f.cfg.Site, f.pub)
	if err != nil {
		return err
	}
	if len(b.Propensity) == 0 {
		return fmt.Errorf("loopsim: bundle v%d has no propensity model", b.Version)
	}
	f.bundle, f.env = b, env
	if f.host != nil && b.Version != f.hostVer {
		if _, err := f.host.LoadBundle(ctx, env); err != nil {
			return fmt.Errorf("loopsim: the module refused bundle v%d: %w", b.Version, err)
		}
		f.hostVer = b.Version
	}
	return nil
}

// day runs round d (Unix day) on every device active that day or the day before, and returns
// their non-empty batches.
func (f *fedLoop) day(ctx context.Context, vs []sim.Visitor, devs []device, d int, day int32, held func(int) bool) (*FedRound, []*wire.Batch, error) {
	cfg := f.cfg
	end := (int64(day)+1)*dayMs - 1
	rd := &FedRound{Round: d + 1, Day: day, Bundle: f.bundle.Version}
	agents := make([]*agent.Agent, cfg.Workers)
	for w := range agents {
		agents[w] = agent.New()
		if err := agents[w].SetBundle(f.bundle, int64(day)*dayMs); err != nil {
			return nil, nil, fmt.Errorf("loopsim: the agent refused bundle v%d: %w", f.bundle.Version, err)
		}
	}
	out := make([]*wire.Batch, len(vs))
	var active, module atomic.Int64
	err := parallel(ctx, cfg.Workers, len(vs), func(w, i int) error {
		v, dv := &vs[i], &devs[i]
		if held(i) {
			return nil
		}
		on := dv.next < len(v.Events) && v.Events[dv.next].Time <= end
		if !on && dv.last != d-1 {
			return nil
		}
		active.Add(1)
		var bt *wire.Batch
		var err error
		if dv.module {
			module.Add(1)
			var s *host.Session
			if s, err = f.host.Acquire(ctx); err != nil {
				return err
			}
			bt, err = f.runDay(s, v, dv, end, day)
			s.Release()
		} else {
			bt, err = f.runDay(native{agents[w]}, v, dv, end, day)
		}
		if err != nil {
			return fmt.Errorf("visitor %d, day %s: %w", i, dayString(day), err)
		}
		if on {
			dv.last = d
		}
		if len(bt.Updates) > 0 || len(bt.Cells) > 0 || len(bt.Pairs) > 0 || bt.Customer != 0 || bt.Dropped > 0 {
			out[i] = bt
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("loopsim: %w", err)
	}
	rd.Active, rd.Module = int(active.Load()), int(module.Load())
	batches := make([]*wire.Batch, 0, rd.Active)
	for _, bt := range out {
		if bt != nil {
			batches = append(batches, bt)
		}
	}
	rd.Batches = len(batches)
	return rd, batches, nil
}

// drainSeed is the batch id's seed of a device's drain on day: fresh per run, per visitor and day.
func (f *fedLoop) drainSeed(dv *device, day int32) uint64 {
	return mix(dv.seed ^ f.nonce ^ uint64(day)<<1)
}

// deviceRun is what a day of one device needs: the native agent or a module session.
type deviceRun interface {
	LoadProfile(data []byte, seed uint64) error
	Handle(req *wire.Request) (*wire.Answer, error)
	Drain(now int64, seed uint64) (*wire.Batch, error)
	SaveProfile() ([]byte, error)
}

// native adapts the agent to deviceRun.
type native struct{ *agent.Agent }

func (n native) Drain(now int64, seed uint64) (*wire.Batch, error) {
	return n.Agent.Drain(now, seed), nil
}
func (n native) SaveProfile() ([]byte, error) { return n.Agent.SaveProfile(nil), nil }

// runDay runs the visitor's events of the day (up to end) on dev, drains it at end and keeps its
// profile.
func (f *fedLoop) runDay(dev deviceRun, v *sim.Visitor, dv *device, end int64, day int32) (*wire.Batch, error) {
	if err := dev.LoadProfile(dv.profile, dv.seed); err != nil && dv.profile != nil {
		return nil, err
	}
	for dv.next < len(v.Events) && v.Events[dv.next].Time <= end {
		e := v.Events[dv.next : dv.next+1]
		if _, err := dev.Handle(&wire.Request{Now: e[0].Time, Seed: dv.seed + uint64(dv.next), Events: e}); err != nil {
			return nil, err
		}
		dv.next++
	}
	bt, err := dev.Drain(end, f.drainSeed(dv, day))
	if err != nil {
		return nil, err
	}
	if dv.profile, err = dev.SaveProfile(); err != nil {
		return nil, err
	}
	return bt, nil
}

// ledger reads the server's privacy ledger over the run's days.
func (f *fedLoop) ledger(ctx context.Context, res *FedResult, from, to int32) error {
	var v struct {
		Epsilon, Delta float64
		Days           []struct {
			Day     string  `json:"day"`
			Rounds  int64   `json:"rounds"`
			Epsilon float64 `json:"epsilon"`
		} `json:"days"`
		TotalEpsilon float64 `json:"total_epsilon"`
	}
	q := url.Values{"site": {f.cfg.Site}, "from": {dayString(from)}, "to": {dayString(to)}}
	code, body, err := f.c.doJSON(ctx, "GET", "/v1/admin/privacy?"+q.Encode(), nil, &v)
	if err != nil {
		return err
	}
	if code != 200 {
		return fmt.Errorf("loopsim: GET /v1/admin/privacy: %d %s", code, body)
	}
	res.Epsilon, res.Delta, res.TotalEpsilon, res.LedgerDays = v.Epsilon, v.Delta, v.TotalEpsilon, len(v.Days)
	for _, d := range v.Days {
		res.MaxDayEpsilon = max(res.MaxDayEpsilon, d.Epsilon)
	}
	if res.LedgerDays == 0 && res.Applied > 0 {
		return errors.New("loopsim: rounds were applied but the privacy ledger is empty")
	}
	return nil
}
