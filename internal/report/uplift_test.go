package report

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presage-dev/presage/models/eval"
)

// TestUpliftSections: an uplift report writes its three pictures and the cost-aware table, negative
// uplifts included.
func TestUpliftSections(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 2000
	s, y, tr := make([]float64, n), make([]float64, n), make([]bool, n)
	for i := range s {
		s[i] = rng.Float64() - 0.3
		tr[i] = rng.IntN(2) == 1
		p := 0.2
		if tr[i] {
			p += 0.5 * s[i]
		}
		if rng.Float64() < p {
			y[i] = 1
		}
	}
	rep, err := eval.Uplift(s, y, tr, eval.UpliftOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tg := eval.UpliftTargeting(s, y, tr, 40, 2, nil)
	secs, err := UpliftSections("offer", "u-", rep, &tg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := (&Report{Title: "uplift", Sections: secs, Summary: rep}).Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"u-qini.svg", "u-uplift_at_k.svg", "u-uplift_deciles.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	html, err := os.ReadFile(files.HTML)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Qini coefficient", "uplift × 40 − 2", "the rule"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
