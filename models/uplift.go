package models

import "github.com/presage-dev/presage/internal/detmath"

// Uplift is a two-model ("T-learner") uplift model over tabular inputs (Künzel, Sekhon, Bickel &
// Yu 2019): Treated estimates the outcome probability of a visitor who gets the treatment (the
// incentive, the campaign) and Control of one who does not, each fitted on its arm of a randomised
// campaign. The uplift of inputs x is their difference,
//
//	uplift(x) = σ(Treated.Logit(x)) − σ(Control.Logit(x)),  in [−1, 1],
//
// the change in conversion probability the treatment causes: high for the persuadable, near 0 for
// sure things and lost causes, negative for the do-not-disturb. Both models read Bundle.Features
// like a tabular model (request inputs, wire.OpScore); their own Names must be empty, Name names
// the score.
//
// # Notes
//
//   - Uplift is its own list rather than a tabular model with a second model inside: the bundle
//     codec is a static table per type and cannot describe a type that contains itself, and a
//     Tabular entry keeps meaning "a probability" for every reader that already consumes them.
//   - The decision to act on an uplift is cost-aware and the host's: see [ShowIncentive].
type Uplift struct {
	Name    string   `cbor:"1,keyasint"`
	Treated Logistic `cbor:"2,keyasint"`
	Control Logistic `cbor:"3,keyasint"`
}

// Value returns the uplift of x, a vector indexed by bundle feature (as OpScore builds it):
// σ(treated logit) − σ(control logit), with the agent's deterministic sigmoid.
func (u *Uplift) Value(x []float64) float64 {
	return detmath.Sigmoid(u.Treated.Logit(x, u.Treated.Features)) - detmath.Sigmoid(u.Control.Logit(x, u.Control.Features))
}

// IncrementalMargin is the expected incremental margin of treating a visitor, net of the
// treatment's cost: uplift × value − cost, where uplift is the change in conversion probability the
// treatment causes (Uplift.Value), value the margin one conversion brings and cost what treating one
// visitor costs whether or not they convert (the incentive, the message). A discount given only on
// conversion is a cost to take out of value instead.
func IncrementalMargin(uplift, value, cost float64) float64 { return float64(uplift*value) - cost }

// ShowIncentive is the cost-aware decision rule for an uplift model: show the incentive exactly
// when its expected incremental margin is positive, uplift × value − cost > 0. With cost 0 it shows
// whenever the uplift is positive (never to the do-not-disturb); with a cost it shows only where
// the uplift exceeds cost / value. A value ≤ 0, or any NaN, never shows.
//
// For example, at a margin of 40 per order and an incentive that costs 2, a visitor whose uplift is
// 0.08 is shown it (0.08 × 40 − 2 = 1.2 > 0) and one whose uplift is 0.04 is not (−0.4).
func ShowIncentive(uplift, value, cost float64) bool {
	return value > 0 && IncrementalMargin(uplift, value, cost) > 0
}

// validateUplift checks the uplift models: names non-empty, distinct and not those of tabular models;
// each arm's terms and trees as a tabular model's; the arms' own names empty.
func (b *Bundle) validateUplift() error {
	if len(b.Uplift) == 0 {
		return nil
	}
	names := make([]string, len(b.Uplift))
	for m := range b.Uplift {
		names[m] = b.Uplift[m].Name
	}
	if err := checkNames("uplift[#].name", "name", names, 0x10000); err != nil {
		return err
	}
	for m := range b.Uplift {
		u := &b.Uplift[m]
		for t := range b.Tabular {
			if b.Tabular[t].Name == u.Name {
				return fail("uplift[#].name", "name of tabular[#]", m, t)
			}
		}
		for k, lr := range [2]*Logistic{&u.Treated, &u.Control} {
			p := idx("uplift", m) + [2]string{".treated", ".control"}[k]
			if lr.Name != "" {
				return bad(p+".name", "not empty (the uplift model's name names the score)")
			}
			if err := lr.validateTerms(p, len(b.Features)); err != nil {
				return err
			}
			if lr.Trees == nil {
				continue
			}
			if node, why := lr.Trees.check(len(lr.Features)); why != "" {
				if node < 0 {
					return bad(p+".trees", why)
				}
				return fail(p+".trees.nodes[#]", why, node)
			}
		}
	}
	return nil
}
