package agent_test

import (
	"math"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/detmath"
	"github.com/presage-dev/presage/models"
)

// withTabular adds input features and two tabular models to the hand bundle: "lin", linear in the
// number "PageValues", the levels "Month=Nov" and "Month=May", the agent feature "session_products"
// and "log1p(Duration)"; and "tree",
// one tree on "PageValues" (below 10: −1, else +2) on top of a bias of 0.5.
func withTabular(b *models.Bundle) {
	n := uint16(len(b.Features))
	b.Features = append(b.Features, "PageValues", "Month=Nov", "Month=May", "log1p(Duration)")
	sp := uint16(0) // session_products
	b.Tabular = []models.Logistic{
		{Name: "lin", Bias: -1, Features: []uint16{n, n + 1, n + 2, sp, n + 3}, Weights: []float32{0.5, 2, -1, 0.25, 4}},
		{Name: "tree", Bias: 0.5, Features: []uint16{n}, Weights: []float32{0},
			Trees: &models.Trees{Roots: []uint16{0}, Child: []byte{1, 0, 0}, Feature: []uint16{0, 0, 0}, Value: []float32{10, -1, 2}}},
	}
}

func scoreOK(t *testing.T, a *agent.Agent, req *wire.Request) []wire.Score {
	t.Helper()
	r := callOK(t, a, wire.OpScore, enc(req))
	if r.Answer == nil {
		t.Fatal("no answer")
	}
	return r.Answer.Scores
}

func TestScoreInputs(t *testing.T) {
	a := newAgent(t, handBundle(withTabular))
	sig := func(z float64) float32 { return float32(detmath.Sigmoid(z)) }
	tests := []struct {
		name     string
		inputs   []wire.Input
		lin, tre float32
	}{
		{"no inputs", nil, sig(-1), sig(0.5 - 1)},
		{"number", []wire.Input{{Name: "PageValues", Num: 12}}, sig(-1 + 6), sig(0.5 + 2)},
		{"level", []wire.Input{{Name: "Month", Cat: "Nov"}}, sig(-1 + 2), sig(0.5 - 1)},
		{"other level", []wire.Input{{Name: "Month", Cat: "May"}}, sig(-1 - 1), sig(0.5 - 1)},
		{"unseen level reads as none", []wire.Input{{Name: "Month", Cat: "Dec"}}, sig(-1), sig(0.5 - 1)},
		{"a level is not a number", []wire.Input{{Name: "PageValues", Cat: "12"}}, sig(-1), sig(0.5 - 1)},
		{"a number is not a level", []wire.Input{{Name: "Month", Num: 1}}, sig(-1), sig(0.5 - 1)},
		{"unknown inputs ignored", []wire.Input{{Name: "Region", Num: 3}, {Name: "Browser", Cat: "x"}}, sig(-1), sig(0.5 - 1)},
		{"input overrides agent feature", []wire.Input{{Name: "session_products", Num: 4}}, sig(-1 + 1), sig(0.5 - 1)},
		{"all", []wire.Input{{Name: "Month", Cat: "Nov"}, {Name: "PageValues", Num: 9.99}}, sig(-1 + 2 + 0.5*9.99), sig(0.5 - 1)},
		{"log1p", []wire.Input{{Name: "Duration", Num: 3}}, sig(-1 + float64(float32(4))*detmath.Log1p(3)), sig(0.5 - 1)},
		{"log1p of a negative number reads 0", []wire.Input{{Name: "Duration", Num: -3}}, sig(-1), sig(0.5 - 1)},
		{"log1p(Duration) as a number", []wire.Input{{Name: "log1p(Duration)", Num: 0.5}}, sig(-1 + 2), sig(0.5 - 1)},
		// "Month=Nov" as a numeric input name is the feature's own name: it reads as a number.
		{"feature name as a number", []wire.Input{{Name: "Month=Nov", Num: 3}}, sig(-1 + 6), sig(0.5 - 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := scoreOK(t, a, &wire.Request{Inputs: tc.inputs})
			if len(s) != 2 || s[0].Model != "lin" || s[1].Model != "tree" {
				t.Fatalf("scores %+v", s)
			}
			if s[0].Value != tc.lin || s[1].Value != tc.tre {
				t.Errorf("lin %v tree %v, want %v %v", s[0].Value, s[1].Value, tc.lin, tc.tre)
			}
		})
	}
	t.Run("agent features of the last event", func(t *testing.T) {
		b := handBundle(withTabular)
		a := newAgent(t, b)
		step(t, a, T, arrive(wire.ChannelDirect), view(itemID(1), "bags"), view(itemID(2), "bags"))
		s := scoreOK(t, a, &wire.Request{})
		if want := sig(-1 + 0.25*2); s[0].Value != want {
			t.Errorf("lin %v, want %v (two product views)", s[0].Value, want)
		}
		// Scoring changes nothing: the next Handle answers as if OpScore had not run.
		before := a.SaveProfile(nil)
		scoreOK(t, a, &wire.Request{Inputs: []wire.Input{{Name: "PageValues", Num: 1}}})
		if string(a.SaveProfile(nil)) != string(before) {
			t.Error("OpScore changed the profile")
		}
	})
	t.Run("info lists tabular models", func(t *testing.T) {
		info := callOK(t, a, wire.OpInfo, nil).Info
		if n := len(info.Models); n < 2 || info.Models[n-2] != "lin" || info.Models[n-1] != "tree" {
			t.Errorf("models %v", info.Models)
		}
	})
	t.Run("no tabular models", func(t *testing.T) {
		a := newAgent(t, handBundle())
		if s := scoreOK(t, a, &wire.Request{Inputs: []wire.Input{{Name: "x", Num: 1}}}); len(s) != 0 {
			t.Errorf("scores %+v", s)
		}
	})
	t.Run("no bundle", func(t *testing.T) {
		callCode(t, agent.New(), wire.OpScore, enc(&wire.Request{}), wire.CodeNoBundle)
	})
}

func TestScoreInputsRefused(t *testing.T) {
	a := newAgent(t, handBundle(withTabular))
	long := strings.Repeat("x", 257)
	many := make([]wire.Input, 129)
	for i := range many {
		many[i] = wire.Input{Name: string(rune('a'+i%26)) + strings.Repeat("y", i/26)}
	}
	tests := []struct {
		name   string
		inputs []wire.Input
	}{
		{"empty name", []wire.Input{{Num: 1}}},
		{"long name", []wire.Input{{Name: long}}},
		{"long level", []wire.Input{{Name: "Month", Cat: long}}},
		{"infinite", []wire.Input{{Name: "PageValues", Num: math.Inf(1)}}},
		{"NaN", []wire.Input{{Name: "PageValues", Num: math.NaN()}}},
		{"repeated", []wire.Input{{Name: "Month", Cat: "Nov"}, {Name: "Month", Cat: "May"}}},
		{"too many", many},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			callCode(t, a, wire.OpScore, enc(&wire.Request{Inputs: tc.inputs}), wire.CodeBadRequest)
		})
	}
	t.Run("not a request", func(t *testing.T) {
		callCode(t, a, wire.OpScore, []byte{0xff}, wire.CodeBadRequest)
	})
}

// TestInputFeaturesOnlyInTabularModels: a feature that is no agent feature may only be read by
// tabular models; a propensity model, a segment or a campaign that reads one refuses the bundle.
func TestInputFeaturesOnlyInTabularModels(t *testing.T) {
	input := func(b *models.Bundle) uint16 {
		b.Features = append(b.Features, "PageValues")
		return uint16(len(b.Features) - 1)
	}
	tests := []struct {
		name string
		edit func(b *models.Bundle)
		ok   bool
	}{
		{"unused input feature", func(b *models.Bundle) { input(b) }, true},
		{"tabular model", withTabular, true},
		{"propensity model", func(b *models.Bundle) {
			f := input(b)
			b.Propensity[0].Features[0] = f
		}, false},
		{"segment", func(b *models.Bundle) {
			f := input(b)
			b.Segments = append(b.Segments, models.Segment{Name: "big", When: []models.Predicate{{Kind: models.PredFeature, Ref: f, Lo: 1, Hi: 2}}})
		}, false},
		{"campaign", func(b *models.Bundle) {
			f := input(b)
			b.Campaigns[0].When = []models.Predicate{{Kind: models.PredFeature, Ref: f, Lo: 1, Hi: 2}}
		}, false},
		{"long tabular name", func(b *models.Bundle) {
			withTabular(b)
			b.Tabular[0].Name = strings.Repeat("n", 65)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := handBundle(tc.edit)
			if tc.ok {
				callOK(t, agent.New(), wire.OpLoadBundle, envelope(b))
				return
			}
			r := callCode(t, agent.New(), wire.OpLoadBundle, envelope(b), wire.CodeBadBundle)
			if !strings.Contains(r.Err.Message, "PageValues") && !strings.Contains(r.Err.Message, "tabular[0]") {
				t.Errorf("message %q does not name the feature", r.Err.Message)
			}
		})
	}
}

// FuzzScoreInputs: any inputs score without a panic or an internal error, to probabilities.
func FuzzScoreInputs(f *testing.F) {
	f.Add("PageValues", 12.0, "", "Month", 0.0, "Nov")
	f.Add("Month", 1.0, "May", "session_products", 3.0, "")
	f.Add("Month=Nov", -1e300, "", "", 0.0, "x")
	b := handBundle(withTabular)
	f.Fuzz(func(t *testing.T, n1 string, v1 float64, c1, n2 string, v2 float64, c2 string) {
		a := newAgent(t, b)
		r, _ := call(t, a, wire.OpScore, enc(&wire.Request{Inputs: []wire.Input{{Name: n1, Num: v1, Cat: c1}, {Name: n2, Num: v2, Cat: c2}}}))
		if r.Err != nil {
			if r.Err.Code != wire.CodeBadRequest {
				t.Fatalf("error %v", r.Err)
			}
			return
		}
		for _, s := range r.Answer.Scores {
			if !(s.Value >= 0 && s.Value <= 1) {
				t.Fatalf("score %+v", s)
			}
		}
	})
}

// TestScoreRatioInputs: a bundle feature "A/B" reads Num(A)/Num(B), 0 when B is 0 or absent, and an
// input named "A/B" itself overrides it.
func TestScoreRatioInputs(t *testing.T) {
	a := newAgent(t, handBundle(func(b *models.Bundle) {
		n := uint16(len(b.Features))
		b.Features = append(b.Features, "Dur/Pages", "Dur")
		b.Tabular = []models.Logistic{{Name: "r", Bias: -1, Features: []uint16{n, n + 1}, Weights: []float32{0.5, 0.25}}}
	}))
	sig := func(z float64) float32 { return float32(detmath.Sigmoid(z)) }
	tests := []struct {
		name   string
		inputs []wire.Input
		want   float32
	}{
		{"ratio", []wire.Input{{Name: "Pages", Num: 4}, {Name: "Dur", Num: 10}}, sig(-1 + 0.5*2.5 + 0.25*10)},
		{"denominator 0", []wire.Input{{Name: "Pages", Num: 0}, {Name: "Dur", Num: 10}}, sig(-1 + 0.25*10)},
		{"denominator absent", []wire.Input{{Name: "Dur", Num: 10}}, sig(-1 + 0.25*10)},
		{"numerator absent", []wire.Input{{Name: "Pages", Num: 4}}, sig(-1)},
		{"negative", []wire.Input{{Name: "Pages", Num: -2}, {Name: "Dur", Num: 3}}, sig(-1 + 0.5*-1.5 + 0.25*3)},
		{"the ratio as an input", []wire.Input{{Name: "Dur/Pages", Num: 6}, {Name: "Pages", Num: 4}, {Name: "Dur", Num: 1}}, sig(-1 + 3 + 0.25)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := scoreOK(t, a, &wire.Request{Inputs: tc.inputs})
			if len(s) != 1 || s[0].Value != tc.want {
				t.Errorf("scores %+v, want %v", s, tc.want)
			}
		})
	}
}
