package models

import (
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/internal/msg"
)

// Encode returns the bundle's canonical CBOR: integer keys in ascending order, shortest integer
// heads, no indefinite lengths. The same bundle always gives the same bytes, which is what is signed.
func (b *Bundle) Encode() []byte {
	var e minicbor.Encoder
	b.EncodeCBOR(&e)
	return e.Bytes()
}

// Encode returns the envelope's canonical CBOR.
func (e *Envelope) Encode() []byte {
	var enc minicbor.Encoder
	e.EncodeCBOR(&enc)
	return enc.Bytes()
}

// The codec is called directly, never through minicbor's Marshaler interfaces, so that the module
// links only the methods it uses (see agent/call.go).

// Decode reads a bundle's payload with the bundle limits, then validates it. Byte-string tables of the
// bundle (neighbours, factors) alias payload: keep payload unchanged while the bundle is in use.
// A payload of another format version gives ErrUnknownFormat even when it no longer decodes as this one.
func Decode(payload []byte) (*Bundle, error) {
	b := new(Bundle)
	var d minicbor.Decoder
	d.Reset(payload, minicbor.BundleLimits)
	b.DecodeCBOR(&d)
	if err := d.Finish(); err != nil {
		if f, ok := peekFormat(payload); ok && f != FormatVersion {
			return nil, msg.Errorf(ErrUnknownFormat, "format %d, this module reads %d", f, FormatVersion)
		}
		return nil, msg.Errorf(ErrBadBundle, "%s", err)
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// DecodeEnvelope reads the signed container without checking the signature (see package signing).
func DecodeEnvelope(data []byte) (*Envelope, error) {
	e := new(Envelope)
	var d minicbor.Decoder
	d.Reset(data, minicbor.BundleLimits)
	e.DecodeCBOR(&d)
	if err := d.Finish(); err != nil {
		return nil, msg.Errorf(ErrBadBundle, "envelope: %s", err)
	}
	if len(e.Payload) == 0 {
		return nil, msg.Errorf(ErrBadBundle, "envelope: no payload")
	}
	return e, nil
}

// Open decodes an envelope and the bundle inside. It does not check the signature: hosts do, with
// their platform's crypto (package signing in Go, WebCrypto in browsers), before handing the bytes on.
func Open(data []byte) (*Bundle, error) {
	e, err := DecodeEnvelope(data)
	if err != nil {
		return nil, err
	}
	return Decode(e.Payload)
}

// peekFormat reads key 1 (Format) of a payload map without decoding the rest.
func peekFormat(payload []byte) (uint64, bool) {
	var d minicbor.Decoder
	d.Reset(payload, minicbor.BundleLimits)
	n := d.MapHeader()
	for i := 0; i < n && d.Err() == nil; i++ {
		if d.Uint(1<<32) == 1 {
			f := d.Uint(1 << 32)
			return f, d.Err() == nil
		}
		d.Skip()
	}
	return 0, false
}
