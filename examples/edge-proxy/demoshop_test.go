package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/presage-dev/presage/examples/shop"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/runtime/edge"
)

// TestFrontsDemoShop puts the proxy in front of the real demo shop (examples/shop, pages only) and
// follows a visitor from the home page to a product page: the origin receives the decisions as
// headers, the shop's own slots come back filled, and the profile cookie carries the visit over.
func TestFrontsDemoShop(t *testing.T) {
	sm, err := demo.Config{Visitors: 10}.Sim()
	if err != nil {
		t.Fatal(err)
	}
	cat := shop.NewCatalogue(sm.Catalogue())
	s, err := shop.New(shop.Config{Catalogue: cat})
	if err != nil {
		t.Fatal(err)
	}
	var sawStage []string
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/p/") {
			sawStage = append(sawStage, r.Header.Get("Presage-Stage"))
		}
		s.ServeHTTP(w, r)
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	proxy, e, err := newProxy(u, edge.Config{
		Host:           testHost(t, true),
		Keys:           [][]byte{bytes.Repeat([]byte("k"), 32)},
		InsecureCookie: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	srv := httptest.NewServer(proxy)
	defer srv.Close()

	product := cat.Popular(1)[0]
	var cookie string
	for _, path := range []string{"/", "/p/" + product.ID} {
		resp, body, err := browse(srv.URL+path, &cookie)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if !strings.Contains(body, "data-presage-campaign=") {
			t.Errorf("%s: no slot of the shop was filled", path)
		}
	}
	if len(sawStage) != 2 || sawStage[0] == "" {
		t.Errorf("the shop saw stages %q, want the decision headers on both pages", sawStage)
	}
	if m := e.Metrics(); m.Personalised != 2 || m.Returning != 1 || m.ModuleErrors != 0 {
		t.Errorf("metrics %+v", m)
	}
}
