package learn_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/store"
)

// TestCompileObjectiveAndUplift: the admin JSON's objective, incentive cost and uplift allocation
// become the bundle campaign's Objective, Value, Cost and Uplift (1 + the model's index).
func TestCompileObjectiveAndUplift(t *testing.T) {
	base := scoredBundle()
	base.Uplift = []models.Uplift{
		{Name: "other", Treated: models.Logistic{Bias: -1}},
		{Name: "welcome-uplift", Treated: models.Logistic{Features: []uint16{1}, Weights: []float32{0.4}}, Control: models.Logistic{Bias: -2}},
	}
	const def = `{"id": "welcome-10", "status": "active", "slot": "popin", "holdout_bp": 1000,
		"variants": [{"id": "ten-off", "weight": 1, "content": "10 % off your first order"}],
		"allocation": "uplift", "uplift_model": "welcome-uplift",
		"objective": {"event": "sign_up", "value": 12.5}, "incentive_cost": 0.75}`
	var c store.Campaign
	if err := json.Unmarshal([]byte(def), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	next, err := learn.Compile(base, []*store.Campaign{&c})
	if err != nil {
		t.Fatal(err)
	}
	mc := next.Campaigns[0]
	if mc.Objective != models.ObjectiveSignUp || mc.Value != 12.5 || mc.Cost != 0.75 || mc.Uplift != 2 || mc.Holdout != 1000 {
		t.Errorf("compiled %+v: want objective sign-up worth 12.5, cost 0.75, uplift model 2 (1-based)", mc)
	}

	t.Run("defaults", func(t *testing.T) {
		plain := &store.Campaign{ID: "plain", Status: store.StatusActive, Slot: "banner", Variants: []store.Variant{{ID: "a", Weight: 1}},
			Objective: &store.Objective{Value: 3}}
		next, err := learn.Compile(base, []*store.Campaign{plain})
		if err != nil {
			t.Fatal(err)
		}
		if mc := next.Campaigns[0]; mc.Objective != models.ObjectivePurchase || mc.Value != 3 || mc.Cost != 0 || mc.Uplift != 0 {
			t.Errorf("compiled %+v: want a purchase worth 3, no cost, no uplift", mc)
		}
	})
	for _, tc := range []struct {
		name   string
		mutate func(*store.Campaign)
		want   string
	}{
		{"unknown model", func(c *store.Campaign) { c.UpliftModel = "nope" }, `uplift_model "nope" is not in bundle`},
		{"model reads an input", func(c *store.Campaign) { c.UpliftModel = "other"; base.Uplift[0].Control.Features = []uint16{2} }, `"PageValues", not an agent feature`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base.Features = append(base.Features[:2:2], "PageValues")
			bad := c
			tc.mutate(&bad)
			if _, err := learn.Compile(base, []*store.Campaign{&bad}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one that says %s", err, tc.want)
			}
		})
	}
}
