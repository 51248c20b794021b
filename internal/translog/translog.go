package translog

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/presage-dev/presage/internal/csvin"
)

// Options name the columns of the log and how to read it.
type Options struct {
	Customer string // customer id column
	Date     string // purchase date column
	// Amount is the column of the purchase's value, or "A*B" for the product of two columns
	// (Online Retail has Quantity and UnitPrice); "" reads no amounts (no Gamma-Gamma).
	Amount string
	// DateLayout is a Go time layout for the dates; "" detects it from the first row among
	// 20060102, 2006-01-02, 2006-01-02 15:04:05, 2006-01-02 15:04, RFC 3339, 1/2/2006 15:04 and
	// 1/2/2006 (month first, as in UCI's Online Retail export).
	DateLayout string
	csvin.Options
}

// Purchase is one customer's purchases on one day.
type Purchase struct {
	Day    int     // days since 1970-01-01
	Amount float64 // summed over the day's transactions
}

// Log is a transaction log read into purchase days per customer.
type Log struct {
	File      string
	IDs       []string     // customer ids, in order of first appearance
	Purchases [][]Purchase // per customer, by day, one entry per day
	Rows      int          // data rows read
	// Rows left out: no customer id, or a negative amount (a return or cancellation is not a
	// purchase; its refund does not enter the spend).
	NoCustomer, Negative int
	FirstDay, LastDay    int
	Layout               string // the date layout used
}

var layouts = []string{"20060102", "2006-01-02", "2006-01-02 15:04:05", "2006-01-02 15:04",
	time.RFC3339, "2006-01-02T15:04:05", "1/2/2006 15:04", "1/2/2006"}

// dayOf returns the days since 1970-01-01 of a time, read as a calendar date.
func dayOf(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DayString formats a day number as YYYY-MM-DD.
func DayString(day int) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format("2006-01-02")
}

// ParseDay reads YYYY-MM-DD as a day number.
func ParseDay(s string) (int, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, fmt.Errorf("translog: date %q is not YYYY-MM-DD", s)
	}
	return dayOf(t), nil
}

// Read reads a transaction log. Every defect in the file (a ragged row, a missing column, an
// amount that is not a number, a date that does not parse) is a *csvin.Error naming the file,
// line and column.
func Read(path string, opt Options) (*Log, error) {
	if opt.Customer == "" || opt.Date == "" {
		return nil, errors.New("translog: the customer and date columns must be named")
	}
	r, err := csvin.Open(path, opt.Options)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cust, err := r.Col(opt.Customer)
	if err != nil {
		return nil, err
	}
	date, err := r.Col(opt.Date)
	if err != nil {
		return nil, err
	}
	var amt []int
	if opt.Amount != "" {
		for _, name := range strings.Split(opt.Amount, "*") {
			c, err := r.Col(strings.TrimSpace(name))
			if err != nil {
				return nil, err
			}
			amt = append(amt, c)
		}
	}
	l := &Log{File: path, Layout: opt.DateLayout, FirstDay: math.MaxInt, LastDay: math.MinInt}
	index := map[string]int{}
	err = r.Each(func(rec []string) error {
		l.Rows++
		a := 0.0
		if amt != nil {
			a = 1
			for _, c := range amt {
				v, err := r.Float(rec, c)
				if err != nil {
					return err
				}
				a *= v
			}
		}
		s := strings.TrimSpace(rec[date])
		if l.Layout == "" {
			for _, lay := range layouts {
				if _, err := time.Parse(lay, s); err == nil {
					l.Layout = lay
					break
				}
			}
			if l.Layout == "" {
				return r.Errorf(date, "%q is not a date in a known layout (set the date format)", rec[date])
			}
		}
		t, err := time.Parse(l.Layout, s)
		if err != nil {
			return r.Errorf(date, "%q is not a date in the layout %q of the first row", rec[date], l.Layout)
		}
		id := strings.TrimSpace(rec[cust])
		switch {
		case id == "":
			l.NoCustomer++
			return nil
		case a < 0:
			l.Negative++
			return nil
		}
		k, ok := index[id]
		if !ok {
			k = len(l.IDs)
			index[id] = k
			l.IDs = append(l.IDs, id)
			l.Purchases = append(l.Purchases, nil)
		}
		d := dayOf(t)
		l.Purchases[k] = append(l.Purchases[k], Purchase{Day: d, Amount: a})
		l.FirstDay, l.LastDay = min(l.FirstDay, d), max(l.LastDay, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(l.IDs) == 0 {
		return nil, &csvin.Error{File: path, Msg: "no purchases with a customer id"}
	}
	for k, ps := range l.Purchases {
		slices.SortStableFunc(ps, func(a, b Purchase) int { return cmp.Compare(a.Day, b.Day) })
		out := ps[:1]
		for _, p := range ps[1:] {
			if last := &out[len(out)-1]; last.Day == p.Day {
				last.Amount += p.Amount
			} else {
				out = append(out, p)
			}
		}
		l.Purchases[k] = out
	}
	return l, nil
}
