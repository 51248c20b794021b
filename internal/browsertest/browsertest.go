package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// EnvChromium overrides the browser's path; EnvArtifacts names where screenshots and metrics go
// (default: the test's temporary directory, which is logged).
const (
	EnvChromium  = "PRESAGE_CHROMIUM"
	EnvArtifacts = "PRESAGE_ARTIFACTS"
)

var (
	browserOnce sync.Once
	browserCtx  context.Context
	browserErr  error
	browserStop = func() {}
)

// Stop stops the shared browser, if it was started. Call it from TestMain after m.Run.
func Stop() { browserStop() }

// Browser returns a chromedp context holding the shared browser, starting it on first use.
func Browser(t testing.TB) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("real-browser test: skipped in -short mode")
	}
	path := os.Getenv(EnvChromium)
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("Chromium not found at %s (%v): install Debian's chromium (`make tools` does) or set %s", path, err, EnvChromium)
	}
	browserOnce.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("no-first-run", true),
			chromedp.WindowSize(1000, 900),
		)
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil { // starts the browser
			browserErr = err
			bcancel()
			acancel()
			return
		}
		browserCtx = bctx
		browserStop = func() {
			ctx, cancel := context.WithTimeout(bctx, 10*time.Second)
			defer cancel()
			chromedp.Cancel(ctx)
			bcancel()
			acancel()
		}
	})
	if browserErr != nil {
		t.Fatalf("start Chromium (%s): %v", path, browserErr)
	}
	return browserCtx
}

// Tab is one page of a fresh browser context, with every request it made and everything it wrote
// to the console recorded from the protocol's events (so that requests a page made to any origin
// are seen, not only those that reached a test server).
type Tab struct {
	T   testing.TB
	Ctx context.Context

	mu       sync.Mutex
	requests []string // URLs, in order
	console  []string // "type: text"
}

// Open opens a tab in a new browser context. init, when not empty, runs in every document before
// its scripts (instrumentation).
func Open(t testing.TB, init string) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(Browser(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &Tab{T: t, Ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			tb.requests = append(tb.requests, e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				if s := string(a.Value); s != "" {
					var str string
					if json.Unmarshal(a.Value, &str) == nil {
						s = str
					}
					parts = append(parts, s)
				} else {
					parts = append(parts, a.Description)
				}
			}
			tb.console = append(tb.console, string(e.Type)+": "+strings.Join(parts, " "))
		case *runtime.EventExceptionThrown:
			tb.console = append(tb.console, "exception: "+e.ExceptionDetails.Text+" "+describe(e.ExceptionDetails.Exception))
		}
	})
	if err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, runtime.Enable, cdp.Empty{}); err != nil {
			return err
		}
		if init != "" {
			_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: init})
			return err
		}
		return nil
	}))
	if err != nil {
		t.Fatalf("set up the tab: %v", err)
	}
	return tb
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	return o.Description
}

func (tb *Tab) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.Ctx, 30*time.Second)
}

// Do runs actions, failing the test on error.
func (tb *Tab) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.T.Helper()
	ctx, cancel := tb.timeout()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.T.Fatalf("%s: %v\nconsole: %s", what, err, strings.Join(tb.Console(), "\n"))
	}
}

// Load runs actions that navigate (a click on a link, page.Navigate) and waits for the new page.
func (tb *Tab) Load(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.T.Helper()
	ctx, cancel := tb.timeout()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		tb.T.Fatalf("%s: %v", what, err)
	}
	if res == nil {
		tb.T.Fatalf("%s: no HTTP response (about:blank, data: URLs)", what)
	}
	if res.Status != 200 {
		tb.T.Fatalf("%s: HTTP %d for %s", what, res.Status, res.URL)
	}
}

// Navigate loads url with a Referer, as a visit arriving from another site would.
func (tb *Tab) Navigate(url, referrer string) {
	tb.T.Helper()
	tb.Load("navigate to "+url, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		res, err := cdp.Call(ctx, tg, page.Navigate, page.NavigateParams{URL: url, Referrer: referrer})
		if err == nil && res.ErrorText != "" {
			err = fmt.Errorf("%s", res.ErrorText)
		}
		return err
	}))
}

// Click clicks the element and, with navigates set, waits for the page it leads to.
func (tb *Tab) Click(sel string, navigates bool) {
	tb.T.Helper()
	if navigates {
		tb.Load("click "+sel, chromedp.Click(chromedp.CSS(sel)))
		return
	}
	tb.Do("click "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// Eval evaluates expr (awaiting a promise) and decodes its JSON value into T.
func Eval[T any](tb *Tab, expr string) T {
	tb.T.Helper()
	ctx, cancel := tb.timeout()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.T.Fatalf("evaluate %.200s: %v\nconsole: %s", expr, err, strings.Join(tb.Console(), "\n"))
	}
	return v
}

// Wait polls expr until it is truthy.
func (tb *Tab) Wait(expr string) {
	tb.T.Helper()
	ctx, cancel := tb.timeout()
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		tb.T.Fatalf("wait for %s: %v\nconsole: %s", expr, err, strings.Join(tb.Console(), "\n"))
	}
}

// WaitDecided waits until presage.js has taken the page's decisions (its performance mark).
func (tb *Tab) WaitDecided() {
	tb.T.Helper()
	tb.Wait(`performance.getEntriesByName('presage:decided').length > 0`)
}

// Requests returns the URLs the tab requested so far, in order.
func (tb *Tab) Requests() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.requests...)
}

// Console returns what the tab wrote to its console so far, "type: text".
func (tb *Tab) Console() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.console...)
}

// Artifacts returns the folder of a test's screenshots and metrics: $PRESAGE_ARTIFACTS/<test>, or
// one in the test's temporary directory.
func Artifacts(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvArtifacts)
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Screenshot saves the whole page as a PNG artifact, logs where, and returns the path.
func (tb *Tab) Screenshot(name string) string {
	tb.T.Helper()
	ctx, cancel := tb.timeout()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.T.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(Artifacts(tb.T), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.T.Fatal(err)
	}
	tb.T.Logf("screenshot: %s", path)
	return path
}
