package edge

import (
	"bytes"
	"compress/flate"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The profile cookie's value is base64url (no padding) of
//
//	format (1 byte) | payload | tag (16 bytes)
//
// where format 1 is the module's saved profile as it is (CBOR) and format 2 the same bytes
// compressed with DEFLATE, used only when the plain form would not fit. The tag is HMAC-SHA256 over
// the cookie's name, a zero byte, the format and the payload, truncated to 128 bits (RFC 2104 §5
// allows truncating to half the hash): binding the name stops a value being replayed under another
// cookie, and 16 bytes of tag instead of 32 leave room for profile. The payload is not encrypted: it
// holds the visitor's own first-party signals, which the visitor may read, but must not forge, since
// forged history would buy offers (the tag prevents that).
const (
	formatPlain   = 1
	formatDeflate = 2
	tagBytes      = 16

	// maxInflated bounds a decompressed profile, so that a cookie cannot be a decompression bomb:
	// the module refuses saved profiles above 64 KiB anyway.
	maxInflated = 64 << 10
)

var (
	errCookieTooLarge = errors.New("edge: profile cookie too large")
	errCookieBad      = errors.New("edge: bad profile cookie")
)

// cookieCodec signs, verifies, compresses and encodes profile cookies.
type cookieCodec struct {
	name   string
	keys   [][]byte
	maxLen int // of the base64url value
}

// decode returns the profile in value, or errCookieBad (wrapped with the reason) when it is not a
// value this codec wrote with one of its keys.
func (c *cookieCodec) decode(value string) ([]byte, error) {
	if len(value) > c.maxLen*2 { // generous: an old, larger limit still decodes; a huge value does not
		return nil, fmt.Errorf("%w: %d bytes", errCookieBad, len(value))
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCookieBad, err)
	}
	if len(raw) < 1+tagBytes {
		return nil, fmt.Errorf("%w: %d bytes", errCookieBad, len(raw))
	}
	body, tag := raw[:len(raw)-tagBytes], raw[len(raw)-tagBytes:]
	ok := false
	for _, k := range c.keys {
		if hmac.Equal(c.tag(k, body), tag) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: signature does not verify with any key", errCookieBad)
	}
	switch body[0] {
	case formatPlain:
		return body[1:], nil
	case formatDeflate:
		p, err := inflate(body[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errCookieBad, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("%w: format %d", errCookieBad, body[0])
}

// encode returns the cookie value holding profile, plain if it fits and compressed otherwise;
// errCookieTooLarge if neither fits.
func (c *cookieCodec) encode(profile []byte) (value string, compressed bool, err error) {
	if v, ok := c.seal(formatPlain, profile); ok {
		return v, false, nil
	}
	if v, ok := c.seal(formatDeflate, deflate(profile)); ok {
		return v, true, nil
	}
	return "", false, fmt.Errorf("%w: %d bytes of profile do not fit %d bytes even compressed", errCookieTooLarge, len(profile), c.maxLen)
}

// seal signs and encodes one format; ok is false when the value would exceed maxLen.
func (c *cookieCodec) seal(format byte, payload []byte) (string, bool) {
	n := 1 + len(payload) + tagBytes
	if base64.RawURLEncoding.EncodedLen(n) > c.maxLen {
		return "", false
	}
	body := make([]byte, 1, n)
	body[0] = format
	body = append(body, payload...)
	body = append(body, c.tag(c.keys[0], body)...)
	return base64.RawURLEncoding.EncodeToString(body), true
}

func (c *cookieCodec) tag(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(c.name))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)[:tagBytes]
}

// flate writers are large (about 1 MiB of state): they are reused.
var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestCompression) // never fails for a valid level
	return w
}}

func deflate(p []byte) []byte {
	var buf bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	w.Reset(&buf)
	w.Write(p) // a bytes.Buffer never fails
	w.Close()
	deflaters.Put(w)
	return buf.Bytes()
}

func inflate(p []byte) ([]byte, error) {
	r := flate.NewReader(bytes.NewReader(p))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	if len(out) > maxInflated {
		return nil, fmt.Errorf("inflates past %d bytes", maxInflated)
	}
	return out, nil
}
