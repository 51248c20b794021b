package store

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/presage-dev/presage/agent/wire"
)

// Limits of a batch, checked by CheckBatch before anything is counted. They are well above what
// the agent sends (16-byte ids, at most 32 cells) and low enough that one batch cannot swell the
// store: they bound the work and the rows one request can cause.
const (
	MinBatchID   = 8    // bytes; the agent draws 16 random bytes
	MaxBatchID   = 64   // bytes
	MaxCells     = 1024 // cells in one batch
	MaxName      = 128  // bytes of a site, campaign, variant or segment name
	MaxCellCount = 1 << 20
	// MaxCellRevenue bounds one cell's revenue: a device that claims more is broken or lying, and
	// one such batch must not dominate a campaign's revenue.
	MaxCellRevenue = 1e9
	// MaxUpdates bounds the model updates of one batch (one per federated model of the bundle),
	// and MaxUpdateLen the length of each (1 + the model's features).
	MaxUpdates   = 16
	MaxUpdateLen = 1024
)

// ErrBadBatch is wrapped by every error of CheckBatch.
var ErrBadBatch = errors.New("bad batch")

// CheckBatch reports whether a decoded batch may be counted: sizes within the limits, names valid
// UTF-8 without control characters, counts and revenue in range, the bundle version storable, and
// the day within [today-window+1, today+1]. A day older than the window is refused rather than
// counted because the ids of older batches are pruned (see Store.PruneBatches): counting it could
// count a retry twice. One day ahead is tolerated for devices whose clock runs early.
func CheckBatch(b *wire.Batch, today int32, window int32) error {
	switch {
	case len(b.ID) < MinBatchID || len(b.ID) > MaxBatchID:
		return fmt.Errorf("%w: id is %d bytes, want %d to %d", ErrBadBatch, len(b.ID), MinBatchID, MaxBatchID)
	case len(b.Cells) > MaxCells:
		return fmt.Errorf("%w: %d cells, at most %d", ErrBadBatch, len(b.Cells), MaxCells)
	case b.Bundle > math.MaxInt64:
		return fmt.Errorf("%w: bundle version %d out of range", ErrBadBatch, b.Bundle)
	case b.Day > today+1:
		return fmt.Errorf("%w: day %d is in the future (today is %d): check the device clock", ErrBadBatch, b.Day, today)
	case b.Day <= today-window:
		return fmt.Errorf("%w: day %d is older than the %d-day window (today is %d)", ErrBadBatch, b.Day, window, today)
	}
	if err := checkName("site", b.Site, true); err != nil {
		return err
	}
	for i := range b.Cells {
		c := &b.Cells[i]
		if c.Campaign == "" {
			return fmt.Errorf("%w: cells[%d]: empty campaign", ErrBadBatch, i)
		}
		for _, f := range [...]struct{ what, s string }{{"campaign", c.Campaign}, {"variant", c.Variant}, {"segment", c.Segment}} {
			if err := checkName(f.what, f.s, true); err != nil {
				return fmt.Errorf("cells[%d]: %w", i, err)
			}
		}
		switch {
		case c.Exposures > MaxCellCount || c.Conversions > MaxCellCount:
			return fmt.Errorf("%w: cells[%d]: count above %d", ErrBadBatch, i, MaxCellCount)
		case math.IsNaN(c.Revenue) || c.Revenue < 0 || c.Revenue > MaxCellRevenue:
			return fmt.Errorf("%w: cells[%d]: revenue %v not in [0, %g]", ErrBadBatch, i, c.Revenue, float64(MaxCellRevenue))
		}
	}
	if err := checkSummaries(b); err != nil { // summaries.go
		return err
	}
	return checkUpdates(b.Updates)
}

// checkUpdates bounds a batch's model updates: how many, their names and lengths, finite values,
// a Count of 0 or 1, no model twice. Whether they fit the bundle is the server's check
// (fed.CheckUpdates); the store only makes sure they can be summed.
func checkUpdates(us []wire.ModelUpdate) error {
	if len(us) > MaxUpdates {
		return fmt.Errorf("%w: %d model updates, at most %d", ErrBadBatch, len(us), MaxUpdates)
	}
	for i, u := range us {
		if err := checkName("model", u.Model, false); err != nil {
			return fmt.Errorf("updates[%d]: %w", i, err)
		}
		if len(u.Sum) == 0 || len(u.Sum) > MaxUpdateLen || u.Count > 1 {
			return fmt.Errorf("%w: updates[%d]: %d values (1 to %d) and count %d (0 or 1)", ErrBadBatch, i, len(u.Sum), MaxUpdateLen, u.Count)
		}
		for _, v := range u.Sum {
			if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
				return fmt.Errorf("%w: updates[%d]: a value is not finite", ErrBadBatch, i)
			}
		}
		for _, w := range us[:i] {
			if w.Model == u.Model {
				return fmt.Errorf("%w: updates[%d]: model %q twice", ErrBadBatch, i, u.Model)
			}
		}
	}
	return nil
}

// checkName refuses names too long, with control characters, or invalid UTF-8 (the decoder
// already refuses the latter; names also come from JSON).
func checkName(what, s string, emptyOK bool) error {
	switch {
	case s == "" && !emptyOK:
		return fmt.Errorf("%w: empty %s", ErrBadBatch, what)
	case len(s) > MaxName:
		return fmt.Errorf("%w: %s is %d bytes, at most %d", ErrBadBatch, what, len(s), MaxName)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrBadBatch, what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s %q has a control character", ErrBadBatch, what, s)
		}
	}
	return nil
}
