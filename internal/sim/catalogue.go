package sim

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// EmbeddingDim is the size of the latent item and category embeddings.
const EmbeddingDim = 8

// Catalogue is the shop's assortment. It is the ground truth of the recommenders: items of one
// family of categories are bought together, and items whose embeddings are close are viewed and
// bought by the same visitors.
type Catalogue struct {
	Items      []Item
	Categories []Category

	itemByID map[string]int
	catByID  map[string]int
	catCum   []float64 // cumulative category weights
}

// Category is a department of the shop.
type Category struct {
	Index int
	// ID is the category's identifier in events: a readable word for the first forty
	// ("shoes", "memory-cards"), "cat-0123" beyond.
	ID string
	// Name is ID as search words ("memory cards"): the queries of EventSearch use it.
	Name string
	// Family groups categories that are bought together; Companions lists the other
	// categories of the family, the cross-sell of the truth ("cameras" → "memory-cards").
	Family     int
	Companions []int
	// Items lists the category's items, by index into Catalogue.Items.
	Items []int
	// Weight is the category's share of the visitors' interest (the weights sum to 1).
	Weight float64
	// MedianPrice is the median of the log-normal price distribution of the category's items.
	MedianPrice float64
	// Embedding places the category in the latent space; companions sit close together.
	Embedding [EmbeddingDim]float32

	cum     []float64 // cumulative popularity of Items
	queries []string  // search phrases
	brand   []string  // brand-search phrases
}

// Item is a product.
type Item struct {
	Index int
	// ID is the item's identifier in events: "sku-00042".
	ID string
	// Category indexes Catalogue.Categories.
	Category int
	// Price is the unit price, in the shop's currency, with a retail ending (19.99).
	Price float64
	// Popularity is the item's share of attention (Zipf over the catalogue; the shares sum to 1).
	Popularity float64
	// Embedding is the latent vector of the item: its category's embedding plus the item's own
	// style. Visitors prefer items whose style matches theirs, and cross-sell picks the companion
	// item closest to the one in the cart, so that specific item pairs co-occur.
	Embedding [EmbeddingDim]float32
}

// Item returns the item with the given id.
func (c *Catalogue) Item(id string) (Item, bool) {
	i, ok := c.itemByID[id]
	if !ok {
		return Item{}, false
	}
	return c.Items[i], true
}

// Category returns the category with the given id.
func (c *Catalogue) Category(id string) (Category, bool) {
	i, ok := c.catByID[id]
	if !ok {
		return Category{}, false
	}
	return c.Categories[i], true
}

// CategoryOf returns the category id of an item id, or "" when the item is unknown.
func (c *Catalogue) CategoryOf(item string) string {
	i, ok := c.itemByID[item]
	if !ok {
		return ""
	}
	return c.Categories[c.Items[i].Category].ID
}

// catWord is a readable category with its family and a typical price.
type catWord struct {
	id     string
	family int
	median float64
}

// catWords are the readable categories, in the order categories are created: early families get
// a companion soon, so that even a catalogue of four categories has cross-sell structure.
var catWords = []catWord{
	{"shoes", 0, 80}, {"bags", 0, 65}, {"cameras", 1, 420}, {"memory-cards", 1, 22},
	{"phones", 2, 480}, {"phone-cases", 2, 18}, {"laptops", 3, 850}, {"headphones", 2, 95},
	{"dresses", 4, 70}, {"jewellery", 4, 55}, {"coffee", 5, 14}, {"coffee-machines", 5, 180},
	{"books", 6, 17}, {"stationery", 6, 9}, {"toys", 7, 28}, {"games", 7, 45},
	{"socks", 0, 11}, {"tripods", 1, 60}, {"chargers", 2, 25}, {"monitors", 3, 240},
	{"keyboards", 3, 55}, {"mugs", 5, 13}, {"beauty", 8, 24}, {"fragrance", 8, 62},
	{"garden", 9, 38}, {"tools", 9, 55}, {"kitchen", 10, 35}, {"tableware", 10, 30},
	{"sport", 11, 45}, {"outdoor", 11, 95}, {"watches", 4, 150}, {"sunglasses", 4, 85},
	{"camera-bags", 1, 45}, {"mice", 3, 30}, {"tea", 5, 10}, {"puzzles", 7, 20},
	{"bedding", 12, 60}, {"lighting", 12, 48}, {"furniture", 12, 260}, {"pet-supplies", 13, 22},
}

// Catalogue shape.
const (
	catZipf     = 0.8 // category interest: weight ∝ 1/rank^catZipf
	itemZipf    = 1.0 // item popularity: ∝ 1/rank^itemZipf
	priceSigma  = 0.45
	itemStyle   = 0.8 // spread of an item's embedding around its category's
	familySpray = 0.4 // spread of a category's embedding around its family's
)

// newCatalogue builds the catalogue of cfg from its own random stream.
func newCatalogue(cfg Config) *Catalogue {
	r := newRand(cfg.Seed, keyCatalogue, 0)
	nc, ni := cfg.Categories, cfg.Items
	c := &Catalogue{
		Items:      make([]Item, ni),
		Categories: make([]Category, nc),
		itemByID:   make(map[string]int, ni),
		catByID:    make(map[string]int, nc),
	}

	// Families and their latent centres.
	famVec := map[int][EmbeddingDim]float32{}
	famOf := func(f int) [EmbeddingDim]float32 {
		v, ok := famVec[f]
		if !ok {
			for k := range v {
				v[k] = float32(r.NormFloat64())
			}
			famVec[f] = v
		}
		return v
	}
	rank := r.Perm(nc)
	wsum := 0.0
	for i := range c.Categories {
		cat := &c.Categories[i]
		cat.Index = i
		if i < len(catWords) {
			w := catWords[i]
			cat.ID, cat.Family, cat.MedianPrice = w.id, w.family, w.median
		} else {
			cat.ID = "cat-" + pad(i, 4)
			cat.Family = 1000 + (i-len(catWords))/3
			cat.MedianPrice = math.Round(math.Exp(math.Log(40) + 0.9*r.NormFloat64()))
			cat.MedianPrice = max(cat.MedianPrice, 3)
		}
		cat.Name = strings.ReplaceAll(cat.ID, "-", " ")
		cat.Weight = math.Pow(float64(rank[i]+1), -catZipf)
		wsum += cat.Weight
		fv := famOf(cat.Family)
		for k := range cat.Embedding {
			cat.Embedding[k] = fv[k] + float32(familySpray*r.NormFloat64())
		}
		cat.queries = []string{cat.Name, cat.Name, cat.Name, "cheap " + cat.Name, "best " + cat.Name,
			cat.Name + " sale", "new " + cat.Name, cat.Name + " gift"}
		cat.brand = []string{cfg.Brand, cfg.Brand, cfg.Brand + " " + cat.Name, cfg.Brand + " shop"}
		c.catByID[cat.ID] = i
	}
	c.catCum = make([]float64, nc)
	for i := range c.Categories {
		c.Categories[i].Weight /= wsum
		c.catCum[i] = c.Categories[i].Weight
	}
	cumulate(c.catCum)
	// Companions: the other categories of the same family.
	byFam := map[int][]int{}
	for i := range c.Categories {
		byFam[c.Categories[i].Family] = append(byFam[c.Categories[i].Family], i)
	}
	for i := range c.Categories {
		for _, j := range byFam[c.Categories[i].Family] {
			if j != i {
				c.Categories[i].Companions = append(c.Categories[i].Companions, j)
			}
		}
	}

	// Items: one per category first, so that none is empty, then by category weight.
	irank := r.Perm(ni)
	psum := 0.0
	for i := range c.Items {
		it := &c.Items[i]
		it.Index = i
		it.ID = "sku-" + pad(i, 5)
		if i < nc {
			it.Category = i
		} else {
			it.Category = pick(r, c.catCum)
		}
		cat := &c.Categories[it.Category]
		it.Price = retailPrice(cat.MedianPrice * math.Exp(priceSigma*r.NormFloat64()))
		it.Popularity = math.Pow(float64(irank[i]+1), -itemZipf)
		psum += it.Popularity
		for k := range it.Embedding {
			it.Embedding[k] = cat.Embedding[k] + float32(itemStyle*r.NormFloat64())
		}
		cat.Items = append(cat.Items, i)
		c.itemByID[it.ID] = i
	}
	for i := range c.Items {
		c.Items[i].Popularity /= psum
	}
	for ci := range c.Categories {
		cat := &c.Categories[ci]
		cat.cum = make([]float64, len(cat.Items))
		for k, it := range cat.Items {
			cat.cum[k] = c.Items[it].Popularity
		}
		cumulate(cat.cum)
	}
	return c
}

// retailPrice rounds a price to a shop's ending: 19.99 above ten, 4.49 below.
func retailPrice(p float64) float64 {
	if p >= 10 {
		return math.Round(p) - 0.01
	}
	return max(math.Round(p*10)/10-0.01, 0.49)
}

// pad formats i in decimal with at least width digits.
func pad(i, width int) string {
	s := strconv.Itoa(i)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// candidates is how many items are drawn by popularity before the visitor's taste picks one:
// a cheap stand-in for a softmax over a whole category, which would cost O(items) per view.
const candidates = 6

// pickItem draws an item of category ci for a visitor of the given style: candidates are drawn by
// popularity, and one of them is chosen with weights exp(gain · style·embedding).
func (c *Catalogue) pickItem(r *rand.Rand, ci int, style *[EmbeddingDim]float32, gain float64) int {
	cat := &c.Categories[ci]
	if len(cat.Items) == 1 {
		return cat.Items[0]
	}
	var cand [candidates]int
	var w [candidates]float64
	total := 0.0
	for k := range cand {
		it := cat.Items[pick(r, cat.cum)]
		cand[k] = it
		e := &c.Items[it].Embedding
		dot := 0.0
		for d := range e {
			dot += float64(style[d] * e[d])
		}
		w[k] = math.Exp(gain * clamp(dot, -12, 12))
		total += w[k]
	}
	u := r.Float64() * total
	for k := range cand {
		u -= w[k]
		if u < 0 {
			return cand[k]
		}
	}
	return cand[candidates-1]
}
