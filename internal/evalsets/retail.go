package evalsets

import (
	"cmp"
	"context"
	"fmt"
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
	exclude []int // every item bought before, and the item in the basket
	target  []int
}

// The agent's weights (agent/score.go): the item looked at now 2, each remembered purchase 0.5,
// and it remembers the 20 most recent distinct purchases (maxBought).
const (
	sessionWeight = 2
	boughtWeight  = 0.5
	maxBought     = 20
)

// splitLastBasket holds out each customer's last order (customers with two orders or more) and
// keeps every other order for training. Held-out targets are the items of the last order that the
// customer had never bought: recommending what a customer already buys is the job of a reorder
// list, not of "bought together", and the agent excludes bought items too. Customers whose last
// order holds nothing new are counted in repeatOnly and not evaluated.
//
// The recommender sees the customer as the agent would: the 20 most recent distinct purchases
// with weight 0.5 each. It returns two evaluation sets. next asks for the next order from the
// purchases alone. session is the device's usual moment: the customer has put the first new item
// of that order (in line order) in the basket, which counts with weight 2, and the other new items
// are the target; it holds the customers with two new items or more.
func splitLastBasket(d *retailData) (trainBaskets [][]int, next, session []recUser, repeatOnly int) {
	for _, invs := range d.customers {
		hist := invs
		if len(invs) >= 2 {
			hist = invs[:len(invs)-1]
		}
		for _, v := range hist {
			trainBaskets = append(trainBaskets, v.items)
		}
		if len(invs) < 2 {
			continue
		}
		var bought []int // distinct, newest first
		for a := len(hist) - 1; a >= 0; a-- {
			for _, it := range hist[a].items {
				if !slices.Contains(bought, it) {
					bought = append(bought, it)
				}
			}
		}
		var target []int
		for _, it := range invs[len(invs)-1].items {
			if !slices.Contains(bought, it) {
				target = append(target, it)
			}
		}
		if len(target) == 0 {
			repeatOnly++
			continue
		}
		recent := make([]models.Weighted, 0, maxBought+1)
		for _, it := range bought[:min(maxBought, len(bought))] {
			recent = append(recent, models.Weighted{Item: it, Weight: boughtWeight})
		}
		next = append(next, recUser{recent: recent, exclude: bought, target: target})
		if len(target) >= 2 {
			first := models.Weighted{Item: target[0], Weight: sessionWeight}
			session = append(session, recUser{recent: append([]models.Weighted{first}, recent...),
				exclude: append(slices.Clip(bought), target[0]), target: target[1:]})
		}
	}
	return trainBaskets, next, session, repeatOnly
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

// Variant is one neighbour-table configuration of the sensitivity table.
type Variant struct {
	K          int     `json:"k"`
	Similarity string  `json:"similarity"`
	HR         float64 `json:"hr"`
	NDCG       float64 `json:"ndcg"`
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

func runScenario(name string, users []recUser, nb *models.Neighbours, popular []uint16, nItems, k int, bo eval.BootstrapOptions) (Scenario, error) {
	sc := Scenario{Name: name, Users: len(users)}
	var err error
	if sc.Neighbours, err = scoreRecommender("item-to-item neighbours", users, k, neighbourRecommender(nb, popular, nItems), bo); err != nil {
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
	RepeatOnly       int            `json:"customers_without_new_items"`
	K                int            `json:"neighbours_per_item"`
	FitSeconds       float64        `json:"neighbour_fit_seconds"`
	NextOrder        Scenario       `json:"next_order"`
	InSession        Scenario       `json:"in_session"`
	Sensitivity      []Variant      `json:"sensitivity_next_order"`
	Value            *translog.Fit  `json:"value"`
	ValueCalibration string         `json:"value_calibration_end"`
}

// Retail evaluates item-to-item recommendations on UCI Online Retail by leave-last-order-out and
// fits BG/NBD and Gamma-Gamma on its transactions. The target is HR@10 at least twice the
// popularity baseline's. It is met when the customer has put one new item of the held-out order
// in the basket (the device's usual moment: a product page, a cart), and missed when the next
// order must be guessed from past orders alone (about 1.5×): that miss is reported as a known miss,
// with a floor of 1.4× that guards against regressions.
func Retail(ctx context.Context, opt Options) (*Result, error) {
	path, err := file(opt, "online-retail", "online_retail.csv.gz")
	if err != nil {
		return nil, err
	}
	d, err := readRetail(path, opt.progress("reading "+path))
	if err != nil {
		return nil, err
	}
	trainB, nextUsers, sessUsers, repeatOnly := splitLastBasket(d)
	nItems := len(d.codes)
	const k, K = 10, 20
	sum := &RetailSummary{Rows: d.rows, OrderLines: d.kept, Dropped: d.dropped, Items: nItems,
		TrainBaskets: len(trainB), RepeatOnly: repeatOnly, K: K}
	start := time.Now()
	nb, popular, err := train.FitNeighbours(ctx, trainB, nItems, K, train.NeighbourOptions{Popular: -1, Progress: opt.progress("fitting neighbours")})
	if err != nil {
		return nil, err
	}
	sum.FitSeconds = time.Since(start).Seconds()
	if sum.NextOrder, err = runScenario("next order from past orders", nextUsers, nb, popular, nItems, k, opt.Bootstrap); err != nil {
		return nil, err
	}
	if sum.InSession, err = runScenario("in session: one new item in the basket", sessUsers, nb, popular, nItems, k, opt.Bootstrap); err != nil {
		return nil, err
	}
	for _, v := range []struct {
		k   int
		sim train.Similarity
	}{{10, train.Cosine}, {20, train.Cosine}, {50, train.Cosine}, {20, train.Lift}} {
		t, pop, err := train.FitNeighbours(ctx, trainB, nItems, v.k, train.NeighbourOptions{Similarity: v.sim, Popular: -1})
		if err != nil {
			return nil, err
		}
		m, err := scoreRecommender("", nextUsers, k, neighbourRecommender(t, pop, nItems), eval.BootstrapOptions{Reps: -1})
		if err != nil {
			return nil, err
		}
		name := "shrunk cosine"
		if v.sim == train.Lift {
			name = "lift"
		}
		sum.Sensitivity = append(sum.Sensitivity, Variant{K: v.k, Similarity: name, HR: m.HR.Estimate, NDCG: m.NDCG.Estimate})
	}

	calEnd, _ := translog.ParseDay("2011-09-09")
	hEnd, _ := translog.ParseDay("2011-12-09")
	vf, err := FitValue(ctx, path, translog.Options{Customer: "CustomerID", Date: "InvoiceDate", Amount: "Quantity*UnitPrice",
		Options: csvin.Options{Format: csvin.Comma}}, translog.Split{CalibrationEnd: calEnd, HoldoutEnd: hEnd, UnitDays: 7}, opt.Progress)
	if err != nil {
		return nil, err
	}
	sum.Value, sum.ValueCalibration = vf.Fit, "2011-09-09"

	ratio := func(sc Scenario) float64 { return sc.Neighbours.HR.Estimate / sc.Popularity.HR.Estimate }
	missed := atLeast("HR@10 neighbours / popularity, next order", ratio(sum.NextOrder), 2)
	if !missed.Pass {
		missed.Known = "past orders alone predict the next order's new items about 1.5 times better than popularity; K 10 to 50 and lift do not change that (sensitivity table)"
	}
	checks := []Check{
		atLeast("HR@10 neighbours / popularity, in session", ratio(sum.InSession), 2),
		missed,
		atLeast("HR@10 neighbours / popularity, next order (regression floor)", ratio(sum.NextOrder), 1.4),
	}
	ci := func(iv eval.Interval) string { return report.CI(iv, 4) }
	lines := []string{
		fmt.Sprintf("orders: %d rows, %d product lines kept, %d items; %d training orders; neighbours K %d, shrunk cosine, fitted in %.2f s",
			d.rows, d.kept, nItems, len(trainB), K, sum.FitSeconds),
	}
	recTable := report.Table{Caption: "top-10 recommendations; 95 % bootstrap intervals over customers (the ratio's interval is paired)",
		Header: []string{"scenario", "recommender", "HR@10", "NDCG@10", "precision@10", "recall@10"}}
	for _, sc := range []Scenario{sum.NextOrder, sum.InSession} {
		lines = append(lines, fmt.Sprintf("%s (%d customers):", sc.Name, sc.Users))
		for _, m := range []RecMetrics{sc.Neighbours, sc.Popularity} {
			lines = append(lines, fmt.Sprintf("  %-24s HR@10 %s  NDCG@10 %s", m.Name, ci(m.HR), ci(m.NDCG)))
			recTable.Rows = append(recTable.Rows, []string{sc.Name, m.Name, ci(m.HR), ci(m.NDCG), ci(m.Precision), ci(m.Recall)})
		}
		lines = append(lines, fmt.Sprintf("  HR@10 ratio %s", report.CI(sc.HRRatio, 2)))
		recTable.Rows = append(recTable.Rows, []string{sc.Name, "ratio of HR@10", report.CI(sc.HRRatio, 2), "", "", ""})
	}
	lines = append(lines, vf.Lines()...)
	sens := report.Table{Caption: "next order: sensitivity to the neighbour table (point estimates; the headline, K 20 shrunk cosine, was set before looking)",
		Header: []string{"K", "similarity", "HR@10", "NDCG@10"}}
	for _, v := range sum.Sensitivity {
		sens.Rows = append(sens.Rows, []string{fmt.Sprint(v.K), v.Similarity, fmt.Sprintf("%.4f", v.HR), fmt.Sprintf("%.4f", v.NDCG)})
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
				"Each customer with two orders or more has their last order held out; every other order trains the neighbour table (FitNeighbours: shrunk cosine c_ij / (√(n_i n_j) + 10) over orders, top K per item). " +
					"The recommender sees a customer as the agent does: the 20 most recent distinct purchases vote for their neighbours with weight 0.5 each, through models.NeighbourTable.Recommend as on the device; items already bought are excluded and the popularity list fills short lists. " +
					"The popularity baseline recommends the most-bought items the customer has not bought.",
				"The target is the set of items in the last order that the customer had never bought; a hit is at least one of them in the top 10. " +
					fmt.Sprintf("%d customers whose last order held only items they had bought before are not evaluated. ", repeatOnly) +
					"Two scenarios: the next order guessed from past orders alone, and in session, where the first new item of the held-out order (in line order) is already in the basket (weight 2, as the agent weighs the item being viewed) and the other new items are the target.",
			},
			Tables:  []report.Table{checksTable(checks), recTable, sens},
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
