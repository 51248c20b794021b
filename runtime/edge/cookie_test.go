package edge

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestCookieCodec(t *testing.T) {
	oldKey := bytes.Repeat([]byte{1}, 32)
	newKey := bytes.Repeat([]byte{2}, 32)
	writer := &cookieCodec{name: "presage", keys: [][]byte{newKey, oldKey}, maxLen: 4096}
	oldWriter := &cookieCodec{name: "presage", keys: [][]byte{oldKey}, maxLen: 4096}
	stranger := &cookieCodec{name: "presage", keys: [][]byte{bytes.Repeat([]byte{3}, 32)}, maxLen: 4096}
	otherName := &cookieCodec{name: "other", keys: [][]byte{newKey}, maxLen: 4096}

	small := []byte{0xa2, 0x01, 0x02, 0x03, 0x04}
	compressible := bytes.Repeat([]byte("campaign-with-a-long-id/variant;"), 120) // 3,840 B: too big plain
	random := make([]byte, 3500)
	rand.Read(random)

	seal := func(c *cookieCodec, p []byte) string {
		v, _, err := c.encode(p)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		return v
	}
	tamper := func(v string) string {
		raw, _ := base64.RawURLEncoding.DecodeString(v)
		raw[1] ^= 1
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	tests := []struct {
		name    string
		value   string
		want    []byte // nil: errCookieBad
		decoder *cookieCodec
	}{
		{"plain round trip", seal(writer, small), small, writer},
		{"compressed round trip", seal(writer, compressible), compressible, writer},
		{"signed with the old key, after rotation", seal(oldWriter, small), small, writer},
		{"signed with the new key, old reader", seal(writer, small), nil, oldWriter},
		{"unknown key", seal(stranger, small), nil, writer},
		{"value of another cookie name", seal(otherName, small), nil, writer},
		{"tampered payload", tamper(seal(writer, small)), nil, writer},
		{"truncated", seal(writer, small)[:10], nil, writer},
		{"not base64", "!!!!", nil, writer},
		{"empty", "", nil, writer},
		{"huge", strings.Repeat("A", 9000), nil, writer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.decoder.decode(tc.value)
			if tc.want == nil {
				if !errors.Is(err, errCookieBad) {
					t.Fatalf("decode = %d bytes, %v; want errCookieBad", len(got), err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("decode = %d bytes, %v; want the %d bytes encoded", len(got), err, len(tc.want))
			}
			if len(tc.value) > 4096 {
				t.Errorf("value is %d bytes, over 4096", len(tc.value))
			}
		})
	}

	t.Run("incompressible overflow", func(t *testing.T) {
		_, _, err := writer.encode(random)
		if !errors.Is(err, errCookieTooLarge) {
			t.Fatalf("encode of 3,500 random bytes: %v, want errCookieTooLarge", err)
		}
	})
	t.Run("plain when it fits", func(t *testing.T) {
		_, compressed, err := writer.encode(bytes.Repeat([]byte{7}, 3000))
		if err != nil || compressed {
			t.Fatalf("encode 3,000 bytes: compressed=%v err=%v, want plain", compressed, err)
		}
	})
	t.Run("decompression bomb", func(t *testing.T) {
		v, ok := writer.seal(formatDeflate, deflate(make([]byte, 1<<20)))
		if !ok {
			t.Fatal("a deflated MiB of zeros should fit")
		}
		if _, err := writer.decode(v); !errors.Is(err, errCookieBad) {
			t.Fatalf("decode of a bomb: %v, want errCookieBad", err)
		}
	})
}
