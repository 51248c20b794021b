package server

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/presage-dev/presage/sync/fed"
)

// Defaults of a [Config]: what its zero fields mean.
const (
	// DefaultMaxBodyBytes bounds a batch's body. The agent's batches are a few hundred bytes (at
	// most 32 cells); 64 KiB leaves room for growth and stops a client from making the server
	// buffer megabytes per request.
	DefaultMaxBodyBytes = 64 << 10

	// DefaultRate and DefaultBurst bound the batches one client address may send: a visitor's
	// agent sends one per page hide, so ten per second with a burst of fifty is generous for a
	// person and small for a script.
	DefaultRate  = 10
	DefaultBurst = 50

	// DefaultKAnonymity is the smallest number of batches a reported cell must have: below it a
	// cell could describe a handful of visitors.
	DefaultKAnonymity = 50

	// DefaultDedupDays is how long batch ids are kept to recognise retries; batches older than
	// that are refused (see store.CheckBatch).
	DefaultDedupDays = 7

	// DefaultQueueSize is how many decoded batches may wait for the committer; past it handlers
	// wait, which slows clients down instead of growing memory.
	DefaultQueueSize = 8192

	// DefaultMaxGroup bounds one group commit, so that one transaction stays short.
	DefaultMaxGroup = 2048

	// DefaultCommitTimeout bounds one group commit; a store that does not answer within it fails
	// the group with 503 and the agents retry.
	DefaultCommitTimeout = 10 * time.Second

	// DefaultBundleMaxAge is the Cache-Control max-age of the bundle: how long a CDN or browser may
	// serve it without asking, hence how long a publication or rollback takes to reach everyone.
	DefaultBundleMaxAge = 60 * time.Second

	// DefaultBundleRefresh is how often a node re-reads the current bundle from the store, so
	// that a publication on another node sharing the database is served within it.
	DefaultBundleRefresh = 5 * time.Second

	// DefaultMaxBundleBytes bounds an uploaded bundle. The budget bundle of the foundation issue is
	// about 1 MiB.
	DefaultMaxBundleBytes = 32 << 20

	// GCPercent is the GOGC that `presage serve` sets when GOGC is not in its environment: the
	// server's live heap is small and its garbage is per request, so collecting at 5× the live heap
	// instead of 2× trades a few megabytes for about a tenth of the CPU of ingest (measured with
	// BenchmarkIngest).
	GCPercent = 400

	// DefaultMaxRateClients bounds the rate limiter's memory: past it, idle clients are forgotten.
	DefaultMaxRateClients = 100_000
)

// Config configures a [Server]. Zero fields take the documented defaults, so Config{} with an
// AdminTokenHash is a working server; New validates everything at once.
type Config struct {
	// AdminTokenHash is the SHA-256 of the admin API's bearer token (see InitAdminToken). Required:
	// the admin API is never open.
	AdminTokenHash []byte

	// Origins are the site origins ("https://shop.example") whose pages may post batches from a
	// browser; "*" allows any. A request with another Origin header is refused (403); requests
	// without one (edge workers, servers) are not browser requests and are accepted.
	Origins []string

	// MaxBodyBytes bounds a batch's body (413 above). 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Rate and Burst bound batches per second per client address (429 above). 0 means the
	// defaults; a negative Rate turns rate limiting off (benchmarks, trusted networks).
	Rate  float64
	Burst int
	// ClientIPHeader names a header set by a trusted reverse proxy that holds the client's address
	// (e.g. "X-Forwarded-For", whose last entry is used, or "CF-Connecting-IP"). Empty: the
	// connection's address. Never set it without such a proxy: clients could pick their own key.
	ClientIPHeader string
	// MaxRateClients bounds the clients the rate limiter remembers. 0 means DefaultMaxRateClients.
	MaxRateClients int

	// KAnonymity is the smallest number of batches a reported cell must have. 0 means
	// DefaultKAnonymity; an admin may ask for more, never less.
	KAnonymity int64
	// DedupDays is the retry window in days. 0 means DefaultDedupDays.
	DedupDays int32

	// QueueSize, MaxGroup and CommitTimeout tune group commit; 0 means the defaults.
	QueueSize     int
	MaxGroup      int
	CommitTimeout time.Duration
	// Committers is the number of group-commit goroutines. 0 means 1, right for SQLite (one
	// writer at a time); PostgreSQL overlaps the fsync of one group with the next with 2 or more.
	Committers int

	// BundleMaxAge and BundleRefresh: see the defaults. MaxBundleBytes bounds uploads.
	BundleMaxAge   time.Duration
	BundleRefresh  time.Duration
	MaxBundleBytes int64

	// TrustedKeys verify uploaded bundles; SigningKey's public half is trusted too. With no key at
	// all, uploads are refused: a server never serves a bundle it cannot vouch for.
	TrustedKeys []ed25519.PublicKey
	// SigningKey, optional, lets the server re-sign an older bundle under a new version for a
	// rollback (devices refuse a bundle older than the one they run).
	SigningKey ed25519.PrivateKey

	// Retrain schedules retraining (see RetrainConfig); the zero value retrains only when asked.
	Retrain RetrainConfig

	// Wasm, if set, is served as /v1/presage.wasm.
	Wasm []byte

	// Logger receives structured logs; nil means slog.Default(). Logs never hold a client's
	// address or user agent.
	Logger *slog.Logger
	// Registerer receives the server's metrics and Gatherer serves them on /metrics; nil means a
	// new registry with the Go and process collectors (so that several servers in one process,
	// as in tests, do not collide).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer

	// Now is the clock; nil means time.Now. Tests move it.
	Now func() time.Time
}

// orDefault sets *p to def when it is zero or negative: the zero Config means the defaults.
func orDefault[T int | int32 | int64 | time.Duration](p *T, def T) {
	if *p <= 0 {
		*p = def
	}
}

// withDefaults returns c with its zero fields set and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if len(c.AdminTokenHash) != 32 {
		return c, errors.New("server: config: AdminTokenHash must be a SHA-256 (32 bytes); see InitAdminToken")
	}
	for _, o := range c.Origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return c, fmt.Errorf("server: config: origin %q: want scheme://host[:port], such as https://shop.example", o)
		}
	}
	if c.Rate > 0 && c.Burst < 0 {
		return c, fmt.Errorf("server: config: burst %d is negative", c.Burst)
	}
	orDefault(&c.MaxBodyBytes, DefaultMaxBodyBytes)
	orDefault(&c.KAnonymity, DefaultKAnonymity)
	orDefault(&c.MaxBundleBytes, DefaultMaxBundleBytes)
	orDefault(&c.Burst, DefaultBurst)
	orDefault(&c.MaxRateClients, DefaultMaxRateClients)
	orDefault(&c.DedupDays, DefaultDedupDays)
	orDefault(&c.QueueSize, DefaultQueueSize)
	orDefault(&c.MaxGroup, DefaultMaxGroup)
	orDefault(&c.Committers, 1)
	orDefault(&c.CommitTimeout, DefaultCommitTimeout)
	orDefault(&c.BundleMaxAge, DefaultBundleMaxAge)
	orDefault(&c.BundleRefresh, DefaultBundleRefresh)
	orDefault(&c.Retrain.WindowDays, 14)
	orDefault(&c.Retrain.HoldBackDays, 1)
	if c.Retrain.HoldBackDays >= c.Retrain.WindowDays {
		return c, fmt.Errorf("server: config: retraining holds back %d of a %d-day window: nothing left to train on", c.Retrain.HoldBackDays, c.Retrain.WindowDays)
	}
	if _, err := fed.NewTrainer(c.Retrain.Fed, rand.New(rand.NewPCG(0, 0))); err != nil {
		return c, fmt.Errorf("server: config: federated rounds: %w", err)
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SigningKey != nil {
		if len(c.SigningKey) != ed25519.PrivateKeySize {
			return c, errors.New("server: config: SigningKey is not an ed25519 private key")
		}
		c.TrustedKeys = append(append([]ed25519.PublicKey(nil), c.TrustedKeys...), c.SigningKey.Public().(ed25519.PublicKey))
	}
	c.ClientIPHeader = strings.TrimSpace(c.ClientIPHeader)
	return c, nil
}
