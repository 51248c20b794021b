package models

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them, so callers test with
// errors.Is; the messages start with "models: ".
var (
	// ErrBadBundle: the bundle is structurally invalid (a size, an index, a value out of range).
	// The message names the offending field, e.g.
	// "models: bad bundle: campaigns[3].variants[1]: duplicate id \"B\"".
	ErrBadBundle = errors.New("models: bad bundle")

	// ErrUnknownFormat: the bundle's Format is not FormatVersion. An error wrapping it also wraps
	// ErrBadBundle, so a caller that only checks ErrBadBundle still refuses the bundle.
	ErrUnknownFormat = errors.New("models: unknown bundle format")

	// ErrStaleBundle: the bundle's Version is not newer than the one serving. The agent returns it
	// from SetBundle; bundles only move forward, so a replayed old bundle cannot roll a device back.
	ErrStaleBundle = errors.New("models: stale bundle")

	// ErrExpired: the bundle's Expires time has passed. The agent returns it from SetBundle and
	// keeps serving the previous bundle.
	ErrExpired = errors.New("models: bundle expired")
)

// BundleError describes what is wrong with a bundle: Path names the field ("campaigns[3].slot"),
// Msg says what is wrong with it. It wraps ErrBadBundle (and ErrUnknownFormat for a bad Format).
type BundleError struct {
	Path string
	Msg  string

	format bool
}

func (e *BundleError) Error() string {
	s := "models: bad bundle: "
	if e.format {
		s = "models: unknown bundle format: "
	}
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Msg
}

// Unwrap returns ErrBadBundle, and ErrUnknownFormat first for a format error.
func (e *BundleError) Unwrap() []error {
	if e.format {
		return []error{ErrUnknownFormat, ErrBadBundle}
	}
	return []error{ErrBadBundle}
}

// bad returns a *BundleError. It is only called on the error path, so building the path strings
// costs nothing for valid bundles.
func bad(path, msg string) error { return &BundleError{Path: path, Msg: msg} }

// itoa formats i in decimal (strconv is not linked into the module).
func itoa(i int) string {
	var b [20]byte
	n := len(b)
	neg := i < 0
	u := uint64(i)
	if neg {
		u = -u
	}
	for {
		n--
		b[n] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			break
		}
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}

// idx formats name[i].
func idx(name string, i int) string { return name + "[" + itoa(i) + "]" }

// quote returns s in double quotes with quotes, backslashes and control bytes escaped, cut to 64
// bytes: enough to recognise an id in a message without echoing arbitrary input back.
func quote(s string) string {
	const hex = "0123456789abcdef"
	const max = 64
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if i == max {
			b = append(b, "..."...)
			break
		}
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'x', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}
