// Package jsbridge will embed and serve presage.js, the script tag that loads the module in browsers
// through a WASI shim of a few hundred bytes (issue 5).
package jsbridge
