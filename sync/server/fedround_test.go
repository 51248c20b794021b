package server_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/fed"
	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

// The federated fixture's model "buy": two features, standardised by mean (1, 0) and scale (2, 4);
// the visitors' true model in standardised coordinates is truth (bias first).
var (
	fedMean  = []float32{1, 0}
	fedScale = []float32{2, 4}
	truth    = []float64{-0.5, 1.5, -1}
)

// fedFixture is a server with the signing key, site "shop" serving version 1: a federated model
// "buy" at zero weights and a model that is not federated; no campaign. The round's noise is
// seeded.
func fedFixture(t *testing.T, st store.Store) (*server.Server, http.Handler) {
	t.Helper()
	key := newKey(t, 1)
	cfg := testConfig()
	cfg.SigningKey = key
	cfg.Retrain.FedNoise = rand.New(rand.NewPCG(1, 2))
	s := newServer(t, st, cfg)
	h := s.Handler()
	b := &models.Bundle{Format: models.FormatVersion, Version: 1, Created: now.Unix() - 86400, Site: "shop",
		Features: []string{"f0", "f1"},
		Propensity: []models.Logistic{
			{Name: "buy", Features: []uint16{0, 1}, Weights: []float32{0, 0},
				Fed: &models.Federated{Target: models.FedSessionOrder, Mean: fedMean, Scale: fedScale}},
			{Name: "other", Features: []uint16{0}, Weights: []float32{0.25}},
		}}
	if w := admin(t, h, "POST", "/v1/admin/bundles?publish=true", signing.Sign(b, key), nil); w.Code != 201 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	return s, h
}

// visitorBatch is what a device sends after a day of two sessions, as agent/federated.go computes
// it: the log-loss gradient of "buy" at the bundle's weights (zero) in standardised coordinates,
// over two examples drawn from the true model (the opposite model when flip), clipped to C = 5,
// with Count 1.
func visitorBatch(n int, day int32, r *rand.Rand, flip bool) *wire.Batch {
	sum := make([]float64, 3)
	for range 2 {
		z := []float64{1, r.NormFloat64(), r.NormFloat64()}
		var logit float64
		for i, b := range truth {
			logit += b * z[i]
		}
		if flip {
			logit = -logit
		}
		y := 0.0
		if r.Float64() < 1/(1+math.Exp(-logit)) {
			y = 1
		}
		for i := range sum {
			sum[i] += (0.5 - y) * z[i] // σ(0) − y: the bundle's weights are zero
		}
	}
	norm := math.Sqrt(sum[0]*sum[0] + sum[1]*sum[1] + sum[2]*sum[2])
	u := wire.ModelUpdate{Model: "buy", Count: 1}
	for _, v := range sum {
		u.Sum = append(u.Sum, float32(v*min(1, 5/norm)))
	}
	return &wire.Batch{ID: batchID(n), Site: "shop", Bundle: 1, Day: day, Updates: []wire.ModelUpdate{u}}
}

// postAll posts the batches through the HTTP handler from 16 goroutines (group commit gathers
// them) and fails unless each is acknowledged with want.
func postAll(t *testing.T, h http.Handler, bs []*wire.Batch, want string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, len(bs))
	next := make(chan *wire.Batch)
	for range 16 {
		wg.Go(func() {
			for b := range next {
				if w := do(h, "POST", "/v1/batches", encode(t, b), "Content-Type", "application/cbor"); w.Code != 204 || w.Header().Get("Presage-Batch") != want {
					errs <- w.Result().Status + " " + w.Header().Get("Presage-Batch") + " " + w.Body.String()
				}
			}
		})
	}
	for _, b := range bs {
		next <- b
	}
	close(next)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("post: %s, want 204 %s", e, want)
	}
}

// population is n visitors' batches of day; flipHeld draws the held-back share (store.HeldBack)
// from the opposite model.
func population(n, from int, day int32, seed uint64, flipHeld bool) []*wire.Batch {
	r := rand.New(rand.NewPCG(seed, 3))
	var bs []*wire.Batch
	for i := range n {
		bs = append(bs, visitorBatch(from+i, day, r, flipHeld && store.HeldBack(batchID(from+i))))
	}
	return bs
}

func fedRetrain(t *testing.T, h http.Handler) server.RetrainReport {
	t.Helper()
	var rep server.RetrainReport
	if w := admin(t, h, "POST", "/v1/admin/retrain?site=shop", nil, &rep); w.Code != 200 {
		t.Fatalf("retrain: %d %s", w.Code, w.Body)
	}
	if rep.Fed == nil {
		t.Fatalf("report without a federated round: %+v", rep)
	}
	return rep
}

func servedBundle(t *testing.T, h http.Handler) *models.Bundle {
	t.Helper()
	w := do(h, "GET", "/v1/bundle?site=shop", nil)
	b, err := signing.Verify(w.Body.Bytes(), newKey(t, 1).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// heldOutLoss is the mean log loss of lr on fresh visitors of the true model.
func heldOutLoss(lr *models.Logistic) float64 {
	r := rand.New(rand.NewPCG(99, 99))
	var loss float64
	const n = 20000
	for range n {
		z := []float64{r.NormFloat64(), r.NormFloat64()}
		logit := truth[0] + truth[1]*z[0] + truth[2]*z[1]
		y := r.Float64() < 1/(1+math.Exp(-logit))
		x := []float64{float64(fedMean[0]) + float64(fedScale[0])*z[0], float64(fedMean[1]) + float64(fedScale[1])*z[1]}
		p := 1 / (1 + math.Exp(-lr.Logit(x, lr.Features)))
		if y {
			loss -= math.Log(p)
		} else {
			loss -= math.Log(1 - p)
		}
	}
	return loss / n
}

// TestFedRoundPublishes: devices' updates come in through POST /v1/batches (retries, a stale
// bundle and an oversized update among them), a retraining steps the federated model with noise
// at ε = 1, checks the step on the held-back share, charges the ledger, signs and publishes; the
// served model's weights point the true model's way and its held-out loss fell.
func TestFedRoundPublishes(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			st := be.open(t)
			_, h := fedFixture(t, st)
			ctx := context.Background()
			day := today - 1
			bs := population(1500, 0, day, 1, false)
			postAll(t, h, bs, "accepted")
			postAll(t, h, bs[:100], "duplicate") // retries add nothing
			// A batch gathered under another bundle: its cells count, its updates are dropped.
			stale := visitorBatch(5000, day, rand.New(rand.NewPCG(5, 5)), false)
			stale.Bundle, stale.Cells = 99, []wire.Cell{{Campaign: "c", Exposures: 1}}
			// An update far past C (a tampered device): clipped to C = 5 at ingest (another day).
			big := &wire.Batch{ID: batchID(5001), Site: "shop", Bundle: 1, Day: today - 2,
				Updates: []wire.ModelUpdate{{Model: "buy", Sum: []float32{300, 400, 0}, Count: 1}}}
			postAll(t, h, []*wire.Batch{stale, big}, "accepted")

			ups, err := st.FedUpdates(ctx, "shop", 1, day, day)
			if err != nil {
				t.Fatal(err)
			}
			var batches, visitors, held int64
			for _, u := range ups {
				batches += u.Batches
				visitors += u.Visitors
				if u.HeldBack {
					held += u.Batches
				}
			}
			if batches != 1500 || visitors != 1500 || held < 200 || held > 400 {
				t.Fatalf("stored %d batches (%d held back), %d visitors; want 1500 once each, a fifth held back", batches, held, visitors)
			}
			if ups, _ := st.FedUpdates(ctx, "shop", 99, day, day); len(ups) != 0 {
				t.Errorf("updates of a stale bundle stored: %+v", ups)
			}
			if ups, _ := st.FedUpdates(ctx, "shop", 1, today-2, today-2); len(ups) != 1 || math.Abs(math.Hypot(ups[0].Sum[0], ups[0].Sum[1])-5) > 1e-4 {
				t.Errorf("oversized update stored as %+v, want clipped to norm 5", ups)
			}
			if m := do(h, "GET", "/metrics", nil).Body.String(); !strings.Contains(m, `presage_ingest_updates_dropped_total{reason="stale_bundle"} 1`) {
				t.Errorf("metrics do not count the stale update")
			}

			rep := fedRetrain(t, h)
			fr := rep.Fed
			if rep.Outcome != server.OutcomePublished || rep.Version != 2 || fr.Outcome != server.FedApplied || fr.Day != day || len(fr.Models) != 1 {
				t.Fatalf("report %+v, federated %+v", rep, fr)
			}
			m := fr.Models[0]
			if !m.Applied || m.Regression || m.HeldChange >= 0 || m.Batches+m.HeldBatches != 1500 {
				t.Errorf("model report %+v: want applied, the held-back loss falling", m)
			}
			rho := fed.RhoFor(fed.DefaultEpsilon, fed.DefaultDelta)
			if math.Abs(fr.Rho-rho) > 1e-12 || math.Abs(fr.DayEpsilon-1) > 1e-9 {
				t.Errorf("charged ρ %g (day ε %g), want %g (ε 1)", fr.Rho, fr.DayEpsilon, rho)
			}
			if l, err := st.PrivacyLedger(ctx, "shop", day-5, today); err != nil || len(l) != 1 || l[0].Day != day || l[0].Rounds != 1 || math.Abs(l[0].Rho-rho) > 1e-12 {
				t.Errorf("ledger %+v (%v), want one round of ρ %g on day %d", l, err, rho, day)
			}

			b := servedBundle(t, h)
			if b.Version != 2 {
				t.Fatalf("served version %d, want 2", b.Version)
			}
			buy, other := &b.Propensity[0], b.Propensity[1]
			beta := fed.Standardise(buy)
			var dot, n1, n2 float64
			for i := 1; i < 3; i++ {
				dot, n1, n2 = dot+beta[i]*truth[i], n1+beta[i]*beta[i], n2+truth[i]*truth[i]
			}
			cos := dot / math.Sqrt(n1*n2)
			t.Logf("round: σ %.2f, model %+v; standardised weights %.3f (cosine %.3f with the truth)", fr.Sigma, m, beta, cos)
			if cos < 0.95 || beta[0]*truth[0] <= 0 {
				t.Errorf("standardised weights %v: cosine %.3f with the truth %v, want ≥ 0.95 and the intercept's sign", beta, cos, truth)
			}
			zero := models.Logistic{Features: []uint16{0, 1}, Weights: []float32{0, 0}}
			before, after := heldOutLoss(&zero), heldOutLoss(buy)
			t.Logf("held-out log loss %.4f before, %.4f after", before, after)
			if after >= before {
				t.Errorf("held-out log loss %.4f after the round, %.4f before", after, before)
			}
			if other.Weights[0] != 0.25 || other.Fed != nil {
				t.Errorf("the model that is not federated changed: %+v", other)
			}
			if list := storedBundles(t, h); len(list) != 2 || list[1].Source != store.SourceTrain {
				t.Errorf("bundles %+v", list)
			}
			// The next retraining: nothing was gathered under version 2 yet.
			if rep := fedRetrain(t, h); rep.Outcome != server.OutcomeUnchanged || rep.Fed.Outcome != server.FedSkipped {
				t.Errorf("retraining again: %+v %+v, want unchanged, skipped", rep, rep.Fed)
			}
		})
	}
}

// TestFedRoundRefusals: a step that raises the held-back loss is refused and the serving bundle
// stays; its privacy is spent all the same, so a second round on the same day is refused by the
// budget; a day with fewer batches than the k-anonymity threshold spends nothing.
func TestFedRoundRefusals(t *testing.T) {
	st := sqliteStore(t)
	_, h := fedFixture(t, st)
	ctx := context.Background()
	day := today - 1
	postAll(t, h, population(1500, 0, day, 2, true), "accepted") // the held-back share disagrees

	rep := fedRetrain(t, h)
	t.Logf("refused step: %+v", rep.Fed.Models[0])
	if rep.Outcome != server.OutcomeUnchanged || rep.Fed.Outcome != server.FedRefused || !rep.Fed.Models[0].Regression ||
		rep.Fed.Models[0].Reason != fed.ReasonRegression || rep.Fed.Models[0].Applied {
		t.Fatalf("report %+v, federated %+v: want the step refused", rep, rep.Fed)
	}
	if v := servedVersion(t, h, "shop"); v != 1 {
		t.Errorf("served version %d after a refused step, want 1", v)
	}
	rho := fed.RhoFor(fed.DefaultEpsilon, fed.DefaultDelta)
	if l, _ := st.PrivacyLedger(ctx, "shop", day, day); len(l) != 1 || l[0].Rounds != 1 {
		t.Errorf("ledger %+v: the refused round's noise was drawn, it is charged", l)
	}

	rep = fedRetrain(t, h)
	if rep.Outcome != server.OutcomeUnchanged || rep.Fed.Outcome != server.FedRefused || !strings.Contains(rep.Fed.Reason, "privacy budget") || rep.Fed.Rho != 0 {
		t.Errorf("second round of the day: %+v %+v, want refused by the budget", rep, rep.Fed)
	}
	if l, _ := st.PrivacyLedger(ctx, "shop", day, day); len(l) != 1 || l[0].Rounds != 1 || math.Abs(l[0].Rho-rho) > 1e-12 {
		t.Errorf("ledger %+v after a refused charge, want one round of ρ %g", l, rho)
	}
	if _, err := st.ChargePrivacy(ctx, "shop", day, rho/1e6, rho); !errors.Is(err, store.ErrBudget) {
		t.Errorf("the day's budget is spent, yet a sliver was charged: %v", err)
	}
	var ledger struct {
		Epsilon      float64 `json:"epsilon"`
		TotalEpsilon float64 `json:"total_epsilon"`
		Days         []struct {
			Day     string
			Rounds  int64
			Epsilon float64
		}
	}
	if w := admin(t, h, "GET", "/v1/admin/privacy?site=shop", nil, &ledger); w.Code != 200 || ledger.Epsilon != 1 || len(ledger.Days) != 1 ||
		ledger.Days[0].Day != "2026-05-19" || ledger.Days[0].Rounds != 1 || math.Abs(ledger.Days[0].Epsilon-1) > 1e-9 || math.Abs(ledger.TotalEpsilon-1) > 1e-9 {
		t.Errorf("GET /v1/admin/privacy: %d %s", w.Code, w.Body)
	}
	if w := admin(t, h, "GET", "/v1/admin/privacy?site=shop&from=2026-05-20&to=2026-05-01", nil, nil); w.Code != 400 {
		t.Errorf("from after to: %d", w.Code)
	}

	// Another site below the k-anonymity threshold: skipped, nothing charged.
	st2 := sqliteStore(t)
	_, h2 := fedFixture(t, st2)
	postAll(t, h2, population(60, 0, day, 3, false), "accepted") // about 12 held back: below 50
	rep = fedRetrain(t, h2)
	if rep.Fed.Outcome != server.FedSkipped || rep.Fed.Models[0].Reason == "" || rep.Outcome != server.OutcomeUnchanged {
		t.Errorf("few batches: %+v %+v, want skipped", rep, rep.Fed)
	}
	if l, _ := st2.PrivacyLedger(ctx, "shop", day, day); len(l) != 0 {
		t.Errorf("a skipped round charged the ledger: %+v", l)
	}
}
