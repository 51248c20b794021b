package jsbridge_test

// The harness of the real-browser tests is internal/browsertest (shared with examples/shop): one
// headless Chromium per test binary, one isolated browser context per test, pages served from a
// loopback httptest server (shop_test.go). These wrappers keep the tests' short names.

import (
	"os"
	"testing"

	"github.com/presage-dev/presage/internal/browsertest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browsertest.Stop()
	os.Exit(code)
}

// tab is one page of a fresh browser context (browsertest.Tab).
type tab struct{ *browsertest.Tab }

func openTab(t testing.TB, init string) *tab { return &tab{browsertest.Open(t, init)} }

func (tb *tab) navigate(url, referrer string) {
	tb.T.Helper()
	tb.Navigate(url, referrer)
}

func (tb *tab) click(sel string, navigates bool) {
	tb.T.Helper()
	tb.Click(sel, navigates)
}

func eval[T any](tb *tab, expr string) T {
	tb.T.Helper()
	return browsertest.Eval[T](tb.Tab, expr)
}

func (tb *tab) wait(expr string) {
	tb.T.Helper()
	tb.Wait(expr)
}

func (tb *tab) waitDecided() {
	tb.T.Helper()
	tb.WaitDecided()
}

func (tb *tab) requestsSeen() []string { return tb.Requests() }
func (tb *tab) consoleLines() []string { return tb.Console() }

func artifacts(t testing.TB) string {
	t.Helper()
	return browsertest.Artifacts(t)
}

func (tb *tab) screenshot(name string) {
	tb.T.Helper()
	tb.Screenshot(name)
}
