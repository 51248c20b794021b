package edge

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
)

func TestRewrite(t *testing.T) {
	ans := &wire.Answer{
		Stage:    wire.StageLead,
		Segments: []string{"bargain"},
		Decisions: []wire.Decision{
			{Slot: "hero", Campaign: "welcome", Variant: "a", Content: `10 % off <now> & "more"`},
			{Slot: "side", Campaign: "win-back", Holdout: true},
			{Slot: "empty"},
		},
	}
	const json = `<script type="application/json" id="presage-decisions">{"stage":"lead","segments":["bargain"],"decisions":[` +
		`{"slot":"hero","campaign":"welcome","variant":"a","content":"10 % off \u003cnow\u003e \u0026 \"more\""},` +
		`{"slot":"side","campaign":"win-back","holdout":true},{"slot":"empty"}]}</script>`
	const filled = `10 % off &lt;now&gt; &amp; &#34;more&#34;`
	tests := []struct {
		name        string
		in, want    string
		inline      bool
		htmlContent bool
	}{
		{"no slot: bytes untouched",
			"<!DOCTYPE html><HTML><Body class=x>Hi <b>there</b><!-- c --><script>if (a<b) x='<div data-presage-slot=hero>'</script></body></HTML>",
			"<!DOCTYPE html><HTML><Body class=x>Hi <b>there</b><!-- c --><script>if (a<b) x='<div data-presage-slot=hero>'</script></body></HTML>", false, false},
		{"slot filled, old content replaced, nesting respected",
			`<div id=a DATA-PRESAGE-SLOT="hero" class="x">old <div>nested</div> text</div><p>after</p>`,
			`<div id=a DATA-PRESAGE-SLOT="hero" class="x" data-presage-campaign="welcome" data-presage-variant="a">` + filled + `</div><p>after</p>`, false, false},
		{"content as HTML",
			`<section data-presage-slot='hero'></section>`,
			`<section data-presage-slot='hero' data-presage-campaign="welcome" data-presage-variant="a">10 % off <now> & "more"</section>`, false, true},
		{"holdout keeps the default content",
			`<aside data-presage-slot=side>default</aside>`,
			`<aside data-presage-slot=side data-presage-campaign="win-back" data-presage-holdout="">default</aside>`, false, false},
		{"slot without a campaign, unknown slot: untouched",
			`<div data-presage-slot=empty>e</div><div data-presage-slot=nope>n</div>`,
			`<div data-presage-slot=empty>e</div><div data-presage-slot=nope>n</div>`, false, false},
		{"self-closing and void slots gain attributes only",
			`<img data-presage-slot=hero src=x><br data-presage-slot="hero"/>z`,
			`<img data-presage-slot=hero src=x data-presage-campaign="welcome" data-presage-variant="a"><br data-presage-slot="hero" data-presage-campaign="welcome" data-presage-variant="a"/>z`, false, false},
		{"inline JSON before </head>",
			`<html><head><title>t</title></head><body></body></html>`,
			`<html><head><title>t</title>` + json + `</head><body></body></html>`, true, false},
		{"inline JSON needs a head",
			`<p>fragment</p>`, `<p>fragment</p>`, true, false},
	}
	for _, tc := range tests {
		for _, chunk := range []int{1, 7, 1 << 20} {
			t.Run(tc.name, func(t *testing.T) {
				rw, err := newRewriter(ans, tc.inline, tc.htmlContent)
				if err != nil {
					t.Fatal(err)
				}
				rec := httptest.NewRecorder()
				w := &responseWriter{ResponseWriter: rec, rw: rw}
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Header().Set("Content-Length", "123")
				for s := tc.in; s != ""; {
					n := min(chunk, len(s))
					if _, err := w.Write([]byte(s[:n])); err != nil {
						t.Fatal(err)
					}
					s = s[n:]
				}
				if err := w.finish(); err != nil {
					t.Fatal(err)
				}
				if got := rec.Body.String(); got != tc.want {
					t.Errorf("chunks of %d:\n got %s\nwant %s", chunk, got, tc.want)
				}
				if rec.Header().Get("Content-Length") != "" {
					t.Error("Content-Length kept on a rewritten body")
				}
			})
		}
	}
}

func TestRewriteOnlyHTML(t *testing.T) {
	ans := &wire.Answer{Decisions: []wire.Decision{{Slot: "hero", Campaign: "c", Variant: "v", Content: "X"}}}
	body := `<div data-presage-slot=hero>old</div>`
	tests := []struct {
		name, contentType, encoding string
		status                      int
		rewritten                   bool
	}{
		{"html", "text/html", "", 200, true},
		{"xhtml", "application/xhtml+xml", "", 200, true},
		{"html error page", "text/html; charset=utf-8", "", 404, true},
		{"json", "application/json", "", 200, false},
		{"gzip", "text/html", "gzip", 200, false},
		{"sniffed", "", "", 200, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rw, _ := newRewriter(ans, false, false)
			rec := httptest.NewRecorder()
			w := &responseWriter{ResponseWriter: rec, rw: rw}
			if tc.contentType != "" {
				w.Header().Set("Content-Type", tc.contentType)
			}
			if tc.encoding != "" {
				w.Header().Set("Content-Encoding", tc.encoding)
			}
			if tc.contentType != "" {
				w.WriteHeader(tc.status)
			}
			w.Write([]byte("<!doctype html>" + body))
			if err := w.finish(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(rec.Body.String(), ">X</div>"); got != tc.rewritten {
				t.Errorf("rewritten = %v, want %v: %s", got, tc.rewritten, rec.Body.String())
			}
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
		})
	}
}

// TestRewriteStreams checks that the rewriter forwards tokens as they arrive: a flush after the
// first half of a page delivers every complete token of it before the second half exists, and holds
// back only what may continue (here the text after the last tag) and a script until its end tag.
func TestRewriteStreams(t *testing.T) {
	ans := &wire.Answer{Decisions: []wire.Decision{{Slot: "hero", Campaign: "c", Variant: "v", Content: "X"}}}
	w, rec := htmlWriter(t, ans, false)
	steps := []struct{ write, client string }{
		{`<p>first</p><div data-presage-slot=hero>old</div><p>sec`, `<p>first</p><div data-presage-slot=hero data-presage-campaign="c" data-presage-variant="v">X</div><p>`},
		{`ond</p><script>if (a <div data-presage-slot=hero>`, `second</p>`},
		{`) x()</script><i`, `<script>if (a <div data-presage-slot=hero>) x()</script>`},
		{`>`, ``},
	}
	var sent string
	for i, step := range steps {
		w.Write([]byte(step.write))
		w.Flush()
		got := strings.TrimPrefix(rec.Body.String(), sent)
		if got != step.client {
			t.Fatalf("step %d: the client got %q, want %q", i, got, step.client)
		}
		sent = rec.Body.String()
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimPrefix(rec.Body.String(), sent); got != "<i>" || !rec.Flushed {
		t.Errorf("finish sent %q (flushed %v)", got, rec.Flushed)
	}
	var _ http.Flusher = w
}

// TestRewriteHeldBound checks that a raw-text element that never ends is not held without bound.
func TestRewriteHeldBound(t *testing.T) {
	ans := &wire.Answer{Decisions: []wire.Decision{{Slot: "hero", Campaign: "c", Variant: "v", Content: "X"}}}
	w, rec := htmlWriter(t, ans, false)
	w.Write([]byte("<script>"))
	chunk := []byte(strings.Repeat("x", 32<<10))
	for range maxHeld / len(chunk) * 2 {
		w.Write(chunk)
	}
	w.Flush()
	if rec.Body.Len() < maxHeld {
		t.Fatalf("%d bytes sent, more than %d held", rec.Body.Len(), maxHeld)
	}
	w.Write([]byte(`</script><div data-presage-slot=hero>old</div>`))
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(rec.Body.String(), `</script><div data-presage-slot=hero>old</div>`) {
		t.Error("after giving up, the rest must pass through untouched")
	}
}

// TestRewriteChunking checks that the output does not depend on how the origin's writes split the
// page: every split point of tricky pages gives the bytes of a single write.
func TestRewriteChunking(t *testing.T) {
	ans := &wire.Answer{Decisions: []wire.Decision{
		{Slot: "hero", Campaign: "c", Variant: "v", Content: "X"},
		{Slot: "side", Campaign: "h", Holdout: true},
	}}
	pages := []string{
		`<!DOCTYPE html><html><head><title>a <b> c</title><style>p>a{}</style></head><body><div data-presage-slot="hero">old <div>in</div></div></body></html>`,
		`<p title="a > b" data-presage-slot=hero>x</p><!-- <div data-presage-slot=hero> --><textarea><div data-presage-slot=hero></textarea>`,
		`<script>document.write("</scr" + "ipt><div data-presage-slot=hero>")</script><aside data-presage-slot=side>keep</aside><br/><img data-presage-slot=hero`,
		"<div data-presage-slot=hero>\x00nul</div>&amp; &lt;text &#x3C; <![CDATA[x]]><?pi?></unknown>",
	}
	render := func(chunks ...string) string {
		w, rec := htmlWriter(t, ans, true)
		for _, c := range chunks {
			w.Write([]byte(c))
		}
		if err := w.finish(); err != nil {
			t.Fatal(err)
		}
		return rec.Body.String()
	}
	for i, page := range pages {
		want := render(page)
		if !strings.Contains(want, `data-presage-campaign=`) {
			t.Errorf("page %d: no slot filled: %s", i, want)
		}
		for cut := range len(page) {
			if got := render(page[:cut], page[cut:]); got != want {
				t.Fatalf("page %d cut at %d:\n got %s\nwant %s", i, cut, got, want)
			}
		}
		bytewise := make([]string, len(page))
		for j := range page {
			bytewise[j] = page[j : j+1]
		}
		if got := render(bytewise...); got != want {
			t.Fatalf("page %d byte by byte:\n got %s\nwant %s", i, got, want)
		}
	}
}

// htmlWriter is a responseWriter rewriting an HTML response with ans into a recorder.
func htmlWriter(t *testing.T, ans *wire.Answer, inline bool) (*responseWriter, *httptest.ResponseRecorder) {
	t.Helper()
	rw, err := newRewriter(ans, inline, false)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	w := &responseWriter{ResponseWriter: rec, rw: rw}
	w.Header().Set("Content-Type", "text/html")
	return w, rec
}
