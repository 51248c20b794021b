package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainUpliftScoreEval: the CLI's uplift path end to end on simulated campaigns: simulate, train
// (held-out report with pictures), score a fresh campaign in the module (one uplift per row, within
// 1e-6 of the native path), and evaluate the scores with the Qini curve above random.
func TestTrainUpliftScoreEval(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	dir := t.TempDir()
	data, fresh := filepath.Join(dir, "campaign.csv"), filepath.Join(dir, "fresh.csv")
	for _, s := range [][]string{{data, "1", "8000"}, {fresh, "2", "3000"}} {
		if code, out, errs := runCLI("simulate", "uplift", "-o", s[0], "-seed", s[1], "-people", s[2]); code != 0 {
			t.Fatalf("simulate exit %d: %s%s", code, out, errs)
		}
	}
	key := keyFile(t, dir)
	bundle := filepath.Join(dir, "uplift.cbor")
	code, out, errs := runCLI("train", "uplift", "--data", data, "--treatment", "campaign", "--treated", "offer",
		"--outcome", "converted", "--drop", "id,group,true_uplift", "-key", key, "-o", bundle,
		"--report", filepath.Join(dir, "report"), "--value", "40", "--cost", "2")
	if code != 0 {
		t.Fatalf("train exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{"uplift@10%", "uplift@20%", "uplift@30%", "Qini area", "cost-aware rule", "wrote " + bundle, "signed bundle"} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"report.html", "summary.json", "qini.svg", "uplift_at_k.svg", "uplift_deciles.svg"} {
		if _, err := os.Stat(filepath.Join(dir, "report", f)); err != nil {
			t.Error(err)
		}
	}

	scores := filepath.Join(dir, "scores.csv")
	code, out, errs = runCLI("score", "--bundle", bundle, "--data", fresh, "-o", scores, "--compare",
		"-public-key", filepath.Join(dir, "keys", "presage.pub"))
	if code != 0 {
		t.Fatalf("score exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(out, "module vs native") || !strings.Contains(out, `uplifts of model "uplift"`) {
		t.Errorf("score output:\n%s", out)
	}
	up := readScores(t, scores)
	if len(up) != 3000 {
		t.Fatalf("%d scores for 3000 rows", len(up))
	}
	neg := 0
	for i, u := range up {
		if !(u >= -1 && u <= 1) {
			t.Fatalf("row %d: uplift %v", i, u)
		}
		if u < 0 {
			neg++
		}
	}
	if neg == 0 {
		t.Error("no negative uplift: the do-not-disturb are not found")
	}

	evalDir := filepath.Join(dir, "eval")
	code, out, errs = runCLI("eval", "--scores", scores, "--labels", fresh, "--label", "converted",
		"--treatment", "campaign", "--treated", "offer", "-o", evalDir)
	if code != 0 {
		t.Fatalf("eval exit %d: %s%s", code, out, errs)
	}
	var sum struct {
		At []struct {
			Share, Uplift float64
		} `json:"uplift_at"`
		Overall    float64 `json:"overall_uplift"`
		QiniArea   float64 `json:"qini_area"`
		RandomArea float64 `json:"random_area"`
	}
	b, err := os.ReadFile(filepath.Join(evalDir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	t.Logf("fresh campaign: uplift@10/20/30 %+.3f %+.3f %+.3f (overall %+.3f); Qini area %.4f vs random %.4f",
		sum.At[0].Uplift, sum.At[1].Uplift, sum.At[2].Uplift, sum.Overall, sum.QiniArea, sum.RandomArea)
	if len(sum.At) != 3 || !(sum.At[0].Uplift > 2*sum.Overall) || !(sum.QiniArea > 1.5*sum.RandomArea) {
		t.Errorf("summary %+v: want uplift@10 above twice the average and the Qini area well above random", sum)
	}
	if _, err := os.Stat(filepath.Join(evalDir, "qini.svg")); err != nil {
		t.Error(err)
	}
}

// TestTrainUpliftBadInput: bad campaigns exit with status 2 and an error naming what is wrong.
func TestTrainUpliftBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", "x,arm,y\n1,t,1\n2,t,0\n3,c,1\n4,c,0\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing flags", []string{"--data", good}, "missing -treatment, -treated, -outcome"},
		{"missing treatment column", []string{"--data", good, "--treatment", "group", "--treated", "t", "--outcome", "y"}, `column "group": no such column`},
		{"missing outcome column", []string{"--data", good, "--treatment", "arm", "--treated", "t", "--outcome", "z"}, `column "z": no such column`},
		{"treated value never seen", []string{"--data", good, "--treatment", "arm", "--treated", "offer", "--outcome", "y"}, `no row has the treated value "offer"`},
		{"single class", []string{"--data", write("one.csv", "x,arm,y\n1,t,1\n2,c,1\n"), "--treatment", "arm", "--treated", "t", "--outcome", "y"}, "one class"},
		{"single class in an arm", []string{"--data", write("arm.csv", "x,arm,y\n1,t,1\n2,t,1\n3,c,1\n4,c,0\n"), "--treatment", "arm", "--treated", "t", "--outcome", "y"}, "one class in the treated group"},
		{"bad kind", []string{"--data", good, "--treatment", "arm", "--treated", "t", "--outcome", "y", "--kind", "forest"}, "-kind"},
		{"report without split", []string{"--data", good, "--treatment", "arm", "--treated", "t", "--outcome", "y", "--test", "0", "--report", dir}, "-report needs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"train", "uplift", "-o", filepath.Join(dir, "b.cbor")}, tc.args...)
			code, _, errs := runCLI(args...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
		})
	}
}

// TestEvalUpliftBadInput: a treated value no row has, or one flag of the pair, exits 2.
func TestEvalUpliftBadInput(t *testing.T) {
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.csv")
	scores := filepath.Join(dir, "scores.csv")
	var l, s strings.Builder
	l.WriteString("arm,y\n")
	s.WriteString("score\n")
	for i := range 20 {
		l.WriteString([]string{"t,1\n", "c,0\n", "t,0\n", "c,1\n"}[i%4])
		s.WriteString("0.1\n")
	}
	if err := os.WriteFile(labels, []byte(l.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(scores, []byte(s.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"treated never seen", []string{"--treatment", "arm", "--treated", "offer"}, `no row has arm = "offer"`},
		{"treatment alone", []string{"--treatment", "arm"}, "missing -treated"},
		{"missing column", []string{"--treatment", "group", "--treated", "t"}, "group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"eval", "--scores", scores, "--labels", labels, "--label", "y", "-o", filepath.Join(dir, "out")}, tc.args...)
			code, _, errs := runCLI(args...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
		})
	}
}
