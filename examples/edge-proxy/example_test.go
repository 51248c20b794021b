package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/presage-dev/presage/runtime/edge"
)

// Example_proxy puts the edge proxy in front of the demo shop and follows one visitor over two page
// views: the first sets the profile cookie, the second brings it back.
func Example_proxy() {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The origin sees the decisions; a template could use them as well as the edge's rewriting.
		w.Header().Set("X-Origin-Saw-Stage", r.Header.Get("Presage-Stage"))
		shopOrigin.ServeHTTP(w, r)
	}))
	defer origin.Close()
	u, _ := url.Parse(origin.URL)
	h, err := demoHost(context.Background(), false)
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close(context.Background())
	proxy, e, err := newProxy(u, edge.Config{
		Host:           h,
		Keys:           [][]byte{bytes.Repeat([]byte("example key, 32 bytes long......"), 1)},
		DefaultSlots:   []string{"popin", "banner", "carousel"},
		InsecureCookie: true, // plain HTTP on loopback
	})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close(context.Background())
	srv := httptest.NewServer(proxy)
	defer srv.Close()

	var cookie string
	for _, path := range []string{"/", "/c/shoes"} {
		resp, body, err := browse(srv.URL+path, &cookie)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %d, origin saw stage %q, cookie %v, slots filled %v, %s\n", path, resp.StatusCode,
			resp.Header.Get("X-Origin-Saw-Stage"), cookie != "",
			strings.Contains(body, `data-presage-campaign=`),
			resp.Header.Get("Cache-Control"))
	}
	m := e.Metrics()
	fmt.Printf("personalised %d, new %d, returning %d, module errors %d\n", m.Personalised, m.NewVisitors, m.Returning, m.ModuleErrors)
	// Output:
	// /: 200, origin saw stage "prospect", cookie true, slots filled true, private, no-cache
	// /c/shoes: 200, origin saw stage "prospect", cookie true, slots filled true, private, no-cache
	// personalised 2, new 1, returning 1, module errors 0
}

// browse gets a page as a browser would, sending the profile cookie in *cookie (when set) and keeping
// the one the edge sets.
func browse(url string, cookie *string) (*http.Response, string, error) {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "text/html")
	if *cookie != "" {
		req.Header.Set("Cookie", *cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == edge.DefaultCookieName {
			*cookie = c.Name + "=" + c.Value
		}
	}
	return resp, string(body), err
}
