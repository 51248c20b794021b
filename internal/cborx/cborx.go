package cborx

import (
	"github.com/fxamacker/cbor/v2"
)

// Limits of DecMode. They are at least minicbor's (BundleLimits, MaxDepthCap), so that anything
// minicbor accepts DecMode accepts too; fxamacker checks them while validating the whole input,
// before it allocates anything for it.
const (
	// MaxNestedLevels bounds nested arrays and maps (a top-level map is level 1). Our types nest 6
	// deep; the bound stops stack exhaustion by deeply nested junk. Equal to minicbor.MaxDepthCap.
	MaxNestedLevels = 32

	// MaxArrayElements bounds one array. Bundle catalogue arrays hold at most 65,536 items
	// (indices are uint16); 1 Mi leaves room and equals minicbor.BundleLimits.MaxArray.
	MaxArrayElements = 1 << 20

	// MaxMapPairs bounds one map. Our maps are structs with at most 64 integer keys; 1024 is
	// above minicbor's MaxMap (256) and small enough that duplicate detection stays cheap.
	MaxMapPairs = 1024
)

// EncMode encodes like minicbor. Options, each needed for identical bytes:
//   - Sort: SortCoreDeterministic (RFC 8949 §4.2.1, bytewise order of encoded keys). minicbor
//     writes struct keys 0..63 in ascending order, which is that order.
//   - ShortestFloat: ShortestFloatNone. minicbor writes float32 as 0xfa and float64 as 0xfb
//     whatever the value; shortening would turn 1.0 into a 3-byte half.
//   - NaNConvert: NaNConvertNone and InfConvert: InfConvertNone. The defaults rewrite every NaN as
//     the half 0xf97e00 and infinities as halves; minicbor keeps the width and the NaN payload.
//   - NilContainers: NilContainerAsNull. A nil slice without omitempty is null, as minicbor's
//     generated code writes it.
//   - OmitEmpty: OmitEmptyCBORValue, whose rules (zero numbers including -0, false, "", empty
//     slices, nil pointers, structs with nothing to write) the generator reproduces.
//   - IndefLength: IndefLengthForbidden, TagsMd: TagsForbidden: minicbor has neither.
//   - BinaryMarshaler: BinaryMarshalerNone, TextMarshaler: TextMarshalerNone. A type gaining a
//     MarshalBinary method must not change its encoding here and not in minicbor.
var EncMode cbor.EncMode

// DecMode decodes untrusted input. Options:
//   - DupMapKey: DupMapKeyEnforcedAPF. A duplicate key is an error, not "last one wins": two
//     readers of the same bytes must never see different values (minicbor refuses them too).
//   - MaxNestedLevels, MaxArrayElements, MaxMapPairs: see the constants.
//   - IndefLength: IndefLengthForbidden. Indefinite lengths are not canonical and hide the size
//     of an item until its end.
//   - TagsMd: TagsForbidden (and BignumTag: BignumTagForbidden): no type needs tags, and tags
//     are the way into big.Int and time parsing.
//   - UTF8: UTF8RejectInvalid. Invalid UTF-8 in a text string is an error.
//   - SimpleValues: every simple value but false, true and null is rejected, undefined included
//     (fxamacker would otherwise read undefined as a zero value, minicbor refuses it).
//   - FieldNameMatching: FieldNameMatchingCaseSensitive; ByteStringToString and
//     FieldNameByteString: forbidden. Our keys are integers; nothing fuzzy.
//   - BinaryUnmarshaler: BinaryUnmarshalerNone, TextUnmarshaler: TextUnmarshalerNone, as in
//     EncMode.
//   - NaN and Inf: allowed. Bundles use ±Inf for open predicate bands.
//   - ExtraReturnErrors: none. Unknown keys are skipped, so that older readers accept messages
//     from newer writers, as minicbor does.
var DecMode cbor.DecMode

// EncOptions returns EncMode's options.
func EncOptions() cbor.EncOptions {
	return cbor.EncOptions{
		Sort:            cbor.SortCoreDeterministic,
		ShortestFloat:   cbor.ShortestFloatNone,
		NaNConvert:      cbor.NaNConvertNone,
		InfConvert:      cbor.InfConvertNone,
		IndefLength:     cbor.IndefLengthForbidden,
		NilContainers:   cbor.NilContainerAsNull,
		TagsMd:          cbor.TagsForbidden,
		OmitEmpty:       cbor.OmitEmptyCBORValue,
		String:          cbor.StringToTextString,
		BinaryMarshaler: cbor.BinaryMarshalerNone,
		TextMarshaler:   cbor.TextMarshalerNone,
	}
}

// DecOptions returns DecMode's options.
func DecOptions() cbor.DecOptions {
	var rejected []func(*cbor.SimpleValueRegistry) error
	for sv := range 256 {
		if sv < 20 || sv == 23 || sv >= 32 { // keep false (20), true (21), null (22); 24..31 are reserved
			rejected = append(rejected, cbor.WithRejectedSimpleValue(cbor.SimpleValue(sv)))
		}
	}
	simple, err := cbor.NewSimpleValueRegistryFromDefaults(rejected...)
	if err != nil {
		panic("cborx: " + err.Error())
	}
	return cbor.DecOptions{
		DupMapKey:           cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:     MaxNestedLevels,
		MaxArrayElements:    MaxArrayElements,
		MaxMapPairs:         MaxMapPairs,
		IndefLength:         cbor.IndefLengthForbidden,
		TagsMd:              cbor.TagsForbidden,
		BignumTag:           cbor.BignumTagForbidden,
		UTF8:                cbor.UTF8RejectInvalid,
		SimpleValues:        simple,
		FieldNameMatching:   cbor.FieldNameMatchingCaseSensitive,
		ByteStringToString:  cbor.ByteStringToStringForbidden,
		FieldNameByteString: cbor.FieldNameByteStringForbidden,
		BinaryUnmarshaler:   cbor.BinaryUnmarshalerNone,
		TextUnmarshaler:     cbor.TextUnmarshalerNone,
		NaN:                 cbor.NaNDecodeAllowed,
		Inf:                 cbor.InfDecodeAllowed,
		ExtraReturnErrors:   cbor.ExtraDecErrorNone,
	}
}

func init() {
	var err error
	if EncMode, err = EncOptions().EncMode(); err != nil {
		panic("cborx: " + err.Error())
	}
	if DecMode, err = DecOptions().DecMode(); err != nil {
		panic("cborx: " + err.Error())
	}
}
