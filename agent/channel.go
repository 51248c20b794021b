package agent

import (
	"strings"

	"github.com/presage-dev/presage/agent/wire"
)

// classify names the arrival channel of a visit from its referrer and UTM fields, for hosts that do
// not classify themselves. Rules, first match wins:
//  1. utm_medium email or newsletter: email click;
//  2. a search engine (by utm_source or referrer): brand search if the words contain one of the
//     bundle's brand terms, generic search otherwise (organic or paid alike: the intent differs, not the bill);
//  3. utm_medium social or a social network's referrer: social;
//  4. a paid medium (cpc, ppc, cpm, display, paid, affiliate): paid;
//  5. any other referrer: referral; nothing at all: direct.
func classify(e *wire.Event, brand []string) wire.Channel {
	medium := lower(e.Medium)
	source := lower(e.Source)
	ref := lower(e.Referrer)
	switch {
	case medium == "email" || medium == "e-mail" || medium == "newsletter":
		return wire.ChannelEmail
	case siteIn(source, searchEngines) || siteIn(ref, searchEngines):
		term := lower(e.Term)
		for _, b := range brand {
			if b != "" && strings.Contains(term, lower(b)) {
				return wire.ChannelBrandSearch
			}
		}
		return wire.ChannelGenericSearch
	case medium == "social" || medium == "social-network" || siteIn(source, socialNetworks) || siteIn(ref, socialNetworks):
		return wire.ChannelSocial
	case anyEqual(medium, paidMedia):
		return wire.ChannelPaid
	case ref != "":
		return wire.ChannelReferral
	}
	return wire.ChannelDirect
}

var (
	searchEngines  = []string{"google", "bing", "duckduckgo", "yahoo", "ecosia", "qwant", "baidu", "yandex", "startpage"}
	socialNetworks = []string{"facebook", "instagram", "t.co", "twitter", "x.com", "linkedin", "pinterest", "tiktok", "reddit", "youtube", "snapchat"}
	paidMedia      = []string{"cpc", "ppc", "cpm", "cpv", "display", "paid", "paidsearch", "paid_social", "affiliate", "retargeting"}
)

// siteIn reports whether host (a lower-case referrer host or utm_source) names one of sites: a
// domain ("t.co", "x.com") matches the host or a parent domain of it, never a host that merely ends
// with its letters ("about.com", "netflix.com"); a word ("google") matches a whole label of the host,
// labels being separated by any character but a letter or a digit ("www.google.co.uk", "google_ads").
func siteIn(host string, sites []string) bool {
	if host == "" {
		return false
	}
	for _, w := range sites {
		if strings.IndexByte(w, '.') >= 0 {
			if host == w || strings.HasSuffix(host, "."+w) {
				return true
			}
			continue
		}
		start := 0
		for i := 0; i <= len(host); i++ {
			if i == len(host) || !alnum(host[i]) {
				if host[start:i] == w {
					return true
				}
				start = i + 1
			}
		}
	}
	return false
}

func alnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func anyEqual(s string, words []string) bool {
	for _, w := range words {
		if s == w {
			return true
		}
	}
	return false
}

// lower folds ASCII letters only: UTM values and host names are ASCII, and Unicode case tables
// would cost the module more than they could ever match here.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
