package evalsets

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/presage-dev/presage/internal/csvin"
	"github.com/presage-dev/presage/internal/report"
	"github.com/presage-dev/presage/internal/translog"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/eval"
	"github.com/presage-dev/presage/models/train"
)

// invoice is one order of a customer: its items (indices) and when it was placed.
type invoice struct {
	no    string
	at    string // InvoiceDate as written (YYYY-MM-DD HH:MM:SS sorts as time)
	items []int
}

// retailData is Online Retail's orders grouped per customer, in time order.
type retailData struct {
	codes     []string       // item index → StockCode
	customers [][]invoice    // per customer, sorted by (date, invoice number)
	rows      int            // data rows read
	kept      int            // rows kept as order lines
	dropped   map[string]int // reason → rows left out
}

// isProduct tells a product line from postage, fees and manual adjustments (POST, DOT, M, C2,
// BANK CHARGES, PADS, AMAZONFEE …): product StockCodes start with five digits. Non-product lines
// are what every order has in common and would crowd every neighbour list.
func isProduct(code string) bool {
	if len(code) < 5 {
		return false
	}
	for _, c := range code[:5] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// readRetail reads online_retail.csv.gz: order lines with a customer id, a positive quantity and
// a product code, grouped into invoices per customer. Cancellations (InvoiceNo starting with C)
// are left out with the rest of the negative quantities.
func readRetail(path string, progress func(done, total int)) (*retailData, error) {
	r, err := csvin.Open(path, csvin.Options{Format: csvin.Comma, Progress: progress})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cols := map[string]int{}
	for _, name := range []string{"InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "CustomerID"} {
		if cols[name], err = r.Col(name); err != nil {
			return nil, err
		}
	}
	d := &retailData{dropped: map[string]int{}}
	index := map[string]int{}  // StockCode → item
	cust := map[string]int{}   // CustomerID → customer
	inv := map[string][2]int{} // InvoiceNo → (customer, invoice of the customer)
	err = r.Each(func(rec []string) error {
		d.rows++
		q, err := r.Float(rec, cols["Quantity"])
		if err != nil {
			return err
		}
		no, code, id := rec[cols["InvoiceNo"]], rec[cols["StockCode"]], rec[cols["CustomerID"]]
		switch {
		case id == "":
			d.dropped["no customer id"]++
			return nil
		case strings.HasPrefix(no, "C") || q <= 0:
			d.dropped["cancellation or quantity ≤ 0"]++
			return nil
		case !isProduct(code):
			d.dropped["not a product (postage, fees, adjustments)"]++
			return nil
		}
		d.kept++
		it, ok := index[code]
		if !ok {
			it = len(d.codes)
			index[code] = it
			d.codes = append(d.codes, code)
		}
		at, ok := inv[no]
		if !ok {
			c, ok := cust[id]
			if !ok {
				c = len(d.customers)
				cust[id] = c
				d.customers = append(d.customers, nil)
			}
			at = [2]int{c, len(d.customers[c])}
			inv[no] = at
			d.customers[c] = append(d.customers[c], invoice{no: no, at: rec[cols["InvoiceDate"]]})
		}
		v := &d.customers[at[0]][at[1]]
		v.items = append(v.items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, invs := range d.customers {
		for k := range invs {
			invs[k].items = dedup(invs[k].items) // an order may list one product on several lines
		}
		slices.SortStableFunc(invs, func(a, b invoice) int {
			if c := cmp.Compare(a.at, b.at); c != 0 {
				return c
			}
			return cmp.Compare(a.no, b.no)
		})
	}
	return d, nil
}

// dedup removes repeated items, keeping the first of each in order (the order of the lines, which
// says which item was put in the basket first).
func dedup(items []int) []int {
	out := items[:0]
	for _, it := range items {
		if !slices.Contains(out, it) {
			out = append(out, it)
		}
	}
	return out
}

// recUser is one evaluated customer: the items the recommender is told about, with the weights
// the agent gives them, what must not be recommended, and the items to find.
type recUser struct {
	recent  []models.Weighted
	exclude []int
	target  []int
}

// The agent's profile and ranking rule, mirrored: agent/profile.go remembers the maxBought = 200
// most recent distinct purchases (a re-bought item becomes the newest), and agent/score.go's
// recommend scores the neighbours of at most maxRecent = 8 items looked at (the product in view
// with weight 2, then the viewed products, newest first, from weight 1) and of the remembered
// purchases (newest first, with weight 0.5 each), maxVoters = 20 items in all, and never shows any
// of the 200 remembered purchases, an item seen this session or the one in view. A product view is remembered as viewed too, so the
// product in view also comes back as the newest view. TestAgentMirror replays customers through
// the real agent and checks that it shows exactly what this evaluation scores.
const (
	agentBought = 200
	agentVoters = 20
	// prevBought is the agent's previous memory: 20 remembered purchases, all voting, all excluded.
	prevBought = 20
	// prevRecent is the agent's previous rule: at most 8 items voted, purchases included.
	prevRecent   = 8
	inViewWeight = 2
	viewedWeight = 1
	boughtWeight = 0.5
	// newOnlyRecent is the previous protocol's history: the 20 most recent distinct purchases.
	newOnlyRecent = 20
)

// remembered returns what the agent's profile holds after the orders hist, each order's lines
// pushed in line order: at most capacity distinct items (agentBought for the agent), oldest first.
func remembered(hist []invoice, capacity int) []int {
	var l []int
	for _, v := range hist {
		for _, it := range v.items {
			if i := slices.Index(l, it); i >= 0 {
				l = append(append(l[:i], l[i+1:]...), it)
				continue
			}
			if len(l) == capacity {
				l = append(l[:0], l[1:]...)
			}
			l = append(l, it)
		}
	}
	return l
}

// retailSplit is one leave-one-order-out split of the customers' orders.
type retailSplit struct {
	train [][]int // every order before the held-out ones (and every order of a one-order customer)
	// histories are the same orders per customer, in time order (for the next-order table).
	histories [][][]int
	days      [][]float64 // the histories' order dates, in days since 1970-01-01
	// next asks for the held-out order from the purchases alone, as the agent on a page with no
	// product in view: the 20 newest remembered purchases vote, all 200 are excluded; the
	// targets are the order's items the agent may show (the others cannot be hits for any method).
	next []recUser
	// next20 is next with the agent's previous memory: 20 remembered purchases, all excluded;
	// next20Targets is next20's customers and targets with the agent's exclusion (the 200), what
	// the promise costs: re-orders of the purchases 21 to 200 count as misses.
	next20, next20Targets []recUser
	// session is the device's usual moment: the first showable item of the held-out order (in line
	// order) is in view; the order's other showable items are the targets (two or more needed).
	session []recUser
	// next8 is next with the agent's previous rule: only the 8 newest remembered purchases vote.
	next8 []recUser
	// newOnly is the promise without a memory bound: the 20 newest distinct purchases vote,
	// everything ever bought is excluded and the targets are the items the customer had never bought.
	newOnly []recUser
	// again is "buy again": the customer's past items ranked by the number of orders holding them
	// (then by recency) in recent, nothing excluded, the whole held-out order as target.
	again []recUser
	// noTarget counts the evaluated customers whose held-out order holds only items the agent
	// excludes; noNew those whose order holds no item they had never bought.
	noTarget, noNew int
	// targets counts next's target items, reorders those among them bought before (earlier than
	// the 200 the agent remembers); targets20 and reorders20 the same under the previous memory.
	targets, reorders, targets20, reorders20 int
}

// missing returns the items of order that known does not hold, in order.
func missing(order, known []int) []int {
	var out []int
	for _, it := range order {
		if !slices.Contains(known, it) {
			out = append(out, it)
		}
	}
	return out
}

// splitOrders holds out, for every customer with more than back orders, the order back places from
// the end (1: the last order, the test; 2: the second to last, the validation carved from the
// training period), with the orders before it as the customer's history. Training orders are every
// order before the held-out ones: a customer's last back orders (the last one only, for a customer
// with back orders; none for a one-order customer) never train.
func splitOrders(d *retailData, back int) *retailSplit {
	sp := &retailSplit{}
	for _, invs := range d.customers {
		n := len(invs)
		held := min(back, n-1)
		var h [][]int
		var days []float64
		for _, v := range invs[:n-held] {
			sp.train = append(sp.train, v.items)
			h = append(h, v.items)
			days = append(days, orderDay(v.at))
		}
		sp.histories = append(sp.histories, h)
		sp.days = append(sp.days, days)
		if n-back < 1 {
			continue
		}
		hist, order := invs[:n-back], invs[n-back].items
		bought := remembered(hist, agentBought)
		var recent []models.Weighted // newest first
		for j := len(bought) - 1; j >= 0 && len(recent) < agentVoters; j-- {
			recent = append(recent, models.Weighted{Item: bought[j], Weight: boughtWeight})
		}
		target := missing(order, bought)
		if len(target) == 0 {
			sp.noTarget++
		} else {
			sp.next = append(sp.next, recUser{recent: recent, exclude: bought, target: target})
			sp.next8 = append(sp.next8, recUser{recent: recent[:min(prevRecent, len(recent))], exclude: bought, target: target})
		}
		// The previous memory's 20 are the newest 20 of the 200: the same purchases vote.
		bought20 := remembered(hist, prevBought)
		if target20 := missing(order, bought20); len(target20) > 0 {
			sp.next20 = append(sp.next20, recUser{recent: recent, exclude: bought20, target: target20})
			sp.next20Targets = append(sp.next20Targets, recUser{recent: recent, exclude: bought, target: target20})
			sp.targets20 += len(target20)
		}
		if len(target) >= 2 {
			first := target[0]
			r := []models.Weighted{{Item: first, Weight: inViewWeight}, {Item: first, Weight: viewedWeight}}
			r = append(r, recent[:min(agentVoters-len(r), len(recent))]...)
			sp.session = append(sp.session, recUser{recent: r, exclude: append(slices.Clip(bought), first), target: target[1:]})
		}

		var all []int // every item bought before, newest order first, lines in order
		orders := map[int]int{}
		newest := map[int]int{}
		for a := len(hist) - 1; a >= 0; a-- {
			for _, it := range hist[a].items {
				if orders[it] == 0 {
					all = append(all, it)
					newest[it] = a
				}
				orders[it]++
			}
		}
		fresh := missing(order, all)
		sp.targets += len(target)
		sp.reorders += len(target) - len(fresh)
		sp.reorders20 += len(missing(order, bought20)) - len(fresh)
		if len(fresh) == 0 {
			sp.noNew++
		} else {
			var r []models.Weighted
			for _, it := range all[:min(newOnlyRecent, len(all))] {
				r = append(r, models.Weighted{Item: it, Weight: boughtWeight})
			}
			sp.newOnly = append(sp.newOnly, recUser{recent: r, exclude: all, target: fresh})
		}
		ranked := slices.Clone(all)
		slices.SortStableFunc(ranked, func(a, b int) int {
			if c := cmp.Compare(orders[b], orders[a]); c != 0 {
				return c
			}
			return cmp.Compare(newest[b], newest[a])
		})
		r := make([]models.Weighted, len(ranked))
		for k, it := range ranked {
			r[k] = models.Weighted{Item: it, Weight: float64(orders[it])}
		}
		sp.again = append(sp.again, recUser{recent: r, target: order})
	}
	return sp
}

// decay returns the training orders' weights under an exponential time decay of the given
// half-life in days, 2^(−age/halfLife) with the age counted from the newest training order (the day
// the table would be trained), in the order of train; nil (no weights) for a half-life of 0.
func (sp *retailSplit) decay(halfLife float64) []float64 {
	if halfLife <= 0 {
		return nil
	}
	end := math.Inf(-1)
	for _, days := range sp.days {
		for _, d := range days {
			end = max(end, d)
		}
	}
	var w []float64
	for _, days := range sp.days {
		for _, d := range days {
			w = append(w, math.Exp2(-(end-d)/halfLife))
		}
	}
	return w
}

// orderDay reads an InvoiceDate (YYYY-MM-DD HH:MM[:SS]) as days since 1970-01-01; 0 if it cannot.
func orderDay(at string) float64 {
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, at); err == nil {
			return float64(t.Unix()) / 86400
		}
	}
	return 0
}

// RecMetrics are a recommender's top-k metrics averaged over the evaluated customers, with
// bootstrap intervals over customers.
type RecMetrics struct {
	Name      string        `json:"name"`
	HR        eval.Interval `json:"hr"`
	NDCG      eval.Interval `json:"ndcg"`
	Precision eval.Interval `json:"precision"`
	Recall    eval.Interval `json:"recall"`
	hits      []float64     // per customer, for paired comparisons
}

// recommender appends its top-k item list for a customer to dst.
type recommender func(u recUser, k int, dst []int) []int

// neighbourRecommender ranks with the trained table the way the agent does: each recent item votes
// for its neighbours with its weight (models.NeighbourTable.Recommend), excluded items are skipped,
// and the popularity list fills a short list.
func neighbourRecommender(nb *models.Neighbours, popular []uint16, nItems int) recommender {
	var scratch models.RecScratch
	var cands []models.Candidate
	table := nb.Table()
	seen := models.ItemSet(nil).Reset(nItems)
	pop := popularRecommender(popular, nItems)
	return func(u recUser, k int, dst []int) []int {
		seen = seen.Reset(nItems)
		for _, it := range u.exclude {
			seen.Add(it)
		}
		cands = table.Recommend(cands[:0], u.recent, seen, k, &scratch)
		for _, c := range cands {
			dst = append(dst, c.Item)
		}
		if len(dst) < k {
			dst = pop(u, k, dst)
		}
		return dst
	}
}

// popularRecommender is the baseline: the most-bought items not excluded for the customer, and
// nothing already in dst.
func popularRecommender(popular []uint16, nItems int) recommender {
	seen := models.ItemSet(nil).Reset(nItems)
	return func(u recUser, k int, dst []int) []int {
		seen = seen.Reset(nItems)
		for _, it := range u.exclude {
			seen.Add(it)
		}
		for _, p := range popular {
			if len(dst) >= k {
				break
			}
			if it := int(p); !seen.Has(it) && !slices.Contains(dst, it) {
				dst = append(dst, it)
			}
		}
		return dst
	}
}

// againRecommender is "buy again": the customer's own past items in the order of u.recent (most
// often bought first), then the popularity list.
func againRecommender(popular []uint16, nItems int) recommender {
	pop := popularRecommender(popular, nItems)
	return func(u recUser, k int, dst []int) []int {
		for _, w := range u.recent[:min(k, len(u.recent))] {
			dst = append(dst, w.Item)
		}
		return pop(u, k, dst)
	}
}

// scoreRecommender evaluates a recommender's top k on every user.
func scoreRecommender(name string, users []recUser, k int, rec recommender, bo eval.BootstrapOptions) (RecMetrics, error) {
	n := len(users)
	hit, ndcg, prec, recall := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	var list []int
	for i, u := range users {
		list = rec(u, k, list[:0])
		hit[i] = eval.HitAt(list, u.target, k)
		ndcg[i] = eval.NDCGAt(list, u.target, k)
		prec[i], recall[i] = eval.PrecisionRecallAt(list, u.target, k)
	}
	m := RecMetrics{Name: name, hits: hit}
	var err error
	for _, x := range []struct {
		dst *eval.Interval
		v   []float64
	}{{&m.HR, hit}, {&m.NDCG, ndcg}, {&m.Precision, prec}, {&m.Recall, recall}} {
		if *x.dst, err = eval.BootstrapMean(x.v, bo); err != nil {
			return m, err
		}
	}
	return m, nil
}

// Setting is one neighbour-table configuration of the validation grid, with its validation
// figures (HR@10 and NDCG@10 of the next order under the agent's rule, and the ratio to
// popularity on the same customers).
type Setting struct {
	Alpha       float64 `json:"alpha"`
	InverseSize bool    `json:"inverse_basket_size"`
	Shrink      float64 `json:"shrink"`
	HalfLife    float64 `json:"half_life_days"` // the orders' time decay; 0: none
	HR          float64 `json:"validation_hr"`
	NDCG        float64 `json:"validation_ndcg"`
	Ratio       float64 `json:"validation_hr_ratio"`
	SessionHR   float64 `json:"validation_session_hr"`
}

// options are the setting's FitNeighbours options for the split's training orders.
func (s Setting) options(sp *retailSplit) train.NeighbourOptions {
	return train.NeighbourOptions{Alpha: s.Alpha, InverseSize: s.InverseSize, Shrink: s.Shrink, Weights: sp.decay(s.HalfLife), Popular: -1}
}

func (s Setting) String() string {
	w := "baskets counted"
	if s.InverseSize {
		w = "baskets weighed 1/|b|"
	}
	d := "no time decay"
	if s.HalfLife > 0 {
		d = fmt.Sprintf("half-life %g days", s.HalfLife)
	}
	return fmt.Sprintf("α %g, shrink %g, %s, %s", s.Alpha, s.Shrink, w, d)
}

// retailGrid is the validation grid: no time decay or a half-life of 30 to 90 days (each order's
// weight halves every half-life back from the newest training order), baskets counted or weighed by
// 1/|b|, two shrinks, and the asymmetric cosine's α at 0.75 or 1 (the confidence), or 0.5 (the
// symmetric cosine, the previous table, first) without decay: 0.5 never came close. K stays 20:
// the bundle carries items × K cells, and 20 is the foundation's budget.
func retailGrid() []Setting {
	var g []Setting
	for _, hl := range []float64{0, 30, 45, 60, 90} {
		alphas := []float64{0.75, 1}
		if hl == 0 {
			alphas = []float64{0.5, 0.75, 1}
		}
		for _, inv := range []bool{false, true} {
			for _, h := range []float64{10, 50} {
				for _, a := range alphas {
					g = append(g, Setting{Alpha: a, InverseSize: inv, Shrink: h, HalfLife: hl})
				}
			}
		}
	}
	return g
}

// tune fits every setting of the grid on the validation split's training orders and returns the
// grid with its figures and the index of the best next-order HR@10 (the first of equals).
func tune(ctx context.Context, val *retailSplit, nItems, K, k int) ([]Setting, int, error) {
	grid := retailGrid()
	best := 0
	var popHR float64
	for g := range grid {
		nb, popular, err := train.FitNeighbours(ctx, val.train, nItems, K, grid[g].options(val))
		if err != nil {
			return nil, 0, err
		}
		if g == 0 {
			m, err := scoreRecommender("", val.next, k, popularRecommender(popular, nItems), eval.BootstrapOptions{Reps: -1})
			if err != nil {
				return nil, 0, err
			}
			popHR = m.HR.Estimate
		}
		m, err := scoreRecommender("", val.next, k, neighbourRecommender(nb, popular, nItems), eval.BootstrapOptions{Reps: -1})
		if err != nil {
			return nil, 0, err
		}
		ms, err := scoreRecommender("", val.session, k, neighbourRecommender(nb, popular, nItems), eval.BootstrapOptions{Reps: -1})
		if err != nil {
			return nil, 0, err
		}
		grid[g].HR, grid[g].NDCG, grid[g].Ratio, grid[g].SessionHR = m.HR.Estimate, m.NDCG.Estimate, m.HR.Estimate/popHR, ms.HR.Estimate
		if grid[g].HR > grid[best].HR {
			best = g
		}
	}
	return grid, best, nil
}

// Scenario is one way of asking for recommendations on the held-out orders, with both
// recommenders' metrics and the paired bootstrap interval of their HR@10 ratio.
type Scenario struct {
	Name       string        `json:"name"`
	Users      int           `json:"customers"`
	Neighbours RecMetrics    `json:"neighbours"`
	Popularity RecMetrics    `json:"popularity"`
	HRRatio    eval.Interval `json:"hr_ratio"`
}

func runScenario(name string, users []recUser, rec recommender, popular []uint16, nItems, k int, bo eval.BootstrapOptions) (Scenario, error) {
	sc := Scenario{Name: name, Users: len(users)}
	var err error
	if sc.Neighbours, err = scoreRecommender("item-to-item neighbours", users, k, rec, bo); err != nil {
		return sc, err
	}
	if sc.Popularity, err = scoreRecommender("popularity", users, k, popularRecommender(popular, nItems), bo); err != nil {
		return sc, err
	}
	hn, hp := sc.Neighbours.hits, sc.Popularity.hits
	sc.HRRatio, err = eval.Bootstrap(len(users), bo, func(w []float64) float64 {
		return eval.WeightedMean(hn, w) / eval.WeightedMean(hp, w)
	})
	return sc, err
}

// RetailSummary is the JSON summary of the Online Retail run.
type RetailSummary struct {
	Rows             int            `json:"rows"`
	OrderLines       int            `json:"order_lines"`
	Dropped          map[string]int `json:"rows_left_out"`
	Items            int            `json:"items"`
	TrainBaskets     int            `json:"training_orders"`
	ValTrainBaskets  int            `json:"validation_training_orders"`
	NoTarget         int            `json:"customers_without_showable_items"`
	NoNew            int            `json:"customers_without_new_items"`
	K                int            `json:"neighbours_per_item"`
	Chosen           Setting        `json:"chosen"`
	Grid             []Setting      `json:"validation_grid"`
	FitSeconds       float64        `json:"neighbour_fit_seconds"`
	NextOrder        Scenario       `json:"next_order"`
	InSession        Scenario       `json:"in_session"`
	Untuned          Scenario       `json:"next_order_untuned_table"`
	NoDecayChosen    Setting        `json:"chosen_without_time_decay"`
	NoDecay          Scenario       `json:"next_order_without_time_decay"`
	PreviousRule     Scenario       `json:"next_order_8_newest_purchases"`
	PreviousMemory   Scenario       `json:"next_order_20_remembered_purchases"`
	PreviousTargets  Scenario       `json:"next_order_20_remembered_purchases_targets"`
	NewOnly          Scenario       `json:"new_items_only"`
	BuyAgain         Scenario       `json:"buy_again"`
	Value            *translog.Fit  `json:"value"`
	ValueCalibration string         `json:"value_calibration_end"`
}

// Retail evaluates item-to-item recommendations on UCI Online Retail by leave-last-order-out,
// showing what the agent would show, and fits BG/NBD and Gamma-Gamma on its transactions. The
// neighbour table's settings are chosen on a validation split carved from the training period
// (each customer's second-to-last order), then refitted on every training order and scored once
// on the last orders. The target is HR@10 at least twice the popularity baseline's; with
// the agent's rule (200 purchases remembered and excluded, the 20 newest voting) it is met in
// session (about 2.4×) and missed for the next order (about 1.8×), a known miss; floors just
// under the test intervals guard against regressions.
func Retail(ctx context.Context, opt Options) (*Result, error) {
	path, err := file(opt, "online-retail", "online_retail.csv.gz")
	if err != nil {
		return nil, err
	}
	d, err := readRetail(path, opt.progress("reading "+path))
	if err != nil {
		return nil, err
	}
	test, val := splitOrders(d, 1), splitOrders(d, 2)
	nItems := len(d.codes)
	const k, K = 10, 20
	sum := &RetailSummary{Rows: d.rows, OrderLines: d.kept, Dropped: d.dropped, Items: nItems,
		TrainBaskets: len(test.train), ValTrainBaskets: len(val.train), NoTarget: test.noTarget, NoNew: test.noNew, K: K}
	grid, best, err := tune(ctx, val, nItems, K, k)
	if err != nil {
		return nil, err
	}
	sum.Grid, sum.Chosen = grid, grid[best]
	start := time.Now()
	nb, popular, err := train.FitNeighbours(ctx, test.train, nItems, K, sum.Chosen.options(test))
	if err != nil {
		return nil, err
	}
	sum.FitSeconds = time.Since(start).Seconds()
	untuned, _, err := train.FitNeighbours(ctx, test.train, nItems, K, train.NeighbourOptions{Popular: -1})
	if err != nil {
		return nil, err
	}
	// The best setting of the grid without time decay, for what the decay adds on the test orders.
	noDecay := -1
	for g, st := range grid {
		if st.HalfLife == 0 && (noDecay < 0 || st.HR > grid[noDecay].HR) {
			noDecay = g
		}
	}
	sum.NoDecayChosen = grid[noDecay]
	undecayed, _, err := train.FitNeighbours(ctx, test.train, nItems, K, sum.NoDecayChosen.options(test))
	if err != nil {
		return nil, err
	}
	nbRec, bo := neighbourRecommender(nb, popular, nItems), opt.Bootstrap
	for _, sc := range []struct {
		dst   *Scenario
		name  string
		users []recUser
		rec   recommender
	}{
		{&sum.NextOrder, "next order, as the agent shows it", test.next, nbRec},
		{&sum.InSession, "in session: one item of the order in view", test.session, nbRec},
		{&sum.Untuned, "next order, previous table (cosine α 0.5, shrink 10)", test.next, neighbourRecommender(untuned, popular, nItems)},
		{&sum.NoDecay, "next order, best table without time decay (" + sum.NoDecayChosen.String() + ")", test.next, neighbourRecommender(undecayed, popular, nItems)},
		{&sum.PreviousRule, "next order, the agent's previous rule: only the 8 newest remembered purchases vote", test.next8, nbRec},
		{&sum.PreviousMemory, "next order, the agent's previous memory: 20 remembered purchases, all excluded", test.next20, nbRec},
		{&sum.PreviousTargets, "next order, the previous memory's customers and targets, as the agent shows it (re-orders of purchases 21 to 200 are misses)", test.next20Targets, nbRec},
		{&sum.NewOnly, "never-bought items only: everything ever bought excluded, 20 purchases voting", test.newOnly, nbRec},
		{&sum.BuyAgain, "buy again: the customer's most-bought items, whole order, nothing excluded", test.again, againRecommender(popular, nItems)},
	} {
		if *sc.dst, err = runScenario(sc.name, sc.users, sc.rec, popular, nItems, k, bo); err != nil {
			return nil, err
		}
	}
	sum.BuyAgain.Neighbours.Name = "buy again"

	calEnd, _ := translog.ParseDay("2011-09-09")
	hEnd, _ := translog.ParseDay("2011-12-09")
	vf, err := FitValue(ctx, path, translog.Options{Customer: "CustomerID", Date: "InvoiceDate", Amount: "Quantity*UnitPrice",
		Options: csvin.Options{Format: csvin.Comma}}, translog.Split{CalibrationEnd: calEnd, HoldoutEnd: hEnd, UnitDays: 7}, opt.Progress)
	if err != nil {
		return nil, err
	}
	sum.Value, sum.ValueCalibration = vf.Fit, "2011-09-09"

	ratio := func(sc Scenario) float64 { return sc.Neighbours.HR.Estimate / sc.Popularity.HR.Estimate }
	bestRatio := 0.0
	for _, st := range grid {
		bestRatio = max(bestRatio, st.Ratio)
	}
	reorders := fmt.Sprintf("%.0f %% of the items the agent may show in the last orders are re-orders of items bought before the 200 it remembers (%.0f %% with the previous 20), which popularity finds as well",
		100*float64(test.reorders)/float64(test.targets), 100*float64(test.reorders20)/float64(test.targets20))
	next := atLeast("HR@10 neighbours / popularity, next order", ratio(sum.NextOrder), 2)
	if !next.Pass {
		next.Known = fmt.Sprintf("with the agent's rule (the 20 newest remembered purchases vote, all 200 are excluded) the best table of the validation grid reaches %.2f× on the validation orders; ", bestRatio) + reorders
	}
	session := atLeast("HR@10 neighbours / popularity, in session", ratio(sum.InSession), 2)
	if !session.Pass {
		session.Known = reorders
	}
	checks := []Check{
		next,
		session,
		atLeast("HR@10 neighbours / popularity, next order (regression floor)", ratio(sum.NextOrder), 1.65),
		atLeast("HR@10 neighbours / popularity, in session (regression floor)", ratio(sum.InSession), 2.2),
		atLeast("HR@10 tuned table / previous table, next order (validation-chosen setting holds on the test orders)",
			sum.NextOrder.Neighbours.HR.Estimate/sum.Untuned.Neighbours.HR.Estimate, 1),
	}
	ci := func(iv eval.Interval) string { return report.CI(iv, 4) }
	lines := []string{
		fmt.Sprintf("orders: %d rows, %d product lines kept, %d items; %d training orders (%d for validation); neighbours K %d",
			d.rows, d.kept, nItems, len(test.train), len(val.train), K),
		fmt.Sprintf("validation (second-to-last orders, %d customers): chose %s: HR@10 %.4f (%.2f× popularity), NDCG@10 %.4f; previous table %.4f (%.2f×); fitted in %.2f s",
			len(val.next), sum.Chosen, sum.Chosen.HR, sum.Chosen.Ratio, sum.Chosen.NDCG, grid[0].HR, grid[0].Ratio, sum.FitSeconds),
	}
	recTable := report.Table{Caption: "top-10 recommendations on the last orders; 95 % bootstrap intervals over customers (the ratio's interval is paired); popularity under the same exclusion",
		Header: []string{"scenario", "recommender", "HR@10", "NDCG@10", "precision@10", "recall@10"}}
	for _, sc := range []Scenario{sum.NextOrder, sum.InSession, sum.Untuned, sum.NoDecay, sum.PreviousRule, sum.PreviousMemory, sum.PreviousTargets, sum.NewOnly, sum.BuyAgain} {
		lines = append(lines, fmt.Sprintf("%s (%d customers):", sc.Name, sc.Users))
		for _, m := range []RecMetrics{sc.Neighbours, sc.Popularity} {
			lines = append(lines, fmt.Sprintf("  %-24s HR@10 %s  NDCG@10 %s", m.Name, ci(m.HR), ci(m.NDCG)))
			recTable.Rows = append(recTable.Rows, []string{sc.Name, m.Name, ci(m.HR), ci(m.NDCG), ci(m.Precision), ci(m.Recall)})
		}
		lines = append(lines, fmt.Sprintf("  HR@10 ratio %s", report.CI(sc.HRRatio, 2)))
		recTable.Rows = append(recTable.Rows, []string{sc.Name, "ratio of HR@10", report.CI(sc.HRRatio, 2), "", "", ""})
	}
	lines = append(lines, vf.Lines()...)
	gridTable := report.Table{Caption: fmt.Sprintf("validation grid (next order under the agent's rule, %d customers' second-to-last orders; tables fitted on the orders before them): the chosen setting has the best HR@10", len(val.next)),
		Header: []string{"setting", "HR@10", "NDCG@10", "HR@10 / popularity", "in session HR@10"}}
	for g, st := range grid {
		name := st.String()
		if g == best {
			name += " (chosen)"
		}
		gridTable.Rows = append(gridTable.Rows, []string{name, fmt.Sprintf("%.4f", st.HR), fmt.Sprintf("%.4f", st.NDCG), fmt.Sprintf("%.3f", st.Ratio), fmt.Sprintf("%.4f", st.SessionHR)})
	}
	var figs []report.Figure
	for i, sc := range []Scenario{sum.NextOrder, sum.InSession} {
		bars, err := report.Bars("Top-10 recommendations: "+sc.Name, "metric", "mean over customers", []string{"HR@10", "NDCG@10", "recall@10"},
			[]string{"neighbours", "popularity"},
			[]float64{sc.Neighbours.HR.Estimate, sc.Neighbours.NDCG.Estimate, sc.Neighbours.Recall.Estimate},
			[]float64{sc.Popularity.HR.Estimate, sc.Popularity.NDCG.Estimate, sc.Popularity.Recall.Estimate})
		if err != nil {
			return nil, err
		}
		figs = append(figs, report.Figure{Name: fmt.Sprintf("retail-recs-%d", i+1), Caption: "Top-10 metrics of the neighbour table and of popularity: " + sc.Name + ".", Plot: bars})
	}
	valueSecs, err := vf.Sections("retail-")
	if err != nil {
		return nil, err
	}
	dropped := make([]string, 0, len(d.dropped))
	for reason, n := range d.dropped {
		dropped = append(dropped, fmt.Sprintf("%d rows: %s", n, reason))
	}
	slices.Sort(dropped)
	rep := &report.Report{
		Title: "Online Retail: item-to-item recommendations and customer value",
		Intro: []string{"Data: UCI Online Retail (id 352), a UK gift retailer's order lines from 2010-12-01 to 2011-12-09. Reproduce: make eval-retail (presage eval retail).",
			"Left out of the recommendation data: " + strings.Join(dropped, "; ") + "."},
		Sections: append([]report.Section{{
			Heading: "Recommendations: leave the last order out",
			Text: []string{
				"Each customer with two orders or more has their last order held out; every other order trains the neighbour table (FitNeighbours: asymmetric cosine c_ij / (n_i^α n_j^(1−α) + shrink) over orders, top 20 per item; with a half-life, each order weighs 2^(−age/half-life) in c_ij and n_i, its age counted from the newest training order, so that the table follows what sells now). " +
					"The recommender shows what the agent would: its profile remembers the 200 most recent distinct purchases; the 20 newest vote for their neighbours with weight 0.5 each, through models.NeighbourTable.Recommend as on the device; the 200 remembered are never shown, and the popularity list fills short lists. " +
					"The popularity baseline shows the most-bought items (orders holding them, over the training orders) minus the same 200.",
				"A hit is at least one item of the held-out order in the top 10. Remembered purchases can be a hit for neither method, so the targets are the order's other items: items never bought, and re-orders of items bought before the 200 most recent. " +
					fmt.Sprintf("%d customers whose last order held only remembered purchases are not evaluated. ", test.noTarget) +
					"In session, the first showable item of the order (in line order) is in view (weight 2, and 1 again as the newest view, as the agent counts it), the 18 newest remembered purchases vote with it (20 items in all), and the order's other showable items are the targets.",
				"The table's settings were chosen on a validation split carved from the training period: each customer's second-to-last order held out, the table fitted on the orders before the held-out ones, the grid below scored on the next-order scenario. The last orders were scored once, with the chosen setting refitted on every training order.",
				"Other rows, for comparison: the previous table (symmetric cosine, shrink 10); the best table of the grid without time decay; the chosen table under the agent's previous rule (only the 8 newest purchases vote, at most 8 items in all); the agent's previous memory (20 remembered purchases, all voting and all excluded, so that re-orders of older purchases are showable targets), and the agent's lists scored on those customers and targets (what keeping the promise costs in hits); never-bought items only (everything ever bought excluded, 20 purchases voting: the promise with no memory bound); and buy again (the customer's most often ordered items against popularity, the whole order as target, nothing excluded), which shows how much of a wholesale customer's next order is a re-order.",
			},
			Tables:  []report.Table{checksTable(checks), recTable, gridTable},
			Figures: figs,
		}}, valueSections(valueSecs, "Transactions: calibration to 2011-09-09, 13-week holdout to 2011-12-09 (the run-up to Christmas, which a stationary model does not foresee); amount = Quantity × UnitPrice; cancellations and rows without a customer left out.")...),
		Summary: map[string]any{"dataset": "online-retail", "checks": checks, "results": sum},
	}
	return &Result{Name: "retail", Checks: checks, Lines: lines, Report: rep}, nil
}

// valueSections adds a paragraph in front of the value sections' text.
func valueSections(secs []report.Section, note string) []report.Section {
	secs[0].Text = append([]string{note}, secs[0].Text...)
	return secs
}
