package train

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/presage-dev/presage/internal/tabular"
)

// ShoppersCategorical are the Online Shoppers columns that are codes, not quantities.
var shoppersCategorical = []string{"OperatingSystems", "Browser", "Region", "TrafficType"}

// shoppersDrop are the columns make eval-shoppers leaves out (-drop): chosen by 5-fold
// cross-validation inside the training part of the split, never on its test part
// (TestShoppersColumnSearch, shoppers_search_test.go).
var shoppersDrop = []string{"OperatingSystems", "Browser", "Region", "Administrative_Duration", "BounceRates"}

// readShoppers reads the Online Shoppers file from the datasets folder, or skips the test.
func readShoppers(t *testing.T) *tabular.Table {
	t.Helper()
	path := filepath.Join(datasetsDir(), "online-shoppers", "online_shoppers_intention.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("dataset absent: %v", err)
	}
	if testing.Short() {
		t.Skip("short")
	}
	tb, err := tabular.ReadFile(path, tabular.Options{Categorical: shoppersCategorical})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// TestOnlineShoppers evaluates both kinds on the real Online Shoppers data (UCI 468) as
// make eval-shoppers does: a stratified 80/20 split with seed 1, and 5-fold cross-validation, with
// the columns of shoppersDrop left out.
//
// The goal is a held-out AUC of 0.94; the boosted trees reach 0.938 on the split (95 %
// bootstrap interval 0.926 to 0.949) and 0.936 in cross-validation, level with the published
// XGBoost (0.937); inside the training part no setting tried beat 0.935, the mean AUC of these
// settings over 15 folds there (see DefaultPropensityOptions). The test holds the figures reached, so that a regression shows: trees
// ≥ 0.937 on the split and ≥ 0.932 in CV, logistic regression ≥ 0.91 (published: about 0.915),
// calibrated trees (ECE ≤ 0.02), and a bootstrap interval around the split's AUC as wide as 2,466
// test rows make it.
func TestOnlineShoppers(t *testing.T) {
	tb := readShoppers(t)
	d, err := NewLabelled(tb, "Revenue", "", shoppersDrop)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := Evaluate(context.Background(), d, []string{KindLogistic, KindGBT}, 0.2, 5, 1, DefaultPropensityOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ev.Kinds {
		t.Logf("%-8s split AUC %.4f [%.4f, %.4f] logloss %.4f Brier %.4f ECE %.4f | CV AUC %.4f ± %.4f logloss %.4f ECE %.4f | %d B, %d trees, %.1fs",
			k.Kind, k.Split.AUC, k.SplitAUC.Lo, k.SplitAUC.Hi, k.Split.LogLoss, k.Split.Brier, k.Split.ECE, k.CVMean.AUC, k.CVSD, k.CVMean.LogLoss, k.CVMean.ECE, k.Bytes, k.Trees, k.FitSec)
	}
	t.Logf("chosen %s: %s", ev.Chosen, ev.Reason)
	for _, k := range ev.Kinds {
		floor := map[string]float64{KindGBT: 0.937, KindLogistic: 0.91}[k.Kind]
		if k.Split.AUC < floor || k.CVMean.AUC < floor-0.005 {
			t.Errorf("%s: held-out AUC %.4f, CV %.4f: below %.3f", k.Kind, k.Split.AUC, k.CVMean.AUC, floor)
		}
		if k.Kind == KindGBT && (k.Split.ECE > 0.02 || k.CVMean.ECE > 0.02) {
			t.Errorf("gbt: ECE %.4f (CV %.4f) above 0.02", k.Split.ECE, k.CVMean.ECE)
		}
		if iv := k.SplitAUC; !(iv.Lo < k.Split.AUC && k.Split.AUC < iv.Hi) || iv.Hi-iv.Lo < 0.01 || iv.Hi-iv.Lo > 0.05 {
			t.Errorf("%s: split AUC %.4f, bootstrap interval [%.4f, %.4f]", k.Kind, k.Split.AUC, iv.Lo, iv.Hi)
		}
	}
	if ev.Chosen != KindGBT {
		t.Errorf("chose %s", ev.Chosen)
	}
}
