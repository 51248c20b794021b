package demo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/sim"
	"github.com/presage-dev/presage/runtime/host"
)

// RunConfig says which fresh visitors the demo drives through the module, and what it prints.
type RunConfig struct {
	Visitors int       // fresh visitors, none of them trained on; 0 means 200
	First    int       // index of the first one in the simulation; 0 means 1,000,000
	Trace    int       // visitors whose visit is printed event by event; negative means none, 0 means 2
	Out      io.Writer // where the trace and the summary go; nil means io.Discard
}

// RunReport sums up what the agent decided for the fresh visitors.
type RunReport struct {
	Visitors, Events int
	Latency          []time.Duration // per request through the module: profile load, events, decisions, profile save
	MaxProfile       int             // largest saved profile, bytes
	Stages           map[string]int  // life-cycle stage at the end of each visitor
	Segments         map[string]int  // visitors who were in each segment at least once
	Decisions        map[string]int  // "campaign/variant" (or "campaign/holdout") → decisions
	Recommendations  int             // requests that returned recommendations
	SessionAUC       float64         // buy_session scored by the module before checkout, against what happened
	Learned          wire.Batch      // all learning batches drained, summed
}

// slotsFor is where the demo shop has slots: a banner and a pop-in on pages, a carousel on products.
func slotsFor(e *wire.Event) []string {
	switch e.Type {
	case wire.EventPageView:
		return []string{"banner", "popin"}
	case wire.EventProductView:
		return []string{"carousel"}
	}
	return nil
}

// recsFor is how many recommendations the page of an event shows: a product page has a carousel.
func recsFor(e *wire.Event) uint8 {
	if e.Type == wire.EventProductView {
		return 6
	}
	return 0
}

// Run drives fresh simulated visitors through the module, one request per event as an edge or a
// browser would (load the saved profile, apply the event, decide, save), and prints what it decided.
func Run(ctx context.Context, h *host.Host, s *sim.Sim, cfg RunConfig) (*RunReport, error) {
	if cfg.Visitors == 0 {
		cfg.Visitors = 200
	}
	if cfg.First == 0 {
		cfg.First = 1_000_000
	}
	if cfg.Trace == 0 {
		cfg.Trace = 2
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	rep := &RunReport{Stages: map[string]int{}, Segments: map[string]int{}, Decisions: map[string]int{}}
	var scores, labels []float64
	rng := rand.New(rand.NewPCG(uint64(cfg.First), 7))
	for n := range cfg.Visitors {
		v := s.Visitor(cfg.First + n)
		trace := n < cfg.Trace
		if trace {
			fmt.Fprintf(cfg.Out, "\nvisitor %d (%s): %d sessions, %d events\n", v.Index, v.Archetype, len(v.Sessions), len(v.Events))
		}
		var profile []byte
		seen := map[string]bool{}
		var last *wire.Answer
		si := 0
		for i := range v.Events {
			e := v.Events[i]
			req := &wire.Request{Now: e.Time, Seed: rng.Uint64(), Events: []wire.Event{e}, Slots: slotsFor(&e), MaxRecs: recsFor(&e)}
			start := time.Now()
			ans, saved, err := h.Handle(ctx, profile, req)
			rep.Latency = append(rep.Latency, time.Since(start))
			if err != nil {
				return nil, fmt.Errorf("demo: visitor %d, event %d: %w", v.Index, i, err)
			}
			profile = saved
			rep.Events++
			rep.MaxProfile = max(rep.MaxProfile, len(saved))
			for _, sg := range ans.Segments {
				seen[sg] = true
			}
			for _, d := range ans.Decisions {
				if d.Campaign == "" {
					continue
				}
				key := d.Campaign + "/" + d.Variant
				if d.Holdout {
					key = d.Campaign + "/holdout"
				}
				rep.Decisions[key]++
			}
			if len(ans.Recs) > 0 {
				rep.Recommendations++
			}
			for si < len(v.Sessions) && v.Sessions[si].End <= i {
				si++
			}
			// Score "buys in this session" right before checkout (or at the end of a session without
			// one): the latest point at which the answer is not given away.
			if si < len(v.Sessions) && i+1 == v.Sessions[si].Checkout && i > v.Sessions[si].Start && len(ans.Scores) > ModelBuySession {
				scores = append(scores, float64(ans.Scores[ModelBuySession].Value))
				labels = append(labels, b2f(v.Sessions[si].Converted))
			}
			if trace {
				printStep(cfg.Out, &e, ans, v.Events[0].Time)
			}
			last = ans
		}
		if last != nil {
			rep.Stages[last.Stage.String()]++
		}
		for sg := range seen {
			rep.Segments[sg]++
		}
		if err := drain(ctx, h, profile, rng.Uint64(), &rep.Learned); err != nil {
			return nil, err
		}
		rep.Visitors++
	}
	rep.SessionAUC = AUC(scores, labels)
	printSummary(cfg.Out, rep)
	return rep, nil
}

// drain takes a visitor's learning buffer, as the script tag does when the page is hidden.
func drain(ctx context.Context, h *host.Host, profile []byte, seed uint64, sum *wire.Batch) error {
	s, err := h.Acquire(ctx)
	if err != nil {
		return err
	}
	defer s.Release()
	if err := s.LoadProfile(profile, seed); err != nil {
		return err
	}
	b, err := s.Drain(time.Now().UnixMilli(), seed)
	if err != nil {
		return err
	}
	for _, c := range b.Cells {
		i := slices.IndexFunc(sum.Cells, func(x wire.Cell) bool {
			return x.Campaign == c.Campaign && x.Variant == c.Variant && x.Segment == c.Segment
		})
		if i < 0 {
			sum.Cells = append(sum.Cells, c)
			continue
		}
		sum.Cells[i].Exposures += c.Exposures
		sum.Cells[i].Conversions += c.Conversions
		sum.Cells[i].Revenue += c.Revenue
	}
	sum.Dropped += b.Dropped
	return nil
}

var eventNames = map[wire.EventType]string{
	wire.EventPageView: "page view", wire.EventProductView: "product view", wire.EventCategoryView: "category view",
	wire.EventSearch: "search", wire.EventAddToCart: "add to cart", wire.EventRemoveFromCart: "remove from cart",
	wire.EventCheckout: "checkout", wire.EventPurchase: "purchase", wire.EventSignUp: "sign-up",
	wire.EventArrival: "arrival", wire.EventConsent: "consent", wire.EventClick: "click",
}

var channelNames = []string{"unknown", "direct", "brand search", "generic search", "email", "social", "paid", "referral"}

func printStep(w io.Writer, e *wire.Event, a *wire.Answer, t0 int64) {
	what := eventNames[e.Type]
	switch e.Type {
	case wire.EventArrival:
		if int(e.Channel) < len(channelNames) && e.Channel != wire.ChannelUnknown {
			what += " by " + channelNames[e.Channel]
		} else if e.Referrer != "" || e.Medium != "" {
			what += " from " + strings.TrimSpace(e.Referrer+" "+e.Medium)
		}
	case wire.EventProductView, wire.EventAddToCart:
		what += " " + e.Item
	case wire.EventCategoryView:
		what += " " + e.Category
	case wire.EventPurchase:
		what += fmt.Sprintf(" %.2f", e.Value)
	}
	line := fmt.Sprintf("  %6s  %-28s %-9s", elapsed(e.Time-t0), trim(what, 28), a.Stage)
	for _, s := range a.Scores {
		line += fmt.Sprintf(" %s %.2f", s.Model, s.Value)
	}
	var notes []string
	if len(a.Segments) > 0 {
		notes = append(notes, "segments "+strings.Join(a.Segments, ","))
	}
	for _, d := range a.Decisions {
		switch {
		case d.Holdout:
			notes = append(notes, d.Slot+": "+d.Campaign+" (holdout)")
		case d.Campaign != "":
			notes = append(notes, d.Slot+": "+d.Campaign+"/"+d.Variant)
		}
	}
	if e.Type == wire.EventProductView && len(a.Recs) > 0 {
		var items []string
		for _, r := range a.Recs[:min(3, len(a.Recs))] {
			items = append(items, r.Item)
		}
		notes = append(notes, "recs "+strings.Join(items, ","))
	}
	if a.Stage != a.PrevStage {
		notes = append(notes, "stage "+a.PrevStage.String()+" → "+a.Stage.String())
	}
	if len(notes) > 0 {
		line += "  | " + strings.Join(notes, "; ")
	}
	fmt.Fprintln(w, line)
}

func elapsed(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d >= 24*time.Hour {
		return fmt.Sprintf("d%d", int(d/(24*time.Hour)))
	}
	return fmt.Sprintf("%dm", int(d/time.Minute))
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func printSummary(w io.Writer, r *RunReport) {
	lat := slices.Clone(r.Latency)
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	fmt.Fprintf(w, "\n%d fresh visitors, %d requests through the module (wazero): p50 %s, p99 %s per request "+
		"(profile load + event + scores + decisions + profile save); largest profile %d bytes\n",
		r.Visitors, r.Events, pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), r.MaxProfile)
	fmt.Fprintf(w, "buy_session scored in the module before checkout: AUC %.3f on these visitors\n", r.SessionAUC)
	printCounts(w, "life-cycle stage at the end", r.Stages, r.Visitors)
	printCounts(w, "visitors ever in segment", r.Segments, r.Visitors)
	printCounts(w, "decisions (campaign/variant)", r.Decisions, 0)
	fmt.Fprintln(w, "learning synced (aggregated: no identifier, no event):")
	cells := slices.Clone(r.Learned.Cells)
	sort.Slice(cells, func(i, j int) bool {
		if cells[i].Campaign != cells[j].Campaign {
			return cells[i].Campaign < cells[j].Campaign
		}
		if cells[i].Variant != cells[j].Variant {
			return cells[i].Variant < cells[j].Variant
		}
		return cells[i].Segment < cells[j].Segment
	})
	for _, c := range cells {
		v := c.Variant
		if v == "" {
			v = "holdout"
		}
		seg := c.Segment
		if seg == "" {
			seg = "-"
		}
		fmt.Fprintf(w, "  %-14s %-16s %-18s exposures %5d  conversions %3d  revenue %9.2f\n", c.Campaign, v, seg, c.Exposures, c.Conversions, c.Revenue)
	}
	if r.Learned.Dropped > 0 {
		fmt.Fprintf(w, "  (%d learning cells dropped by full buffers)\n", r.Learned.Dropped)
	}
}

func printCounts(w io.Writer, title string, m map[string]int, of int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	fmt.Fprintf(w, "%s:\n", title)
	for _, k := range keys {
		if of > 0 {
			fmt.Fprintf(w, "  %-32s %6d  (%4.1f %%)\n", k, m[k], 100*float64(m[k])/float64(of))
		} else {
			fmt.Fprintf(w, "  %-32s %6d\n", k, m[k])
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
