package models

// FedTarget is the label a federated model learns.
type FedTarget uint8

// Federated targets.
const (
	// FedSessionOrder: an order in the session. The example is the session's state just before its
	// first checkout (or its first order, or its end when it has neither), so that the label does
	// not leak into the features; the label is 1 when the session has an order.
	FedSessionOrder FedTarget = 1 + iota
	maxFedTarget
)

// DefaultClip is the clip bound C when Federated.Clip is 0. On standardised features one example's
// gradient has a norm of up to about |p − y|·√(1 + features), 8 for the agent's 68: a small C clips
// the informative (wrong) examples hard and slows learning, a large one buys nothing but noise
// (σ grows with C). Measured by sync/fed's simulation (48,000 contributing visitors, 60 daily
// rounds, ε = 1): held-out AUC 0.93, 0.98, 0.984 and 0.983 of the central model's for C = 1, 3, 5, 10.
const DefaultClip = 5

// ClipBound is the clip bound C in force.
func (f *Federated) ClipBound() float64 {
	if f.Clip > 0 {
		return float64(f.Clip)
	}
	return DefaultClip
}

// Z is the model's i-th standardised coordinate of the raw feature value v.
func (f *Federated) Z(i int, v float64) float64 {
	if i < len(f.Mean) {
		v -= float64(f.Mean[i])
	}
	if i < len(f.Scale) {
		v /= float64(f.Scale[i])
	}
	return v
}

func (f *Federated) validate(p string, lr *Logistic) error {
	if f == nil {
		return nil
	}
	p += ".fed"
	n := len(lr.Features)
	switch {
	case f.Target == 0 || f.Target >= maxFedTarget:
		return bad(p+".target", "unknown")
	case !finite(float64(f.Clip)) || f.Clip < 0:
		return bad(p+".clip", "not finite and ≥ 0")
	case len(f.Mean) != 0 && len(f.Mean) != n:
		return fail(p+".mean", "# values for # features", len(f.Mean), n)
	case len(f.Scale) != 0 && len(f.Scale) != n:
		return fail(p+".scale", "# values for # features", len(f.Scale), n)
	}
	for i, m := range f.Mean {
		if !finite(float64(m)) {
			return fail(p+".mean[#]", "not finite", i)
		}
	}
	for i, s := range f.Scale {
		if !finite(float64(s)) || s <= 0 {
			return fail(p+".scale[#]", "not finite and > 0", i)
		}
	}
	return nil
}
