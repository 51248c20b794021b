package store

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// TestCampaignObjectiveValidate: objectives, incentive costs and uplift allocation are checked,
// each error naming its field.
func TestCampaignObjectiveValidate(t *testing.T) {
	valid := func() *Campaign {
		return &Campaign{ID: "welcome", Status: StatusActive, Slot: "popin", Holdout: 500, Variants: []Variant{{ID: "a", Weight: 1}},
			Allocation: AllocUplift, UpliftModel: "welcome-uplift", Objective: &Objective{Event: "sign_up", Value: 12}, IncentiveCost: 1}
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Campaign)
		want   string // "" for valid
	}{
		{"no objective, fixed", func(c *Campaign) { c.Allocation, c.UpliftModel, c.Objective = "", "", nil }, ""},
		{"every event", func(c *Campaign) { c.Objective.Event = "add_to_cart" }, ""},
		{"empty event is a purchase", func(c *Campaign) { c.Objective.Event = "" }, ""},
		{"unknown event", func(c *Campaign) { c.Objective.Event = "click" }, `objective.event "click"`},
		{"negative value", func(c *Campaign) { c.Objective.Value = -1 }, "objective.value -1"},
		{"NaN value", func(c *Campaign) { c.Objective.Value = math.NaN() }, "objective.value NaN"},
		{"huge value", func(c *Campaign) { c.Objective.Value = 2e9 }, "objective.value 2e+09"},
		{"negative cost", func(c *Campaign) { c.IncentiveCost = -0.5 }, "incentive_cost -0.5"},
		{"infinite cost", func(c *Campaign) { c.IncentiveCost = math.Inf(1) }, "incentive_cost +Inf"},
		{"uplift without model", func(c *Campaign) { c.UpliftModel = "" }, `uplift_model "": allocation uplift names`},
		{"uplift without value", func(c *Campaign) { c.Objective.Value = 0 }, "objective.value: allocation uplift needs"},
		{"uplift without objective", func(c *Campaign) { c.Objective = nil }, "objective.value: allocation uplift needs"},
		{"model without uplift", func(c *Campaign) { c.Allocation = AllocBandit }, `uplift_model "welcome-uplift": only with allocation uplift`},
		{"unknown allocation", func(c *Campaign) { c.Allocation = "greedy" }, "want fixed, bandit, bandit-segment or uplift"},
		{"page targeting", func(c *Campaign) { c.When = []Predicate{{Kind: "page", Pages: []string{"product", "cart"}}} }, ""},
		{"page without pages", func(c *Campaign) { c.When = []Predicate{{Kind: "page"}} }, "names page types"},
		{"unknown page", func(c *Campaign) { c.When = []Predicate{{Kind: "page", Pages: []string{"basket"}}} }, `page "basket"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.mutate(c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (!errors.Is(err, ErrBadCampaign) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want ErrBadCampaign saying %s", err, tc.want)
			}
		})
	}
}
