package translog

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/train"
)

// Group compares, for the customers with one calibration frequency (or MinX and more), the mean
// number of holdout purchases that BG/NBD predicted with the mean they made.
type Group struct {
	Label     string  `json:"label"`
	MinX      int     `json:"min_x"`
	Customers int     `json:"customers"`
	Predicted float64 `json:"predicted"`
	Actual    float64 `json:"actual"`
}

// Fit is the value models fitted on a Summary and checked on its holdout period.
type Fit struct {
	Customers int `json:"customers"`
	Repeaters int `json:"repeat_customers"` // x > 0
	// Value holds both models; its Horizon is the holdout length, so Value.Estimate predicts over it.
	Value      models.Value `json:"-"`
	BGNBD      BGNBD        `json:"bgnbd"`
	GammaGamma *GammaGamma  `json:"gamma_gamma,omitempty"`
	// GammaGammaErr says why there is no Gamma-Gamma part (no amounts, too few repeat customers).
	GammaGammaErr string `json:"gamma_gamma_error,omitempty"`

	HoldoutUnits     float64 `json:"holdout_units"`
	UnitDays         float64 `json:"unit_days"`
	Groups           []Group `json:"holdout_by_frequency"`
	PredictedHoldout float64 `json:"predicted_holdout_purchases"` // summed over customers
	ActualHoldout    float64 `json:"actual_holdout_purchases"`
	// GroupMAE is the mean absolute error of the per-group means, weighted by group size.
	GroupMAE float64 `json:"group_mae"`

	Alive     AliveSummary `json:"p_alive"`
	Spend     *SpendCheck  `json:"spend,omitempty"`
	AliveHist []float64    `json:"-"` // every customer's P(alive), for a histogram
}

// BGNBD holds the fitted BG/NBD parameters, the log-likelihood and the fit time.
type BGNBD struct {
	R       float64 `json:"r"`
	Alpha   float64 `json:"alpha"`
	A       float64 `json:"a"`
	B       float64 `json:"b"`
	LogLik  float64 `json:"log_likelihood"`
	Seconds float64 `json:"fit_seconds"`
}

// GammaGamma holds the fitted Gamma-Gamma parameters (γ is written v in lifetimes).
type GammaGamma struct {
	P         float64 `json:"p"`
	Q         float64 `json:"q"`
	Gamma     float64 `json:"gamma"`
	Customers int     `json:"customers"` // repeat customers with a positive mean spend
	Seconds   float64 `json:"fit_seconds"`
}

// AliveSummary describes P(alive) at the calibration end across customers.
type AliveSummary struct {
	Mean        float64 `json:"mean"`
	P10         float64 `json:"p10"`
	Median      float64 `json:"median"`
	P90         float64 `json:"p90"`
	BelowHalf   float64 `json:"share_below_half"`
	AliveRepeat float64 `json:"mean_repeat_customers"` // mean over customers with x > 0
}

// SpendCheck compares, over the customers who bought in both periods, the Gamma-Gamma expected
// spend per purchase with the mean they spent per holdout purchase.
type SpendCheck struct {
	Customers int     `json:"customers"`
	Predicted float64 `json:"predicted_mean"`
	Actual    float64 `json:"actual_mean"`
}

// FitSummary fits BG/NBD on every customer of s and Gamma-Gamma on the repeat customers (when the
// log had amounts), and evaluates the fit on the holdout period. Frequency groups run 0, 1, …,
// maxGroup−1 and "maxGroup+" (7 in the papers; 0 means 7).
func FitSummary(ctx context.Context, s *Summary, maxGroup int) (*Fit, error) {
	if maxGroup <= 0 {
		maxGroup = 7
	}
	f := &Fit{Customers: len(s.Customers), HoldoutUnits: s.HoldoutUnits, UnitDays: s.UnitDays}
	start := time.Now()
	r, alpha, a, b, ll, err := train.FitBGNBD(s.Customers)
	if err != nil {
		return nil, err
	}
	f.BGNBD = BGNBD{R: r, Alpha: alpha, A: a, B: b, LogLik: ll, Seconds: time.Since(start).Seconds()}
	f.Value = models.Value{R: r, Alpha: alpha, A: a, B: b, Horizon: s.HoldoutUnits, UnitDays: s.UnitDays}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	x := make([]float64, len(s.Customers))
	withSpend := 0
	for i, c := range s.Customers {
		x[i] = c.X
		if c.X > 0 {
			f.Repeaters++
			if s.MeanSpend[i] > 0 {
				withSpend++
			}
		}
	}
	start = time.Now()
	p, q, g, err := train.FitGammaGamma(x, s.MeanSpend)
	switch {
	case withSpend == 0:
		f.GammaGammaErr = "no repeat customer with a positive spend (no amounts in the log?)"
	case err != nil:
		f.GammaGammaErr = err.Error()
	case !(q > 1):
		// The model's mean spend pγ/(q−1) is infinite: the spend has too heavy a tail to fit.
		f.GammaGammaErr = "q = " + strconv.FormatFloat(q, 'g', 4, 64) + " ≤ 1: the mean spend is infinite under this fit"
	default:
		f.GammaGamma = &GammaGamma{P: p, Q: q, Gamma: g, Customers: withSpend, Seconds: time.Since(start).Seconds()}
		f.Value.P, f.Value.Q, f.Value.Gamma = p, q, g
	}

	f.Groups = make([]Group, maxGroup+1)
	for k := range f.Groups {
		f.Groups[k] = Group{Label: strconv.Itoa(k), MinX: k}
	}
	f.Groups[maxGroup].Label += "+"
	f.AliveHist = make([]float64, len(s.Customers))
	var spendPred, spendAct, aliveRepeat float64
	nSpend := 0
	for i, c := range s.Customers {
		pred := f.Value.ConditionalExpected(s.HoldoutUnits, c.X, c.Tx, c.T)
		g := &f.Groups[min(int(c.X), maxGroup)]
		g.Customers++
		g.Predicted += pred
		g.Actual += s.Holdout[i]
		f.PredictedHoldout += pred
		f.ActualHoldout += s.Holdout[i]
		pa := f.Value.Alive(c.X, c.Tx, c.T)
		f.AliveHist[i] = pa
		if c.X > 0 {
			aliveRepeat += pa
		}
		if f.GammaGamma != nil && c.X > 0 && s.Holdout[i] > 0 {
			spendPred += f.Value.ExpectedSpend(c.X, s.MeanSpend[i])
			spendAct += s.HoldoutSpend[i]
			nSpend++
		}
	}
	if nSpend > 0 {
		n := float64(nSpend)
		f.Spend = &SpendCheck{Customers: nSpend, Predicted: spendPred / n, Actual: spendAct / n}
	}
	for k := range f.Groups {
		g := &f.Groups[k]
		if g.Customers > 0 {
			g.Predicted /= float64(g.Customers)
			g.Actual /= float64(g.Customers)
			f.GroupMAE += float64(g.Customers) * math.Abs(g.Predicted-g.Actual)
		}
	}
	f.GroupMAE /= float64(len(s.Customers))
	sorted := slices.Clone(f.AliveHist)
	slices.Sort(sorted)
	at := func(q float64) float64 { return sorted[int(q*float64(len(sorted)-1))] }
	for _, v := range sorted {
		f.Alive.Mean += v
		if v < 0.5 {
			f.Alive.BelowHalf++
		}
	}
	n := float64(len(sorted))
	f.Alive.Mean /= n
	f.Alive.BelowHalf /= n
	f.Alive.P10, f.Alive.Median, f.Alive.P90 = at(0.1), at(0.5), at(0.9)
	if f.Repeaters > 0 {
		f.Alive.AliveRepeat = aliveRepeat / float64(f.Repeaters)
	}
	if math.IsNaN(f.PredictedHoldout) {
		return nil, errors.New("translog: the fitted model predicts NaN purchases")
	}
	return f, nil
}
