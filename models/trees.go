package models

// Trees is an ensemble of binary decision trees (gradient boosting) in flat arrays, whose leaf
// values add to a model's logit (see Logistic.Trees). Node i of the arrays is either
//
//   - a leaf, Child[i] = 0, worth Value[i]; or
//   - a split on model feature Feature[i] (an index into Logistic.Features), which sends x to its
//     left child i+Child[i] when float32(x) < Value[i] and to the right child i+Child[i]+1 otherwise.
//
// Tree t is the nodes from Roots[t] up to the next root (or the end). Children are offsets forward
// from their parent, so a walk only moves forward and ends at a leaf in at most as many steps as
// the tree has nodes: no cycle can be written down. Validate checks that every child stays inside
// its tree. Thresholds are float32 values that the trainer chose among the training data's own
// float32 values, and x is rounded to float32 before the comparison, so the device takes the same
// branch as the trainer did, on every platform. A missing feature reads as 0.
type Trees struct {
	Roots   []uint16  `cbor:"1,keyasint"`
	Child   []byte    `cbor:"2,keyasint"`
	Feature []uint16  `cbor:"3,keyasint"`
	Value   []float32 `cbor:"4,keyasint"`
}

// MaxTreeNodes bounds the nodes of one ensemble: roots are uint16.
const MaxTreeNodes = 0xFFFF

// Logit returns the sum over the trees of the leaf that x reaches, in tree order. cols maps model
// feature f to its position in x, as for Logistic.Logit; a feature with no column reads as 0. The
// trees must have passed validation (Bundle.Validate).
func (t *Trees) Logit(x []float64, cols []uint16) float64 {
	sum := 0.0
	for _, r := range t.Roots {
		i := int(r)
		for t.Child[i] != 0 {
			v := 0.0
			if f := int(t.Feature[i]); f < len(cols) {
				if c := int(cols[f]); c < len(x) {
					v = x[c]
				}
			}
			left := float32(v) < t.Value[i]
			i += int(t.Child[i])
			if !left {
				i++
			}
		}
		sum += float64(t.Value[i])
	}
	return sum
}
