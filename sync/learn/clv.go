package learn

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/train"
	"github.com/presage-dev/presage/sync/store"
)

// The value model (BG/NBD and Gamma-Gamma) refitted from the devices' customer-summary histogram
// (wire.Batch.Customer, merged by the store).
//
// What a device reveals: with full consent and at least one order, once per week, one histogram
// cell of coarse bins of (repeat orders, weeks from first to last order, weeks since the first
// order, mean order value) (wire.CustomerCell), in a batch with no identifier. The server keeps
// only the number of summaries per cell per day and share, and uses no cell with fewer than k
// summaries over the window. A week's histogram counts each contributing visitor once: visitors
// who drained that week, which leans towards customers still active (those who never come back
// never send), a bias the central fit on the full transaction log does not have.

// Histogram is customer summaries made k-anonymous, as two marginals: (x, t_x, T) for BG/NBD and
// (x, mean spend) for Gamma-Gamma, each a list of bin representatives with counts of at least k.
type Histogram struct {
	BG      []train.Customer // BG/NBD cells' representatives, in weeks
	BGCount []int64
	GGX     []float64 // Gamma-Gamma cells' representatives: repeat orders and mean spend
	GGSpend []float64
	GGCount []int64
	Total   int64 // summaries in BG's cells
}

// binRep is the representative of bins [i, j] of a coordinate (wire.BinRange): the middle, for
// spend the geometric middle; an open last bin takes its lower bound × 1.2 (x: + 4).
func binRep(coord, i, j int) float64 {
	lo, _ := wire.BinRange(coord, i)
	_, hi := wire.BinRange(coord, j)
	switch {
	case coord == 0 && hi-lo == 1:
		return lo // x is exact below 8
	case hi < 0 && coord == 0:
		return lo + 4
	case hi < 0:
		return lo * 1.2
	case coord == 2 && lo == 0:
		return hi * 0.6
	case coord == 2:
		return math.Sqrt(lo * hi)
	}
	return (lo + hi) / 2
}

// maxLevel is the coarsest generalisation: bins merged by 2^maxLevel.
const maxLevel = 3

// generalise makes cells k-anonymous by coarsening (Samarati & Sweeney 1998): a cell with fewer
// than k summaries is merged with its neighbours into bins twice as wide, level by level, and a
// merged cell with at least k summaries is used at the merged bins' representative; what is still
// under k at the coarsest level is left out. key maps a cell to its bins; emit receives a merged
// cell (bins >> level) with its count.
func generalise(cells map[[3]int]int64, k int64, emit func(bins [3]int, level int, n int64)) {
	for level := 0; level <= maxLevel && len(cells) > 0; level++ {
		groups := map[[3]int]int64{}
		for b, n := range cells {
			groups[[3]int{b[0] >> level, b[1] >> level, b[2] >> level}] += n
		}
		rest := map[[3]int]int64{}
		for b, n := range cells {
			if groups[[3]int{b[0] >> level, b[1] >> level, b[2] >> level}] < max(k, 1) {
				rest[b] = n
			}
		}
		keys := make([][3]int, 0, len(groups))
		for g, n := range groups {
			if n >= max(k, 1) {
				keys = append(keys, g)
			}
		}
		slices.SortFunc(keys, func(a, b [3]int) int {
			return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]), cmp.Compare(a[2], b[2]))
		})
		for _, g := range keys {
			emit(g, level, groups[g])
		}
		cells = rest
	}
}

// MakeHistogram reads the store's cells (not thresholded: the k-anonymity threshold k is applied
// here, on the merged cells that are used); cells out of range are left out.
func MakeHistogram(cells []store.CellCount, k int64) Histogram {
	bg, gg := map[[3]int]int64{}, map[[3]int]int64{}
	for _, c := range cells {
		xb, txb, tb, sb, ok := wire.CustomerBins(c.Cell)
		if !ok || c.Batches <= 0 {
			continue
		}
		bg[[3]int{xb, txb, tb}] += c.Batches
		if xb > 0 {
			gg[[3]int{xb, sb, 0}] += c.Batches
		}
	}
	var h Histogram
	rep := func(coord, b, level int, last int) float64 {
		return binRep(coord, b<<level, min((b+1)<<level-1, last))
	}
	generalise(bg, k, func(b [3]int, level int, n int64) {
		x, tx, t := rep(0, b[0], level, wire.NumXBins-1), rep(1, b[1], level, wire.NumWeekBins-1), rep(1, b[2], level, wire.NumWeekBins-1)
		if x == 0 {
			tx = 0
		}
		h.BG = append(h.BG, train.Customer{X: x, Tx: min(tx, t), T: t})
		h.BGCount = append(h.BGCount, n)
		h.Total += n
	})
	generalise(gg, k, func(b [3]int, level int, n int64) {
		h.GGX = append(h.GGX, max(1, rep(0, b[0], level, wire.NumXBins-1)))
		h.GGSpend = append(h.GGSpend, rep(2, b[1], level, wire.NumSpendBins-1))
		h.GGCount = append(h.GGCount, n)
	})
	return h
}

// repeat lists each value count[i] times: the likelihood with integer weights is exactly the
// likelihood of the repeated customers, so the central fitters serve unchanged.
func repeat[T any](v []T, count []int64) []T {
	var out []T
	for i, c := range count {
		for range c {
			out = append(out, v[i])
		}
	}
	return out
}

// FitHistogram fits BG/NBD on h's (x, t_x, T) cells and Gamma-Gamma on its (x, spend) cells
// (weighted likelihood over the bins' representatives), keeping base's horizon and unit. When the
// Gamma-Gamma fit fails (it is the more fragile on binned spend), base's spend model is kept.
func FitHistogram(h Histogram, base *models.Value) (*models.Value, error) {
	r, alpha, a, b, _, err := train.FitBGNBD(repeat(h.BG, h.BGCount))
	if err != nil {
		return nil, err
	}
	v := &models.Value{R: r, Alpha: alpha, A: a, B: b, Horizon: 52, UnitDays: 7}
	if base != nil {
		v.Horizon, v.UnitDays = base.Horizon, base.UnitDays
	}
	if v.P, v.Q, v.Gamma, err = train.FitGammaGamma(repeat(h.GGX, h.GGCount), repeat(h.GGSpend, h.GGCount)); err != nil {
		if base == nil || base.Q == 0 {
			return nil, err
		}
		v.P, v.Q, v.Gamma = base.P, base.Q, base.Gamma // the spend model stays the serving one
	}
	for _, p := range []float64{v.R, v.Alpha, v.A, v.B, v.P, v.Q, v.Gamma} {
		if !(p > 0) || math.IsInf(p, 0) {
			return nil, errors.New("learn: value: a fitted parameter is not a positive number")
		}
	}
	if v.Q <= 1 {
		return nil, fmt.Errorf("learn: value: Gamma-Gamma q = %g ≤ 1: the expected spend is not finite", v.Q)
	}
	return v, nil
}

// cellLL stores in w the BG/NBD log-likelihood of each of h's BG cells under v.
func cellLL(h Histogram, v *models.Value, w []float64) []float64 {
	for i, c := range h.BG {
		w[i] = train.BGNBDLogLik([]train.Customer{c}, v.R, v.Alpha, v.A, v.B)
	}
	return w
}

// RetrainValue refits base's value model from the training share's histogram and checks it on the
// held-back share's: refused when not valid, or when its held-back mean BG/NBD log-likelihood per
// customer is below the serving model's by more than Tolerance standard errors of the paired
// difference. It returns the new model when it replaces base's, else nil. Cells must already be
// summed but not thresholded: MakeHistogram applies cfg.K.
func RetrainValue(base *models.Bundle, trainCells, heldCells []store.CellCount, cfg DeviceConfig) (*models.Value, DeviceStep) {
	cfg = cfg.withDefaults()
	st := DeviceStep{Model: "value", Outcome: DeviceKept}
	if base.Value == nil {
		st.Reason = "the bundle has no value model"
		return nil, st
	}
	tr, hb := MakeHistogram(trainCells, cfg.K), MakeHistogram(heldCells, cfg.K)
	if !st.enough("customers", tr.Total, hb.Total, cfg.MinCustomers, cfg.MinHeld) {
		return nil, st
	}
	cand, err := FitHistogram(tr, base.Value)
	if err != nil {
		st.Outcome, st.Reason = DeviceRefused, err.Error()
		return nil, st
	}
	cur, nw := cellLL(hb, base.Value, make([]float64, len(hb.BG))), cellLL(hb, cand, make([]float64, len(hb.BG)))
	n := float64(hb.Total)
	var md, m2 float64
	for i, c := range hb.BGCount {
		st.Current += float64(c) * cur[i] / n
		st.New += float64(c) * nw[i] / n
		md += float64(c) * (nw[i] - cur[i]) / n
	}
	for i, c := range hb.BGCount {
		d := nw[i] - cur[i] - md
		m2 += float64(c) * d * d
	}
	se := math.Sqrt(m2/math.Max(n-1, 1)) / math.Sqrt(n)
	if md < -cfg.Tolerance*se {
		st.Outcome, st.Reason = DeviceRefused, "the refitted model is less likely on held-back summaries"
		return nil, st
	}
	st.Outcome = DeviceReplaced
	return cand, st
}
