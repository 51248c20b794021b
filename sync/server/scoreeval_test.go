package server_test

import (
	"math"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/browsertest"
	"github.com/presage-dev/presage/models/eval"
	"github.com/presage-dev/presage/sync/server"
)

// scoredDay is a day of n visitors of the federated fixture whose updates carry an evaluation
// cell: one example each, of logit drawn from N(−2, 2²) and label drawn from σ(logit + shift)
// (shift 0: the scores are calibrated). It returns the batches and the examples' raw logits and
// labels, for the exact AUC.
func scoredDay(n, from int, day int32, seed uint64, shift float64) ([]*wire.Batch, []float64, []float64) {
	bs := population(n, from, day, seed, false)
	r := rand.New(rand.NewPCG(seed, 11))
	logits, labels := make([]float64, n), make([]float64, n)
	for i, b := range bs {
		l := -2 + 2*r.NormFloat64()
		y := 0.0
		if r.Float64() < 1/(1+math.Exp(-(l+shift))) {
			y = 1
		}
		logits[i], labels[i] = l, y
		b.Updates[0].Cell = wire.ScoreCell(l, y)
	}
	return bs, logits, labels
}

var scoresLine = regexp.MustCompile(`buy while it served: AUC <b class="auc">([0-9.]+) ± ([0-9.]+)</b> \(noise sd; binned scores, the exact AUC within ±([0-9.]+)\), ECE <b class="ece">([0-9.]+) ± ([0-9.]+)</b>`)

// scoredFixture runs two federated rounds on the federated fixture: version 1 serves a day of
// calibrated scores (shift 0), then version 2 a day of scores that under-predict (shift). It
// returns the handler and the exact AUC of each day's raw scores.
func scoredFixture(t *testing.T, backend int, shift float64) (http.Handler, [2]float64) {
	t.Helper()
	_, h := fedFixture(t, backends[backend].open(t))
	var exact [2]float64
	for i := range 2 {
		// Version 2's day is the one before version 1's: a round charges its day's whole budget,
		// and the round looks for the latest day with updates under the serving version.
		bs, logits, labels := scoredDay(8000, 10000*i, today-1-int32(i), uint64(i+1), float64(i)*shift)
		for _, b := range bs {
			b.Bundle = uint64(i + 1)
		}
		postAll(t, h, bs, "accepted")
		rep := fedRetrain(t, h)
		if (i == 0 && rep.Outcome != server.OutcomePublished) || rep.Fed.Models[0].Scores == nil {
			t.Fatalf("round %d: %s, %+v", i+1, rep.Outcome, rep.Fed)
		}
		var err error
		if exact[i], err = eval.AUC(logits, labels); err != nil {
			t.Fatal(err)
		}
	}
	return h, exact
}

// TestScoreHistograms: devices' evaluation cells become, through the federated round's noise, an
// AUC and an ECE per version on the dashboard, near the exact AUC of the raw scores, and a
// miscalibrated version shows a larger ECE. On both stores.
func TestScoreHistograms(t *testing.T) {
	for i, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			h, exact := scoredFixture(t, i, 1.5)
			w := do(h, "GET", "/dashboard?site=shop", nil, "Authorization", "Bearer "+token)
			body := w.Body.String()
			m := scoresLine.FindAllStringSubmatch(body, -1)
			if len(m) != 2 {
				t.Fatalf("%d score lines, want 2 (versions 2 and 1):\n%s", len(m), body)
			}
			// Newest version first: m[0] is version 2 (shifted), m[1] version 1 (calibrated).
			var ece, eceSD [2]float64
			for j, v := range []int{1, 0} {
				auc, sd, res := num(t, m[j][1]), num(t, m[j][2]), num(t, m[j][3])
				ece[v], eceSD[v] = num(t, m[j][4]), num(t, m[j][5])
				t.Logf("version %d: AUC %.3f ± %.3f (exact %.4f, resolution ±%.3f), ECE %.3f ± %.3f", v+1, auc, sd, exact[v], res, ece[v], eceSD[v])
				if sd <= 0 || sd > 0.06 || math.Abs(auc-exact[v]) > res+4*sd+0.002 {
					t.Errorf("version %d: AUC %.3f ± %.3f (resolution %.3f), exact %.4f", v+1, auc, sd, res, exact[v])
				}
			}
			// Version 2's scores under-predict by 1.5 logits: its ECE stands out of the noise.
			if ece[0] > 0.1 || ece[1] < ece[0]+3*(eceSD[0]+eceSD[1]) {
				t.Errorf("ECE %.3f ± %.3f (calibrated) and %.3f ± %.3f (miscalibrated)", ece[0], eceSD[0], ece[1], eceSD[1])
			}
			checkPage(t, body, []string{`<div id="auc"><svg class="chart forest"`, `<div id="reliability"><svg class="chart forest"`, "Reliability of v2 · buy"}, nil, "NaN", "Inf")
		})
	}
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestScoreHistogramsKAnonymity: below the k-anonymity threshold of evaluation cells no histogram
// is kept, though the round runs.
func TestScoreHistogramsKAnonymity(t *testing.T) {
	_, h := fedFixture(t, sqliteStore(t))
	bs, _, _ := scoredDay(1500, 0, today-1, 1, 0)
	for i, b := range bs {
		if i >= 40 { // 40 cells, k = 50
			b.Updates[0].Cell = 0
		}
	}
	postAll(t, h, bs, "accepted")
	rep := fedRetrain(t, h)
	if rep.Fed.Outcome != server.FedApplied || rep.Fed.Models[0].Scores != nil {
		t.Fatalf("round %+v: want applied, without scores", rep.Fed)
	}
	w := do(h, "GET", "/dashboard?site=shop", nil, "Authorization", "Bearer "+token)
	checkPage(t, w.Body.String(), nil, map[string]int{`class="scores"`: 0, `<div id="auc">`: 0})
}

// TestDashboardChromiumScores opens the model versions with their AUC and reliability charts in
// headless Chromium, checks that both are laid out with numbers, and saves a screenshot.
func TestDashboardChromiumScores(t *testing.T) {
	browsertest.Browser(t) // skips without Chromium
	h, _ := scoredFixture(t, 0, 1.5)
	tb := openDashboard(t, h, "/dashboard?site=shop")
	if n := browsertest.Eval[int](tb, `document.querySelectorAll('#auc svg.forest circle.est').length`); n != 2 {
		t.Errorf("AUC chart has %d points, want 2 (versions 1 and 2)", n)
	}
	if n := browsertest.Eval[int](tb, `document.querySelectorAll('#reliability svg.forest circle.est').length`); n < 6 {
		t.Errorf("reliability chart has %d points, want observed and predicted in 3 bins or more", n)
	}
	if w := browsertest.Eval[float64](tb, `document.querySelector('#auc svg').getBoundingClientRect().width`); w < 300 {
		t.Errorf("AUC chart is %v px wide", w)
	}
	got := browsertest.Eval[string](tb, `Array.from(document.querySelectorAll('#models .scores b.auc')).map(e => e.textContent).join(' | ')`)
	if !regexp.MustCompile(`^0\.[0-9]{3} ± 0\.[0-9]{3} \| 0\.[0-9]{3} ± 0\.[0-9]{3}$`).MatchString(got) {
		t.Errorf("AUCs shown: %q", got)
	}
	t.Logf("AUCs shown: %s; ECEs: %s", got, browsertest.Eval[string](tb, `Array.from(document.querySelectorAll('#models .scores b.ece')).map(e => e.textContent).join(' | ')`))
	browsertest.Eval[int](tb, `(document.getElementById('auc').scrollIntoView(), 0)`)
	tb.Screenshot("models-scores")
}
