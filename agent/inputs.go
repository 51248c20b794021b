package agent

import (
	"strings"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/internal/msg"
	"github.com/presage-dev/presage/models"
)

// Tabular models (models.Bundle.Tabular) are trained on tabular exports: their features are request
// inputs the host sends (wire.Request.Inputs), "Col" for a number, "log1p(Col)" for ln(1 + the
// number) (0 below 0), "A/B" for the ratio of numbers A and B (0 when B is 0 or absent), and
// "Col=Value" for one level of a category, exactly as the trainer names
// its encoded columns, so that training and serving read the same features. A bundle feature that is an agent feature reads the agent's value from the last
// Handle unless an input of the same name overrides it. OpScore scores them; Handle does not.
// Uplift models (models.Bundle.Uplift) read the same inputs and answer, after the tabular models,
// one score each: the difference of their treated and control probabilities.

// notAgentFeature marks, in compiled.featOf, a bundle feature that is no agent feature: a request
// input, which only tabular models may read.
const notAgentFeature Feature = 0xFFFF

// maxInputs bounds the inputs of one request.
const maxInputs = 128

// inputIndex resolves request inputs to bundle features, and holds the per-call scratch of OpScore.
type inputIndex struct {
	byName idTable     // 32-bit hash of a bundle feature's name → its index
	x      []float64   // per bundle feature: the value the tabular models read
	answer wire.Answer // OpScore's answer, reused
}

// compileInputs checks that only tabular models read features that are not agent features, and
// indexes the bundle's feature names for OpScore when the bundle has tabular models.
func compileInputs(b *models.Bundle, cb *compiled) error {
	bad, who := -1, "" // the first input feature read by something that reads agent features only
	check := func(f uint16, what string) {
		if bad < 0 && int(f) < len(cb.featOf) && cb.featOf[f] == notAgentFeature {
			bad, who = int(f), what
		}
	}
	for m := range b.Propensity {
		for _, f := range b.Propensity[m].Features {
			check(f, "a propensity model")
		}
	}
	for s := range b.Segments {
		for _, p := range b.Segments[s].When {
			if p.Kind == models.PredFeature {
				check(p.Ref, "a segment")
			}
		}
	}
	for c := range b.Campaigns {
		for _, p := range b.Campaigns[c].When {
			if p.Kind == models.PredFeature {
				check(p.Ref, "a campaign")
			}
		}
		if m := int(b.Campaigns[c].Uplift) - 1; m >= 0 {
			// Handle evaluates it on the agent's own features (Agent.uplift).
			const who = "an uplift model a campaign targets with"
			for _, f := range b.Uplift[m].Treated.Features {
				check(f, who)
			}
			for _, f := range b.Uplift[m].Control.Features {
				check(f, who)
			}
		}
	}
	if bad >= 0 {
		return msg.Errorf(models.ErrBadBundle, "features[%d]: unknown feature %q (%s reads agent features only)", bad, b.Features[bad], who)
	}

	if len(b.Tabular) == 0 && len(b.Uplift) == 0 {
		return nil
	}
	for m := range b.Tabular {
		if len(b.Tabular[m].Name) > maxIDLen {
			return msg.Errorf(models.ErrBadBundle, "tabular[%d]: name longer than %d bytes", m, maxIDLen)
		}
	}
	for m := range b.Uplift {
		if len(b.Uplift[m].Name) > maxIDLen {
			return msg.Errorf(models.ErrBadBundle, "uplift[%d]: name longer than %d bytes", m, maxIDLen)
		}
	}
	var err error
	cb.inputs.byName, err = index(b.Features, "features")
	cb.inputs.x = make([]float64, len(b.Features))
	return err
}

// ScoreInputs scores the bundle's tabular models on the request's inputs (OpScore). It changes nothing in
// the agent; the answer holds Scores only, is owned by the agent and is valid until the next call.
func (a *Agent) ScoreInputs(req *wire.Request) (*wire.Answer, error) {
	b := a.b
	if b == nil {
		return nil, ErrNoBundle
	}
	if err := validateInputs(req.Inputs); err != nil {
		return nil, err
	}
	in := &a.cb.inputs
	ans := &in.answer
	*ans = wire.Answer{Scores: ans.Scores[:0]}
	if len(b.Tabular) == 0 && len(b.Uplift) == 0 {
		return ans, nil
	}
	x := a.agentInputs()
	// A feature "A/B" is Num(A)/Num(B), 0 when B is 0 or absent; an input named "A/B" overrides it.
	for f, name := range b.Features {
		if k := strings.IndexByte(name, '/'); k > 0 && a.cb.featOf[f] == notAgentFeature {
			if d := inputNum(req.Inputs, name[k+1:]); d != 0 {
				x[f] = inputNum(req.Inputs, name[:k]) / d
			}
		}
	}
	for i := range req.Inputs {
		it := &req.Inputs[i]
		if it.Cat != "" {
			if f := in.find(b.Features, it.Name, "=", it.Cat); f >= 0 {
				x[f] = 1
			}
			continue
		}
		if f := in.find(b.Features, "", "", it.Name); f >= 0 {
			x[f] = it.Num
		}
		if f := in.find(b.Features, "log1p(", it.Name, ")"); f >= 0 {
			x[f] = detmath.Log1p(max(it.Num, 0))
		}
	}
	for m := range b.Tabular {
		lr := &b.Tabular[m]
		// Tabular models index x by bundle feature: their Features are their columns.
		p := detmath.Sigmoid(lr.Logit(x, lr.Features))
		ans.Scores = append(ans.Scores, wire.Score{Model: lr.Name, Value: float32(p)})
	}
	for m := range b.Uplift {
		// One score per uplift model: p(treated) − p(control), in [−1, 1].
		u := &b.Uplift[m]
		ans.Scores = append(ans.Scores, wire.Score{Model: u.Name, Value: float32(u.Value(x))})
	}
	return ans, nil
}

// inputNum is the number of the input named name, 0 when there is none.
func inputNum(in []wire.Input, name string) float64 {
	for i := range in {
		if in[i].Name == name {
			return in[i].Num
		}
	}
	return 0
}

// agentInputs fills the inputs' vector, indexed by bundle feature, with the agent's features from
// the last Handle, 0 for the features that are no agent feature, and returns it.
func (a *Agent) agentInputs() []float64 {
	x := a.cb.inputs.x
	for f, af := range a.cb.featOf {
		x[f] = 0
		if af != notAgentFeature {
			x[f] = a.x[af]
		}
	}
	return x
}

// validateInputs refuses what no model could mean: empty, long or repeated names, long levels,
// numbers that are not finite.
func validateInputs(in []wire.Input) error {
	if len(in) > maxInputs {
		return msg.Errorf(ErrBadRequest, "%d inputs, at most %d a request", len(in), maxInputs)
	}
	for i := range in {
		it := &in[i]
		why := ""
		switch {
		case it.Name == "" || len(it.Name) > maxStringLen:
			why = "name empty or too long"
		case len(it.Cat) > maxStringLen:
			why = "category too long"
		case it.Num != it.Num || it.Num > maxNum || it.Num < -maxNum:
			why = "not a finite number"
		}
		for j := 0; j < i && why == ""; j++ {
			if in[j].Name == it.Name {
				why = "repeats an earlier input's name"
			}
		}
		if why != "" {
			return msg.Errorf(ErrBadRequest, "inputs[%d]: %s", i, why)
		}
	}
	return nil
}

// maxNum is the largest finite float64: inputs beyond it are infinite.
const maxNum = 1.7976931348623157e308

// find returns the index of the bundle feature named a + b + c, or −1. The name is hashed and
// compared in its three parts: nothing is allocated per input.
func (in *inputIndex) find(features []string, a, b, c string) int {
	f, ok := in.byName.lookup(hash3(a, b, c))
	if !ok || !is3(features[f], a, b, c) {
		return -1
	}
	return f
}

// hash3 is hashID(a + b + c) without building the string.
func hash3(a, b, c string) uint32 {
	h := uint64(fnvOffset64)
	for _, s := range [3]string{a, b, c} {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= fnvPrime64
		}
	}
	return uint32(mix64(h) >> 32)
}

// is3 reports whether feature is a + b + c.
func is3(feature, a, b, c string) bool {
	return len(feature) == len(a)+len(b)+len(c) && feature[:len(a)] == a &&
		feature[len(a):len(a)+len(b)] == b && feature[len(a)+len(b):] == c
}
