package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// synthCSV writes a tabular file whose label depends on a number, a category and their interaction.
func synthCSV(t *testing.T, dir string, n int) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("id,PageValues,ExitRates,Month,Weekend,TrafficType,Revenue\n")
	months := []string{"Feb", "May", "Nov", "Dec"}
	for i := range n {
		pv := 0.0
		if rng.Float64() < 0.3 {
			pv = rng.ExpFloat64() * 20
		}
		er := rng.Float64() * 0.2
		m := months[rng.IntN(len(months))]
		z := -2 + 0.08*pv - 10*er
		if m == "Nov" && pv > 5 {
			z += 1.5
		}
		label := "FALSE"
		if rng.Float64() < 1/(1+math.Exp(-z)) {
			label = "TRUE"
		}
		weekend := [2]string{"FALSE", "TRUE"}[rng.IntN(2)]
		if i%97 == 0 {
			weekend = "" // a missing category
		}
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%d,%s\n", i, strconv.FormatFloat(pv, 'g', 10, 64),
			strconv.FormatFloat(er, 'g', 10, 64), m, weekend, 1+rng.IntN(5), label)
	}
	p := filepath.Join(dir, "sessions.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func keyFile(t *testing.T, dir string) string {
	t.Helper()
	if code, _, errs := runCLI("keygen", "-dir", filepath.Join(dir, "keys")); code != 0 {
		t.Fatal(errs)
	}
	return filepath.Join(dir, "keys", "presage.key")
}

// TestTrainPropensityAndScore: both kinds train into signed bundles that the module loads and
// scores, one probability per row in order, within 1e-6 of the native path.
func TestTrainPropensityAndScore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	dir := t.TempDir()
	data := synthCSV(t, dir, 2000)
	key := keyFile(t, dir)
	// "derive": trees that also read derived ratios (PageValues is 0 in most rows: x/0 reads 0).
	for _, kind := range []string{"logistic", "gbt", "auto", "derive"} {
		t.Run(kind, func(t *testing.T) {
			bundle := filepath.Join(dir, kind, "bundle.cbor")
			args := []string{"train", "propensity", "--data", data, "--label", "Revenue", "--drop", "id",
				"--categorical", "TrafficType", "--kind", kind, "--trees", "40", "-key", key, "-o", bundle,
				"--json", filepath.Join(dir, kind, "eval.json")}
			if kind == "derive" {
				args[11] = "gbt"
				args = append(args, "--derive", "ExitRates/PageValues,PageValues/ExitRates")
			}
			if kind != "auto" {
				args = append(args, "--cv", "0")
			}
			code, out, errs := runCLI(args...)
			if code != 0 {
				t.Fatalf("train exit %d: %s%s", code, out, errs)
			}
			if !strings.Contains(out, "wrote "+bundle) || !strings.Contains(out, "AUC") ||
				!strings.Contains(out, "held-out AUC") || !strings.Contains(out, "95 % bootstrap interval [") {
				t.Errorf("train output:\n%s", out)
			}
			scores := filepath.Join(dir, kind, "scores.csv")
			code, out, errs = runCLI("score", "--bundle", bundle, "--data", data, "-o", scores, "--compare",
				"-public-key", filepath.Join(dir, "keys", "presage.pub"))
			if code != 0 {
				t.Fatalf("score exit %d: %s%s", code, out, errs)
			}
			if !strings.Contains(out, "module vs native") {
				t.Errorf("score output:\n%s", out)
			}
			if b, err := os.ReadFile(bundle); err != nil || (kind == "derive") != bytes.Contains(b, []byte("ExitRates/PageValues")) {
				t.Errorf("derived feature in the %s bundle: %v (%v)", kind, !(kind == "derive"), err)
			}
			module := readScores(t, scores)
			if len(module) != 2000 {
				t.Fatalf("%d scores for 2000 rows", len(module))
			}
			native := filepath.Join(dir, kind, "native.csv")
			if code, out, errs := runCLI("score", "--bundle", bundle, "--data", data, "-o", native, "--native"); code != 0 {
				t.Fatalf("score -native exit %d: %s%s", code, out, errs)
			}
			worst := 0.0
			for i, p := range readScores(t, native) {
				worst = math.Max(worst, math.Abs(p-module[i]))
				if !(p >= 0 && p <= 1) {
					t.Fatalf("row %d: %v", i, p)
				}
			}
			t.Logf("%s: module vs native max |Δp| = %.3g", kind, worst)
			if worst > 1e-6 {
				t.Errorf("module and native differ by %g", worst)
			}
		})
	}
}

func readScores(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if lines[0] != "score" {
		t.Fatalf("header %q", lines[0])
	}
	out := make([]float64, len(lines)-1)
	for i, l := range lines[1:] {
		if out[i], err = strconv.ParseFloat(l, 64); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestTrainPropensityBadInput: bad files exit with status 2 and an error naming file, line, column.
func TestTrainPropensityBadInput(t *testing.T) {
	dir := t.TempDir()
	key := keyFile(t, dir)
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", "a,b,y\n1,x,1\n2,y,0\n3,x,1\n4,y,0\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"ragged row", []string{"--data", write("ragged.csv", "a,b,y\n1,x,1\n2,y\n"), "--label", "y"}, "ragged.csv:3: column 3 (y): 2 fields, the header has 3"},
		{"missing label", []string{"--data", good, "--label", "z"}, `good.csv:1: column "z": no such column`},
		{"missing drop", []string{"--data", good, "--label", "y", "--drop", "id"}, `good.csv:1: column "id": no such column`},
		{"one class", []string{"--data", write("one.csv", "a,y\n1,1\n2,1\n"), "--label", "y"}, "one.csv: column 2 (y): the label has one class"},
		{"empty label", []string{"--data", write("empty.csv", "a,y\n1,1\n2,\n3,0\n"), "--label", "y"}, "empty.csv:3: column 2 (y): empty label"},
		{"no such file", []string{"--data", filepath.Join(dir, "nope.csv"), "--label", "y"}, "nope.csv"},
		{"bad kind", []string{"--data", good, "--label", "y", "--kind", "forest"}, "-kind"},
		{"derive a category", []string{"--data", good, "--label", "y", "--derive", "a/b"}, `good.csv: column 2 (b): is categorical`},
		{"derive the label", []string{"--data", good, "--label", "y", "--derive", "a/y"}, `-derive: train: derived feature "a/y" reads the label`},
		{"derive no such column", []string{"--data", good, "--label", "y", "--derive", "a/z"}, `column "z": no such column`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"train", "propensity", "-key", key, "-o", filepath.Join(dir, "b.cbor")}, tc.args...)
			code, _, errs := runCLI(args...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
		})
	}
}

// TestScoreBadInput: a file without the model's columns, or with text in a numeric one, exits 2.
func TestScoreBadInput(t *testing.T) {
	dir := t.TempDir()
	data := synthCSV(t, dir, 300)
	key := keyFile(t, dir)
	bundle := filepath.Join(dir, "b.cbor")
	if code, out, errs := runCLI("train", "propensity", "--data", data, "--label", "Revenue", "--drop", "id",
		"--kind", "logistic", "--cv", "0", "--test", "0", "-key", key, "-o", bundle); code != 0 {
		t.Fatalf("train: %s%s", out, errs)
	}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, data, want string
	}{
		{"missing column", "PageValues,Month,Weekend,TrafficType\n1,Nov,TRUE,2\n", `column "ExitRates": no such column`},
		{"text in a number", "PageValues,ExitRates,Month,Weekend,TrafficType\n1,0.1,Nov,TRUE,2\nlots,0.2,May,FALSE,3\n", ":3: column 1 (PageValues): not a number"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI("score", "--bundle", bundle, "--data", write(tc.name+".csv", tc.data), "-o", filepath.Join(dir, "s.csv"), "--native")
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errs, tc.want)
			}
		})
	}
}

// TestScoreOnlineShoppers: both kinds of Online Shoppers bundle score every session in the module
// within 1e-6 of the native path.
func TestScoreOnlineShoppers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module")
	}
	data := filepath.Join(datasetsDir(), "online-shoppers", "online_shoppers_intention.csv")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("dataset absent: %v", err)
	}
	dir := t.TempDir()
	key := keyFile(t, dir)
	for _, kind := range []string{"logistic", "gbt"} {
		t.Run(kind, func(t *testing.T) {
			bundle := filepath.Join(dir, kind+".cbor")
			if code, out, errs := runCLI("train", "propensity", "--data", data, "--label", "Revenue", "--kind", kind,
				"--categorical", "OperatingSystems,Browser,Region,TrafficType", "--cv", "0", "--test", "0", "-key", key, "-o", bundle); code != 0 {
				t.Fatalf("train: %s%s", out, errs)
			}
			code, out, errs := runCLI("score", "--bundle", bundle, "--data", data, "-o", filepath.Join(dir, kind+".csv"), "--compare")
			if code != 0 {
				t.Fatalf("score exit %d: %s%s", code, out, errs)
			}
			t.Log(strings.TrimSpace(out))
		})
	}
}

// datasetsDir is $PRESAGE_DATASETS, or ../shared/datasets beside the repository.
func datasetsDir() string {
	if d := os.Getenv("PRESAGE_DATASETS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "datasets")
}
