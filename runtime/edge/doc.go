// Package edge will be net/http middleware over runtime/host for Go edge proxies: the profile in a
// first-party cookie, decisions as request headers and rewritten slots (issue 6).
package edge
