package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/store"
)

// maxJSONBody bounds an admin JSON body: a campaign with 64 variants of 64 KiB content fits.
const maxJSONBody = 8 << 20

// Errors of publication, answered 409.
var (
	errNeedKey = errors.New("publishing a bundle older than one already published needs the server's signing key " +
		"(presage serve -key): devices refuse a bundle older than the one they run, so the old content is re-signed under a new version")
	errExpired   = errors.New("the bundle has expired")
	errNoHistory = errors.New("nothing to roll back to: the site has had one published bundle at most")
)

// siteParam reads the optional ?site= of admin and bundle requests ("" is the default site).
func siteParam(r *http.Request) (string, error) {
	site := r.URL.Query().Get("site")
	if len(site) > store.MaxName {
		return "", fmt.Errorf("site name longer than %d bytes", store.MaxName)
	}
	return site, nil
}

// withSite adapts a handler of one site: it reads ?site= and answers 400 if it is bad.
func withSite(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		site, err := siteParam(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		h(w, r, site)
	}
}

// withVersion adapts a handler of one bundle version: ?site= and the path's {version}.
func withVersion(h func(http.ResponseWriter, *http.Request, string, uint64)) http.HandlerFunc {
	return withSite(func(w http.ResponseWriter, r *http.Request, site string) {
		v, err := versionParam(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		h(w, r, site, v)
	})
}

// decodeJSON reads a JSON body strictly: one value, no unknown fields, bounded size.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("body: more than one JSON value")
	}
	return nil
}

// fail answers an error of the store or of a check with the status it calls for. Unexpected
// errors are logged and answered 500 without their details.
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict),
		errors.Is(err, errNeedKey), errors.Is(err, errExpired), errors.Is(err, errNoHistory):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrBadCampaign):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		s.log.Error("admin request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error (see the server's log)")
	}
}

// Campaigns.

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request, site string) {
	cs, err := s.st.Campaigns(r.Context(), site)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": cs})
}

// campaignBody is a campaign as the admin API reads it: without holdout_bp, a campaign keeps the
// default holdout (store.DefaultHoldout), so that its incremental effect is always measurable.
type campaignBody struct {
	store.Campaign
	Holdout *uint16 `json:"holdout_bp"`
}

// decodeCampaign reads a campaign from the request's body.
func decodeCampaign(w http.ResponseWriter, r *http.Request) (store.Campaign, error) {
	var b campaignBody
	if err := decodeJSON(w, r, &b); err != nil {
		return store.Campaign{}, err
	}
	c := b.Campaign
	c.Holdout = store.DefaultHoldout
	if b.Holdout != nil {
		c.Holdout = *b.Holdout
	}
	return c, nil
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) {
	c, err := decodeCampaign(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := c.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.st.CreateCampaign(r.Context(), &c); err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info("campaign created", "site", c.Site, "campaign", c.ID)
	w.Header().Set("Location", "/v1/admin/campaigns/"+url.PathEscape(c.ID)+"?site="+url.QueryEscape(c.Site))
	writeJSON(w, http.StatusCreated, &c)
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request, site string) {
	c, err := s.st.Campaign(r.Context(), site, r.PathValue("id"))
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) updateCampaign(w http.ResponseWriter, r *http.Request, site string) {
	c, err := decodeCampaign(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	id := r.PathValue("id")
	switch {
	case c.ID != "" && c.ID != id:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("body id %q differs from the path's %q: a campaign's id cannot change", c.ID, id))
		return
	case c.Site != "" && c.Site != site:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("body site %q differs from ?site=%q", c.Site, site))
		return
	case c.Revision <= 0:
		writeError(w, http.StatusBadRequest, "revision required: send the revision you read, so that a concurrent change is not overwritten")
		return
	}
	c.ID, c.Site = id, site
	if err := c.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.st.UpdateCampaign(r.Context(), &c); err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info("campaign updated", "site", c.Site, "campaign", c.ID, "revision", c.Revision)
	writeJSON(w, http.StatusOK, &c)
}

func (s *Server) deleteCampaign(w http.ResponseWriter, r *http.Request, site string) {
	id := r.PathValue("id")
	if err := s.st.DeleteCampaign(r.Context(), site, id); err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info("campaign deleted", "site", site, "campaign", id)
	w.WriteHeader(http.StatusNoContent)
}

// Bundles.

// bundleView is a stored bundle as the admin API shows it.
type bundleView struct {
	*store.Bundle
	Current bool `json:"current"`
}

func (s *Server) listBundles(w http.ResponseWriter, r *http.Request, site string) {
	bs, err := s.st.Bundles(r.Context(), site)
	if err != nil {
		s.fail(w, err)
		return
	}
	var current *uint64
	if pub, err := s.st.Current(r.Context(), site); err == nil {
		current = &pub.Version
	} else if !errors.Is(err, store.ErrNotFound) {
		s.fail(w, err)
		return
	}
	views := make([]bundleView, len(bs))
	for i, b := range bs {
		views[i] = bundleView{Bundle: b, Current: current != nil && *current == b.Version}
	}
	writeJSON(w, http.StatusOK, map[string]any{"site": site, "current": current, "bundles": views})
}

func (s *Server) uploadBundle(w http.ResponseWriter, r *http.Request) {
	if len(s.cfg.TrustedKeys) == 0 {
		writeError(w, http.StatusConflict, "no trusted keys: start the server with -public-key FILE (or -key FILE) to accept signed bundles")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBundleBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("bundle larger than %d bytes", s.cfg.MaxBundleBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	published := false
	if p := r.URL.Query().Get("publish"); p != "" {
		if published, err = strconv.ParseBool(p); err != nil {
			writeError(w, http.StatusBadRequest, "publish: want true or false")
			return
		}
	}
	b, err := s.addBundle(r.Context(), body)
	switch {
	case errors.Is(err, store.ErrExists):
		writeError(w, http.StatusConflict, err.Error())
		return
	case errors.Is(err, errBadUpload):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		s.fail(w, err)
		return
	}
	if published {
		if b, err = s.publish(r.Context(), b.Site, b.Version); err != nil {
			s.fail(w, err)
			return
		}
	}
	w.Header().Set("Location", "/v1/admin/bundles/"+strconv.FormatUint(b.Version, 10)+"?site="+url.QueryEscape(b.Site))
	writeJSON(w, http.StatusCreated, bundleView{Bundle: b, Current: published})
}

// errBadUpload wraps every reason an uploaded bundle is refused (answered 400).
var errBadUpload = errors.New("bundle refused")

// AddBundle verifies a signed bundle against the trusted keys and stores it (not published), as
// the admin API's upload does; `presage serve -bundle` uses it at start.
func (s *Server) AddBundle(ctx context.Context, envelope []byte) (*store.Bundle, error) {
	return s.addBundle(ctx, envelope)
}

func (s *Server) addBundle(ctx context.Context, envelope []byte) (*store.Bundle, error) {
	if len(s.cfg.TrustedKeys) == 0 {
		return nil, fmt.Errorf("%w: no trusted keys are configured", errBadUpload)
	}
	b, err := signing.Verify(envelope, s.cfg.TrustedKeys...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadUpload, err)
	}
	now := s.cfg.Now()
	switch {
	case b.Version == 0 || b.Version > math.MaxInt64:
		return nil, fmt.Errorf("%w: version %d out of range", errBadUpload, b.Version)
	case b.Expires != 0 && now.Unix() > b.Expires:
		return nil, fmt.Errorf("%w: version %d expired at %s", errBadUpload, b.Version, time.Unix(b.Expires, 0).UTC().Format(time.RFC3339))
	case len(b.Site) > store.MaxName:
		return nil, fmt.Errorf("%w: site name longer than %d bytes", errBadUpload, store.MaxName)
	}
	env, err := models.DecodeEnvelope(envelope)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadUpload, err)
	}
	sb := s.storedBundle(b, envelope, env.KeyID, store.SourceUpload, 0)
	if err := s.st.AddBundle(ctx, sb); err != nil {
		return nil, err
	}
	s.log.Info("bundle added", "site", sb.Site, "version", sb.Version, "sha256", sb.SHA256, "bytes", sb.Size)
	return sb, nil
}

func (s *Server) storedBundle(b *models.Bundle, envelope, keyID []byte, source string, rollbackOf uint64) *store.Bundle {
	sum := sha256.Sum256(envelope)
	sb := &store.Bundle{Site: b.Site, Version: b.Version, Envelope: envelope, SHA256: hex.EncodeToString(sum[:]),
		KeyID: hex.EncodeToString(keyID), Source: source, RollbackOf: rollbackOf, Added: s.cfg.Now().UTC().Truncate(time.Second),
		Size: int64(len(envelope))}
	if b.Created != 0 {
		sb.Created = time.Unix(b.Created, 0).UTC()
	}
	if b.Expires != 0 {
		sb.Expires = time.Unix(b.Expires, 0).UTC()
	}
	return sb
}

func versionParam(r *http.Request) (uint64, error) {
	v, err := strconv.ParseUint(r.PathValue("version"), 10, 64)
	if err != nil || v == 0 || v > math.MaxInt64 {
		return 0, fmt.Errorf("version %q: want a positive integer", r.PathValue("version"))
	}
	return v, nil
}

func (s *Server) getBundleInfo(w http.ResponseWriter, r *http.Request, site string, v uint64) {
	b, err := s.st.Bundle(r.Context(), site, v)
	if err != nil {
		s.fail(w, err)
		return
	}
	b.Envelope = nil
	cur, err := s.st.Current(r.Context(), site)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, bundleView{Bundle: b, Current: err == nil && cur.Version == v})
}

func (s *Server) publishBundle(w http.ResponseWriter, r *http.Request, site string, v uint64) {
	b, err := s.publish(r.Context(), site, v)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, bundleView{Bundle: b, Current: true})
}

// Publish makes a stored bundle the site's current one (see the admin API's publish).
func (s *Server) Publish(ctx context.Context, site string, version uint64) (*store.Bundle, error) {
	return s.publish(ctx, site, version)
}

// publish makes version the site's current bundle and returns what is now served. Bundles only
// move forward on devices (an older version is refused as stale, so that a replayed bundle
// cannot roll a device back), so a version older than one already published is not published
// as is: its content is re-signed with the server's key under the next free version, stored as a
// rollback of it, and that is published.
func (s *Server) publish(ctx context.Context, site string, version uint64) (*store.Bundle, error) {
	b, err := s.st.Bundle(ctx, site, version)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	if !b.Expires.IsZero() && now.After(b.Expires) {
		return nil, fmt.Errorf("%w: version %d expired at %s", errExpired, version, b.Expires.Format(time.RFC3339))
	}
	maxPub, err := s.st.MaxPublished(ctx, site)
	if err != nil {
		return nil, err
	}
	if version < maxPub {
		if b, err = s.resign(ctx, b); err != nil {
			return nil, err
		}
	}
	if err := s.st.Publish(ctx, site, b.Version, now); err != nil {
		return nil, err
	}
	s.bundles.invalidate(site)
	s.log.Info("bundle published", "site", site, "version", b.Version, "rollback_of", b.RollbackOf)
	b.Envelope = nil
	return b, nil
}

// resign stores old's content under a new version, signed with the server's key.
func (s *Server) resign(ctx context.Context, old *store.Bundle) (*store.Bundle, error) {
	if s.cfg.SigningKey == nil {
		return nil, errNeedKey
	}
	bundle, err := models.Open(old.Envelope)
	if err != nil {
		return nil, fmt.Errorf("server: stored bundle %d does not decode: %w", old.Version, err)
	}
	maxV, err := s.st.MaxVersion(ctx, old.Site)
	if err != nil {
		return nil, err
	}
	origin := old.Version
	if old.Source == store.SourceRollback && old.RollbackOf != 0 {
		origin = old.RollbackOf // a copy of a copy names the original content
	}
	bundle.Version, bundle.Created = maxV+1, s.cfg.Now().Unix()
	envelope := signing.Sign(bundle, s.cfg.SigningKey)
	env, err := models.DecodeEnvelope(envelope)
	if err != nil {
		return nil, fmt.Errorf("server: re-signed bundle: %w", err)
	}
	nb := s.storedBundle(bundle, envelope, env.KeyID, store.SourceRollback, origin)
	if err := s.st.AddBundle(ctx, nb); err != nil {
		return nil, err
	}
	return nb, nil
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request, site string) {
	hist, err := s.st.Publications(r.Context(), site, 100)
	if err != nil {
		s.fail(w, err)
		return
	}
	var prev *store.Publication
	for i := 1; i < len(hist); i++ {
		if hist[i].Version != hist[0].Version {
			prev = &hist[i]
			break
		}
	}
	if prev == nil {
		s.fail(w, errNoHistory)
		return
	}
	b, err := s.publish(r.Context(), site, prev.Version)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, bundleView{Bundle: b, Current: true})
}

func (s *Server) listPublications(w http.ResponseWriter, r *http.Request, site string) {
	limit := 100
	if l := r.URL.Query().Get("limit"); l != "" {
		var err error
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 10000 {
			writeError(w, http.StatusBadRequest, "limit: want 1 to 10000")
			return
		}
	}
	ps, err := s.st.Publications(r.Context(), site, limit)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"site": site, "publications": ps})
}

// Reports.

// reportView is the answer of GET /v1/admin/reports.
type reportView struct {
	Site     string       `json:"site"`
	Campaign string       `json:"campaign,omitempty"`
	From     string       `json:"from"`
	To       string       `json:"to"`
	K        int64        `json:"k"`
	Totals   store.Totals `json:"totals"`
	*store.Report
}

const dayLayout = "2006-01-02"

// dayRange reads the query's from and to (dates, UTC; default the 30 days up to today), or answers
// 400 and returns false.
func (s *Server) dayRange(w http.ResponseWriter, q url.Values) (from, to int32, ok bool) {
	to = store.Day(s.cfg.Now())
	if v := q.Get("to"); v != "" {
		t, err := time.Parse(dayLayout, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "to: want a date such as 2026-05-31")
			return 0, 0, false
		}
		to = store.Day(t)
	}
	from = to - 29
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(dayLayout, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "from: want a date such as 2026-05-01")
			return 0, 0, false
		}
		from = store.Day(t)
	}
	if from > to {
		writeError(w, http.StatusBadRequest, "from is after to")
		return 0, 0, false
	}
	return from, to, true
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, site string) {
	q := r.URL.Query()
	from, to, ok := s.dayRange(w, q)
	if !ok {
		return
	}
	k := s.cfg.KAnonymity
	if v := q.Get("k"); v != "" {
		kk, err := strconv.ParseInt(v, 10, 64)
		if err != nil || kk < s.cfg.KAnonymity {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("k: want an integer of at least the server's threshold, %d", s.cfg.KAnonymity))
			return
		}
		k = kk
	}
	campaign := q.Get("campaign")
	rep, err := s.st.Report(r.Context(), store.ReportQuery{Site: site, Campaign: campaign, From: from, To: to, K: k})
	if err != nil {
		s.fail(w, err)
		return
	}
	tot, err := s.st.Totals(r.Context(), site, from, to)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reportView{Site: site, Campaign: campaign, From: dayString(from), To: dayString(to), K: k, Totals: tot, Report: rep})
}
