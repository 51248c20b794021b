package edge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"strings"

	xhtml "golang.org/x/net/html"

	"github.com/presage-dev/presage/agent/wire"
)

// slotAttr marks an element whose content the edge fills from the slot's decision.
const slotAttr = "data-presage-slot"

// rewriter fills the slots of one HTML page from one request's decisions.
type rewriter struct {
	decisions   map[string]*wire.Decision // by slot; only slots with a campaign
	inline      []byte                    // the inline JSON block to insert before </head>, or nil
	htmlContent bool
}

// newRewriter returns the rewriter of an answer, or nil when there is nothing to rewrite.
func newRewriter(ans *wire.Answer, inline, htmlContent bool) (*rewriter, error) {
	rw := &rewriter{htmlContent: htmlContent}
	for i := range ans.Decisions {
		d := &ans.Decisions[i]
		if d.Campaign == "" {
			continue
		}
		if rw.decisions == nil {
			rw.decisions = make(map[string]*wire.Decision, len(ans.Decisions))
		}
		rw.decisions[d.Slot] = d
	}
	if inline {
		b, err := inlineJSON(ans)
		if err != nil {
			return nil, err
		}
		rw.inline = b
	}
	if rw.decisions == nil && rw.inline == nil {
		return nil, nil
	}
	return rw, nil
}

// pageDecisions is the inline JSON block's document: what the page's own scripts need to know.
type pageDecisions struct {
	Stage     string         `json:"stage"`
	Segments  []string       `json:"segments,omitempty"`
	Decisions []pageDecision `json:"decisions,omitempty"`
}

type pageDecision struct {
	Slot     string `json:"slot"`
	Campaign string `json:"campaign,omitempty"`
	Variant  string `json:"variant,omitempty"`
	Content  string `json:"content,omitempty"`
	Holdout  bool   `json:"holdout,omitempty"`
}

// inlineJSON renders the block. encoding/json escapes <, > and & as \u003c…, so no string of the
// bundle can close the script element.
func inlineJSON(ans *wire.Answer) ([]byte, error) {
	doc := pageDecisions{Stage: ans.Stage.String(), Segments: ans.Segments}
	for _, d := range ans.Decisions {
		doc.Decisions = append(doc.Decisions, pageDecision{Slot: d.Slot, Campaign: d.Campaign, Variant: d.Variant, Content: d.Content, Holdout: d.Holdout})
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("edge: inline decisions: %w", err)
	}
	out := make([]byte, 0, len(b)+80)
	out = append(out, `<script type="application/json" id="presage-decisions">`...)
	out = append(out, b...)
	return append(out, "</script>"...), nil
}

// rewriteState is what the rewriter remembers between tokens. It is a value, so that a chunk's
// work can be rolled back to the last token known complete.
type rewriteState struct {
	skipName  []byte // the element whose old content is being skipped (never modified in place)
	skipDepth int
	inlined   bool // the inline JSON block was written, or there is none
}

// maxHeld bounds the bytes held back between writes: an incomplete token, or a raw-text element
// (script, style…) whose end tag has not arrived. Past it the rest of the page passes through
// untouched rather than being held, or re-tokenised on every write.
const maxHeld = 256 << 10

// stream rewrites an HTML page as the origin writes it, with x/net/html's tokenizer, on the
// origin's own goroutine. Each write tokenises what was held back plus the new bytes, writes every
// token known to be complete, and holds back the rest: a token that reaches the end of the bytes
// (it may continue in the next write) and a raw-text element until its end tag (the tokenizer must
// see its start tag to read it as raw text). Bytes are copied as the origin sent them (Raw), except
// for the start tags of filled slots, their old content, and the inserted JSON block.
type stream struct {
	rw          *rewriter
	dst         io.Writer
	held        []byte
	out         []byte // scratch
	st          rewriteState
	passthrough bool
}

func newStream(rw *rewriter, dst io.Writer) *stream {
	return &stream{rw: rw, dst: dst, st: rewriteState{inlined: rw.inline == nil}}
}

// write takes the next bytes of the page; final says there are no more.
func (s *stream) write(p []byte, final bool) error {
	if s.passthrough {
		_, err := s.dst.Write(p)
		return err
	}
	s.held = append(s.held, p...)
	if cap(s.out) < len(s.held)+512 {
		s.out = make([]byte, 0, len(s.held)+len(s.held)/4+512) // the page, filled slots and JSON
	}
	z := xhtml.NewTokenizer(bytes.NewReader(s.held))
	var (
		out                 = s.out[:0]
		st                  = s.st
		pos                 int // bytes of held tokenised
		commitIn, commitOut int // the last point where every token before was complete
		commitSt            = st
		rawOpen             bool // inside a raw-text element
	)
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			if err := z.Err(); err != io.EOF {
				return fmt.Errorf("edge: rewrite: %w", err)
			}
			break
		}
		raw := z.Raw()
		end := pos + len(raw)
		if !final && end == len(s.held) {
			break // may continue in the next write
		}
		out = s.rw.token(out, &st, z, tt, raw)
		pos = end
		switch tt {
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			rawOpen = rawTextElement(tagName(raw))
		case xhtml.EndTagToken:
			rawOpen = false
		}
		if !rawOpen {
			commitIn, commitOut, commitSt = pos, len(out), st
		}
	}
	if final {
		if st.skipDepth == 0 {
			out = append(out, s.held[pos:]...) // an incomplete tag at the very end: as it came
		}
		commitIn, commitOut, commitSt = len(s.held), len(out), st
	}
	s.out = out
	if _, err := s.dst.Write(out[:commitOut]); err != nil {
		return err
	}
	s.held = s.held[:copy(s.held, s.held[commitIn:])]
	s.st = commitSt
	if len(s.held) > maxHeld {
		s.passthrough = true
		_, err := s.dst.Write(s.held)
		s.held = nil
		return err
	}
	return nil
}

// token appends the output of one token to out.
func (rw *rewriter) token(out []byte, st *rewriteState, z *xhtml.Tokenizer, tt xhtml.TokenType, raw []byte) []byte {
	if st.skipDepth > 0 {
		switch tt {
		case xhtml.StartTagToken:
			if bytes.EqualFold(tagName(raw), st.skipName) {
				st.skipDepth++
			}
		case xhtml.EndTagToken:
			if bytes.EqualFold(tagName(raw), st.skipName) {
				if st.skipDepth--; st.skipDepth == 0 {
					out = append(out, raw...)
				}
			}
		}
		return out
	}
	switch tt {
	case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
		if rw.decisions != nil && containsFold(raw, slotAttr) {
			tag, name, filled := rw.fill(z, bytes.Clone(raw), tt == xhtml.SelfClosingTagToken)
			if filled && !voidElement(name) {
				st.skipName, st.skipDepth = name, 1
			}
			return append(out, tag...)
		}
	case xhtml.EndTagToken:
		if !st.inlined && bytes.EqualFold(tagName(raw), []byte("head")) {
			out = append(out, rw.inline...)
			st.inlined = true
		}
	}
	return append(out, raw...)
}

// rawTextElement reports whether x/net/html reads an element's content as raw text (or RCDATA),
// which it knows only from having seen the start tag.
func rawTextElement(name []byte) bool {
	switch strings.ToLower(string(name)) {
	case "iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp":
		return true
	}
	return false
}

// fill rewrites one start tag carrying data-presage-slot. With a decision showing a variant, the
// tag gains data-presage-campaign and data-presage-variant and is followed by the content, and
// filled is true (the old content must be skipped). A holdout keeps the old content and gains
// data-presage-holdout. A slot with no decision is left as it is.
func (rw *rewriter) fill(z *xhtml.Tokenizer, raw []byte, selfClosing bool) (out, name []byte, filled bool) {
	n, more := z.TagName() // lower-cases z's buffer in place: raw is a copy
	name = bytes.Clone(n)
	var slot string
	for more {
		var k, v []byte
		k, v, more = z.TagAttr()
		if string(k) == slotAttr {
			slot = string(v)
			break
		}
	}
	d, ok := rw.decisions[slot]
	if !ok {
		return raw, name, false
	}
	var attrs strings.Builder
	attrs.WriteString(` data-presage-campaign="`)
	attrs.WriteString(html.EscapeString(d.Campaign))
	attrs.WriteByte('"')
	if d.Holdout {
		attrs.WriteString(` data-presage-holdout=""`)
	} else {
		attrs.WriteString(` data-presage-variant="`)
		attrs.WriteString(html.EscapeString(d.Variant))
		attrs.WriteByte('"')
	}
	end := len(raw) - 1 // raw ends with '>'
	if selfClosing && end > 0 && raw[end-1] == '/' {
		end--
	}
	out = make([]byte, 0, len(raw)+attrs.Len()+len(d.Content)+16)
	out = append(out, raw[:end]...)
	out = append(out, attrs.String()...)
	out = append(out, raw[end:]...)
	if d.Holdout || selfClosing || voidElement(name) {
		return out, name, false
	}
	if rw.htmlContent {
		out = append(out, d.Content...)
	} else {
		out = append(out, html.EscapeString(d.Content)...)
	}
	return out, name, true
}

// tagName returns the name of a start or end tag from its raw bytes ("<div …>", "</div>").
func tagName(raw []byte) []byte {
	i := 1
	if len(raw) > 1 && raw[1] == '/' {
		i = 2
	}
	j := i
	for j < len(raw) {
		switch raw[j] {
		case ' ', '\t', '\n', '\f', '\r', '/', '>':
			return raw[i:j]
		}
		j++
	}
	return raw[i:j]
}

// containsFold reports whether s contains the lower-case ASCII sub, ignoring case: attribute names
// are case-insensitive in HTML. It is the cheap filter run on every start tag.
func containsFold(s []byte, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]|0x20 != sub[0] {
			continue
		}
		j := 1
		for j < len(sub) && lower(s[i+j]) == sub[j] {
			j++
		}
		if j == len(sub) {
			return true
		}
	}
	return false
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// voidElement reports whether an element has no content (and no end tag) in HTML.
func voidElement(name []byte) bool {
	switch strings.ToLower(string(name)) {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr":
		return true
	}
	return false
}

// isHTML reports whether a response's Content-Type is HTML.
func isHTML(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "text/html" || mt == "application/xhtml+xml")
}

// responseWriter intercepts the origin's response: it sets the profile cookie and the caching
// headers, and passes an HTML body through the stream rewriter.
type responseWriter struct {
	http.ResponseWriter
	rw     *rewriter // nil: nothing to rewrite
	cookie *http.Cookie
	vary   bool // the response depends on the profile cookie

	wroteHeader bool
	bw          *bufio.Writer // set while rewriting
	s           *stream
}

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	h := w.Header()
	if w.cookie != nil {
		h.Add("Set-Cookie", w.cookie.String())
	}
	if w.vary {
		// A personalised page must never be served to someone else from a shared cache.
		h.Set("Cache-Control", "private, no-cache")
		h.Add("Vary", "Cookie")
	}
	if w.rw != nil && code != http.StatusNoContent && code != http.StatusNotModified && isHTML(h.Get("Content-Type")) {
		if enc := h.Get("Content-Encoding"); enc == "" || enc == "identity" {
			h.Del("Content-Length") // the length changes
			h.Del("Etag")           // so does the entity
			w.bw = bufio.NewWriterSize(w.ResponseWriter, 4096)
			w.s = newStream(w.rw, w.bw)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", http.DetectContentType(p))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.s != nil {
		if err := w.s.write(p, false); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Flush forwards a flush of the origin (streaming responses): every complete token written so far
// reaches the client; a token still incomplete follows with the next bytes.
func (w *responseWriter) Flush() {
	if w.bw != nil && w.bw.Flush() != nil {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish ends the response: headers if the handler wrote none, and the bytes held back.
func (w *responseWriter) finish() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.s == nil {
		return nil
	}
	err := w.s.write(nil, true)
	w.s = nil
	return errors.Join(err, w.bw.Flush())
}
