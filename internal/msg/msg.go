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

// appendArg formats one argument. Integers of every type meet in one call of appendUint, so that
// the type switch stays small in the module.
func appendArg(b []byte, verb byte, arg any) []byte {
	switch verb {
	case 'd':
		var v int64
		switch x := arg.(type) {
		case int:
			v = int64(x)
		case int8:
			v = int64(x)
		case int16:
			v = int64(x)
		case int32:
			v = int64(x)
		case int64:
			v = x
		case uint:
			return appendUint(b, uint64(x))
		case uint8:
			v = int64(x)
		case uint16:
			v = int64(x)
		case uint32:
			v = int64(x)
		case uint64:
			return appendUint(b, x)
		default:
			return append(b, "%!d(BADTYPE)"...)
		}
		return AppendInt(b, v)
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

//go:noinline
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

// AppendFloat appends v with up to 6 significant digits, in plain or exponent form like %g. The
// text is built in a fixed buffer and appended once: each append costs code in the module.
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
	}
	var buf [32]byte
	k := 0
	if v < 0 {
		buf[k], k, v = '-', k+1, -v
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
	if exp < -4 || exp >= 6 { // d[0].d[1:n]e±XX
		buf[k], k = d[0], k+1
		if n > 1 {
			buf[k], k = '.', k+1
			k += copy(buf[k:], d[1:n])
		}
		buf[k], buf[k+1], k = 'e', '+', k+2
		if exp < 0 {
			buf[k-1], exp = '-', -exp
		}
		if exp < 10 {
			buf[k], k = '0', k+1
		}
		return appendUint(append(b, buf[:k]...), uint64(exp))
	}
	// Plain: the digit of each power of ten p from the highest (10⁰ at least) to the lowest (10⁰ at
	// most), zeros outside d, the point before 10⁻¹.
	for p := max(exp, 0); p >= min(exp-n+1, 0); p-- {
		if p == -1 {
			buf[k], k = '.', k+1
		}
		c := byte('0')
		if i := exp - p; i >= 0 && i < n {
			c = d[i]
		}
		buf[k], k = c, k+1
	}
	return append(b, buf[:k]...)
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
