package msg

import "unicode/utf8"

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
			return AppendInt(b, int64(v))
		case int8:
			return AppendInt(b, int64(v))
		case int16:
			return AppendInt(b, int64(v))
		case int32:
			return AppendInt(b, int64(v))
		case int64:
			return AppendInt(b, v)
		case uint:
			return appendUint(b, uint64(v))
		case uint8:
			return appendUint(b, uint64(v))
		case uint16:
			return appendUint(b, uint64(v))
		case uint32:
			return appendUint(b, uint64(v))
		case uint64:
			return appendUint(b, v)
		}
	case 'g':
		switch v := arg.(type) {
		case float64:
			return AppendFloat(b, v)
		case float32:
			return AppendFloat(b, float64(v))
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

// AppendInt appends the decimal form of v.
func AppendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendUint(append(b, '-'), uint64(-v))
	}
	return appendUint(b, uint64(v))
}

func appendUint(b []byte, v uint64) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}

// AppendFloat appends v with up to 6 significant digits, in plain or exponent form like %g.
func AppendFloat(b []byte, v float64) []byte {
	switch {
	case v != v:
		return append(b, "NaN"...)
	case v > maxFloat:
		return append(b, "+Inf"...)
	case v < -maxFloat:
		return append(b, "-Inf"...)
	case v == 0:
		return append(b, '0')
	case v < 0:
		b = append(b, '-')
		v = -v
	}
	exp := 0
	for v >= 10 {
		v /= 10
		exp++
	}
	for v < 1 {
		v *= 10
		exp--
	}
	digits := uint64(float64(v*1e5) + 0.5) // 6 significant digits; float64(): no fused multiply-add
	if digits >= 1000000 {
		digits /= 10
		exp++
	}
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + digits%10)
		digits /= 10
	}
	n := 6
	for n > 1 && d[n-1] == '0' {
		n--
	}
	if exp < -4 || exp >= 6 {
		b = append(b, d[0])
		if n > 1 {
			b = append(append(b, '.'), d[1:n]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b, exp = append(b, '-'), -exp
		} else {
			b = append(b, '+')
		}
		if exp < 10 {
			b = append(b, '0')
		}
		return appendUint(b, uint64(exp))
	}
	if exp < 0 {
		b = append(b, '0', '.')
		for i := -1; i > exp; i-- {
			b = append(b, '0')
		}
		return append(b, d[:n]...)
	}
	if n <= exp+1 {
		b = append(b, d[:n]...)
		for i := n; i <= exp; i++ {
			b = append(b, '0')
		}
		return b
	}
	b = append(b, d[:exp+1]...)
	return append(append(b, '.'), d[exp+1:n]...)
}

// Is reports whether target is in err's chain, following Unwrap() error and Unwrap() []error.
// Targets are sentinel errors of comparable types, so comparing with == cannot panic.
func Is(err, target error) bool {
	for err != nil {
		if err == target {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if Is(e, target) {
					return true
				}
			}
			return false
		case interface{ Is(error) bool }:
			return u.Is(target)
		default:
			return false
		}
	}
	return false
}

// As finds the first error of type T in err's chain.
func As[T error](err error) (T, bool) {
	for err != nil {
		if t, ok := err.(T); ok {
			return t, true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if t, ok := As[T](e); ok {
					return t, true
				}
			}
			err = nil
		default:
			err = nil
		}
	}
	var zero T
	return zero, false
}

const maxFloat = 1.7976931348623157e308
