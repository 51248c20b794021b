package wire

import "math"

// Device-side summaries for learning on the sync server (issue 4 §2): the bounds on co-occurrence
// pairs and the histogram cells of customer summaries. The bins are part of the wire format: a
// device and a server must agree on them, so they change only with a new Batch field.

// MaxPairs is the most co-occurrence pairs (Batch.Pairs) one visitor sends in one Unix day.
const MaxPairs = 8

// Customer-summary bins. A summary is BG/NBD's (x, t_x, T) in weeks and the mean order value:
// x repeat orders (exact below 8, then 8–11, 12–19, 20 and more), t_x and T by the upper edges of
// weekBins, spend by the upper edges of spendBins (in the site's currency). Upper edges are
// exclusive; the last bin is open.
var (
	weekBins  = [...]uint16{1, 2, 4, 8, 13, 20, 26, 39, 52, 78, 104, 156, 208}
	spendBins = [...]uint16{10, 20, 30, 45, 65, 90, 125, 175, 250, 350, 500, 750, 1000}
	xBins     = [...]uint16{1, 2, 3, 4, 5, 6, 7, 8, 12, 20}
)

// Number of bins of each coordinate.
const (
	NumXBins     = len(xBins) + 1
	NumWeekBins  = len(weekBins) + 1
	NumSpendBins = len(spendBins) + 1
)

func binOf(edges []uint16, v float64) uint32 {
	for i, e := range edges {
		if v < float64(e) {
			return uint32(i)
		}
	}
	return uint32(len(edges))
}

// CustomerCell returns the histogram cell of a customer with x repeat orders, the last t_x weeks
// after the first, observed for T weeks since the first, spending spend per order on average:
// 1 + xBin<<24 | txBin<<16 | TBin<<8 | spendBin, never 0.
func CustomerCell(x, tx, t, spend float64) uint32 {
	return 1 + (binOf(xBins[:], x)<<24 | binOf(weekBins[:], tx)<<16 | binOf(weekBins[:], t)<<8 | binOf(spendBins[:], spend))
}

// CustomerBins reads a cell back into its bins; ok is false for 0 or a cell out of range.
func CustomerBins(cell uint32) (x, tx, t, spend int, ok bool) {
	if cell == 0 {
		return 0, 0, 0, 0, false
	}
	c := cell - 1
	x, tx, t, spend = int(c>>24), int(c>>16&0xFF), int(c>>8&0xFF), int(c&0xFF)
	return x, tx, t, spend, x < NumXBins && tx < NumWeekBins && t < NumWeekBins && spend < NumSpendBins && tx <= t
}

// BinRange returns the bounds [lo, hi) of bin i of a coordinate (0 x, 1 weeks, 2 spend); hi is -1
// for the open last bin.
func BinRange(coord, i int) (lo, hi float64) {
	edges := [][]uint16{xBins[:], weekBins[:], spendBins[:]}[coord]
	if i > 0 {
		lo = float64(edges[i-1])
	}
	if i < len(edges) {
		return lo, float64(edges[i])
	}
	return lo, -1
}

// Evaluation cells of federated models (ModelUpdate.Cell): an example's score bin, by its logit
// at the bundle's weights, and its label. The bins are one logit wide: bin 0 is below −7, bin b
// in 1…ScoreBins−2 is [b−8, b−7), bin ScoreBins−1 is 7 and above.
const ScoreBins = 16

// ScoreCell returns the evaluation cell of an example of logit l and label y (0 or 1):
// 1 + y·ScoreBins + bin, never 0.
func ScoreCell(l float64, y float64) uint32 {
	b := uint32(0)
	if l >= -7 { // also false for NaN: bin 0
		b = uint32(min(l+8, ScoreBins-1))
	}
	return 1 + uint32(y)*ScoreBins + b
}

// ScoreBin reads a cell back: its bin and label; ok is false for 0 or a cell out of range.
func ScoreBin(cell uint32) (bin int, y int, ok bool) {
	if cell == 0 || cell > 2*ScoreBins {
		return 0, 0, false
	}
	c := int(cell - 1)
	return c % ScoreBins, c / ScoreBins, true
}

// ScoreBinLogits returns the bounds [lo, hi) of bin b's logits; lo is −Inf for bin 0 and hi +Inf
// for the last.
func ScoreBinLogits(b int) (lo, hi float64) {
	lo, hi = float64(b-8), float64(b-7)
	if b == 0 {
		lo = math.Inf(-1)
	}
	if b == ScoreBins-1 {
		hi = math.Inf(1)
	}
	return lo, hi
}
