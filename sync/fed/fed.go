package fed

import (
	crand "crypto/rand"
	"errors"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
)

// Defaults of Config.
const (
	DefaultEpsilon      = 1    // ε per visitor per day
	DefaultDelta        = 1e-6 // δ per visitor per day: below 1/visitors for any site this serves
	DefaultMinCohort    = 50   // contributors (noisy count) below which a round changes nothing
	DefaultLearningRate = 1    // on the mean gradient in standardised coordinates
	DefaultMomentum     = 0.5  // heavy-ball momentum of the server's steps (post-processing: free)
	DefaultL2           = 1e-4 // ridge on the standardised weights, as models/train.DefaultL2
	DefaultTolerance    = 2    // standard errors of the held-back check (Config.CheckHeldBack)
)

// Config sets the privacy budget and the server's optimiser. Zero fields take the defaults above;
// a negative Momentum or L2 means none.
type Config struct {
	Epsilon, Delta float64 // the budget per visitor per day
	RoundsPerDay   int     // rounds sharing a day's budget equally; 0 means 1
	MinCohort      float64 // k: a round whose noisy contributor count is below k applies no update
	LearningRate   float64
	Momentum       float64
	L2             float64
	// CheckHeldBack makes Apply check every step on the round's held-back share (AddSum with
	// heldBack): a model is stepped only when the noisy held-back count reaches MinCohort too and
	// the step does not increase the held-back loss by more than Tolerance standard errors of the
	// noise (see Apply). Off, the held-back share is neither noised nor read.
	CheckHeldBack bool
	Tolerance     float64 // 0 means DefaultTolerance
}

func (c Config) withDefaults() Config {
	for _, f := range [...]struct {
		v *float64
		d float64
	}{{&c.Epsilon, DefaultEpsilon}, {&c.Delta, DefaultDelta},
		{&c.MinCohort, DefaultMinCohort}, {&c.LearningRate, DefaultLearningRate}, {&c.Momentum, DefaultMomentum}, {&c.L2, DefaultL2},
		{&c.Tolerance, DefaultTolerance}} {
		if *f.v == 0 {
			*f.v = f.d
		}
	}
	c.Momentum, c.L2 = max(c.Momentum, 0), max(c.L2, 0)
	if c.RoundsPerDay <= 0 {
		c.RoundsPerDay = 1
	}
	return c
}

// Error is an error of this package. Its values are constants: callers compare with errors.Is.
type Error string

func (e Error) Error() string { return string(e) }

// The errors of a round; ErrBudget (accountant.go) is one too.
const (
	ErrNoModel     Error = "fed: the bundle has no federated model"
	ErrOtherBundle Error = "fed: the batch was gathered under another bundle"
	ErrOtherDay    Error = "fed: the batch is of another day"
	ErrBadUpdate   Error = "fed: malformed update"
)

// Trainer runs the rounds of federated learning of one site's bundle: it owns the privacy
// accountant, the noise source and the optimiser's momentum. It is not safe for concurrent use
// (one round at a time; a Round's Add may be called from one goroutine at a time).
type Trainer struct {
	cfg   Config
	acc   *Accountant
	noise *rand.Rand
	vel   map[string][]float64 // momentum, by model name
}

// NewTrainer returns a trainer. noise draws the Gaussian noise; it must not be nil: use NewNoise
// in production, a seeded source in tests.
func NewTrainer(cfg Config, noise *rand.Rand) (*Trainer, error) {
	cfg = cfg.withDefaults()
	if noise == nil {
		return nil, errors.New("fed: no noise source")
	}
	if !(cfg.LearningRate > 0) || cfg.Momentum >= 1 || !(cfg.MinCohort >= 0) || !(cfg.Tolerance > 0) {
		return nil, errors.New("fed: need a learning rate > 0, a momentum < 1, a cohort ≥ 0 and a tolerance > 0")
	}
	acc, err := NewAccountant(cfg.Epsilon, cfg.Delta)
	if err != nil {
		return nil, err
	}
	return &Trainer{cfg: cfg, acc: acc, noise: noise, vel: map[string][]float64{}}, nil
}

// NewNoise returns a noise source seeded from the operating system's cryptographic generator
// (ChaCha8): the noise must be unpredictable to whoever sees the published weights.
func NewNoise() *rand.Rand {
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // never fails on supported platforms (crypto/rand's contract since Go 1.24)
	return rand.New(rand.NewChaCha8(seed))
}

// Accountant returns the trainer's privacy ledger.
func (t *Trainer) Accountant() *Accountant { return t.acc }

// Round gathers the contributions of one day to one bundle's federated models.
type Round struct {
	t      *Trainer
	b      *models.Bundle
	day    int32
	models []int       // indices of the federated models in b.Propensity
	sums   [][]float64 // per federated model: Σ of clipped contributions (bias first)
	counts []float64   // per federated model: Σ Count
	held   [][]float64 // the same, of the held-back share (AddSum with heldBack)
	hcount []float64
	scores [][]float64 // per federated model: the evaluation cells' histogram, 2·wire.ScoreBins (label 0, then 1)
	clip   float64     // the joint bound C (the smallest of the models')

	Batches, Rejected int // batches added (the held-back share's included), and refused
}

// NewRound starts gathering, for day (a Unix day), the updates of batches sent under bundle b.
func (t *Trainer) NewRound(b *models.Bundle, day int32) (*Round, error) {
	r := &Round{t: t, b: b, day: day}
	r.models, r.clip = federated(b)
	for _, m := range r.models {
		r.sums = append(r.sums, make([]float64, 1+len(b.Propensity[m].Features)))
		r.held = append(r.held, make([]float64, 1+len(b.Propensity[m].Features)))
		r.counts, r.hcount = append(r.counts, 0), append(r.hcount, 0)
		r.scores = append(r.scores, make([]float64, 2*wire.ScoreBins))
	}
	if len(r.models) == 0 {
		return nil, ErrNoModel
	}
	return r, nil
}

// Sensitivity is the L2 sensitivity of the round's query (the sums, the counts and the score
// histograms of every federated model) to one visitor-day: √(C² + 2M) for M federated models,
// since a device sends gradients of joint norm at most C a day, and once a day for each model a
// Count of 1 and one evaluation cell (one histogram bin moved by 1).
func (r *Round) Sensitivity() float64 {
	return math.Sqrt(r.clip*r.clip + 2*float64(len(r.models)))
}

// Add merges a batch's updates. A batch of another bundle or day is refused whole; so is one whose
// updates are malformed (an unknown or repeated model, a wrong length, a value that is not finite,
// a Count above 1). A batch whose updates' joint norm exceeds C is clipped to C here as well: the
// server does not rely on the device for the bound of one batch. A batch without updates is a no-op.
func (r *Round) Add(bt *wire.Batch) error {
	if len(bt.Updates) == 0 {
		return nil
	}
	scale, err := r.check(bt)
	if err != nil {
		r.Rejected++
		return err
	}
	for _, u := range bt.Updates {
		k := r.index(u.Model)
		for i, v := range u.Sum {
			r.sums[k][i] += float64(v) * scale
		}
		r.counts[k] += float64(u.Count)
		if b, y, ok := wire.ScoreBin(u.Cell); ok && u.Count == 1 {
			r.scores[k][y*wire.ScoreBins+b]++
		}
	}
	r.Batches++
	return nil
}

// AddScores merges counts of evaluation cells of one model (2·wire.ScoreBins: label 0 by bin, then
// label 1 by bin), each from a visitor-day's update of Count 1, as the sync store keeps them. An
// unknown model, a wrong length or a count that is negative or not finite is refused.
func (r *Round) AddScores(model string, counts []float64) error {
	k := r.index(model)
	if k < 0 || len(counts) != 2*wire.ScoreBins || slices.ContainsFunc(counts, func(v float64) bool { return !(v >= 0) || math.IsInf(v, 0) }) {
		return errors.Join(ErrBadUpdate, errors.New("fed: "+model+": score histogram of an unknown model, a wrong length or a bad count"))
	}
	for i, v := range counts {
		r.scores[k][i] += v
	}
	return nil
}

// AddSum merges the sum of many batches' updates to one model, each batch already checked and
// clipped (CheckUpdates), as the sync store keeps them: count is their Σ Count, batches how many
// they were. heldBack puts them in the round's held-back share, which Apply noises alike and reads
// only to check the step (Config.CheckHeldBack). An unknown model or a wrong length is refused.
func (r *Round) AddSum(model string, sum []float64, count float64, batches int, heldBack bool) error {
	k := r.index(model)
	switch {
	case k < 0:
		return errors.Join(ErrBadUpdate, errors.New("fed: unknown model "+model))
	case len(sum) != len(r.sums[k]) || !(count >= 0) || batches < 0:
		return errors.Join(ErrBadUpdate, errors.New("fed: "+model+": wrong length or count"))
	}
	dst, cnt := r.sums[k], &r.counts[k]
	if heldBack {
		dst, cnt = r.held[k], &r.hcount[k]
	}
	if slices.ContainsFunc(sum, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }) {
		return errors.Join(ErrBadUpdate, errors.New("fed: "+model+": value not finite"))
	}
	for i, v := range sum {
		dst[i] += v
	}
	*cnt += count
	r.Batches += batches
	return nil
}

func (r *Round) check(bt *wire.Batch) (float64, error) {
	switch {
	case bt.Bundle != r.b.Version || bt.Site != r.b.Site:
		return 0, ErrOtherBundle
	case bt.Day != r.day:
		return 0, ErrOtherDay
	}
	return clipScale(r.b, r.models, r.clip, bt)
}

// CheckUpdates checks a batch's updates against bundle b, whose version the batch says it was
// gathered under (the caller matches them), and clips them in place to b's joint bound C, as a
// Round's Add does: the sync server runs it at ingest, so that what it stores is what Add would
// have merged. It refuses the updates whole (ErrBadUpdate, ErrNoModel) as Add does.
func CheckUpdates(b *models.Bundle, bt *wire.Batch) error {
	idx, clip := federated(b)
	if len(idx) == 0 {
		return ErrNoModel
	}
	scale, err := clipScale(b, idx, clip, bt)
	if err != nil || scale == 1 {
		return err
	}
	for _, u := range bt.Updates {
		for i, v := range u.Sum {
			u.Sum[i] = float32(float64(v) * scale)
		}
	}
	return nil
}

// federated returns the indices of b's federated models in b.Propensity and their joint bound C,
// the smallest of theirs.
func federated(b *models.Bundle) (idx []int, clip float64) {
	for m := range b.Propensity {
		if f := b.Propensity[m].Fed; f != nil {
			idx = append(idx, m)
			if c := f.ClipBound(); clip == 0 || c < clip {
				clip = c
			}
		}
	}
	return idx, clip
}

// clipScale checks bt's updates against the federated models idx of b and returns the factor that
// brings their joint norm within clip.
func clipScale(b *models.Bundle, idx []int, clip float64, bt *wire.Batch) (float64, error) {
	seen := make([]bool, len(idx))
	var n2 float64
	for _, u := range bt.Updates {
		k := slices.IndexFunc(idx, func(m int) bool { return b.Propensity[m].Name == u.Model })
		switch {
		case k < 0 || seen[k]:
			return 0, errors.Join(ErrBadUpdate, errors.New("fed: unknown or repeated model "+u.Model))
		case len(u.Sum) != 1+len(b.Propensity[idx[k]].Features) || u.Count > 1:
			return 0, errors.Join(ErrBadUpdate, errors.New("fed: "+u.Model+": wrong length or count"))
		}
		for _, v := range u.Sum {
			f := float64(v)
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, errors.Join(ErrBadUpdate, errors.New("fed: "+u.Model+": value not finite"))
			}
			n2 += f * f
		}
		seen[k] = true
	}
	if n := math.Sqrt(n2); n > clip {
		return clip / n, nil
	}
	return 1, nil
}

func (r *Round) index(model string) int {
	for k, m := range r.models {
		if r.b.Propensity[m].Name == model {
			return k
		}
	}
	return -1
}

// Report says what a round did. The counts in Models are the noisy ones; Batches and Rejected are
// raw operational counts for the operator's logs, not for publication (a batch is not a visitor,
// but near the cohort threshold the raw number says more than the noisy one).
type Report struct {
	Day                  int32
	Version              uint64  // the new bundle's version (the old one's when nothing was applied)
	Sigma                float64 // noise sd on each coordinate of the sums and counts
	Rho                  float64 // zCDP charged to the day for this round
	DayRho, DayEpsilon   float64 // spent by the day so far, and its (ε, δ) conversion
	Sensitivity          float64 // √(C² + M)
	Batches, Rejected    int     // batches with updates merged, and refused (operational, not published)
	Models               []ModelReport
	Applied              bool // some model was updated: the returned bundle is new
	Clip, Epsilon, Delta float64
	RoundsPerDay         int
}

// ModelReport is one federated model's part of a round.
type ModelReport struct {
	Name       string
	NoisyCount float64
	Applied    bool    // false below the minimum cohort, or refused by the held-back check
	GradNorm   float64 // of the noisy mean gradient
	// The held-back check (Config.CheckHeldBack): the held-back share's noisy count, the
	// first-order change of its mean log loss under the step, Δ̂ = (S̃_H/ñ_H)·(β' − β), and the
	// tolerance, Tolerance·σ·‖β' − β‖/ñ_H (the noise's standard error of Δ̂). Regression: Δ̂ is
	// above the tolerance, and the model was not stepped.
	HeldCount, HeldChange, HeldTolerance float64
	Regression                           bool
	// Scores is the noisy histogram of the evaluation cells gathered under the round's bundle
	// (both shares; 2·wire.ScoreBins: label 0 by bin, then label 1), noised with the round's σ:
	// how the serving weights ranked and were calibrated on that day's visitors.
	Scores []float64
	Reason string // why the model was not stepped; "" when it was
}

// Reasons a model is not stepped (ModelReport.Reason).
const (
	ReasonCohort     = "fewer noisy contributors than the minimum cohort"
	ReasonHeldCohort = "fewer noisy held-back contributors than the minimum cohort: the step cannot be checked"
	ReasonRegression = "the step increases the held-back loss"
)

// Apply adds the Gaussian noise, charges the round to the accountant and steps the weights. It
// returns the next bundle (a copy of the round's bundle with a version one higher and the new
// weights; unsigned) when a model moved, or the round's bundle itself when none did (every noisy
// cohort below the minimum, or every step refused by the held-back check). ErrBudget: the day's
// budget is spent, nothing is drawn or charged.
//
// The step, for each model, in its standardised coordinates β (β₀ the intercept at the centre,
// βⱼ = wⱼ·sⱼ): ĝ = (S + N(0, σ²I)) / max(n̂, k), n̂ = n + N(0, σ²), v ← μ·v + ĝ + λ·(0, β₁…βₙ),
// β ← β − η·v; then back to raw units, wⱼ = βⱼ/sⱼ, Bias = β₀ − Σ wⱼ·mⱼ.
//
// With Config.CheckHeldBack the held-back share (S_H, n_H) gets noise of the same σ, and a step
// β → β' is kept only when n̂_H ≥ k and (S̃_H/n̂_H)·(β' − β) ≤ Tolerance·σ·‖β' − β‖/n̂_H: to first
// order, the step does not increase the mean log loss of the held-back visitor-days by more than
// the noise can explain. The same query costs no more privacy: a visitor-day's updates, split
// between the shares, still have a joint norm of at most C and a count of 1 (Sensitivity).
func (r *Round) Apply() (*models.Bundle, Report, error) {
	t, cfg := r.t, r.t.cfg
	_, _, budget := t.acc.Budget()
	rho := budget / float64(cfg.RoundsPerDay)
	rep := Report{Day: r.day, Version: r.b.Version, Rho: rho, Sensitivity: r.Sensitivity(),
		Batches: r.Batches, Rejected: r.Rejected, Clip: r.clip, Epsilon: cfg.Epsilon, Delta: cfg.Delta,
		RoundsPerDay: cfg.RoundsPerDay}
	if err := t.acc.Spend(r.day, rho); err != nil {
		return r.b, rep, err
	}
	rep.DayRho, rep.DayEpsilon = t.acc.Spent(r.day)
	sigma := GaussianSigma(rep.Sensitivity, rho)
	rep.Sigma = sigma
	// Noise for every coordinate of the query, the same whatever is applied.
	noise := func(sums [][]float64, counts []float64) {
		for k := range r.models {
			counts[k] += sigma * t.noise.NormFloat64()
			for i := range sums[k] {
				sums[k][i] += sigma * t.noise.NormFloat64()
			}
		}
	}
	noise(r.sums, r.counts)
	if cfg.CheckHeldBack {
		noise(r.held, r.hcount)
	}
	for k := range r.models {
		for i := range r.scores[k] {
			r.scores[k][i] += sigma * t.noise.NormFloat64()
		}
	}
	next := *r.b
	next.Propensity = slices.Clone(r.b.Propensity)
	for k, m := range r.models {
		lr := &next.Propensity[m]
		mr := ModelReport{Name: lr.Name, NoisyCount: r.counts[k], HeldCount: r.hcount[k], Scores: r.scores[k]}
		switch {
		case r.counts[k] < cfg.MinCohort:
			mr.Reason = ReasonCohort
		case cfg.CheckHeldBack && r.hcount[k] < max(cfg.MinCohort, 1):
			mr.Reason = ReasonHeldCohort
		default:
			before, vel := Standardise(lr), slices.Clone(t.vel[lr.Name])
			mr.GradNorm = t.step(lr, r.sums[k], max(r.counts[k], cfg.MinCohort, 1))
			if cfg.CheckHeldBack {
				r.checkHeld(k, before, Standardise(lr), sigma, &mr)
			}
			if mr.Regression {
				mr.Reason = ReasonRegression
				next.Propensity[m] = r.b.Propensity[m]
				t.vel[lr.Name] = vel
				break
			}
			mr.Applied, rep.Applied = true, true
		}
		rep.Models = append(rep.Models, mr)
	}
	if !rep.Applied {
		return r.b, rep, nil
	}
	next.Version = r.b.Version + 1
	rep.Version = next.Version
	return &next, rep, nil
}

// checkHeld fills the held-back check of model k's step from before to after.
func (r *Round) checkHeld(k int, before, after []float64, sigma float64, mr *ModelReport) {
	n := r.hcount[k]
	var dot, norm2 float64
	for i := range before {
		d := after[i] - before[i]
		dot += r.held[k][i] * d
		norm2 += d * d
	}
	mr.HeldChange = dot / n
	mr.HeldTolerance = r.t.cfg.Tolerance * sigma * math.Sqrt(norm2) / n
	mr.Regression = mr.HeldChange > mr.HeldTolerance
}

// step moves lr (a copy whose slices it replaces) along the noisy gradient sum g over n visitors,
// and returns the norm of the mean gradient.
func (t *Trainer) step(lr *models.Logistic, g []float64, n float64) float64 {
	f, cfg := lr.Fed, t.cfg
	beta := Standardise(lr)
	v := t.vel[lr.Name]
	if len(v) != len(beta) {
		v = make([]float64, len(beta))
	}
	var n2 float64
	for i := range beta {
		gi := g[i] / n
		n2 += gi * gi
		if i > 0 {
			gi += cfg.L2 * beta[i]
		}
		v[i] = cfg.Momentum*v[i] + gi
		beta[i] -= cfg.LearningRate * v[i]
	}
	t.vel[lr.Name] = v
	lr.Weights = make([]float32, len(lr.Features))
	bias := beta[0]
	for j := range lr.Weights {
		s := scaleOf(f, j)
		wj := beta[j+1] / s
		lr.Weights[j] = float32(wj)
		bias -= wj * meanOf(f, j)
	}
	lr.Bias = float32(bias)
	return math.Sqrt(n2)
}

// Standardise returns a federated model's weights in its standardised coordinates: β₀ = Bias +
// Σ wⱼ·mⱼ, βⱼ = wⱼ·sⱼ, so that Bias + Σ wⱼxⱼ = β₀ + Σ βⱼ·(xⱼ − mⱼ)/sⱼ.
func Standardise(lr *models.Logistic) []float64 {
	beta := make([]float64, 1+len(lr.Weights))
	beta[0] = float64(lr.Bias)
	for j, w := range lr.Weights {
		beta[0] += float64(w) * meanOf(lr.Fed, j)
		beta[j+1] = float64(w) * scaleOf(lr.Fed, j)
	}
	return beta
}

func meanOf(f *models.Federated, j int) float64 {
	if f != nil && j < len(f.Mean) {
		return float64(f.Mean[j])
	}
	return 0
}

func scaleOf(f *models.Federated, j int) float64 {
	if f != nil && j < len(f.Scale) {
		return float64(f.Scale[j])
	}
	return 1
}
