// Package msg formats error messages without package fmt, which costs the wasm module about 100 KB.
//
// It understands %d (integers), %s (strings, errors, anything with String), %q (strings, quoted),
// %g (floats, to 6 significant digits: enough for a message, without strconv's tables) and %%.
// Anything else is printed as %!verb. [Is] and [As] walk error chains without package errors,
// whose Is and As pull reflection into the module.
package msg
