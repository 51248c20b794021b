package edge

import (
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
)

func TestRequestEvents(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		headers   map[string]string
		returning bool
		want      []wire.Event // Time is not compared
	}{
		{"new visitor, typed URL", "http://shop.example/", nil, false, []wire.Event{
			{Type: wire.EventArrival, Channel: wire.ChannelDirect},
			{Type: wire.EventPageView, Page: wire.PageHome},
		}},
		{"returning, internal navigation", "http://shop.example/products/42", map[string]string{"Sec-Fetch-Site": "same-origin", "Referer": "http://shop.example/"}, true, []wire.Event{
			{Type: wire.EventPageView, Page: wire.PageProduct},
		}},
		{"returning, no fetch metadata, own referrer", "http://shop.example/cart", map[string]string{"Referer": "http://shop.example/p/1"}, true, []wire.Event{
			{Type: wire.EventPageView, Page: wire.PageCart},
		}},
		{"returning from a search engine", "http://shop.example/c/shoes", map[string]string{"Referer": "https://www.google.com/search?q=x", "User-Agent": "Mozilla/5.0 (iPhone) Mobile"}, true, []wire.Event{
			{Type: wire.EventArrival, Referrer: "www.google.com", Device: wire.DeviceMobile},
			{Type: wire.EventPageView, Page: wire.PageCategory},
		}},
		{"email campaign", "http://shop.example/?utm_source=news&utm_medium=email&utm_term=boots", map[string]string{"Sec-Fetch-Site": "cross-site"}, true, []wire.Event{
			{Type: wire.EventArrival, Source: "news", Medium: "email", Term: "boots"},
			{Type: wire.EventPageView, Page: wire.PageHome},
		}},
		{"bookmark", "http://shop.example/account", map[string]string{"Sec-Fetch-Site": "none", "User-Agent": "Mozilla/5.0 (X11; Linux)"}, true, []wire.Event{
			{Type: wire.EventArrival, Channel: wire.ChannelDirect, Device: wire.DeviceDesktop},
			{Type: wire.EventPageView, Page: wire.PageAccount},
		}},
		{"global privacy control", "http://shop.example/search?q=x", map[string]string{"Sec-GPC": "1", "Sec-Fetch-Site": "same-origin"}, true, []wire.Event{
			{Type: wire.EventConsent, Consent: wire.ConsentLocal},
			{Type: wire.EventPageView, Page: wire.PageSearch},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tc.url, nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			got := RequestEvents(r, 1000, tc.returning)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d events %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i].Time != 1000 {
					t.Errorf("event %d: time %d, want the request's", i, got[i].Time)
				}
				got[i].Time = 0
				if !reflect.DeepEqual(got[i], tc.want[i]) {
					t.Errorf("event %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestPageTypeOf(t *testing.T) {
	for path, want := range map[string]wire.PageType{
		"": wire.PageHome, "/": wire.PageHome, "/products/x": wire.PageProduct, "/P/1": wire.PageProduct,
		"/category/shoes": wire.PageCategory, "/search": wire.PageSearch, "/cart.html": wire.PageCart,
		"/checkout/pay": wire.PageCheckout, "/blog/post": wire.PageContent, "/misc": wire.PageOther,
	} {
		if got := PageTypeOf(path); got != want {
			t.Errorf("PageTypeOf(%q) = %d, want %d", path, got, want)
		}
	}
}
