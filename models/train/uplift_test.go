package train

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/internal/tabular"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/eval"
)

// simCampaign returns a simulated campaign and its table.
func simCampaign(t *testing.T, people int, seed uint64) ([]sim.UpliftPerson, *tabular.Table) {
	t.Helper()
	ps := sim.UpliftCampaign(sim.UpliftConfig{People: people, Seed: seed})
	var buf bytes.Buffer
	if err := sim.WriteUpliftCSV(&buf, ps); err != nil {
		t.Fatal(err)
	}
	tb, err := tabular.Parse(buf.Bytes(), "campaign.csv", tabular.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ps, tb
}

var simDrop = []string{"id", "group", "true_uplift"}

// TestUpliftFindsPersuadables: trained on one simulated campaign and scored on another, the
// two-model uplift ranks the persuadable above sure things and lost causes and the do-not-disturb
// last, and its held-out Qini curve is well above random, close to what the true effects give.
func TestUpliftFindsPersuadables(t *testing.T) {
	_, tb := simCampaign(t, 12000, 1)
	d, err := NewUpliftData(tb, "campaign", "offer", "converted", "", simDrop)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{KindLogistic, KindGBT} {
		t.Run(kind, func(t *testing.T) {
			opt := DefaultPropensityOptions()
			opt.GBT.Trees = 60
			u, err := FitUplift(context.Background(), d, nil, kind, opt)
			if err != nil {
				t.Fatal(err)
			}
			b := u.Bundle()
			b.Version = 1
			if err := b.Validate(); err != nil {
				t.Fatal(err)
			}
			fresh, ftb := simCampaign(t, 8000, 2)
			pred, err := u.Predict(ftb, nil)
			if err != nil {
				t.Fatal(err)
			}
			var mean [4]float64
			var count [4]int
			truth := make([]float64, len(fresh))
			y := make([]float64, len(fresh))
			tr := make([]bool, len(fresh))
			for i, p := range fresh {
				mean[p.Group] += pred[i]
				count[p.Group]++
				truth[i], tr[i] = p.TrueUplift(), p.Treated
				if p.Converted {
					y[i] = 1
				}
			}
			for g := range mean {
				mean[g] /= float64(count[g])
			}
			if !(mean[sim.Persuadable] > mean[sim.SureThing]+0.1 && mean[sim.Persuadable] > mean[sim.LostCause]+0.1 &&
				mean[sim.DoNotDisturb] < mean[sim.SureThing] && mean[sim.DoNotDisturb] < 0) {
				t.Errorf("mean predicted uplift by group (sure, persuadable, lost, do-not-disturb) %.3f", mean)
			}
			rep, err := eval.Uplift(pred, y, tr, eval.UpliftOptions{})
			if err != nil {
				t.Fatal(err)
			}
			oracle, err := eval.Uplift(truth, y, tr, eval.UpliftOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !(rep.QiniCoefficient > 0.6*oracle.QiniCoefficient && rep.QiniArea > 1.5*rep.RandomArea) {
				t.Errorf("Qini area %.4f (random %.4f, coefficient %.4f); with the true effects %.4f (coefficient %.4f)",
					rep.QiniArea, rep.RandomArea, rep.QiniCoefficient, oracle.QiniArea, oracle.QiniCoefficient)
			}
			if !(rep.At[0].Uplift > 2*rep.Overall && rep.At[0].Uplift >= rep.At[2].Uplift) {
				t.Errorf("uplift@10 %.3f, @30 %.3f, overall %.3f", rep.At[0].Uplift, rep.At[2].Uplift, rep.Overall)
			}
		})
	}
}

// TestEvaluateUplift: the held-out split keeps each arm's share and conversion rate, and its report
// shows the model beating random targeting.
func TestEvaluateUplift(t *testing.T) {
	_, tb := simCampaign(t, 6000, 3)
	d, err := NewUpliftData(tb, "campaign", "offer", "converted", "1", simDrop)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := EvaluateUplift(context.Background(), d, KindLogistic, 0.3, 7, DefaultPropensityOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Held) != 1800 || ev.Train != 4200 || len(ev.Scores) != len(ev.Held) {
		t.Fatalf("split %d held, %d train, %d scores", len(ev.Held), ev.Train, len(ev.Scores))
	}
	share := float64(ev.Report.Treated) / float64(ev.Report.Rows)
	if all := float64(d.NTreated) / float64(tb.Rows); share < all-0.002 || share > all+0.002 {
		t.Errorf("treated share %.4f held out, %.4f overall: the split is not stratified by arm", share, all)
	}
	if !(ev.Report.QiniCoefficient > 0) {
		t.Errorf("held-out Qini coefficient %v", ev.Report.QiniCoefficient)
	}
	tr2, held2 := UpliftSplit(d, 0.3, 7)
	if len(tr2) != ev.Train || held2[0] != ev.Held[0] {
		t.Error("the split is not deterministic")
	}
}

func TestNewUpliftDataRefused(t *testing.T) {
	csv := func(rows ...string) *tabular.Table {
		tb, err := tabular.Parse([]byte("x,arm,y\n"+strings.Join(rows, "\n")+"\n"), "c.csv", tabular.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return tb
	}
	good := []string{"1,t,1", "2,t,0", "3,c,1", "4,c,0"}
	tests := []struct {
		name      string
		tb        *tabular.Table
		treatment string
		treated   string
		outcome   string
		want      string
	}{
		{"missing treatment column", csv(good...), "group", "t", "y", `"group"`},
		{"missing outcome column", csv(good...), "arm", "t", "z", `"z"`},
		{"same column", csv(good...), "y", "1", "y", "the same column"},
		{"treated value never seen", csv(good...), "arm", "T", "y", `no row has the treated value "T" (values: "t", "c")`},
		{"no control group", csv("1,t,1", "2,t,0"), "arm", "t", "y", "no control group"},
		{"empty treatment", csv("1,t,1", "2,,0", "3,c,1", "4,c,0"), "arm", "t", "y", "empty treatment"},
		{"one class overall", csv("1,t,1", "2,c,1"), "arm", "t", "y", "one class"},
		{"one class among the treated", csv("1,t,1", "2,t,1", "3,c,1", "4,c,0"), "arm", "t", "y", "one class in the treated group"},
		{"one class in the control group", csv("1,t,1", "2,t,0", "3,c,0", "4,c,0"), "arm", "t", "y", "one class in the control group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewUpliftData(tc.tb, tc.treatment, tc.treated, tc.outcome, "", nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		d, err := NewUpliftData(csv(good...), "arm", "t", "y", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.NTreated != 2 || len(d.Cols) != 1 || d.Table.Columns[d.Cols[0]].Name != "x" {
			t.Errorf("%d treated, feature columns %v", d.NTreated, d.Cols)
		}
	})
}

// TestUpliftBundleFeatures: the bundle lists each feature once, and both arms read it by name.
func TestUpliftBundleFeatures(t *testing.T) {
	_, tb := simCampaign(t, 3000, 4)
	d, err := NewUpliftData(tb, "campaign", "offer", "converted", "", simDrop)
	if err != nil {
		t.Fatal(err)
	}
	u, err := FitUplift(context.Background(), d, nil, KindLogistic, DefaultPropensityOptions())
	if err != nil {
		t.Fatal(err)
	}
	b := u.Bundle()
	seen := map[string]bool{}
	for _, f := range b.Features {
		if seen[f] {
			t.Errorf("feature %q listed twice", f)
		}
		seen[f] = true
	}
	m := b.Uplift[0]
	for _, arm := range []struct {
		lr *models.Logistic
		p  *Propensity
	}{{&m.Treated, u.Treated}, {&m.Control, u.Control}} {
		for k, f := range arm.lr.Features {
			if want := arm.p.Encoding.Features[arm.p.Model.Features[k]]; b.Features[f] != want {
				t.Errorf("feature %d reads %q, want %q", k, b.Features[f], want)
			}
		}
	}
}
