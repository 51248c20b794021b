package server

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/presage-dev/presage/internal/svgchart"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/stats"
	"github.com/presage-dev/presage/sync/store"
)

// The dashboard (issue 4, section 5; issue 7, section 3): HTML pages for people, rendered on the
// server with html/template and inline SVG charts (internal/svgchart). No JavaScript, no external
// stylesheet, font or image; the Content-Security-Policy forbids them. It reads what the admin API
// reads — the k-anonymous report at the server's threshold, ingest totals, campaigns, bundle
// versions and their publications, the privacy ledger — and the evaluations retraining recorded
// (evaluation.go), and changes nothing. Each campaign's page holds its statistics (dashstats.go).
//
// It is not part of the JSON API, so openapi.json does not list it. Access takes the admin token:
// as a bearer token (scripts), or once in a browser (the login form, or ?token= on any dashboard
// URL), which sets a session cookie scoped to /dashboard: HttpOnly, SameSite=Strict, Secure over
// TLS, valid for dashSession. The cookie holds an expiry and an HMAC of it keyed by the token's
// hash, not the token: it opens the dashboard only, and changing the token ends every session.

//go:embed dashboard/*.html
var dashFiles embed.FS

var dashTemplates = template.Must(template.New("dashboard").Funcs(template.FuncMap{
	"pct": svgchart.Percent,
}).ParseFS(dashFiles, "dashboard/*.html"))

const (
	dashPath     = "/dashboard"
	dashCookie   = "presage_dashboard"
	dashSession  = 12 * time.Hour
	dashDays     = 30   // the report window, in days up to today
	dashVersions = 20   // bundle versions and publications decoded for the models and allocation charts
	dashLevel    = 0.95 // of the credible intervals
	// dashCSP allows the page's own inline styles and form posts to itself, nothing else.
	dashCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

// mountDashboard adds the dashboard's routes to mux.
func (s *Server) mountDashboard(mux *http.ServeMux) {
	for pattern, h := range map[string]http.HandlerFunc{
		"GET " + dashPath:                       s.dashAuth(s.dashOverview),
		"GET " + dashPath + "/{$}":              s.dashAuth(s.dashOverview),
		"GET " + dashPath + "/campaigns/{id}":   s.dashAuth(s.dashCampaign),
		"POST " + dashPath + "/login":           s.dashLogin,
		"POST " + dashPath + "/logout":          s.dashLogout,
		"GET " + dashPath + "/login":            s.dashLoginForm,
		"GET " + dashPath + "/campaigns/{$}":    s.dashAuth(s.dashOverview),
		"GET " + dashPath + "/campaigns/{id}/":  s.dashAuth(s.dashCampaign),
		"HEAD " + dashPath + "/campaigns/{id}/": s.dashAuth(s.dashCampaign),
	} {
		mux.Handle(pattern, s.m.instrument(pattern, h))
	}
}

// Access.

// dashAuth lets a request through with a valid session cookie or bearer token. A ?token= that is
// the admin token starts a session and redirects to the same URL without it, so that the token
// leaves the address bar and the history; anything else is answered 401 with the login form.
func (s *Server) dashAuth(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		dashHeaders(w)
		q := r.URL.Query()
		if tok := q.Get("token"); tok != "" {
			q.Del("token")
			here := (&url.URL{Path: r.URL.Path, RawQuery: q.Encode()}).RequestURI()
			if !s.validToken(tok) {
				s.dashLoginPage(w, http.StatusUnauthorized, "wrong token", here)
				return
			}
			s.startSession(w, r)
			http.Redirect(w, r, here, http.StatusSeeOther)
			return
		}
		if !s.dashAuthorized(r) {
			s.dashLoginPage(w, http.StatusUnauthorized, "", r.URL.RequestURI())
			return
		}
		site, err := siteParam(r)
		if err != nil {
			s.dashError(w, http.StatusBadRequest, err.Error())
			return
		}
		h(w, r, site)
	}
}

// validToken compares token's hash with the admin token's in constant time.
func (s *Server) validToken(token string) bool {
	return subtle.ConstantTimeCompare(hashToken(strings.TrimSpace(token)), s.cfg.AdminTokenHash) == 1
}

func (s *Server) dashAuthorized(r *http.Request) bool {
	if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return s.validToken(token)
	}
	c, err := r.Cookie(dashCookie)
	return err == nil && s.validSession(c.Value)
}

// sessionMAC authenticates a session's expiry (Unix seconds) with a key derived from the admin
// token's hash.
func (s *Server) sessionMAC(expiry string) []byte {
	m := hmac.New(sha256.New, s.cfg.AdminTokenHash)
	m.Write([]byte("presage-dashboard-session\x00" + expiry))
	return m.Sum(nil)
}

func (s *Server) validSession(v string) bool {
	exp, mac, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	sum, err := base64.RawURLEncoding.DecodeString(mac)
	if err != nil || !hmac.Equal(sum, s.sessionMAC(exp)) {
		return false
	}
	t, err := strconv.ParseInt(exp, 10, 64)
	now := s.cfg.Now().Unix()
	return err == nil && now < t && t <= now+int64(dashSession/time.Second)
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request) {
	exp := strconv.FormatInt(s.cfg.Now().Add(dashSession).Unix(), 10)
	http.SetCookie(w, &http.Cookie{Name: dashCookie, Value: exp + "." + base64.RawURLEncoding.EncodeToString(s.sessionMAC(exp)),
		Path: dashPath, MaxAge: int(dashSession / time.Second), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// sameOrigin refuses a cross-site form post (SameSite=Strict already keeps the cookie out of
// one; this also covers the login form itself).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (s *Server) dashLogin(w http.ResponseWriter, r *http.Request) {
	dashHeaders(w)
	if !sameOrigin(r) {
		s.dashError(w, http.StatusForbidden, "cross-origin login refused")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		s.dashError(w, http.StatusBadRequest, "login form: "+err.Error())
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if !s.validToken(r.PostForm.Get("token")) {
		s.dashLoginPage(w, http.StatusUnauthorized, "wrong token", next)
		return
	}
	s.startSession(w, r)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) dashLogout(w http.ResponseWriter, r *http.Request) {
	dashHeaders(w)
	if !sameOrigin(r) {
		s.dashError(w, http.StatusForbidden, "cross-origin logout refused")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: dashCookie, Path: dashPath, MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, dashPath+"/login", http.StatusSeeOther)
}

func (s *Server) dashLoginForm(w http.ResponseWriter, r *http.Request) {
	dashHeaders(w)
	s.dashLoginPage(w, http.StatusOK, "", safeNext(r.URL.Query().Get("next")))
}

// safeNext keeps a post-login destination on the dashboard: a path under /dashboard, no host.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.Contains(next, `\`) ||
		(u.Path != dashPath && !strings.HasPrefix(u.Path, dashPath+"/")) || strings.HasPrefix(u.Path, dashPath+"/login") {
		return dashPath
	}
	return (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).RequestURI()
}

func dashHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", dashCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

func (s *Server) dashLoginPage(w http.ResponseWriter, code int, problem, next string) {
	s.dashRender(w, code, "login", map[string]string{"Title": "Presage dashboard: sign in", "Problem": problem, "Next": next})
}

func (s *Server) dashError(w http.ResponseWriter, code int, msg string) {
	s.dashRender(w, code, "error", map[string]string{"Title": http.StatusText(code), "Message": msg})
}

// dashFail answers a store error: 404 for what does not exist, else 500, logged without details.
func (s *Server) dashFail(w http.ResponseWriter, err error) {
	if errors.Is(err, store.ErrNotFound) {
		s.dashError(w, http.StatusNotFound, err.Error())
		return
	}
	s.log.Error("dashboard request failed", "err", err)
	s.dashError(w, http.StatusInternalServerError, "internal error (see the server's log)")
}

// dashRender executes a page into memory first, so that a template error is a clean 500.
func (s *Server) dashRender(w http.ResponseWriter, code int, name string, data any) {
	var b strings.Builder
	if err := dashTemplates.ExecuteTemplate(&b, name, data); err != nil {
		s.log.Error("dashboard: rendering failed", "page", name, "err", err)
		http.Error(w, "internal error (see the server's log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write([]byte(b.String()))
}

// Pages.

// dashPage is what every page shows.
type dashPage struct {
	Title, Site, SiteQuery, From, To string
	K                                int64
	Suppressed                       int
	Campaigns                        []*campaignView
	Segments                         template.HTML
	SegmentRows                      []segmentRow
	Ingest                           ingestView
	Models                           []modelView
	EvalConversion, EvalLoss         template.HTML // charts of the models' evaluations
	EvalAUC, EvalReliability         template.HTML // and of their ranking and calibration (scoreeval.go)
	Privacy                          *privacyView
	Campaign                         *campaignView // the campaign page's
}

// privacyView is the privacy ledger of federated learning over the report window.
type privacyView struct {
	ledgerView
	Chart template.HTML
}

type campaignView struct {
	ID, Name, Status, Href string
	Defined                bool // the admin API knows it (else it is only in the report or the bundles)
	Control                string
	Exposures, Conversions int64
	Arms                   []armRow
	Conversion, Allocation template.HTML
	Versions               int // bundle versions the allocation chart covers
	Cells                  []store.ReportCell
	factors                []stats.Factor // a multivariate campaign's
	Effects                []effectRow    // its main effects
	all                    []stats.Arm    // [0] the holdout (maybe empty), then every variant
	arms                   []stats.Arm    // those shown: all without an unreported holdout
	hasHoldout             bool           // arms[0] is the holdout
	control                int            // index in arms of the control, -1 if none
	Stats                  *statsView     // its statistics (dashstats.go)
	Summary                bool           // show a line of them (the overview), not all
}

// effectRow is one level's main effect in a multivariate campaign.
type effectRow struct {
	Factor, Level, Estimate, Lo, Hi, P, Beats string
}

type armRow struct {
	Name, Rate, Lo, Hi, Beats, Loss string
	Exposures, Conversions          int64
	Control                         bool
}

type segmentRow struct {
	Name      string
	Exposures int64
}

type ingestView struct {
	Chart                    template.HTML
	Batches, Cells, Dropped  int64
	Current                  *store.Publication
	Accepted, Duplicate      float64
	Rejected                 []counter
	HasCounters, HasRejected bool
}

type counter struct {
	Name  string
	Value float64
}

type modelView struct {
	*store.Bundle
	Current     bool
	Published   int // times published within the history read
	Models      []string
	Segments    int
	Campaigns   int
	DecodeError string
	Eval        *evalView // what retraining recorded about it (evaluation.go); nil: nothing
}

func (s *Server) dashOverview(w http.ResponseWriter, r *http.Request, site string) {
	p, err := s.dashCollect(r.Context(), site, "")
	if err != nil {
		s.dashFail(w, err)
		return
	}
	s.dashRender(w, http.StatusOK, "overview", p)
}

func (s *Server) dashCampaign(w http.ResponseWriter, r *http.Request, site string) {
	id := r.PathValue("id")
	p, err := s.dashCollect(r.Context(), site, id)
	if err != nil {
		s.dashFail(w, err)
		return
	}
	if len(p.Campaigns) == 0 {
		s.dashError(w, http.StatusNotFound, fmt.Sprintf("no campaign %q on site %q: not defined, not reported, not in a published bundle", id, site))
		return
	}
	p.Campaign, p.Title = p.Campaigns[0], "Campaign "+id
	s.dashRender(w, http.StatusOK, "campaign", p)
}

// dashCollect reads and lays out a site's dashboard; only is a campaign id to keep alone, or "".
func (s *Server) dashCollect(ctx context.Context, site, only string) (*dashPage, error) {
	to := store.Day(s.cfg.Now())
	from := to - dashDays + 1
	p := &dashPage{Title: "Presage dashboard", Site: site, SiteQuery: url.QueryEscape(site), From: dayString(from), To: dayString(to), K: s.cfg.KAnonymity}
	rep, err := s.st.Report(ctx, store.ReportQuery{Site: site, Campaign: only, From: from, To: to, K: s.cfg.KAnonymity})
	if err != nil {
		return nil, fmt.Errorf("server: dashboard report: %w", err)
	}
	p.Suppressed = rep.Suppressed
	defs, err := s.st.Campaigns(ctx, site)
	if err != nil {
		return nil, fmt.Errorf("server: dashboard campaigns: %w", err)
	}
	hist, err := s.versions(ctx, site)
	if err != nil {
		return nil, err
	}
	if p.Campaigns, err = campaigns(site, only, defs, rep.Cells, hist); err != nil {
		return nil, err
	}
	for _, c := range p.Campaigns {
		// The report's suppressed cells are the campaign's own on its page, every campaign's here.
		if err := c.detail(hist, time.Unix(int64(from)*86400, 0), s.cfg.Now(), rep.Suppressed, only != ""); err != nil {
			return nil, fmt.Errorf("server: dashboard: %w", err)
		}
		c.Summary = only == ""
	}
	if only != "" {
		return p, nil
	}
	if p.Segments, p.SegmentRows, err = segments(rep.Cells); err != nil {
		return nil, err
	}
	if p.Ingest, err = s.ingest(ctx, site, from, to); err != nil {
		return nil, err
	}
	p.Models = hist.models
	if p.EvalConversion, p.EvalLoss, err = evalCharts(p.Models); err != nil {
		return nil, fmt.Errorf("server: dashboard: %w", err)
	}
	if p.EvalAUC, p.EvalReliability, err = scoreCharts(p.Models); err != nil {
		return nil, fmt.Errorf("server: dashboard: %w", err)
	}
	if p.Privacy, err = s.privacyChart(ctx, site, from, to); err != nil {
		return nil, err
	}
	return p, nil
}

func dayString(d int32) string { return time.Unix(int64(d)*86400, 0).UTC().Format(dayLayout) }

// history is a site's recent bundle versions, decoded, and its recent publications, oldest first.
type history struct {
	bundles map[uint64]*models.Bundle
	pubs    []store.Publication
	models  []modelView
}

// versions reads the dashVersions newest bundle versions and publications of a site and decodes
// their bundles (the envelopes are stored already verified).
func (s *Server) versions(ctx context.Context, site string) (*history, error) {
	h := &history{bundles: map[uint64]*models.Bundle{}}
	pubs, err := s.st.Publications(ctx, site, dashVersions)
	if err != nil {
		return nil, fmt.Errorf("server: dashboard publications: %w", err)
	}
	slices.Reverse(pubs)
	h.pubs = pubs
	all, err := s.st.Bundles(ctx, site)
	if err != nil {
		return nil, fmt.Errorf("server: dashboard bundles: %w", err)
	}
	published := map[uint64]int{}
	for _, p := range pubs {
		published[p.Version]++
	}
	var current uint64
	if len(pubs) > 0 {
		current = pubs[len(pubs)-1].Version
	}
	slices.SortFunc(all, func(a, b *store.Bundle) int { return cmp.Compare(b.Version, a.Version) })
	for i, sb := range all {
		if i >= dashVersions && published[sb.Version] == 0 {
			continue
		}
		mv := modelView{Bundle: sb, Current: sb.Version == current, Published: published[sb.Version]}
		b, err := s.decodeStored(ctx, site, sb.Version)
		if err != nil {
			if !errors.Is(err, models.ErrBadBundle) {
				return nil, err
			}
			mv.DecodeError = err.Error()
		} else {
			h.bundles[sb.Version] = b
			mv.Segments, mv.Campaigns, mv.Models = len(b.Segments), len(b.Campaigns), bundleModels(b)
		}
		if i < dashVersions {
			switch ve, err := s.evaluations(ctx, site, sb.Version); {
			case err != nil:
				s.log.Warn("dashboard: reading an evaluation failed", "site", site, "version", sb.Version, "err", err)
				mv.Eval = &evalView{Problem: "its evaluation record does not read (see the server's log)"}
			case ve != nil:
				mv.Eval = ve.view(sb.Version, s.cfg.KAnonymity)
			}
			h.models = append(h.models, mv)
		}
	}
	return h, nil
}

// bundleModels names the models a bundle carries.
func bundleModels(b *models.Bundle) []string {
	var names []string
	for _, l := range b.Propensity {
		names = append(names, l.Name+" (propensity)")
	}
	for _, l := range b.Tabular {
		names = append(names, l.Name+" (tabular)")
	}
	for _, m := range []struct {
		present bool
		name    string
	}{{b.Value != nil, "customer value (BG/NBD + Gamma-Gamma)"}, {b.Neighbours != nil, "item neighbours"}, {b.Appetence != nil, "category appetence"}} {
		if m.present {
			names = append(names, m.name)
		}
	}
	return names
}

func (s *Server) decodeStored(ctx context.Context, site string, v uint64) (*models.Bundle, error) {
	sb, err := s.st.Bundle(ctx, site, v)
	if err != nil {
		return nil, fmt.Errorf("server: dashboard bundle %d: %w", v, err)
	}
	b, err := models.Open(sb.Envelope)
	if err != nil {
		return nil, fmt.Errorf("server: dashboard bundle %d: %w", v, err)
	}
	return b, nil
}

// campaigns lays out each campaign that is defined, reported or in a recent bundle, by id.
func campaigns(site, only string, defs []*store.Campaign, cells []store.ReportCell, h *history) ([]*campaignView, error) {
	byID := map[string]*campaignView{}
	order := map[string][]string{} // variant ids in the order they were first met
	get := func(id string) *campaignView {
		c := byID[id]
		if c == nil {
			c = &campaignView{ID: id, Href: dashPath + "/campaigns/" + url.PathEscape(id) + "?site=" + url.QueryEscape(site)}
			byID[id] = c
		}
		return c
	}
	addVariant := func(id, v string) {
		if v != "" && !slices.Contains(order[id], v) {
			order[id] = append(order[id], v)
		}
	}
	for _, d := range defs {
		c := get(d.ID)
		c.Name, c.Status, c.Defined = d.Name, string(d.Status), true
		for _, v := range d.Variants {
			addVariant(d.ID, v.ID)
		}
		if len(d.Factors) > 0 {
			c.factors = learn.Factors(d.Factors)
			for _, comb := range stats.Combinations(c.factors) {
				addVariant(d.ID, comb.ID)
			}
		}
	}
	for _, p := range h.pubs {
		if b := h.bundles[p.Version]; b != nil {
			for _, bc := range b.Campaigns {
				get(bc.ID)
				for _, v := range bc.Variants {
					addVariant(bc.ID, v.ID)
				}
			}
		}
	}
	for _, cell := range cells {
		c := get(cell.Campaign)
		c.Cells = append(c.Cells, cell)
		addVariant(cell.Campaign, cell.Variant)
	}
	var out []*campaignView
	for id, c := range byID {
		if only != "" && id != only {
			continue
		}
		if err := c.layout(order[id], h); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *campaignView) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// layout computes a campaign's arms (summed over segments), their credible intervals and chance
// to beat the control — the holdout when it is reported, else the first variant — and its charts.
func (c *campaignView) layout(variants []string, h *history) error {
	arms := make([]stats.Arm, len(variants)+1) // [0] is the holdout
	arms[0].Name = "holdout"
	for i, v := range variants {
		arms[i+1].Name = v
	}
	batches := make([]int64, len(arms))
	for _, cell := range c.Cells {
		i := 0
		if cell.Variant != "" {
			i = slices.Index(variants, cell.Variant) + 1
		}
		arms[i].Visitors += cell.Exposures
		arms[i].Conversions += min(cell.Conversions, cell.Exposures) // conversions are attributed: never more than exposures
		arms[i].Revenue += cell.Revenue
		arms[i].Units += cell.Moments
		arms[i].RevenueSq += cell.RevenueSq
		arms[i].VisitorsSq += cell.ExposuresSq
		arms[i].RevenueVisitors += cell.RevenueExposures
		batches[i] += cell.Batches
		c.Exposures += cell.Exposures
		c.Conversions += min(cell.Conversions, cell.Exposures)
	}
	for i := range arms {
		if arms[i].Units != batches[i] { // some batches were stored before the moments were kept
			arms[i].Units = 0
		}
	}
	c.all, c.hasHoldout = arms, arms[0].Visitors > 0
	if !c.hasHoldout {
		arms = arms[1:] // no holdout reported
	}
	control := -1
	for i, a := range arms {
		if a.Visitors > 0 {
			control = i
			break
		}
	}
	c.arms, c.control = arms, control
	var bars []svgchart.Bar
	if control >= 0 {
		c.Control = arms[control].Name
		pc := stats.Posterior(arms[control], stats.Uniform)
		for i, a := range arms {
			row := armRow{Name: a.Name, Exposures: a.Visitors, Conversions: a.Conversions, Control: i == control, Beats: "—", Loss: "—"}
			if a.Visitors == 0 {
				row.Rate, row.Lo, row.Hi = "—", "—", "—"
				c.Arms = append(c.Arms, row)
				continue
			}
			post := stats.Posterior(a, stats.Uniform)
			lo, hi := post.Interval(dashLevel)
			row.Rate, row.Lo, row.Hi = svgchart.Percent(a.Rate()), svgchart.Percent(lo), svgchart.Percent(hi)
			if i != control {
				row.Beats = svgchart.Percent(stats.ProbBeats(post, pc))
				row.Loss = strconv.FormatFloat(100*stats.ExpectedLoss(post, pc), 'f', 2, 64) + " pt"
			}
			c.Arms = append(c.Arms, row)
			class := ""
			if i == control {
				class = "control"
			}
			bars = append(bars, svgchart.Bar{Label: a.Name, Value: a.Rate(), Lo: lo, Hi: hi, Interval: true, Class: class,
				Text: svgchart.Percent(a.Rate()) + " (" + svgchart.Percent(lo) + " – " + svgchart.Percent(hi) + ")"})
		}
	}
	c.effects(arms)
	var err error
	if c.Conversion, err = (svgchart.HBars{Title: "Conversion rate of " + c.ID + " per variant, 95 % credible intervals",
		Bars: bars, Format: svgchart.Percent}).Render(); err != nil {
		return fmt.Errorf("server: dashboard: %w", err)
	}
	return c.allocation(h)
}

// effects fills the main effects of a multivariate campaign from its arms (the holdout left out);
// none before every factor has visitors.
func (c *campaignView) effects(arms []stats.Arm) {
	if c.factors == nil {
		return
	}
	byID := make(map[string]stats.Arm, len(arms))
	for _, a := range arms {
		byID[a.Name] = a
	}
	es, err := stats.MainEffects(c.factors, byID, dashLevel)
	if err != nil {
		return
	}
	pts := func(v float64) string { return strconv.FormatFloat(100*v, 'f', 2, 64) + " pt" }
	for _, e := range es {
		c.Effects = append(c.Effects, effectRow{Factor: e.Factor, Level: e.Level, Estimate: pts(e.Fixed.Estimate),
			Lo: pts(e.Fixed.Lo), Hi: pts(e.Fixed.Hi), P: strconv.FormatFloat(e.Fixed.P, 'g', 3, 64), Beats: svgchart.Percent(e.ProbBeats)})
	}
}

// allocation charts the traffic split of a campaign in each recent publication: the holdout's
// share, then each variant's share of the rest, by weight.
func (c *campaignView) allocation(h *history) error {
	var labels []string
	var hold []float64
	var series []svgchart.Series // one per variant, in the order first met
	holdout := false
	for _, p := range h.pubs {
		b := h.bundles[p.Version]
		if b == nil {
			continue
		}
		i := slices.IndexFunc(b.Campaigns, func(bc models.Campaign) bool { return bc.ID == c.ID })
		if i < 0 {
			continue
		}
		bc := b.Campaigns[i]
		n := len(labels)
		labels = append(labels, "v"+strconv.FormatUint(p.Version, 10))
		share := float64(bc.Holdout) / 10000
		hold, holdout = append(hold, share), holdout || bc.Holdout > 0
		for k := range series {
			series[k].Values = append(series[k].Values, 0)
		}
		total := 0.0
		for _, v := range bc.Variants {
			total += float64(v.Weight)
		}
		for _, v := range bc.Variants {
			k := slices.IndexFunc(series, func(s svgchart.Series) bool { return s.Name == v.ID })
			if k < 0 {
				series = append(series, svgchart.Series{Name: v.ID, Values: make([]float64, n+1)})
				k = len(series) - 1
			}
			if total > 0 {
				series[k].Values[n] = (1 - share) * float64(v.Weight) / total
			}
		}
	}
	if holdout {
		series = append([]svgchart.Series{{Name: "holdout", Values: hold}}, series...)
	}
	c.Versions = len(labels)
	if len(labels) == 0 {
		return nil
	}
	var err error
	c.Allocation, err = svgchart.Shares{Title: "Traffic split of " + c.ID + " per published bundle version", Labels: labels, Series: series}.Render()
	if err != nil {
		return fmt.Errorf("server: dashboard: %w", err)
	}
	return nil
}

// segments charts exposures per segment, over every campaign.
func segments(cells []store.ReportCell) (template.HTML, []segmentRow, error) {
	sizes := map[string]int64{}
	for _, c := range cells {
		name := c.Segment
		if name == "" {
			name = "(no segment)"
		}
		sizes[name] += c.Exposures
	}
	var rows []segmentRow
	for name, n := range sizes {
		rows = append(rows, segmentRow{Name: name, Exposures: n})
	}
	slices.SortFunc(rows, func(a, b segmentRow) int {
		return cmp.Or(cmp.Compare(b.Exposures, a.Exposures), strings.Compare(a.Name, b.Name))
	})
	bars := make([]svgchart.Bar, len(rows))
	for i, r := range rows {
		bars[i] = svgchart.Bar{Label: r.Name, Value: float64(r.Exposures), Text: strconv.FormatInt(r.Exposures, 10)}
	}
	chart, err := svgchart.HBars{Title: "Exposures per segment", Bars: bars}.Render()
	if err != nil {
		return "", nil, fmt.Errorf("server: dashboard: %w", err)
	}
	return chart, rows, nil
}

// ingest reads the site's batches per day, its current publication, and this node's ingest
// counters since it started.
func (s *Server) ingest(ctx context.Context, site string, from, to int32) (ingestView, error) {
	var v ingestView
	var labels []string
	batches := svgchart.Series{Name: "batches counted"}
	for d := from; d <= to; d++ {
		t, err := s.st.Totals(ctx, site, d, d)
		if err != nil {
			return v, fmt.Errorf("server: dashboard totals: %w", err)
		}
		labels = append(labels, dayString(d)[5:])
		batches.Values = append(batches.Values, float64(t.Batches))
		v.Batches, v.Cells, v.Dropped = v.Batches+t.Batches, v.Cells+t.Cells, v.Dropped+t.Dropped
	}
	var err error
	if v.Chart, err = (svgchart.Columns{Title: "Batches counted per day (duplicates excluded)", Labels: labels,
		Series: []svgchart.Series{batches}}).Render(); err != nil {
		return v, fmt.Errorf("server: dashboard: %w", err)
	}
	switch pub, err := s.st.Current(ctx, site); {
	case err == nil:
		v.Current = &pub
	case !errors.Is(err, store.ErrNotFound):
		return v, fmt.Errorf("server: dashboard current publication: %w", err)
	}
	mfs, err := s.m.gatherer.Gather()
	if err != nil {
		s.log.Warn("dashboard: gathering metrics failed", "err", err)
		return v, nil
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var label string
			for _, l := range m.GetLabel() {
				label = l.GetValue()
			}
			switch mf.GetName() {
			case "presage_ingest_batches_total":
				v.HasCounters = true
				switch label {
				case "accepted":
					v.Accepted = m.GetCounter().GetValue()
				case "duplicate":
					v.Duplicate = m.GetCounter().GetValue()
				}
			case "presage_ingest_rejected_total":
				v.Rejected = append(v.Rejected, counter{Name: label, Value: m.GetCounter().GetValue()})
				v.HasRejected = v.HasRejected || m.GetCounter().GetValue() > 0
			}
		}
	}
	return v, nil
}

// privacyChart reads the privacy ledger over the window and charts ε spent per day.
func (s *Server) privacyChart(ctx context.Context, site string, from, to int32) (*privacyView, error) {
	l, err := s.ledger(ctx, site, from, to)
	if err != nil {
		return nil, fmt.Errorf("server: dashboard privacy ledger: %w", err)
	}
	v := &privacyView{ledgerView: l}
	if len(l.Days) == 0 {
		return v, nil
	}
	spent := map[string]float64{}
	for _, d := range l.Days {
		spent[d.Day] = d.Epsilon
	}
	var labels []string
	eps := svgchart.Series{Name: "ε spent"}
	for d := from; d <= to; d++ {
		labels = append(labels, dayString(d)[5:])
		eps.Values = append(eps.Values, spent[dayString(d)])
	}
	if v.Chart, err = (svgchart.Columns{Title: "Privacy spent per day by federated rounds (ε at δ = " + strconv.FormatFloat(l.Delta, 'g', 3, 64) + ")",
		Labels: labels, Series: []svgchart.Series{eps}}).Render(); err != nil {
		return nil, fmt.Errorf("server: dashboard: %w", err)
	}
	return v, nil
}
