package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/presage-dev/presage/models"
)

// ErrBadSignature is returned when no trusted key verifies an envelope.
var ErrBadSignature = errors.New("signing: bad signature")

// KeyID names a public key: the first 8 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) []byte {
	sum := sha256.Sum256(pub)
	return sum[:8]
}

// Sign encodes b canonically and wraps it in a signed envelope.
func Sign(b *models.Bundle, priv ed25519.PrivateKey) []byte {
	payload := b.Encode()
	env := models.Envelope{
		Payload:   payload,
		KeyID:     KeyID(priv.Public().(ed25519.PublicKey)),
		Signature: ed25519.Sign(priv, signedBytes(payload)),
	}
	return env.Encode()
}

func signedBytes(payload []byte) []byte {
	return append([]byte(models.SignedPrefix), payload...)
}

// Verify checks an envelope against trusted public keys and returns the decoded, validated bundle.
// The payload must be in canonical form: a bundle re-encoded differently is refused, so that one bundle
// has exactly one signed representation.
func Verify(envelope []byte, trusted ...ed25519.PublicKey) (*models.Bundle, error) {
	env, err := models.DecodeEnvelope(envelope)
	if err != nil {
		return nil, err
	}
	if len(env.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature is %d bytes, want %d", ErrBadSignature, len(env.Signature), ed25519.SignatureSize)
	}
	ok := false
	for _, pub := range trusted {
		if len(env.KeyID) > 0 && !bytes.Equal(env.KeyID, KeyID(pub)) {
			continue
		}
		if ed25519.Verify(pub, signedBytes(env.Payload), env.Signature) {
			ok = true
			break
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: key id %x is not trusted or the bundle was altered", ErrBadSignature, env.KeyID)
	}
	b, err := models.Decode(env.Payload)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(b.Encode(), env.Payload) {
		return nil, fmt.Errorf("%w: payload is not in canonical form", models.ErrBadBundle)
	}
	return b, nil
}

// GenerateKey makes a new signing key from rand (crypto/rand.Reader in production).
func GenerateKey(rand io.Reader) (ed25519.PrivateKey, error) {
	_, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("signing: generate key: %w", err)
	}
	return priv, nil
}

// Key files hold one line: "presage-ed25519-private " or "presage-ed25519-public " followed by the
// base64 of the 32-byte seed or public key. Plain text, so that they can live in a secret manager.
const (
	privateTag = "presage-ed25519-private "
	publicTag  = "presage-ed25519-public "
)

// MarshalPrivate and MarshalPublic encode keys in the key-file format.
func MarshalPrivate(priv ed25519.PrivateKey) []byte {
	return []byte(privateTag + base64.StdEncoding.EncodeToString(priv.Seed()) + "\n")
}

// MarshalPublic encodes a public key in the key-file format.
func MarshalPublic(pub ed25519.PublicKey) []byte {
	return []byte(publicTag + base64.StdEncoding.EncodeToString(pub) + "\n")
}

// ParsePrivate reads a private key file's contents.
func ParsePrivate(data []byte) (ed25519.PrivateKey, error) {
	raw, err := parseKey(data, privateTag, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(raw), nil
}

// ParsePublic reads a public key file's contents.
func ParsePublic(data []byte) (ed25519.PublicKey, error) {
	raw, err := parseKey(data, publicTag, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(raw), nil
}

func parseKey(data []byte, tag string, size int) ([]byte, error) {
	s := strings.TrimSpace(string(data))
	if !strings.HasPrefix(s, tag) {
		return nil, fmt.Errorf("signing: not a key file: want a line starting %q", strings.TrimSpace(tag))
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, tag))
	if err != nil {
		return nil, fmt.Errorf("signing: key file: %w", err)
	}
	if len(raw) != size {
		return nil, fmt.Errorf("signing: key file: %d bytes, want %d", len(raw), size)
	}
	return raw, nil
}

// LoadPrivate reads a private key file. The file should be readable by its owner only.
func LoadPrivate(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	k, err := ParsePrivate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadPublic reads a public key file.
func LoadPublic(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	k, err := ParsePublic(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}
