package edge

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/presage-dev/presage/agent/wire"
)

// RequestEvents is the default [Config.Events]: what an edge can tell from a page request alone.
//
//   - Sec-GPC: 1 (Global Privacy Control) gives a consent event at ConsentLocal: the profile keeps
//     personalising on this site, and no learning leaves it.
//   - An arrival when the visit starts here: a new visitor, a navigation from another site
//     (Sec-Fetch-Site: cross-site, or a Referer of another host), a typed URL or bookmark
//     (Sec-Fetch-Site: none), or a URL with utm_ parameters. It carries the referrer's host and the
//     utm_source, utm_medium and utm_term fields for the agent to classify the channel, and the device
//     class from the User-Agent.
//   - A page view, its type guessed from the path by [PageTypeOf].
//
// Sites whose URLs say more (product ids, categories) supply their own Config.Events, usually
// calling this one and appending product or category views.
func RequestEvents(r *http.Request, now int64, returning bool) []wire.Event {
	evs := make([]wire.Event, 0, 3)
	if r.Header.Get("Sec-GPC") == "1" {
		evs = append(evs, wire.Event{Type: wire.EventConsent, Time: now, Consent: wire.ConsentLocal})
	}
	ref := referrerHost(r)
	var q url.Values
	if strings.Contains(r.URL.RawQuery, "utm_") {
		q = r.URL.Query()
	}
	arrival := !returning || q != nil
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "none":
		arrival = true
	case "same-origin", "same-site":
	default:
		arrival = arrival || ref != ""
	}
	if arrival {
		ev := wire.Event{Type: wire.EventArrival, Time: now, Referrer: ref, Device: DeviceOf(r.UserAgent())}
		if q != nil {
			ev.Source, ev.Medium, ev.Term = q.Get("utm_source"), q.Get("utm_medium"), q.Get("utm_term")
		}
		if ev.Referrer == "" && ev.Source == "" && ev.Medium == "" {
			ev.Channel = wire.ChannelDirect
		}
		evs = append(evs, ev)
	}
	return append(evs, wire.Event{Type: wire.EventPageView, Time: now, Page: PageTypeOf(r.URL.Path)})
}

// referrerHost returns the Referer's host name when it is another site, "" otherwise.
func referrerHost(r *http.Request) string {
	ref := r.Referer()
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return ""
	}
	host := u.Hostname()
	if strings.EqualFold(host, hostOnly(r.Host)) {
		return ""
	}
	return strings.ToLower(host)
}

func hostOnly(hostport string) string {
	if u, err := url.Parse("//" + hostport); err == nil {
		return u.Hostname()
	}
	return hostport
}

// PageTypeOf guesses a page's type from common URL shapes: "/" is the home page, and a first path
// segment such as product(s)/p, category/categories/c, search, cart/basket, checkout, account or
// blog/content names the rest. Anything else is PageOther.
func PageTypeOf(path string) wire.PageType {
	if path == "" || path == "/" {
		return wire.PageHome
	}
	seg := strings.ToLower(strings.TrimPrefix(path, "/"))
	if i := strings.IndexByte(seg, '/'); i >= 0 {
		seg = seg[:i]
	}
	seg = strings.TrimSuffix(seg, ".html")
	switch seg {
	case "product", "products", "p", "item", "items":
		return wire.PageProduct
	case "category", "categories", "c", "collections", "shop":
		return wire.PageCategory
	case "search":
		return wire.PageSearch
	case "cart", "basket", "bag":
		return wire.PageCart
	case "checkout":
		return wire.PageCheckout
	case "account", "login", "profile":
		return wire.PageAccount
	case "blog", "content", "pages", "about":
		return wire.PageContent
	}
	return wire.PageOther
}

// DeviceOf tells the device class from a User-Agent: the usual "Mobi" and tablet markers.
func DeviceOf(ua string) wire.Device {
	switch {
	case ua == "":
		return wire.DeviceUnknown
	case strings.Contains(ua, "iPad") || strings.Contains(ua, "Tablet"):
		return wire.DeviceTablet
	case strings.Contains(ua, "Mobi") || strings.Contains(ua, "Android"):
		return wire.DeviceMobile
	}
	return wire.DeviceDesktop
}
