package store

import (
	"context"
	"errors"
	"time"

	"github.com/presage-dev/presage/agent/wire"
)

// Errors of the store. Methods wrap them with context; test with errors.Is.
var (
	// ErrNotFound: no campaign, bundle or publication matches.
	ErrNotFound = errors.New("store: not found")

	// ErrExists: a campaign or bundle with the same key is already stored.
	ErrExists = errors.New("store: already exists")

	// ErrConflict: the row changed since it was read (a campaign's revision), or a concurrent
	// publication took the same sequence number. Read again and retry.
	ErrConflict = errors.New("store: conflict")

	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")

	// ErrBudget: a federated round would take a day's privacy spending past its budget; nothing
	// was charged.
	ErrBudget = errors.New("store: the day's privacy budget would be exceeded")
)

// Store is the sync server's storage. Two backends implement it with one schema: SQLite in a data
// folder (the embedded default) and PostgreSQL (several server nodes sharing one database). Every
// method is safe for concurrent use, also from several processes sharing the database.
type Store interface {
	// Ingest counts batches in one transaction and returns once that transaction is durable
	// (fsynced). fresh[i] reports whether batches[i] was counted now; false means a batch with
	// its id (and day: a retry is the same bytes) was counted before, or earlier in the same
	// call, and its cells were not added again. The caller checks batches first (CheckBatch). On
	// error nothing of the call is counted.
	Ingest(ctx context.Context, batches []*wire.Batch) (fresh []bool, err error)

	// PruneBatches forgets the ids of batches whose day is before day, and reports how many. A
	// batch id is only needed while its batch may still be retried; the server refuses batches
	// older than its dedup window, so it prunes with the same bound.
	PruneBatches(ctx context.Context, before int32) (int64, error)

	// Totals sums the ingest counters of a site over days [from, to].
	Totals(ctx context.Context, site string, from, to int32) (Totals, error)

	// Report sums the learning cells of a site over days [from, to] per campaign × variant ×
	// segment, and leaves out every cell to which fewer than q.K batches contributed.
	Report(ctx context.Context, q ReportQuery) (*Report, error)

	// FedUpdates reads the model updates stored for a site's bundle version over days [from, to],
	// summed per day × model × share (FedUpdate), ordered by day, model and share. The caller
	// applies its k-anonymity threshold to Batches.
	FedUpdates(ctx context.Context, site string, bundle uint64, from, to int32) ([]FedUpdate, error)
	// ChargePrivacy charges one federated round of ρ (zCDP) to a site's day, atomically with the
	// check that the day's total stays within budget (a relative slack of 1e-9, as sync/fed's
	// accountant), and returns the day's ledger after the charge. ErrBudget, and nothing charged,
	// when it would not. Several nodes charging the same day at once cannot pass the budget.
	ChargePrivacy(ctx context.Context, site string, day int32, rho, budget float64) (LedgerDay, error)
	// PrivacyLedger lists a site's ledger over days [from, to] by day; days without a round are
	// absent.
	PrivacyLedger(ctx context.Context, site string, from, to int32) ([]LedgerDay, error)

	// Pairs sums the co-occurrence pairs of a site's share over days [q.From, q.To] and leaves
	// out every pair fewer than q.K batches listed (summaries.go), ordered by A, B.
	Pairs(ctx context.Context, q SummaryQuery) ([]PairCount, error)
	// CustomerCells sums the customer-summary histogram likewise, ordered by cell.
	CustomerCells(ctx context.Context, q SummaryQuery) ([]CellCount, error)

	// CreateCampaign stores a new campaign with revision 1 and sets c.Revision, c.Created and
	// c.Updated. ErrExists if (c.Site, c.ID) is taken.
	CreateCampaign(ctx context.Context, c *Campaign) error
	// UpdateCampaign replaces a campaign. c.Revision must be the stored revision (ErrConflict
	// otherwise); on success it is incremented and c.Updated set. ErrNotFound if absent.
	UpdateCampaign(ctx context.Context, c *Campaign) error
	// Campaign reads one campaign; ErrNotFound if absent.
	Campaign(ctx context.Context, site, id string) (*Campaign, error)
	// Campaigns lists a site's campaigns by id.
	Campaigns(ctx context.Context, site string) ([]*Campaign, error)
	// DeleteCampaign removes a campaign; ErrNotFound if absent. Its learning cells are kept.
	DeleteCampaign(ctx context.Context, site, id string) error

	// AddBundle stores a signed bundle; ErrExists if (b.Site, b.Version) is taken. The caller has
	// verified the signature.
	AddBundle(ctx context.Context, b *Bundle) error
	// Bundle reads one bundle, envelope included; ErrNotFound if absent.
	Bundle(ctx context.Context, site string, version uint64) (*Bundle, error)
	// Bundles lists a site's bundles by version, without their envelopes.
	Bundles(ctx context.Context, site string) ([]*Bundle, error)
	// MaxVersion is the highest bundle version stored for a site, 0 if none.
	MaxVersion(ctx context.Context, site string) (uint64, error)
	// MaxPublished is the highest bundle version ever published for a site, 0 if none: devices
	// may run any version up to it, and refuse anything older.
	MaxPublished(ctx context.Context, site string) (uint64, error)
	// Publish makes a stored bundle the site's current one, appending to the publication history.
	// ErrNotFound if the bundle is absent; ErrConflict if a concurrent Publish won the race.
	Publish(ctx context.Context, site string, version uint64, at time.Time) error
	// Current is the site's current publication, without the envelope; ErrNotFound if none.
	Current(ctx context.Context, site string) (Publication, error)
	// Publications is a site's publication history, newest first, at most limit entries.
	Publications(ctx context.Context, site string, limit int) ([]Publication, error)

	// Setting reads a named value; ErrNotFound if unset.
	Setting(ctx context.Context, name string) (string, error)
	// SetSetting writes a named value, replacing any.
	SetSetting(ctx context.Context, name, value string) error
	// InitSetting writes value unless the name is set, and returns the stored value and whether
	// it was this call that wrote it. Nodes starting together agree on one value this way.
	InitSetting(ctx context.Context, name, value string) (stored string, created bool, err error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Backend names the backend: "sqlite" or "postgres".
	Backend() string
	// Close releases the database. Ingest calls that have returned stay durable.
	Close() error
}

// Totals are ingest counters summed over days.
type Totals struct {
	Batches int64 `json:"batches"` // batches counted (duplicates excluded)
	Cells   int64 `json:"cells"`   // cells those batches carried
	Dropped int64 `json:"dropped"` // learning the devices could not keep
}

// ReportQuery selects the cells of a report.
type ReportQuery struct {
	Site     string
	Campaign string // "" = every campaign
	From, To int32  // Unix days, inclusive
	// K is the k-anonymity threshold: a cell is reported only when at least K batches contributed
	// to it. It must be at least 1.
	K int64
}

// Report is the learning of a site over a range of days.
type Report struct {
	Cells      []ReportCell `json:"cells"`
	Suppressed int          `json:"suppressed"` // cells left out by the threshold (their numbers are not given)
}

// ReportCell is one campaign × variant × segment, summed over days and bundle versions.
type ReportCell struct {
	Campaign    string  `json:"campaign"`
	Variant     string  `json:"variant"` // "" is the holdout group
	Segment     string  `json:"segment"` // "" when no segment matched
	Batches     int64   `json:"batches"`
	Exposures   int64   `json:"exposures"`
	Conversions int64   `json:"conversions"`
	Revenue     float64 `json:"revenue"`
	// The second moments of each batch's revenue y and exposures n in the cell, summed: Σy², Σn²,
	// Σy·n, over Moments batches (fewer than Batches when some were stored before these sums were
	// kept, and then revenue gets no interval). A device's batch is the unit of the variance.
	RevenueSq        float64 `json:"revenue_sq"`
	ExposuresSq      float64 `json:"exposures_sq"`
	RevenueExposures float64 `json:"revenue_exposures"`
	Moments          int64   `json:"moments"`
}

// FedUpdate is the sum of the stored updates to one federated model of one bundle version, over
// the batches of one day and one share.
type FedUpdate struct {
	Day      int32     `json:"day"`
	Model    string    `json:"model"`
	HeldBack bool      `json:"held_back"` // the held-back share (HeldBack of the batch id)
	Batches  int64     `json:"batches"`   // batches that contributed
	Visitors int64     `json:"visitors"`  // Σ Count: visitor-days (raw, not for publication)
	Sum      []float64 `json:"-"`         // Σ of the clipped updates, bias first
}

// LedgerDay is the privacy spent on the visitors of one day of one site: the federated rounds
// charged to the day's updates and their total ρ (zCDP).
type LedgerDay struct {
	Site   string  `json:"site"`
	Day    int32   `json:"day"`
	Rounds int64   `json:"rounds"`
	Rho    float64 `json:"rho"`
}

// Bundle is one stored signed bundle.
type Bundle struct {
	Site       string    `json:"site"`
	Version    uint64    `json:"version"`
	Envelope   []byte    `json:"-"` // the signed bytes, exactly as served
	SHA256     string    `json:"sha256"`
	KeyID      string    `json:"key_id"` // hex
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires,omitzero"` // zero: never
	Added      time.Time `json:"added"`
	Source     string    `json:"source"` // SourceUpload, SourceRollback, SourceTrain
	RollbackOf uint64    `json:"rollback_of,omitempty"`
	Size       int64     `json:"size"`
}

// Sources of a bundle.
const (
	SourceUpload   = "upload"   // uploaded through the admin API or `presage serve -bundle`
	SourceRollback = "rollback" // an older bundle's content re-signed under a new version
	SourceTrain    = "train"    // trained by the server (issue 4, section 2)
)

// Publication is one entry of a site's publication history.
type Publication struct {
	Site    string    `json:"site"`
	Seq     int64     `json:"seq"`
	Version uint64    `json:"version"`
	SHA256  string    `json:"sha256"`
	At      time.Time `json:"at"`
}

// Day is the Unix day of t, the unit in which the store keeps time.
func Day(t time.Time) int32 { return int32(t.Unix() / 86400) }
