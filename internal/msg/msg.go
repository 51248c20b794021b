// Package msg formats error messages without package fmt, which costs the wasm module about 100 KB.
//
// It understands %d (integers), %s (strings, errors, anything with String), %q (strings, quoted),
// %g (floats, shortest round-trip form via strconv) and %%. Anything else is printed as %!verb.
package msg

import (
	"strconv"
	"unicode/utf8"
)

// Errorf returns an error that wraps sentinel (errors.Is matches it) and reads
// "<sentinel>: <formatted detail>".
func Errorf(sentinel error, format string, args ...any) error {
	return &wrapped{sentinel: sentinel, detail: Sprintf(format, args...)}
}

type wrapped struct {
	sentinel error
	detail   string
}

func (w *wrapped) Error() string { return w.sentinel.Error() + ": " + w.detail }
func (w *wrapped) Unwrap() error { return w.sentinel }

// Sprintf formats like fmt.Sprintf for the verbs listed in the package doc.
func Sprintf(format string, args ...any) string {
	b := make([]byte, 0, len(format)+16*len(args))
	n := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b = append(b, c)
			continue
		}
		i++
		verb := format[i]
		if verb == '%' {
			b = append(b, '%')
			continue
		}
		if n >= len(args) {
			b = append(b, "%!"...)
			b = append(b, verb)
			b = append(b, "(MISSING)"...)
			continue
		}
		b = appendArg(b, verb, args[n])
		n++
	}
	return string(b)
}

func appendArg(b []byte, verb byte, arg any) []byte {
	switch verb {
	case 'd':
		switch v := arg.(type) {
		case int:
			return strconv.AppendInt(b, int64(v), 10)
		case int8:
			return strconv.AppendInt(b, int64(v), 10)
		case int16:
			return strconv.AppendInt(b, int64(v), 10)
		case int32:
			return strconv.AppendInt(b, int64(v), 10)
		case int64:
			return strconv.AppendInt(b, v, 10)
		case uint:
			return strconv.AppendUint(b, uint64(v), 10)
		case uint8:
			return strconv.AppendUint(b, uint64(v), 10)
		case uint16:
			return strconv.AppendUint(b, uint64(v), 10)
		case uint32:
			return strconv.AppendUint(b, uint64(v), 10)
		case uint64:
			return strconv.AppendUint(b, v, 10)
		}
	case 'g':
		switch v := arg.(type) {
		case float64:
			return strconv.AppendFloat(b, v, 'g', -1, 64)
		case float32:
			return strconv.AppendFloat(b, float64(v), 'g', -1, 32)
		}
	case 's', 'q':
		var s string
		switch v := arg.(type) {
		case string:
			s = v
		case error:
			s = v.Error()
		case interface{ String() string }:
			s = v.String()
		default:
			return append(b, "%!"+string(verb)+"(BADTYPE)"...)
		}
		if verb == 's' {
			return append(b, s...)
		}
		return appendQuoted(b, s)
	}
	return append(b, "%!"+string(verb)+"(BADTYPE)"...)
}

// appendQuoted quotes s in Go syntax for printable ASCII and UTF-8, escaping the rest as \xNN.
func appendQuoted(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\t':
			b = append(b, '\\', 't')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
			b = append(b, '\\', 'x', hex[s[i]>>4], hex[s[i]&15])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
