package sim

import (
	"fmt"
	"strings"

	"github.com/presage-dev/presage/agent/wire"
)

// CustomerSummary is a customer in the form the value models are fitted on (BG/NBD for purchases
// and P(alive), Gamma-Gamma for spend), with the truth to judge them by.
type CustomerSummary struct {
	Visitor int
	// X is the number of repeat purchases in the observation period: purchases after the first
	// (BG/NBD's x; the first purchase starts the customer's clock and is not a repeat).
	X int
	// TX is the time from the first purchase to the last (t_x), and T the time from the first
	// purchase to the end of the observation period, both in weeks. TX = 0 when X = 0.
	TX, T float64
	// MeanSpend is the mean order value of the repeat purchases (Gamma-Gamma's m_x, which
	// excludes the first order), 0 when X = 0; FirstSpend is the first order's value.
	MeanSpend, FirstSpend float64
	// The truth: purchases and revenue in the holdout period, and whether the customer was alive
	// at the end of the observation period.
	HoldoutPurchases int
	HoldoutRevenue   float64
	Alive            bool
}

// Summary returns the customer summaries of the visitors who bought at least once in the
// observation period, in the order given: non-buyers are not customers and BG/NBD ignores them.
func Summary(visitors []Visitor) []CustomerSummary {
	var out []CustomerSummary
	for i := range visitors {
		if c, ok := Summarize(&visitors[i]); ok {
			out = append(out, c)
		}
	}
	return out
}

// Summarize returns the customer summary of one visitor; ok is false when the visitor made no
// purchase in the observation period.
func Summarize(v *Visitor) (c CustomerSummary, ok bool) {
	var first, lastT int64
	n := 0
	spend := 0.0
	for _, e := range v.Events {
		if e.Type != wire.EventPurchase {
			continue
		}
		if n == 0 {
			first = e.Time
			c.FirstSpend = e.Value
		} else {
			spend += e.Value
		}
		lastT = e.Time
		n++
	}
	if n == 0 {
		return CustomerSummary{}, false
	}
	c.Visitor = v.Index
	c.X = n - 1
	c.TX = float64(lastT-first) / float64(week)
	c.T = float64(v.End-first) / float64(week)
	if c.X > 0 {
		c.MeanSpend = spend / float64(c.X)
	}
	c.HoldoutPurchases = v.Truth.HoldoutPurchases
	c.HoldoutRevenue = v.Truth.HoldoutRevenue
	c.Alive = v.Truth.Alive
	return c, true
}

// Stats are the headline rates of a simulated population's observation period: the figures to
// compare with a real shop's analytics.
type Stats struct {
	Visitors, Sessions, Events int
	Conversions                int     // sessions with a purchase
	Revenue                    float64 // observation period
	Buyers, RepeatBuyers       int     // visitors with at least one, two purchases
	Bounces                    int     // sessions of a single page
	CartSessions               int     // sessions with a cart add
	ConvertedWithCart          int     // converted sessions with a cart add in the session
	Channels                   [wire.NumChannels]int
	Archetypes                 [NumArchetypes]int
	AliveAtEnd                 int
	HoldoutBuyers              int
}

// Measure computes the headline rates of visitors.
func Measure(visitors []Visitor) Stats {
	var s Stats
	for i := range visitors {
		v := &visitors[i]
		s.Visitors++
		s.Events += len(v.Events)
		s.Archetypes[v.Archetype]++
		if v.Truth.Alive {
			s.AliveAtEnd++
		}
		if v.Truth.HoldoutPurchases > 0 {
			s.HoldoutBuyers++
		}
		if v.Truth.Purchases > 0 {
			s.Buyers++
		}
		if v.Truth.Purchases > 1 {
			s.RepeatBuyers++
		}
		s.Revenue += v.Truth.Revenue
		for _, ss := range v.Sessions {
			s.Sessions++
			s.Channels[ss.Channel]++
			pages, cart := 0, false
			for _, e := range v.Events[ss.Start:ss.End] {
				switch e.Type {
				case wire.EventPageView:
					pages++
				case wire.EventAddToCart:
					cart = true
				}
			}
			if pages == 1 {
				s.Bounces++
			}
			if cart {
				s.CartSessions++
			}
			if ss.Converted {
				s.Conversions++
				if cart {
					s.ConvertedWithCart++
				}
			}
		}
	}
	return s
}

// ConversionRate is the share of sessions that converted.
func (s Stats) ConversionRate() float64 { return ratio(s.Conversions, s.Sessions) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

var channelNames = [wire.NumChannels]string{"unknown", "direct", "brand", "generic", "email", "social", "paid", "referral"}

// String prints the rates on a few lines.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "visitors %d, sessions %d (%.2f per visitor), events %d (%.1f per visitor)\n",
		s.Visitors, s.Sessions, ratio(s.Sessions, s.Visitors), s.Events, ratio(s.Events, s.Visitors))
	fmt.Fprintf(&b, "conversion %.2f%% of sessions, bounce %.1f%%, cart add %.1f%%, converted with an in-session cart add %.1f%%\n",
		100*s.ConversionRate(), 100*ratio(s.Bounces, s.Sessions), 100*ratio(s.CartSessions, s.Sessions),
		100*ratio(s.ConvertedWithCart, s.Conversions))
	fmt.Fprintf(&b, "buyers %.1f%% of visitors, repeat buyers %.1f%% of buyers, revenue %.0f (%.2f per order), alive at end %.1f%%, holdout buyers %.1f%%\n",
		100*ratio(s.Buyers, s.Visitors), 100*ratio(s.RepeatBuyers, s.Buyers), s.Revenue,
		s.Revenue/max(1, float64(s.Conversions)), 100*ratio(s.AliveAtEnd, s.Visitors), 100*ratio(s.HoldoutBuyers, s.Visitors))
	b.WriteString("channels:")
	for c := 1; c < int(wire.NumChannels); c++ {
		fmt.Fprintf(&b, " %s %.1f%%", channelNames[c], 100*ratio(s.Channels[c], s.Sessions))
	}
	b.WriteString("\narchetypes:")
	for a := range NumArchetypes {
		fmt.Fprintf(&b, " %s %.1f%%", Archetype(a), 100*ratio(s.Archetypes[a], s.Visitors))
	}
	return b.String()
}
