package models_test

import (
	"errors"
	"fmt"

	"github.com/presage-dev/presage/models"
)

// The BG/NBD and Gamma-Gamma parameters published for the CDNOW data set (Fader, Hardie & Lee
// 2005; Fader & Hardie 2013), in weeks.
var cdnow = &models.Value{R: 0.243, Alpha: 4.414, A: 0.793, B: 2.426, P: 6.25, Q: 3.74, Gamma: 15.44, Horizon: 39}

func ExampleValue_Alive() {
	// Customer 1 of the CDNOW sample: 2 repeat purchases, the last in week 30.43, observed for
	// 38.86 weeks.
	fmt.Printf("P(alive) = %.3f\n", cdnow.Alive(2, 30.43, 38.86))
	// A customer who never came back is alive with probability 1 under BG/NBD.
	fmt.Printf("P(alive) = %.3f\n", cdnow.Alive(0, 0, 38.86))
	// Output:
	// P(alive) = 0.727
	// P(alive) = 1.000
}

func ExampleValue_ConditionalExpected() {
	// Expected purchases of customer 1 over the next 39 weeks (Hardie's spreadsheet: 1.226).
	fmt.Printf("%.3f\n", cdnow.ConditionalExpected(39, 2, 30.43, 38.86))
	// Output: 1.226
}

func ExampleValue_Expected() {
	// Expected repeat purchases of a new customer in the first year (52 weeks).
	fmt.Printf("%.3f\n", cdnow.Expected(52))
	// Output: 1.446
}

func ExampleValue_ExpectedSpend() {
	// Customer 6: 7 repeat purchases averaging $73.74, shrunk towards the population mean.
	fmt.Printf("$%.2f\n", cdnow.ExpectedSpend(7, 73.74))
	fmt.Printf("$%.2f\n", cdnow.ExpectedSpend(0, 0))
	// Output:
	// $71.47
	// $35.22
}

func ExampleLogistic_Logit() {
	m := &models.Logistic{Name: "buy", Features: []uint16{0, 1}, Weights: []float32{1.5, -0.5}, Bias: -2}
	x := []float64{2, 3} // the agent's feature vector
	cols := m.Columns(nil, []uint16{0, 1})
	fmt.Printf("logit %.2f, p %.3f\n", m.Logit(x, cols), m.Score(x, cols))
	// Output: logit -0.50, p 0.378
}

func ExampleNeighbourTable_Recommend() {
	// Three items, two neighbours each; item 0 is close to 1 and 2, item 2 to 1.
	n := &models.Neighbours{K: 2, Scale: 0.01,
		Index:  []byte{1, 0, 2, 0 /* item 1: */, 0xFF, 0xFF, 0xFF, 0xFF /* item 2: */, 1, 0, 0, 0},
		Weight: []byte{90, 40, 0, 0, 60, 10}}
	recent := []models.Weighted{{Item: 0, Weight: 1}, {Item: 2, Weight: 0.5}}
	seen := models.ItemSet(nil).Reset(3) // what the visitor has seen is not recommended
	seen.Add(0)
	seen.Add(2)
	table := n.Table() // once per bundle
	var scratch models.RecScratch
	for _, c := range table.Recommend(nil, recent, seen, 5, &scratch) {
		fmt.Printf("item %d: %.2f\n", c.Item, c.Score)
	}
	// Output: item 1: 1.20
}

func ExampleAppetence_TopCategories() {
	// Three categories in a rank-2 space.
	a := &models.Appetence{Rank: 2, Scale: 0.01, Slope: 1, Lambda: 100,
		Factors: []byte{100, 0, 0, 100, 70, 70}}
	proj := a.Projection() // once per bundle, like NewAppetenceKernel
	q := make([]int8, a.Rank)
	vscale := a.Fold(q, proj, []int{0}, []float64{3}) // the visitor likes category 0
	dots := make([]int32, a.Categories())
	models.NewAppetenceKernel(a).Scores(dots, q) // once per bundle: NewAppetenceKernel
	for _, c := range a.TopCategories(nil, dots, vscale, 2) {
		fmt.Printf("category %d: %.2f\n", c.Category, c.Prob)
	}
	// Output:
	// category 0: 0.90
	// category 2: 0.74
}

func ExamplePredicate_Holds() {
	band := models.Predicate{Kind: models.PredScore, Lo: 0.52, Hi: 0.60}
	fmt.Println(band.Holds(0.55), band.Holds(0.61))
	// Output: true false
}

func ExampleBundle_Validate() {
	b := &models.Bundle{Format: models.FormatVersion, Items: []string{"sku-1", "sku-2"}, ItemCategory: []uint16{0}}
	err := b.Validate()
	fmt.Println(err)
	fmt.Println(errors.Is(err, models.ErrBadBundle))
	// Output:
	// models: bad bundle: itemCategory: 1 entries for 2 items
	// true
}
