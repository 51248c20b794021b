package shop

import (
	"fmt"
	"sort"
	"strings"

	"github.com/presage-dev/presage/internal/sim"
)

// Product is one product of the shop.
type Product struct {
	ID       string // the simulator's and the bundle's item id ("sku-00042")
	Name     string
	Category *Category
	Price    float64
	Hue      int // the placeholder picture's colour: the shop has no photographs, and needs none
}

// Category is one department of the shop.
type Category struct {
	ID, Name string
	Hue      int
	Products []*Product // by popularity
}

// Catalogue is the shop's assortment. It is the simulator's catalogue, the one the demo bundle was
// trained on, so that the product ids of the pages are the item ids the models and the
// recommendations know; only the names are made up.
type Catalogue struct {
	Categories []*Category
	Products   []*Product // in the simulator's order
	byID       map[string]*Product
	catByID    map[string]*Category
	popular    []*Product
}

// adjectives make product names readable and stable: the same id always gets the same name.
var adjectives = []string{"Classic", "Urban", "Nordic", "Everyday", "Pro", "Compact", "Deluxe", "Essential",
	"Travel", "Studio", "Outdoor", "Vintage", "Smart", "Eco", "Premium", "Basic", "Signature", "Sport"}

// NewCatalogue builds the shop's catalogue from the simulator's. It is deterministic: the same
// simulator configuration gives the same shop.
func NewCatalogue(c *sim.Catalogue) *Catalogue {
	cat := &Catalogue{byID: map[string]*Product{}, catByID: map[string]*Category{}}
	for i, sc := range c.Categories {
		k := &Category{ID: sc.ID, Name: titleCase(sc.Name), Hue: (i * 137) % 360}
		cat.Categories = append(cat.Categories, k)
		cat.catByID[k.ID] = k
	}
	for _, it := range c.Items {
		k := cat.Categories[it.Category]
		noun := singular(strings.ToLower(c.Categories[it.Category].Name))
		p := &Product{ID: it.ID, Category: k, Price: it.Price, Hue: (k.Hue + (it.Index*29)%40 - 20 + 360) % 360,
			Name: fmt.Sprintf("%s %s %s", adjectives[(it.Index*7+it.Category)%len(adjectives)], noun, strings.TrimLeft(strings.TrimPrefix(it.ID, "sku-"), "0"))}
		cat.Products = append(cat.Products, p)
		cat.byID[p.ID] = p
	}
	// Popularity orders the category pages and the shop's fallbacks, as a shop's best-seller
	// ranking does.
	order := make([]int, len(c.Items))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return c.Items[order[a]].Popularity > c.Items[order[b]].Popularity })
	for _, i := range order {
		p := cat.Products[i]
		cat.popular = append(cat.popular, p)
		p.Category.Products = append(p.Category.Products, p)
	}
	return cat
}

// Product returns the product with the given id.
func (c *Catalogue) Product(id string) (*Product, bool) { p, ok := c.byID[id]; return p, ok }

// Category returns the category with the given id.
func (c *Catalogue) Category(id string) (*Category, bool) { k, ok := c.catByID[id]; return k, ok }

// Popular returns the n most popular products.
func (c *Catalogue) Popular(n int) []*Product { return c.popular[:min(n, len(c.popular))] }

// Search returns up to n products whose name or category contains every word of q.
func (c *Catalogue) Search(q string, n int) []*Product {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil
	}
	var out []*Product
	for _, p := range c.popular {
		text := strings.ToLower(p.Name + " " + p.Category.Name + " " + p.ID)
		all := true
		for _, w := range words {
			// "cheap shoes" and "shoe" should both find shoes: match on the word without its plural.
			if !strings.Contains(text, strings.TrimSuffix(w, "s")) {
				all = false
				break
			}
		}
		if all {
			out = append(out, p)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// singular is English's common plurals undone, enough for product names ("dresses" → "dress",
// "memory cards" → "memory card", "accessories" → "accessory").
func singular(s string) string {
	switch {
	case strings.HasSuffix(s, "ies"):
		return strings.TrimSuffix(s, "ies") + "y"
	case strings.HasSuffix(s, "sses"), strings.HasSuffix(s, "shes"), strings.HasSuffix(s, "ches"), strings.HasSuffix(s, "xes"):
		return strings.TrimSuffix(s, "es")
	case strings.HasSuffix(s, "ss"):
		return s
	}
	return strings.TrimSuffix(s, "s")
}
