package agent_test

import (
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/models"
)

// withUplift adds, after withTabular's models, an uplift model "offer" whose treated arm reads the
// level "Month=Nov" and the agent feature "session_products", and whose control arm reads the
// number "PageValues" and has one tree on it.
func withUplift(b *models.Bundle) {
	withTabular(b)
	pv := uint16(len(b.Features) - 4) // "PageValues", see withTabular
	nov := pv + 1
	b.Uplift = []models.Uplift{{Name: "offer",
		Treated: models.Logistic{Bias: -2, Features: []uint16{nov, 0}, Weights: []float32{3, 0.5}},
		Control: models.Logistic{Bias: -1, Features: []uint16{pv}, Weights: []float32{0.1},
			Trees: &models.Trees{Roots: []uint16{0}, Child: []byte{1, 0, 0}, Feature: []uint16{0, 0, 0}, Value: []float32{10, 0, -2}}}}}
}

// TestScoreUplift: OpScore answers one score per uplift model, after the tabular ones, named by the
// model: σ(treated) − σ(control), as models.Uplift.Value computes it.
func TestScoreUplift(t *testing.T) {
	a := newAgent(t, handBundle(withUplift))
	sig := detmath.Sigmoid
	tests := []struct {
		name   string
		inputs []wire.Input
		want   float64
	}{
		{"no inputs", nil, sig(-2) - sig(-1)},
		{"persuadable: November, low page value", []wire.Input{{Name: "Month", Cat: "Nov"}, {Name: "PageValues", Num: 2}},
			sig(-2+3) - sig(-1+float64(float32(0.1))*2)},
		{"sure thing: high page value, control tree", []wire.Input{{Name: "Month", Cat: "Nov"}, {Name: "PageValues", Num: 30}},
			sig(-2+3) - sig(-1+float64(float32(0.1))*30-2)},
		{"agent feature overridden", []wire.Input{{Name: "session_products", Num: 4}}, sig(-2+2) - sig(-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := scoreOK(t, a, &wire.Request{Inputs: tc.inputs})
			if len(s) != 3 || s[0].Model != "lin" || s[1].Model != "tree" || s[2].Model != "offer" {
				t.Fatalf("scores %+v", s)
			}
			if s[2].Value != float32(tc.want) {
				t.Errorf("uplift %v, want %v", s[2].Value, float32(tc.want))
			}
		})
	}
	t.Run("negative uplift", func(t *testing.T) {
		s := scoreOK(t, a, &wire.Request{Inputs: []wire.Input{{Name: "PageValues", Num: 9}}})
		if !(s[2].Value < 0) {
			t.Errorf("uplift %v, want < 0 (the control arm converts more)", s[2].Value)
		}
	})
	t.Run("uplift alone", func(t *testing.T) {
		a := newAgent(t, handBundle(func(b *models.Bundle) { withUplift(b); b.Tabular = nil }))
		s := scoreOK(t, a, &wire.Request{Inputs: []wire.Input{{Name: "Month", Cat: "Nov"}}})
		if len(s) != 1 || s[0].Model != "offer" || s[0].Value != float32(sig(1)-sig(-1)) {
			t.Errorf("scores %+v", s)
		}
	})
	t.Run("info lists uplift models", func(t *testing.T) {
		info := callOK(t, a, wire.OpInfo, nil).Info
		if n := len(info.Models); n < 1 || info.Models[n-1] != "offer" {
			t.Errorf("models %v", info.Models)
		}
	})
	t.Run("refused bundles", func(t *testing.T) {
		for _, tc := range []struct {
			name, want string
			edit       func(b *models.Bundle)
		}{
			{"long name", "uplift[0]", func(b *models.Bundle) { b.Uplift[0].Name = strings.Repeat("n", 65) }},
			{"name of a tabular model", "uplift[0].name", func(b *models.Bundle) { b.Uplift[0].Name = "lin" }},
			{"feature out of range", "uplift[0].control.features[0]", func(b *models.Bundle) { b.Uplift[0].Control.Features[0] = 999 }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b := handBundle(withUplift)
				tc.edit(b)
				r := callCode(t, agent.New(), wire.OpLoadBundle, envelope(b), wire.CodeBadBundle)
				if !strings.Contains(r.Err.Message, tc.want) {
					t.Errorf("message %q does not name %s", r.Err.Message, tc.want)
				}
			})
		}
	})
}
