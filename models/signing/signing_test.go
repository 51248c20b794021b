package signing

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
)

func key(seed byte) ed25519.PrivateKey { return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32)) }

func bundle() *models.Bundle {
	return &models.Bundle{Format: models.FormatVersion, Version: 7, Site: "shop",
		Features:   []string{"session_pages"},
		Propensity: []models.Logistic{{Name: "buy", Features: []uint16{0}, Weights: []float32{0.5}, Bias: -1}}}
}

func envelopeOf(t *testing.T, data []byte) models.Envelope {
	t.Helper()
	var e models.Envelope
	var d minicbor.Decoder
	d.Reset(data, minicbor.BundleLimits)
	e.DecodeCBOR(&d)
	if err := d.Finish(); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSignVerify(t *testing.T) {
	priv, other := key(1), key(2)
	pub, otherPub := priv.Public().(ed25519.PublicKey), other.Public().(ed25519.PublicKey)
	signed := Sign(bundle(), priv)

	tamper := func(f func(e *models.Envelope)) []byte {
		e := envelopeOf(t, signed)
		e.Payload = bytes.Clone(e.Payload)
		f(&e)
		return e.Encode()
	}
	// A payload that decodes to the same bundle but is not canonical: Version written as a
	// two-byte integer where one byte suffices, signed properly.
	b := bundle()
	canonical := b.Encode()
	nonCanonical := bytes.Replace(canonical, []byte{0x02, 0x07}, []byte{0x02, 0x18, 0x07}, 1)
	resigned := models.Envelope{Payload: nonCanonical, KeyID: KeyID(pub),
		Signature: ed25519.Sign(priv, append([]byte(models.SignedPrefix), nonCanonical...))}

	tests := []struct {
		name    string
		data    []byte
		trusted []ed25519.PublicKey
		want    error
	}{
		{"valid", signed, []ed25519.PublicKey{pub}, nil},
		{"valid among several keys", signed, []ed25519.PublicKey{otherPub, pub}, nil},
		{"untrusted key", signed, []ed25519.PublicKey{otherPub}, ErrBadSignature},
		{"no trusted key", signed, nil, ErrBadSignature},
		{"payload altered", tamper(func(e *models.Envelope) { e.Payload[len(e.Payload)-1] ^= 1 }), []ed25519.PublicKey{pub}, ErrBadSignature},
		{"signature altered", tamper(func(e *models.Envelope) { e.Signature[0] ^= 1 }), []ed25519.PublicKey{pub}, ErrBadSignature},
		{"signature truncated", tamper(func(e *models.Envelope) { e.Signature = e.Signature[:10] }), []ed25519.PublicKey{pub}, ErrBadSignature},
		{"key id of another key", tamper(func(e *models.Envelope) { e.KeyID = KeyID(otherPub) }), []ed25519.PublicKey{pub}, ErrBadSignature},
		{"not canonical", resigned.Encode(), []ed25519.PublicKey{pub}, models.ErrBadBundle},
		{"garbage", []byte{0xff, 0x00}, []ed25519.PublicKey{pub}, models.ErrBadBundle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(tc.data, tc.trusted...)
			if tc.want == nil {
				if err != nil || got.Version != 7 || got.Site != "shop" {
					t.Fatalf("Verify = %+v, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if bytes.Equal(canonical, nonCanonical) {
		t.Fatal("the non-canonical payload is not different: the test proves nothing")
	}
	if d, err := models.Decode(nonCanonical); err != nil || d.Version != 7 {
		t.Fatalf("the non-canonical payload must decode to the same bundle (%v): only canonical form may refuse it", err)
	}
}

// A signature over a bundle must not verify anything else: the prefix separates domains.
func TestSignatureCoversPrefix(t *testing.T) {
	priv := key(3)
	e := envelopeOf(t, Sign(bundle(), priv))
	if ed25519.Verify(priv.Public().(ed25519.PublicKey), e.Payload, e.Signature) {
		t.Fatal("the signature verifies the bare payload: no domain separation")
	}
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	priv := key(4)
	pub := priv.Public().(ed25519.PublicKey)
	pp, pubp := filepath.Join(dir, "k"), filepath.Join(dir, "k.pub")
	if err := os.WriteFile(pp, MarshalPrivate(priv), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubp, MarshalPublic(pub), 0o644); err != nil {
		t.Fatal(err)
	}
	gotPriv, err := LoadPrivate(pp)
	if err != nil || !gotPriv.Equal(priv) {
		t.Fatalf("LoadPrivate = %v", err)
	}
	gotPub, err := LoadPublic(pubp)
	if err != nil || !gotPub.Equal(pub) {
		t.Fatalf("LoadPublic = %v", err)
	}
	for name, data := range map[string][]byte{
		"public as private": MarshalPublic(pub),
		"not base64":        []byte("presage-ed25519-private !!!\n"),
		"short seed":        []byte("presage-ed25519-private AAAA\n"),
		"empty":             nil,
	} {
		if _, err := ParsePrivate(data); err == nil {
			t.Errorf("ParsePrivate(%s) accepted", name)
		}
	}
	if _, err := ParsePublic(MarshalPrivate(priv)); err == nil {
		t.Error("ParsePublic accepted a private key file")
	}
	if _, err := LoadPrivate(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadPrivate of a missing file succeeded")
	}
}
