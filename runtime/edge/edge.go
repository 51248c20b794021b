package edge

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
)

// Edge personalises the requests of one site. It is safe for concurrent use; create it with [New],
// wrap handlers with [Edge.Wrap], and [Edge.Close] it to post the learning still queued.
//
// # When the profile does not fit the cookie
//
// The module sheds its saved profile to 4,096 bytes of CBOR (the oldest learning cell, then the
// oldest exposure, are dropped and counted as dropped learning), but base64 grows that by a third.
// So the edge, in order: stores it as it is when it fits [Config.MaxCookieBytes]; else stores it
// compressed (DEFLATE, Metrics.CookiesCompressed); else, without a sync server (with one, the
// learning was already drained into the queue), lets the learning in the profile go (counted in
// Metrics.BatchesDropped) and tries again; and if even that does not fit, it does not set the cookie
// at all, so the visitor keeps the last profile that fitted, and counts Metrics.CookiesDropped.
type Edge struct {
	s     settings
	codec cookieCodec
	m     counters
	fw    *forwarder // nil without a sync server
}

// New checks cfg, applies its defaults and starts the sync queue's goroutine if cfg.SyncURL is set.
func New(cfg Config) (*Edge, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	e := &Edge{s: s, codec: cookieCodec{name: s.CookieName, keys: s.Keys, maxLen: s.MaxCookieBytes}}
	if s.SyncURL != "" {
		e.fw = newForwarder(s.SyncURL, s.SyncClient, s.QueueSize, &e.m, s.OnError)
	}
	return e, nil
}

// Close stops the sync queue after posting what it holds, or what it can until ctx ends (the rest
// is counted in Metrics.BatchesDropped). Requests served after Close are still personalised; their
// batches are counted as dropped. It does not close the Host.
func (e *Edge) Close(ctx context.Context) error {
	if e.fw == nil {
		return nil
	}
	return e.fw.close(ctx)
}

// Wrap returns next behind the edge: requests that [Config.Match] selects are personalised, and
// every request loses the decision headers a client may have forged.
func (e *Edge) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.m.requests.Add(1)
		e.stripHeaders(r.Header)
		if !e.s.Match(r) {
			e.m.passed.Add(1)
			next.ServeHTTP(w, r)
			return
		}
		ans, cookie, err := e.decide(r)
		if err != nil {
			e.m.moduleErrors.Add(1)
			e.s.OnError(err)
			next.ServeHTTP(w, r) // unpersonalised, never an error page
			return
		}
		e.m.personalised.Add(1)
		e.setHeaders(r.Header, ans)
		rw := &responseWriter{ResponseWriter: w, cookie: cookie, vary: true}
		if !e.s.NoRewrite {
			if rw.rw, err = newRewriter(ans, e.s.InlineJSON, e.s.HTMLContent); err != nil {
				e.s.OnError(err)
			}
			if rw.rw != nil {
				// The origin must answer in identity encoding for the edge to rewrite; the CDN in
				// front compresses what the edge sends.
				r.Header.Del("Accept-Encoding")
			}
		}
		next.ServeHTTP(rw, r)
		if err := rw.finish(); err != nil {
			e.m.rewriteErrors.Add(1)
			e.s.OnError(err)
		}
	})
}

// decide runs the module for one request: the visitor's profile from the cookie, the request's
// events, the decisions for its slots, the learning into the sync queue, and the cookie to set
// (nil: leave the visitor's cookie as it is).
func (e *Edge) decide(r *http.Request) (*wire.Answer, *http.Cookie, error) {
	now := e.s.Now()
	var (
		profile   []byte
		returning bool
		hadCookie bool
	)
	if c, err := r.Cookie(e.s.CookieName); err == nil {
		hadCookie = true
		if p, err := e.codec.decode(c.Value); err == nil {
			profile, returning = p, true
		} else {
			e.m.badCookies.Add(1)
		}
	}
	var seeds [24]byte
	_, _ = rand.Read(seeds[:]) // never fails since Go 1.24
	// Not canceled when the client goes away: an interrupted call costs its instance (runtime/host
	// discards it), and a client closing connections must not make the pool start Go runtimes.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), e.s.CallTimeout)
	defer cancel()
	s, err := e.s.Host.Acquire(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("edge: acquire an instance: %w", err)
	}
	defer s.Release()
	if err := s.LoadProfile(profile, binary.LittleEndian.Uint64(seeds[0:])); err != nil {
		if !errors.Is(err, &wire.Error{Code: wire.CodeBadProfile}) {
			return nil, nil, fmt.Errorf("edge: load profile: %w", err)
		}
		e.m.badProfiles.Add(1) // the module started a new visitor
		returning = false
	}
	if returning {
		e.m.returning.Add(1)
	} else {
		e.m.newVisitors.Add(1)
	}
	ans, err := s.Handle(&wire.Request{
		Now:    now,
		Seed:   binary.LittleEndian.Uint64(seeds[8:]),
		Events: e.s.Events(r, now, returning),
		Slots:  e.s.Slots(r),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("edge: handle: %w", err)
	}
	drainSeed := binary.LittleEndian.Uint64(seeds[16:])
	if e.fw != nil {
		if err := e.drain(s, now, drainSeed); err != nil {
			return nil, nil, err
		}
	}
	cookie, err := e.saveCookie(s, now, drainSeed^0x9e3779b97f4a7c15, hadCookie)
	if err != nil {
		return nil, nil, err
	}
	return ans, cookie, nil
}

// session is what decide needs of a runtime/host Session, so that tests can fake it.
type session interface {
	Drain(now int64, seed uint64) (*wire.Batch, error)
	SaveProfile() ([]byte, error)
}

// drain takes the visitor's learning out of the profile and queues it for the sync server, when
// there is any.
func (e *Edge) drain(s session, now int64, seed uint64) error {
	b, err := s.Drain(now, seed)
	if err != nil {
		return fmt.Errorf("edge: drain: %w", err)
	}
	if len(b.Cells) == 0 && b.Dropped == 0 && len(b.Updates) == 0 {
		return nil
	}
	if e.fw == nil {
		e.m.batchesDropped.Add(1)
		return nil
	}
	e.fw.enqueue(minicbor.Marshal(nil, b))
	return nil
}

// saveCookie saves the profile and builds its cookie, following the overflow path of [Edge].
func (e *Edge) saveCookie(s session, now int64, seed uint64, hadCookie bool) (*http.Cookie, error) {
	p, err := s.SaveProfile()
	if err != nil {
		return nil, fmt.Errorf("edge: save profile: %w", err)
	}
	if p == nil { // consent denied: the stored profile must go
		if !hadCookie {
			return nil, nil
		}
		e.m.cookiesDeleted.Add(1)
		return e.cookie("", -1), nil
	}
	value, compressed, err := e.codec.encode(p)
	if errors.Is(err, errCookieTooLarge) && e.fw == nil {
		// Learning is the first thing to go: drain it (there is no server to send it to, so the
		// batch is counted as dropped) and save again.
		if err := e.drain(s, now, seed); err != nil {
			return nil, err
		}
		if p, err = s.SaveProfile(); err != nil {
			return nil, fmt.Errorf("edge: save profile: %w", err)
		}
		value, compressed, err = e.codec.encode(p)
	}
	if err != nil {
		e.m.cookiesDropped.Add(1)
		e.s.OnError(err)
		return nil, nil
	}
	if compressed {
		e.m.cookiesCompressed.Add(1)
	}
	return e.cookie(value, int(e.s.CookieMaxAge/time.Second)), nil
}

func (e *Edge) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     e.s.CookieName,
		Value:    value,
		Path:     e.s.CookiePath,
		Domain:   e.s.CookieDomain,
		MaxAge:   maxAge,
		Secure:   !e.s.InsecureCookie,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// stripHeaders removes the headers the edge sets for the origin, so that a client cannot forge them.
func (e *Edge) stripHeaders(h http.Header) {
	for k := range h {
		if len(k) >= len(e.s.HeaderPrefix) && strings.EqualFold(k[:len(e.s.HeaderPrefix)], e.s.HeaderPrefix) {
			delete(h, k)
		}
	}
}

// setHeaders tells the origin what was decided:
//
//	<Prefix>Decision-<Slot>: campaign/variant     (campaign; holdout for the control group)
//	<Prefix>Stage: prospect                       (the life-cycle stage)
//	<Prefix>Segments: seg-a, seg-b
//	<Prefix>Moments: first_purchase@site, churn_risk@email   (key moments these events reached)
//
// Slots with nothing eligible get no header. A slot name's characters that cannot appear in a header
// name become '-'.
func (e *Edge) setHeaders(h http.Header, ans *wire.Answer) {
	for _, d := range ans.Decisions {
		if d.Campaign == "" {
			continue
		}
		v := d.Campaign + "/" + d.Variant
		if d.Holdout {
			v = d.Campaign + "; holdout"
		}
		h.Set(e.s.decisionPrefix+headerSafe(d.Slot), v)
	}
	h.Set(e.s.stageHeader, ans.Stage.String())
	if len(ans.Segments) > 0 {
		h.Set(e.s.segmentsHeader, strings.Join(ans.Segments, ", "))
	}
	if len(ans.Moments) > 0 {
		ms := make([]string, 0, len(ans.Moments))
		for _, m := range ans.Moments {
			ms = append(ms, momentName(m.Kind)+"@"+channelName(m.Channel))
		}
		h.Set(e.s.momentsHeader, strings.Join(ms, ", "))
	}
}

// momentName and channelName are the names presage.js uses too.
func momentName(k wire.MomentKind) string {
	names := [...]string{wire.MomentWelcome: "welcome", wire.MomentFirstPurchase: "first_purchase",
		wire.MomentSecondPurchase: "second_purchase", wire.MomentLapsing: "lapsing", wire.MomentChurnRisk: "churn_risk"}
	if int(k) < len(names) && names[k] != "" {
		return names[k]
	}
	return "moment-" + strconv.Itoa(int(k))
}

func channelName(c wire.Channel) string {
	switch c {
	case wire.ChannelEmail:
		return "email"
	case wire.ChannelSocial:
		return "social"
	case wire.ChannelPaid:
		return "paid"
	}
	return "site"
}

func headerSafe(s string) string {
	if isToken(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !tokenChar(c) {
			b[i] = '-'
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// Metrics are the edge's counters since New. Every request that is not personalised, every cookie
// that could not be read or written and every learning batch that did not reach the sync server is
// counted here: nothing is lost silently.
type Metrics struct {
	Requests     uint64 // requests seen
	Passed       uint64 // requests not selected by Config.Match: no module call
	Personalised uint64 // requests the module decided for
	ModuleErrors uint64 // selected requests served unpersonalised because the module failed
	NewVisitors  uint64 // personalised requests without a usable profile
	Returning    uint64 // personalised requests with a valid profile cookie

	BadCookies        uint64 // cookies that did not verify or decode: the visitor started anew
	BadProfiles       uint64 // verified cookies whose profile the module refused (an old format)
	CookiesCompressed uint64 // profiles stored compressed because they did not fit plain
	CookiesDropped    uint64 // profiles that did not fit the cookie even compressed: not stored
	CookiesDeleted    uint64 // cookies deleted because the visitor denied consent

	RewriteErrors uint64 // HTML responses whose rewriting failed (the client went away)

	BatchesQueued  uint64 // learning batches queued for the sync server
	BatchesSent    uint64 // batches the sync server accepted
	BatchesFailed  uint64 // batches the sync server refused or could not be reached for, after a retry
	BatchesDropped uint64 // batches dropped because the queue was full or closed, or there is no server
}

type counters struct {
	requests, passed, personalised, moduleErrors, newVisitors, returning       atomic.Uint64
	badCookies, badProfiles, cookiesCompressed, cookiesDropped, cookiesDeleted atomic.Uint64
	rewriteErrors, batchesQueued, batchesSent, batchesFailed, batchesDropped   atomic.Uint64
}

// Metrics returns a snapshot of the counters.
func (e *Edge) Metrics() Metrics {
	c := &e.m
	return Metrics{
		Requests: c.requests.Load(), Passed: c.passed.Load(), Personalised: c.personalised.Load(),
		ModuleErrors: c.moduleErrors.Load(), NewVisitors: c.newVisitors.Load(), Returning: c.returning.Load(),
		BadCookies: c.badCookies.Load(), BadProfiles: c.badProfiles.Load(), CookiesCompressed: c.cookiesCompressed.Load(),
		CookiesDropped: c.cookiesDropped.Load(), CookiesDeleted: c.cookiesDeleted.Load(), RewriteErrors: c.rewriteErrors.Load(),
		BatchesQueued: c.batchesQueued.Load(), BatchesSent: c.batchesSent.Load(), BatchesFailed: c.batchesFailed.Load(),
		BatchesDropped: c.batchesDropped.Load(),
	}
}
