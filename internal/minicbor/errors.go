package minicbor

// ErrorKind classifies a decoding error. Each kind is itself an error, so that callers can test
// with errors.Is(err, minicbor.ErrTruncated) without parsing messages.
type ErrorKind uint8

// The kinds of decoding errors.
const (
	ErrTruncated   ErrorKind = 1 + iota // the input ends inside an item, or a declared length exceeds the input
	ErrSyntax                           // reserved additional information, a stray break, or a malformed simple value
	ErrIndefinite                       // an indefinite-length string, array or map
	ErrTag                              // a tag (major type 6)
	ErrSimple                           // a simple value other than false, true and null (undefined included)
	ErrType                             // an item of another type than the one asked for
	ErrRange                            // an integer outside the range asked for
	ErrInexact                          // a number that the float type asked for cannot hold exactly
	ErrUTF8                             // a text string that is not valid UTF-8
	ErrDepth                            // arrays and maps nested deeper than Limits.MaxDepth
	ErrArrayLimit                       // an array longer than Limits.MaxArray
	ErrMapLimit                         // a map with more pairs than Limits.MaxMap
	ErrStringLimit                      // a string longer than Limits.MaxString bytes
	ErrKey                              // a struct map key that is not an unsigned integer below 64
	ErrDupKey                           // the same key twice in one struct map
	ErrUnfinished                       // Finish called inside an array or map
	ErrTrailing                         // bytes after the top-level item
)

var kindText = [...]string{
	"unknown error",
	"unexpected end of input",
	"malformed item",
	"indefinite length not supported",
	"tags not supported",
	"unsupported simple value",
	"unexpected item type",
	"integer out of range",
	"number not exactly representable",
	"invalid UTF-8 in text string",
	"nesting too deep",
	"array too long",
	"map too large",
	"string too long",
	"map key not an integer in 0..63",
	"duplicate map key",
	"array or map not fully read",
	"trailing bytes after the item",
}

// Error implements the error interface.
func (k ErrorKind) Error() string {
	if int(k) < len(kindText) {
		return "minicbor: " + kindText[k]
	}
	return "minicbor: " + kindText[0]
}

// Error is a decoding error: what went wrong and where. Offset is the byte offset of the initial
// byte of the offending item (or of the end of the input), so that a bad message can be located
// with a hex dump.
type Error struct {
	Kind    ErrorKind
	Offset  int
	Initial byte // the item's initial byte, for ErrType
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := e.Kind.Error() + " at offset " + itoa(e.Offset)
	if e.Kind == ErrType {
		const hex = "0123456789abcdef"
		s += " (initial byte 0x" + string([]byte{hex[e.Initial>>4], hex[e.Initial&15]}) + ")"
	}
	return s
}

// Unwrap returns the error's kind, which makes errors.Is(err, ErrTruncated) work.
func (e *Error) Unwrap() error { return e.Kind }

// itoa formats a non-negative offset; strconv is kept out of the wasm module.
func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
