package server

import (
	"hash/maphash"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per client. The client key is a keyed hash of the client's address
// (its /64 for IPv6, which a single device rotates through), with a seed drawn at start: the
// limiter holds no address, and keys mean nothing across restarts. Nothing here is stored or
// logged.
type limiter struct {
	limit rate.Limit
	burst int
	max   int
	seed  maphash.Seed

	mu      sync.Mutex
	clients map[uint64]*rate.Limiter
}

func newLimiter(cfg Config) *limiter {
	if cfg.Rate < 0 {
		return nil
	}
	return &limiter{limit: rate.Limit(cfg.Rate), burst: cfg.Burst, max: cfg.MaxRateClients,
		seed: maphash.MakeSeed(), clients: make(map[uint64]*rate.Limiter)}
}

// allow takes one token from the client's bucket.
func (l *limiter) allow(key uint64, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.clients[key]
	if lim == nil {
		if len(l.clients) >= l.max {
			l.sweepLocked(now)
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.clients[key] = lim
	}
	return lim.AllowN(now, 1)
}

// sweep forgets clients whose bucket is full again: for them a new bucket is the same thing. If
// every client is active the map is reset, so that memory stays bounded whatever the traffic;
// the cost is a fresh burst for those clients.
func (l *limiter) sweep(now time.Time) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
}

func (l *limiter) sweepLocked(now time.Time) {
	for k, lim := range l.clients {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.clients, k)
		}
	}
	if len(l.clients) >= l.max {
		clear(l.clients)
	}
}

// clientKey hashes the request's client address: the connection's, or the one a trusted proxy
// put in header (the last entry of a list, the one that proxy appended).
func (l *limiter) clientKey(r *http.Request, header string) uint64 {
	addr := ""
	if header != "" {
		v := r.Header.Values(header)
		if len(v) > 0 {
			last := v[len(v)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			addr = strings.TrimSpace(last)
		}
	}
	if addr == "" {
		addr = r.RemoteAddr
	}
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	var h maphash.Hash
	h.SetSeed(l.seed)
	if ip, err := netip.ParseAddr(addr); err == nil {
		ip = ip.Unmap()
		if ip.Is6() {
			p, _ := ip.Prefix(64)
			ip = p.Addr()
		}
		b := ip.As16()
		h.Write(b[:])
	} else {
		h.WriteString(addr) // not an address (a unix socket): one bucket per spelling
	}
	return h.Sum64()
}
