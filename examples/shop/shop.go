package shop

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
)

//go:embed templates/*.html static
var files embed.FS

// DefaultSite is the demo bundle's site: the name presage.js stores the profile under, and the
// bundle the sync server serves to the shop.
const DefaultSite = "demo-shop"

// Config configures a [Shop].
type Config struct {
	Catalogue *Catalogue
	// Site is the bundle's site (DefaultSite when empty).
	Site string
	// PublicKey, when set, is given to presage.js (data-key) so that it fetches newer bundles from
	// the sync server and verifies them; without it the tag runs the bundle compiled into the module.
	PublicKey []byte
	// Sync is the sync server's handler, mounted at /v1/, /healthz, /readyz and /metrics so that
	// the tag, the module, the bundle and the batches are first-party. Nil serves only the pages.
	Sync http.Handler
	// Tag holds extra attributes of the script tag (data-timeout="10000", data-consent="local", …).
	Tag string
}

// Shop is the demo shop's HTTP handler.
type Shop struct {
	cfg       Config
	cat       *Catalogue
	tmpl      *template.Template
	static    http.Handler
	catalogue []byte // /catalogue.json: names for the recommendation carousel, which presage.js fills with ids
	mux       *http.ServeMux
}

// New returns the shop.
func New(cfg Config) (*Shop, error) {
	if cfg.Catalogue == nil || len(cfg.Catalogue.Products) == 0 {
		return nil, errors.New("shop: no catalogue")
	}
	if cfg.Site == "" {
		cfg.Site = DefaultSite
	}
	tmpl, err := template.New("").Funcs(template.FuncMap{"price": formatPrice}).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("shop: templates: %w", err)
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, fmt.Errorf("shop: static files: %w", err)
	}
	s := &Shop{cfg: cfg, cat: cfg.Catalogue, tmpl: tmpl, static: http.StripPrefix("/static/", http.FileServerFS(static))}
	type entry struct {
		Name  string  `json:"name"`
		Price float64 `json:"price"`
		Hue   int     `json:"hue"`
	}
	names := make(map[string]entry, len(s.cat.Products))
	for _, p := range s.cat.Products {
		names[p.ID] = entry{p.Name, p.Price, p.Hue}
	}
	if s.catalogue, err = json.Marshal(names); err != nil {
		return nil, fmt.Errorf("shop: catalogue.json: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /c/{id}", s.category)
	mux.HandleFunc("GET /p/{id}", s.product)
	mux.HandleFunc("GET /search", s.search)
	mux.HandleFunc("GET /cart", s.simple("cart", "Your cart"))
	mux.HandleFunc("GET /checkout", s.simple("checkout", "Checkout"))
	mux.HandleFunc("GET /thanks", s.simple("content", "Thank you"))
	mux.HandleFunc("GET /catalogue.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(s.catalogue)
	})
	mux.Handle("GET /static/", s.static)
	if cfg.Sync != nil {
		for _, p := range []string{"/v1/", "/healthz", "/readyz", "/metrics"} {
			mux.Handle(p, cfg.Sync)
		}
	}
	s.mux = mux
	return s, nil
}

// ServeHTTP serves the pages, the static assets and, when configured, the sync server.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// page is what every page template gets.
type page struct {
	Title      string
	Type       string // data-presage-page
	Body       template.HTMLAttr
	Site, Key  string
	Tag        template.HTMLAttr
	Categories []*Category
	Query      string

	Category *Category
	Product  *Product
	Products []*Product
	Related  []*Product
}

func (s *Shop) newPage(typ, title string) *page {
	p := &page{Title: title, Type: typ, Site: s.cfg.Site, Tag: template.HTMLAttr(s.cfg.Tag), Categories: s.cat.Categories}
	if len(s.cfg.PublicKey) > 0 {
		p.Key = base64.StdEncoding.EncodeToString(s.cfg.PublicKey)
	}
	return p
}

func (s *Shop) render(w http.ResponseWriter, name string, p *page) {
	s.renderStatus(w, http.StatusOK, name, p)
}

// renderStatus executes the template into a buffer first, so that a template error is a clean 500
// rather than half a page.
func (s *Shop) renderStatus(w http.ResponseWriter, code int, name string, p *page) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, p); err != nil {
		http.Error(w, "shop: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func (s *Shop) home(w http.ResponseWriter, r *http.Request) {
	p := s.newPage("home", "Presage demo shop")
	p.Products = s.cat.Popular(12)
	s.render(w, "home.html", p)
}

func (s *Shop) category(w http.ResponseWriter, r *http.Request) {
	c, ok := s.cat.Category(r.PathValue("id"))
	if !ok {
		s.notFound(w)
		return
	}
	p := s.newPage("category", c.Name)
	p.Category, p.Products = c, c.Products
	p.Body = attrs("data-presage-category", c.ID)
	s.render(w, "list.html", p)
}

func (s *Shop) search(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	p := s.newPage("search", "Search: "+q)
	p.Query, p.Products = q, s.cat.Search(q, 48)
	p.Body = attrs("data-presage-query", q)
	s.render(w, "list.html", p)
}

func (s *Shop) product(w http.ResponseWriter, r *http.Request) {
	pr, ok := s.cat.Product(r.PathValue("id"))
	if !ok {
		s.notFound(w)
		return
	}
	p := s.newPage("product", pr.Name)
	p.Product, p.Category = pr, pr.Category
	p.Body = attrs("data-presage-product", pr.ID, "data-presage-category", pr.Category.ID, "data-presage-price", strconv.FormatFloat(pr.Price, 'f', 2, 64))
	// The shop's own "more from this department", shown beside the personalised carousel.
	for _, o := range pr.Category.Products {
		if o != pr && len(p.Related) < 4 {
			p.Related = append(p.Related, o)
		}
	}
	s.render(w, "product.html", p)
}

// simple serves a page whose content is the shop's script's (cart, checkout) or static (thanks).
func (s *Shop) simple(typ, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.render(w, typ+".html", s.newPage(typ, title))
	}
}

func (s *Shop) notFound(w http.ResponseWriter) {
	s.renderStatus(w, http.StatusNotFound, "notfound.html", s.newPage("content", "Not found"))
}

// attrs writes name="value" pairs for the body element, escaped.
func attrs(kv ...string) template.HTMLAttr {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, ` %s="%s"`, kv[i], template.HTMLEscapeString(kv[i+1]))
	}
	return template.HTMLAttr(b.String())
}

func formatPrice(p float64) string { return "€" + strconv.FormatFloat(p, 'f', 2, 64) }
