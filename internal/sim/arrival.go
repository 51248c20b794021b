package sim

import "github.com/presage-dev/presage/agent/wire"

// Hosts and UTM values of raw arrivals. Major hosts are real names (a classifier must know them);
// the rest use reserved example domains.
var (
	searchHosts   = []string{"www.google.com", "www.google.com", "www.google.com", "www.bing.com", "duckduckgo.com"}
	socialHosts   = []string{"www.facebook.com", "l.instagram.com", "t.co", "www.pinterest.com", "www.tiktok.com"}
	socialSources = []string{"facebook", "instagram", "twitter", "pinterest", "tiktok"}
	referralHosts = []string{"blog.example.org", "forum.example.net", "deals.example.com", "news.example.com", "www.example.org"}
	emailSources  = []string{"newsletter", "newsletter", "crm", "cart-reminder"}
)

// arrival returns the session's EventArrival. Most carry the classified channel; a share
// (Config.RawArrivals) carry what a browser would see instead — a referrer host and UTM fields —
// so that the agent's classification is exercised on every channel, ambiguous cases included
// (organic search without its terms, a direct visit that is only an absence of referrer).
func (g *gen) arrival(ch wire.Channel, dev wire.Device) wire.Event {
	r := g.r
	e := wire.Event{Type: wire.EventArrival, Device: dev}
	if r.Float64() >= g.s.cfg.RawArrivals {
		e.Channel = ch
		return e
	}
	oneOf := func(s []string) string { return s[r.IntN(len(s))] }
	cat := &g.c.Categories[g.focus]
	switch ch {
	case wire.ChannelDirect:
		// Nothing: no referrer, no UTM.
	case wire.ChannelBrandSearch:
		e.Referrer = oneOf(searchHosts)
		if r.Float64() < 0.8 {
			e.Term = oneOf(cat.brand)
		}
	case wire.ChannelGenericSearch:
		e.Referrer = oneOf(searchHosts)
		if r.Float64() < 0.6 {
			e.Term = oneOf(cat.queries)
		}
	case wire.ChannelEmail:
		e.Source, e.Medium = oneOf(emailSources), "email"
		if r.Float64() < 0.3 {
			e.Referrer = "mail.google.com"
		}
	case wire.ChannelSocial:
		k := r.IntN(len(socialHosts))
		e.Referrer = socialHosts[k]
		if r.Float64() < 0.4 {
			e.Source, e.Medium = socialSources[k], "social"
		}
	case wire.ChannelPaid:
		if r.Float64() < 0.7 {
			e.Source, e.Medium, e.Term = "google", "cpc", oneOf(cat.queries)
			if r.Float64() < 0.5 {
				e.Referrer = "www.google.com"
			}
		} else {
			e.Source, e.Medium = "criteo", "display"
		}
	case wire.ChannelReferral:
		e.Referrer = oneOf(referralHosts)
	}
	return e
}
