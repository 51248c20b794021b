package minicbor

// Marshaler is a type that encodes itself; cborgen generates it for struct types.
type Marshaler interface {
	EncodeCBOR(e *Encoder)
}

// Unmarshaler is a type that decodes itself; cborgen generates it for struct types. DecodeCBOR
// resets the value first, so that decoding into a reused value leaves nothing stale.
type Unmarshaler interface {
	DecodeCBOR(d *Decoder)
}

// Marshal appends the encoding of v to dst and returns the extended slice.
func Marshal(dst []byte, v Marshaler) []byte {
	e := Encoder{buf: dst}
	v.EncodeCBOR(&e)
	return e.buf
}

// Unmarshal decodes data, which must hold exactly one item, into v. On error v may be partly
// filled and must not be used.
func Unmarshal(data []byte, v Unmarshaler, lim Limits) error {
	var d Decoder
	d.Reset(data, lim)
	v.DecodeCBOR(&d)
	return d.Finish()
}
