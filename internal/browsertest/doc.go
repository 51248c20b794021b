// Package browsertest is the harness of Presage's real-browser tests (jsbridge, examples/shop): one
// headless Chromium per test binary (Debian's, started by the tests themselves), one isolated
// browser context per tab (its own storage and HTTP cache), every request and console line of a tab
// recorded from the protocol's events, and screenshots saved as test artifacts. Tests skip, saying
// why, only when Chromium is not installed (`make tools` installs it) or in -short mode.
//
// It is a package rather than test files so that every package with browser tests drives the
// browser the same way; it is only for tests.
package browsertest
