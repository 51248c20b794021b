package models

// Validation of tree ensembles and tabular models. Messages are fixed strings with at most an index
// in the path (see fail): in the module every string concatenation and number formatting costs
// code, and these checks only ever reject a broken trainer's output or a forged bundle.

// validateTabular checks the tree ensembles of the propensity models and every tabular model (whose
// linear part is checked as a propensity model's is): the scoring loop of Trees.Logit then indexes
// only inside its arrays, and every walk ends at a leaf.
func (b *Bundle) validateTabular() error {
	for m := range b.Propensity {
		lr := &b.Propensity[m]
		if err := lr.Trees.validate("propensity", m, len(lr.Features)); err != nil {
			return err
		}
	}
	names := make([]string, len(b.Tabular))
	for m := range b.Tabular {
		names[m] = b.Tabular[m].Name
	}
	if err := checkNames("tabular[#].name", "name", names, 0x10000); err != nil {
		return err
	}
	for m := range b.Tabular {
		lr := &b.Tabular[m]
		if err := lr.validateTerms(idx("tabular", m), len(b.Features)); err != nil {
			return err
		}
		if err := lr.Trees.validate("tabular", m, len(lr.Features)); err != nil {
			return err
		}
	}
	return nil
}

// validateTerms checks a logistic model's linear terms (at path p) against nfeat bundle features.
func (lr *Logistic) validateTerms(p string, nfeat int) error {
	if len(lr.Weights) != len(lr.Features) {
		return fail(p+".weights", "# weights for # features", len(lr.Weights), len(lr.Features))
	}
	if err := indices(p+".features[#]", "feature", "features", lr.Features, nfeat, false); err != nil {
		return err
	}
	for i, w := range lr.Weights {
		if !finite(float64(w)) {
			return fail(p+".weights[#]", "not finite", i)
		}
	}
	if !finite(float64(lr.Bias)) {
		return bad(p+".bias", "not finite")
	}
	return nil
}

// validate checks the ensemble of model m of the named list, over the model's nfeat features (nil is
// valid: no trees). The error's path is built only when there is an error.
func (t *Trees) validate(list string, m, nfeat int) error {
	if t == nil {
		return nil
	}
	node, why := t.check(nfeat)
	switch {
	case why == "":
		return nil
	case node < 0:
		return fail(list+"[#].trees", why, m)
	}
	return fail(list+"[#].trees.nodes[#]", why, m, node)
}

// check returns the first problem of the ensemble: the node it is at (−1 for the whole ensemble)
// and what it is; why is "" for valid trees.
func (t *Trees) check(nfeat int) (node int, why string) {
	n := len(t.Value)
	switch {
	case n == 0 || len(t.Roots) == 0:
		return -1, "no trees"
	case n > MaxTreeNodes:
		return -1, "more than 65535 nodes"
	case len(t.Child) != n || len(t.Feature) != n:
		return -1, "children, features and values differ in number"
	case t.Roots[0] != 0:
		return -1, "the first tree does not start at node 0"
	}
	for k, r := range t.Roots {
		end := n // tree k is nodes r to end−1
		if k+1 < len(t.Roots) {
			end = int(t.Roots[k+1])
		}
		if end > n || end <= int(r) {
			return -1, "roots not increasing inside the nodes"
		}
		for i := int(r); i < end; i++ {
			c := int(t.Child[i])
			switch {
			case !finite(float64(t.Value[i])):
				return i, "value not finite"
			case c != 0 && i+c+1 >= end:
				return i, "children outside the node's tree"
			case c != 0 && int(t.Feature[i]) >= nfeat:
				return i, "feature index out of range"
			}
		}
	}
	return -1, ""
}
