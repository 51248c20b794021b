package learn

import (
	"bytes"
	"cmp"
	"fmt"
	"math"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/store"
)

// DeviceConfig tunes what retraining learns from the devices' summaries (cooc.go, clv.go). The
// zero value gets the defaults.
type DeviceConfig struct {
	// MinPairs is the training evidence the neighbour table needs: pair counts, after the
	// k-anonymity threshold, that map to catalogue items. Default 1,000.
	MinPairs int64
	// MinCustomers is the training evidence the value model needs: customer summaries in cells
	// over the k-anonymity threshold. Default 500.
	MinCustomers int64
	// MinHeld is the held-back evidence either check needs (pair counts, customers); below it
	// nothing is replaced. Default 50 (the k-anonymity threshold's default).
	MinHeld int64
	// K is the k-anonymity threshold of customer cells (MakeHistogram). Default 50.
	K int64
	// Shrink is the cosine's shrink term (NeighboursFromPairs). Default 10.
	Shrink float64
	// Tolerance, in standard errors, is how much worse than the serving model on held-back
	// evidence a candidate may look before it is refused. Default 2.
	Tolerance float64
}

func (c DeviceConfig) withDefaults() DeviceConfig {
	c.MinPairs = cmp.Or(c.MinPairs, 1000)
	c.MinCustomers = cmp.Or(c.MinCustomers, 500)
	c.MinHeld = cmp.Or(c.MinHeld, 50)
	c.K = cmp.Or(c.K, 50)
	c.Shrink = cmp.Or(c.Shrink, 10)
	c.Tolerance = cmp.Or(c.Tolerance, 2)
	return c
}

// Outcomes of a device-learning step.
const (
	DeviceReplaced = "replaced" // the candidate replaces the bundle's model
	DeviceKept     = "kept"     // not enough evidence, or nothing changed
	DeviceRefused  = "refused"  // worse on held-back evidence, or invalid
)

// DeviceStep is what one device-learning step (neighbours or value model) concluded.
type DeviceStep struct {
	Model    string  `json:"model"` // "neighbours" or "value"
	Outcome  string  `json:"outcome"`
	Reason   string  `json:"reason,omitempty"`
	Evidence int64   `json:"evidence"`  // training pairs or customers used
	HeldBack int64   `json:"held_back"` // held-back pairs or customers
	Current  float64 `json:"current"`   // held-back hit rate, or mean log-likelihood, of the serving model
	New      float64 `json:"new"`       // the same of the candidate
}

// enough records the evidence and reports whether there is enough of it; if not, it says why.
func (st *DeviceStep) enough(what string, train, held, minTrain, minHeld int64) bool {
	st.Evidence, st.HeldBack = train, held
	switch {
	case train < minTrain:
		st.Reason = fmt.Sprintf("%d training %s, fewer than %d", train, what, minTrain)
	case held < minHeld:
		st.Reason = fmt.Sprintf("%d held-back %s, fewer than %d", held, what, minHeld)
	default:
		return true
	}
	return false
}

// RetrainNeighbours rebuilds base's neighbour table from the training share's pairs and checks it
// on the held-back share's: the candidate is refused when its held-back hit rate (HitRate) is
// below the serving table's by more than Tolerance standard errors. It returns the new table
// when it replaces base's, else nil. Pairs must already be past the k-anonymity threshold.
func RetrainNeighbours(base *models.Bundle, train, held []store.PairCount, cfg DeviceConfig) (*models.Neighbours, DeviceStep) {
	cfg = cfg.withDefaults()
	st := DeviceStep{Model: "neighbours", Outcome: DeviceKept}
	if base.Neighbours == nil || len(base.Items) == 0 {
		st.Reason = "the bundle has no neighbour table"
		return nil, st
	}
	tr, hb := MapPairs(base.Items, train), MapPairs(base.Items, held)
	if !st.enough("pairs", tr.Total, hb.Total, cfg.MinPairs, cfg.MinHeld) {
		return nil, st
	}
	cand := NeighboursFromPairs(tr, len(base.Items), int(base.Neighbours.K), cfg.Shrink, base.Neighbours)
	st.Current, _ = HitRate(base.Neighbours, hb)
	st.New, _ = HitRate(cand, hb)
	se := math.Sqrt((st.Current*(1-st.Current) + st.New*(1-st.New)) / float64(hb.Total))
	switch {
	case st.New < st.Current-cfg.Tolerance*se:
		st.Outcome, st.Reason = DeviceRefused, "the rebuilt table lists fewer held-back co-occurrences"
		return nil, st
	case bytes.Equal(cand.Index, base.Neighbours.Index) && bytes.Equal(cand.Weight, base.Neighbours.Weight) && cand.Scale == base.Neighbours.Scale:
		st.Reason = "the rebuilt table is the serving one"
		return nil, st
	}
	st.Outcome = DeviceReplaced
	return cand, st
}
