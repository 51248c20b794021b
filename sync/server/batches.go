package server

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/sync/store"
)

// bodyPool recycles request buffers: a batch is read whole before decoding, and at thousands of
// batches per second fresh buffers would be most of the garbage.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ackHeader tells an agent whether its batch was counted now or before; both are acknowledgements.
const ackHeader = "Presage-Batch"

// postBatch is POST /v1/batches. It answers 204 once the batch is durable (or was counted
// before), and an error otherwise: 400, 403, 413, 415 and 429 are final, 503 means retry later.
// Nothing about the client is kept: not its address (the rate limiter keeps a keyed hash in memory
// only), not its user agent, no cookie.
func (s *Server) postBatch(w http.ResponseWriter, r *http.Request) {
	if !s.allowOrigin(w, r) {
		s.reject(w, reasonOrigin, http.StatusForbidden, "origin not allowed: add it to the server's site origins (presage serve -origins)")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		// application/cbor is the type; text/plain is what navigator.sendBeacon can send
		// cross-origin without a CORS preflight. Either way the body must be CBOR.
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/cbor" && mt != "application/octet-stream" && mt != "text/plain") {
			s.reject(w, reasonMediaType, http.StatusUnsupportedMediaType, "content type "+strconv.Quote(ct)+": send a CBOR batch as application/cbor")
			return
		}
	}
	if s.lim != nil && !s.lim.allow(s.lim.clientKey(r, s.cfg.ClientIPHeader), s.cfg.Now()) {
		w.Header().Set("Retry-After", "1")
		s.reject(w, reasonRateLimited, http.StatusTooManyRequests, "too many batches from this client: retry later")
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		s.reject(w, reasonTooLarge, http.StatusRequestEntityTooLarge, "batch larger than "+strconv.FormatInt(s.cfg.MaxBodyBytes, 10)+" bytes")
		return
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 2*int(s.cfg.MaxBodyBytes) {
			buf.Reset()
			bodyPool.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.reject(w, reasonTooLarge, http.StatusRequestEntityTooLarge, "batch larger than "+strconv.FormatInt(s.cfg.MaxBodyBytes, 10)+" bytes")
			return
		}
		s.reject(w, reasonDecode, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	b, err := decodeBatch(buf.Bytes(), store.Day(s.cfg.Now()), s.cfg.DedupDays)
	if err != nil {
		reason := reasonDecode
		if errors.Is(err, store.ErrBadBatch) {
			reason = reasonInvalid
		}
		s.reject(w, reason, http.StatusBadRequest, err.Error())
		return
	}
	s.checkUpdates(r.Context(), b)
	fresh, err := s.ing.submit(r.Context(), b)
	if err != nil {
		// Not stored, or not known to be: the shutdown began, the store failed, or the request's
		// context ended (the client went away). If the batch does commit, its retry is a duplicate.
		w.Header().Set("Retry-After", "5")
		s.reject(w, reasonUnavailable, http.StatusServiceUnavailable, "the batch was not stored: retry later")
		return
	}
	if fresh {
		w.Header().Set(ackHeader, "accepted")
	} else {
		w.Header().Set(ackHeader, "duplicate")
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeBatch is the whole of what a batch's bytes go through before the committer: the hardened
// decoder (limits, no duplicate keys, no indefinite lengths, no tags, valid UTF-8, no trailing
// bytes) and the store's checks. Unknown map keys are skipped, as the agent's own decoder does,
// so that a newer agent's batch still counts on an older server.
func decodeBatch(data []byte, today, window int32) (*wire.Batch, error) {
	if len(data) == 0 {
		return nil, errors.New("empty body: send a CBOR batch")
	}
	b := new(wire.Batch)
	if err := cborx.DecMode.Unmarshal(data, b); err != nil {
		return nil, errors.New("decode batch: " + err.Error())
	}
	if err := store.CheckBatch(b, today, window); err != nil {
		return nil, err
	}
	return b, nil
}

func (s *Server) reject(w http.ResponseWriter, reason string, code int, msg string) {
	s.m.rejected.WithLabelValues(reason).Inc()
	writeError(w, code, msg)
}

// allowOrigin sets the CORS headers of a request from a browser page and reports whether its
// origin may post. Requests without an Origin header are not cross-origin browser requests.
// Credentials are never allowed: the server sets no cookie and reads none.
func (s *Server) allowOrigin(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	if origin == "" {
		return true
	}
	for _, o := range s.cfg.Origins {
		if o == "*" {
			h.Set("Access-Control-Allow-Origin", "*")
			return true
		}
		if o == origin {
			h.Set("Access-Control-Allow-Origin", origin)
			return true
		}
	}
	return false
}

// preflight is OPTIONS /v1/batches, the CORS preflight of a fetch() with Content-Type
// application/cbor.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	if !s.allowOrigin(w, r) {
		writeError(w, http.StatusForbidden, "origin not allowed")
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}
