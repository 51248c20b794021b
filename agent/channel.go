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
	case anyContains(source, searchEngines) || anyContains(ref, searchEngines):
		term := lower(e.Term)
		for _, b := range brand {
			if b != "" && strings.Contains(term, lower(b)) {
				return wire.ChannelBrandSearch
			}
		}
		return wire.ChannelGenericSearch
	case medium == "social" || medium == "social-network" || anyContains(source, socialNetworks) || anyContains(ref, socialNetworks):
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

func anyContains(s string, words []string) bool {
	if s == "" {
		return false
	}
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

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
