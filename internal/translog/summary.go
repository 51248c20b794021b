package translog

import (
	"errors"
	"fmt"
	"math"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/train"
)

// Split chooses the calibration and holdout periods.
type Split struct {
	CalibrationEnd int     // last day of the calibration period (inclusive)
	HoldoutEnd     int     // last day of the holdout period (inclusive); 0 means the log's last day
	UnitDays       float64 // days per model time unit; 0 means 7 (weeks, as in the CDNOW papers)
}

// Summary is the per-customer input of the value models, for the customers whose first purchase
// falls in the calibration period, in the order of Log.IDs.
type Summary struct {
	IDs       []string
	Customers []train.Customer // (x, t_x, T) in units, over the calibration period
	// MeanSpend is the mean amount of the calibration-period repeat purchases (0 when x = 0): the
	// z̄ of Gamma-Gamma, which leaves out the first purchase as Fader & Hardie's note 025 does.
	MeanSpend []float64
	Holdout   []float64 // purchases in the holdout period
	// HoldoutSpend is the mean amount of the holdout purchases (0 when there were none).
	HoldoutSpend []float64

	CalibrationEnd, HoldoutEnd int
	UnitDays                   float64
	HoldoutUnits               float64 // length of the holdout period in units
	Later                      int     // customers whose first purchase is after the calibration end: left out

	index []int // each customer's index in Log.Purchases
}

// Summarise splits the log at s.CalibrationEnd. T is measured from a customer's first purchase
// to the end of the calibration day, t_x to the last calibration purchase; a purchase on the
// calibration end has t_x = T. For CDNOW (calibration end 1997-09-30) this gives the 39-week
// summary of the papers: T = 38.86 weeks for a customer first seen on 1 January 1997.
func (l *Log) Summarise(s Split) (*Summary, error) {
	unit := s.UnitDays
	if unit == 0 {
		unit = 7
	}
	if !(unit > 0) {
		return nil, errors.New("translog: the time unit must be positive")
	}
	hEnd := s.HoldoutEnd
	if hEnd == 0 {
		hEnd = l.LastDay
	}
	if hEnd < s.CalibrationEnd {
		return nil, fmt.Errorf("translog: holdout end %s is before the calibration end %s", DayString(hEnd), DayString(s.CalibrationEnd))
	}
	out := &Summary{CalibrationEnd: s.CalibrationEnd, HoldoutEnd: hEnd, UnitDays: unit,
		HoldoutUnits: float64(hEnd-s.CalibrationEnd) / unit}
	for k, ps := range l.Purchases {
		first := ps[0].Day
		if first > s.CalibrationEnd {
			out.Later++
			continue
		}
		var x, last, spend, hold, hspend float64
		for _, p := range ps[1:] {
			switch {
			case p.Day <= s.CalibrationEnd:
				x++
				last = float64(p.Day - first)
				spend += p.Amount
			case p.Day <= hEnd:
				hold++
				hspend += p.Amount
			}
		}
		c := train.Customer{X: x, Tx: last / unit, T: float64(s.CalibrationEnd-first) / unit}
		mean, hmean := 0.0, 0.0
		if x > 0 {
			mean = spend / x
		}
		if hold > 0 {
			hmean = hspend / hold
		}
		out.index = append(out.index, k)
		out.IDs = append(out.IDs, l.IDs[k])
		out.Customers = append(out.Customers, c)
		out.MeanSpend = append(out.MeanSpend, mean)
		out.Holdout = append(out.Holdout, hold)
		out.HoldoutSpend = append(out.HoldoutSpend, hmean)
	}
	if len(out.Customers) == 0 {
		return nil, fmt.Errorf("translog: no customer bought on or before the calibration end %s (the log starts %s)",
			DayString(s.CalibrationEnd), DayString(l.FirstDay))
	}
	return out, nil
}

// Tracking is the cumulative number of repeat purchases of a summary's customers, made and
// expected under a BG/NBD model, at the end of each time unit from the log's first day to the
// holdout end: the tracking plot of Fader, Hardie & Lee (2005, fig. 1), which shows whether the
// model follows the sales curve through the calibration period and beyond it.
type Tracking struct {
	Units          []float64 `json:"units"` // time since the log's first day, in units
	Actual         []float64 `json:"actual"`
	Expected       []float64 `json:"expected"`
	CalibrationEnd float64   `json:"calibration_end_units"`
}

// Tracking computes the tracking curves of s (which l summarised) under v. A purchase on day D
// counts at the end of the unit holding D; a customer first seen on day f is expected to have made
// E[X(τ−f)] repeat purchases by time τ (models.Value.Expected).
func (l *Log) Tracking(s *Summary, v *models.Value) *Tracking {
	tr := &Tracking{CalibrationEnd: float64(s.CalibrationEnd-l.FirstDay) / s.UnitDays}
	steps := int(math.Ceil(float64(s.HoldoutEnd-l.FirstDay+1) / s.UnitDays))
	for k := 1; k <= steps; k++ {
		tau := float64(l.FirstDay) + float64(k)*s.UnitDays
		act, exp := 0.0, 0.0
		for _, i := range s.index {
			ps := l.Purchases[i]
			f := float64(ps[0].Day)
			if f >= tau {
				continue
			}
			exp += v.Expected((tau - f) / s.UnitDays)
			for _, p := range ps[1:] {
				if float64(p.Day) >= tau || p.Day > s.HoldoutEnd {
					break
				}
				act++
			}
		}
		tr.Units = append(tr.Units, float64(k))
		tr.Actual = append(tr.Actual, act)
		tr.Expected = append(tr.Expected, exp)
	}
	return tr
}
