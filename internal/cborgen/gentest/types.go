package gentest

//go:generate go run .. -type All,Inner,OnlyOmit,Empty

// Named basic types, as enums are declared.
type (
	Small uint8
	Big   int64
	Name  string
	Flag  bool
	Ratio float32
	Level int16
	Alias = Level
	Names []string
	Blob  []byte
)

// Inner is a struct whose fields are all omitempty.
type Inner struct {
	A uint16 `cbor:"1,keyasint,omitempty"`
	B string `cbor:"2,keyasint,omitempty"`
}

// OnlyOmit nests an all-omitempty struct in an all-omitempty struct.
type OnlyOmit struct {
	X  int8  `cbor:"0,keyasint,omitempty"`
	In Inner `cbor:"1,keyasint,omitempty"`
}

// Empty has no fields: fxamacker always omits it under omitempty.
type Empty struct{}

// All has one field of every supported shape, more than 24 of them (2-byte map heads).
type All struct {
	B       bool      `cbor:"0,keyasint"`
	I8      int8      `cbor:"1,keyasint"`
	I16     int16     `cbor:"2,keyasint,omitempty"`
	I32     int32     `cbor:"3,keyasint"`
	I64     int64     `cbor:"4,keyasint,omitempty"`
	I       int       `cbor:"5,keyasint"`
	U8      uint8     `cbor:"6,keyasint"`
	U16     uint16    `cbor:"7,keyasint,omitempty"`
	U32     uint32    `cbor:"8,keyasint"`
	U64     uint64    `cbor:"9,keyasint,omitempty"`
	U       uint      `cbor:"10,keyasint"`
	F32     float32   `cbor:"11,keyasint"`
	F64     float64   `cbor:"12,keyasint,omitempty"`
	S       string    `cbor:"13,keyasint"`
	Bytes   []byte    `cbor:"14,keyasint"`
	Sm      Small     `cbor:"15,keyasint,omitempty"`
	Bg      Big       `cbor:"16,keyasint"`
	Nm      Name      `cbor:"17,keyasint,omitempty"`
	Fl      Flag      `cbor:"18,keyasint"`
	Ra      Ratio     `cbor:"19,keyasint,omitempty"`
	Al      Alias     `cbor:"20,keyasint"`
	Smalls  []Small   `cbor:"21,keyasint"`
	Levels  []Level   `cbor:"22,keyasint,omitempty"`
	Ratios  []Ratio   `cbor:"23,keyasint"`
	F64s    []float64 `cbor:"24,keyasint,omitempty"`
	Bools   []Flag    `cbor:"25,keyasint"`
	Strs    Names     `cbor:"26,keyasint"`
	Blob    Blob      `cbor:"27,keyasint,omitempty"`
	U32s    []uint32  `cbor:"28,keyasint"`
	I64s    []int64   `cbor:"29,keyasint,omitempty"`
	Ints    []int     `cbor:"30,keyasint"`
	In      Inner     `cbor:"31,keyasint"`
	InO     Inner     `cbor:"32,keyasint,omitempty"`
	OO      OnlyOmit  `cbor:"33,keyasint,omitempty"`
	Em      Empty     `cbor:"34,keyasint,omitempty"`
	EmV     Empty     `cbor:"35,keyasint"`
	P       *Inner    `cbor:"36,keyasint"`
	PO      *Inner    `cbor:"37,keyasint,omitempty"`
	Ins     []Inner   `cbor:"38,keyasint"`
	InsO    []Inner   `cbor:"39,keyasint,omitempty"`
	Rune    rune      `cbor:"40,keyasint,omitempty"`
	Byte    byte      `cbor:"41,keyasint,omitempty"`
	Self    *All      `cbor:"42,keyasint,omitempty"`
	Key63   uint8     `cbor:"63,keyasint,omitempty"`
	Skipped string    `cbor:"-"`
	hidden  int
}
