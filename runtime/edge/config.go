package edge

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/runtime/host"
)

// Defaults of a [Config], applied by [New] to fields left zero.
const (
	// DefaultCookieName is the name of the profile cookie. The __Host- prefix is not used by default
	// because it requires Secure, which plain-HTTP development setups cannot send.
	DefaultCookieName = "presage"

	// DefaultCookieMaxAge keeps a profile for 400 days, the longest lifetime browsers accept
	// (RFC 6265bis caps Max-Age at 400 days): the cold signals (history, customer value) need it.
	DefaultCookieMaxAge = 400 * 24 * time.Hour

	// DefaultMaxCookieBytes bounds the cookie's value (base64url): 4,096 bytes is what every browser
	// stores for one cookie, and the module sheds its saved profile to 4,096 bytes of CBOR, which
	// base64 would grow by a third, hence the compressed fallback (see [Edge]).
	DefaultMaxCookieBytes = 4096

	// DefaultHeaderPrefix starts the request headers that carry decisions to the origin.
	DefaultHeaderPrefix = "Presage-"

	// DefaultQueueSize bounds the learning batches waiting to be posted to the sync server. A batch
	// is a few hundred bytes, so the queue holds at most a few hundred KiB when the server is down.
	DefaultQueueSize = 1024

	// DefaultSyncTimeout bounds one POST to the sync server, so that a hung server costs the queue
	// at most this long per batch before the batch is counted as failed.
	DefaultSyncTimeout = 5 * time.Second

	// DefaultCallTimeout bounds the module's work for one request (acquire, load, handle, drain,
	// save). A page is served unpersonalised rather than late: visitors do not wait on the model.
	DefaultCallTimeout = 50 * time.Millisecond

	// MinKeyBytes is the shortest HMAC key accepted: 128 bits, the tag's strength.
	MinKeyBytes = 16
)

// Config configures an [Edge]. Only Host and Keys are required; every other zero field takes the
// default documented on it.
type Config struct {
	// Host runs the module. The caller creates it (pool size, memory ceiling, bundle, interruptible
	// calls: see runtime/host) and closes it after the Edge.
	Host *host.Host

	// Keys authenticate the profile cookie with HMAC-SHA256: Keys[0] signs every cookie written, and
	// a cookie signed with any of them is accepted. To rotate, put the new key first and keep the
	// old one until the old cookies have been rewritten (every visit rewrites the cookie). Each key
	// must be at least [MinKeyBytes] long and secret.
	Keys [][]byte

	// CookieName is the profile cookie's name; default [DefaultCookieName].
	CookieName string
	// CookiePath is the cookie's Path; default "/".
	CookiePath string
	// CookieDomain is the cookie's Domain; default none (this host only, the safest).
	CookieDomain string
	// CookieMaxAge is the cookie's lifetime; default [DefaultCookieMaxAge].
	CookieMaxAge time.Duration
	// InsecureCookie omits the Secure attribute, for plain-HTTP development only. The cookie is
	// always HttpOnly (no script needs it: the page gets decisions through the rewritten HTML) and
	// SameSite=Lax (sent on top-level navigation from other sites, so arrivals are recognised).
	InsecureCookie bool
	// MaxCookieBytes bounds the cookie's value; default and maximum [DefaultMaxCookieBytes].
	MaxCookieBytes int

	// Match says which requests are personalised; the others pass through untouched, without a
	// module call. Default: GET and HEAD requests that accept HTML (see [MatchPages]).
	Match func(*http.Request) bool
	// Slots lists the slots to decide for a request; default [Config.DefaultSlots] for every request.
	Slots func(*http.Request) []string
	// DefaultSlots are the slots decided when Slots is nil: typically every data-presage-slot the
	// site's templates have.
	DefaultSlots []string
	// Events turns a request into the events the agent learns from; default [RequestEvents].
	// returning is true when the visitor brought a valid profile cookie.
	Events func(r *http.Request, now int64, returning bool) []wire.Event
	// HeaderPrefix starts the headers sent to the origin: <prefix>Decision-<slot>,
	// <prefix>Stage, <prefix>Segments, <prefix>Moments. Default [DefaultHeaderPrefix].
	HeaderPrefix string

	// NoRewrite leaves the origin's HTML as it is (decisions reach the origin as headers only).
	NoRewrite bool
	// InlineJSON inserts the page's decisions as <script type="application/json"
	// id="presage-decisions"> before </head>, for the page's own scripts.
	InlineJSON bool
	// HTMLContent inserts a variant's content into its slot as HTML instead of text. The content
	// comes from the signed bundle, but escaping stays the default so that a bundle author cannot
	// inject script into every page by mistake.
	HTMLContent bool

	// SyncURL is the sync server's base URL; learning batches are posted to SyncURL+"/v1/batches".
	// Empty: learning stays in the profile cookie (bounded by the module's shedding).
	SyncURL string
	// SyncClient posts the batches; default an http.Client with [DefaultSyncTimeout].
	SyncClient *http.Client
	// QueueSize bounds the batches waiting to be posted; default [DefaultQueueSize].
	QueueSize int

	// CallTimeout bounds the module's work for one request; default [DefaultCallTimeout].
	CallTimeout time.Duration

	// Now is the clock, in Unix milliseconds; default time.Now. Tests set it.
	Now func() int64
	// OnError receives what went wrong without failing a request: module errors, failed posts to
	// the sync server. Default: nothing (the [Metrics] count it).
	OnError func(error)
}

// settings is a Config with its defaults applied and checked.
type settings struct {
	Config
	decisionPrefix string
	stageHeader    string
	segmentsHeader string
	momentsHeader  string
}

func (c Config) validate() (settings, error) {
	s := settings{Config: c}
	var errs []error
	if c.Host == nil {
		errs = append(errs, errors.New("no Host"))
	}
	if len(c.Keys) == 0 {
		errs = append(errs, errors.New("no cookie Keys: the profile cookie must be authenticated"))
	}
	for i, k := range c.Keys {
		if len(k) < MinKeyBytes {
			errs = append(errs, fmt.Errorf("key %d is %d bytes, want at least %d", i, len(k), MinKeyBytes))
		}
	}
	if s.CookieName == "" {
		s.CookieName = DefaultCookieName
	}
	if !isToken(s.CookieName) {
		errs = append(errs, fmt.Errorf("cookie name %q is not an HTTP token", s.CookieName))
	}
	if s.CookiePath == "" {
		s.CookiePath = "/"
	}
	if s.CookieMaxAge == 0 {
		s.CookieMaxAge = DefaultCookieMaxAge
	}
	switch {
	case s.MaxCookieBytes == 0:
		s.MaxCookieBytes = DefaultMaxCookieBytes
	case s.MaxCookieBytes < 64 || s.MaxCookieBytes > DefaultMaxCookieBytes:
		errs = append(errs, fmt.Errorf("max cookie bytes %d outside [64, %d]", s.MaxCookieBytes, DefaultMaxCookieBytes))
	}
	if s.Match == nil {
		s.Match = MatchPages
	}
	if s.Slots == nil {
		slots := s.DefaultSlots
		s.Slots = func(*http.Request) []string { return slots }
	}
	if s.Events == nil {
		s.Events = RequestEvents
	}
	if s.HeaderPrefix == "" {
		s.HeaderPrefix = DefaultHeaderPrefix
	}
	if !isToken(s.HeaderPrefix) {
		errs = append(errs, fmt.Errorf("header prefix %q is not an HTTP token", s.HeaderPrefix))
	}
	if s.SyncURL != "" {
		if !strings.HasPrefix(s.SyncURL, "http://") && !strings.HasPrefix(s.SyncURL, "https://") {
			errs = append(errs, fmt.Errorf("sync URL %q is not http(s)", s.SyncURL))
		}
		s.SyncURL = strings.TrimRight(s.SyncURL, "/")
	}
	if s.SyncClient == nil {
		s.SyncClient = &http.Client{Timeout: DefaultSyncTimeout}
	}
	switch {
	case s.QueueSize == 0:
		s.QueueSize = DefaultQueueSize
	case s.QueueSize < 0:
		errs = append(errs, fmt.Errorf("queue size %d is negative", s.QueueSize))
	}
	switch {
	case s.CallTimeout == 0:
		s.CallTimeout = DefaultCallTimeout
	case s.CallTimeout < 0:
		errs = append(errs, fmt.Errorf("call timeout %v is negative", s.CallTimeout))
	}
	if s.Now == nil {
		s.Now = func() int64 { return time.Now().UnixMilli() }
	}
	if s.OnError == nil {
		s.OnError = func(error) {}
	}
	s.decisionPrefix = http.CanonicalHeaderKey(s.HeaderPrefix + "Decision-")
	s.stageHeader = http.CanonicalHeaderKey(s.HeaderPrefix + "Stage")
	s.segmentsHeader = http.CanonicalHeaderKey(s.HeaderPrefix + "Segments")
	s.momentsHeader = http.CanonicalHeaderKey(s.HeaderPrefix + "Moments")
	if len(errs) > 0 {
		return s, fmt.Errorf("edge: config: %w", errors.Join(errs...))
	}
	return s, nil
}

// MatchPages is the default [Config.Match]: GET and HEAD requests for a document, told by
// Sec-Fetch-Dest: document, or else by an Accept header that names text/html. Assets, API calls and
// form posts pass through without a module call.
func MatchPages(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if d := r.Header.Get("Sec-Fetch-Dest"); d != "" {
		return d == "document"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// isToken reports whether s is a non-empty RFC 9110 token (a valid header or cookie name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenChar(s[i]) {
			return false
		}
	}
	return true
}

func tokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
