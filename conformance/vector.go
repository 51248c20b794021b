package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
)

// Spec is the version of the vector format this package reads and writes. A runner refuses a vector
// of another spec rather than guess what its fields mean.
const Spec = 1

// Vector is one conformance test: calls replayed in order on a fresh module instance, each expected
// to answer exactly ReplyHex. See the package documentation for the file format.
type Vector struct {
	Spec        int    `json:"spec"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Calls       []Call `json:"calls"`

	// File is where the vector was loaded from; empty for a vector built in memory.
	File string `json:"-"`
}

// Call is one call across the ABI: an operation, its request bytes and the reply expected.
type Call struct {
	Op         uint32 `json:"op"`
	OpName     string `json:"op_name,omitempty"` // informative
	RequestHex string `json:"request_hex"`
	ReplyHex   string `json:"reply_hex"`
	// Request and Reply are the same bytes decoded for people to read. They are informative only:
	// runners compare bytes, and a future Go may print the same value differently.
	Request json.RawMessage `json:"request,omitempty"`
	Reply   json.RawMessage `json:"reply,omitempty"`

	In  []byte `json:"-"` // RequestHex decoded
	Out []byte `json:"-"` // ReplyHex decoded
}

// Load reads every *.json file of dir, in name order, as a vector, and checks that each is one this
// package can replay: the right spec, at least one call, an OpLoadBundle first, valid hex.
func Load(dir string) ([]Vector, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("conformance: no vectors (*.json) in %s", dir)
	}
	slices.Sort(files)
	var out []Vector
	for _, f := range files {
		v, err := LoadFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// LoadFile reads one vector file.
func LoadFile(path string) (Vector, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Vector{}, fmt.Errorf("conformance: %w", err)
	}
	var v Vector // unknown fields are ignored: spec 1 may gain informative ones
	if err := json.Unmarshal(data, &v); err != nil {
		return Vector{}, fmt.Errorf("conformance: %s: %w", path, err)
	}
	v.File = path
	if err := v.check(); err != nil {
		return Vector{}, fmt.Errorf("conformance: %s: %w", path, err)
	}
	return v, nil
}

func (v *Vector) check() error {
	switch {
	case v.Spec != Spec:
		return fmt.Errorf("spec %d, this runner reads spec %d", v.Spec, Spec)
	case v.Name == "":
		return errors.New("no name")
	case len(v.Calls) == 0:
		return errors.New("no calls")
	case wire.Op(v.Calls[0].Op) != wire.OpLoadBundle:
		return fmt.Errorf("first call is op %d, want %d (load bundle): every vector starts by loading its bundle", v.Calls[0].Op, wire.OpLoadBundle)
	}
	for i := range v.Calls {
		c := &v.Calls[i]
		var err error
		if c.In, err = hex.DecodeString(c.RequestHex); err != nil {
			return fmt.Errorf("calls[%d].request_hex: %w", i, err)
		}
		if c.Out, err = hex.DecodeString(c.ReplyHex); err != nil {
			return fmt.Errorf("calls[%d].reply_hex: %w", i, err)
		}
	}
	return nil
}

// Mismatch is the error of a replay whose reply differs from the expected one.
type Mismatch struct {
	Vector    string
	Index     int // of the call in Vector.Calls
	Op        wire.Op
	Request   []byte
	Want, Got []byte
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("conformance: %s: call %d (%s): reply differs\n request: %s\n want: %s\n       %x\n got:  %s\n       %x",
		m.Vector, m.Index, OpName(m.Op), requestJSON(m.Op, m.Request), DescribeReply(m.Want), m.Want, DescribeReply(m.Got), m.Got)
}

// Replay runs v's calls in order through call and compares each reply with the expected bytes. It
// stops at the first difference and returns a *Mismatch that shows both replies decoded; an error of
// call itself (a trap, a refused input) is returned wrapped, with the call's index. call must start
// from a fresh instance (or agent): the first call loads the vector's bundle.
func Replay(v Vector, call func(op wire.Op, req []byte) ([]byte, error)) error {
	for i := range v.Calls {
		c := &v.Calls[i]
		got, err := call(wire.Op(c.Op), c.In)
		if err != nil {
			return fmt.Errorf("conformance: %s: call %d (%s): %w", v.Name, i, OpName(wire.Op(c.Op)), err)
		}
		if !bytes.Equal(got, c.Out) {
			return &Mismatch{Vector: v.Name, Index: i, Op: wire.Op(c.Op), Request: c.In, Want: bytes.Clone(c.Out), Got: bytes.Clone(got)}
		}
	}
	return nil
}

var opNames = [...]string{"op 0", "info", "load_bundle", "load_profile", "save_profile", "handle", "drain", "explain", "forget"}

// OpName names an operation for people ("handle"), or "op N" for an unknown one.
func OpName(op wire.Op) string {
	if int64(op) < int64(len(opNames)) {
		return opNames[op]
	}
	return fmt.Sprintf("op %d", uint32(op))
}

// DescribeReply decodes reply bytes to JSON for people, or says why they do not decode.
func DescribeReply(b []byte) string {
	return string(replyJSON(b))
}

// replyJSON is the informative JSON of a reply: the wire.Reply, with a profile decoded too.
func replyJSON(b []byte) json.RawMessage {
	var r wire.Reply
	if err := minicbor.Unmarshal(b, &r, minicbor.DefaultLimits); err != nil {
		return undecodable(err)
	}
	return readable(&r)
}

// requestJSON is the informative JSON of a request: a wire.Request for most operations, a summary
// of the envelope for OpLoadBundle, nothing for the operations that take no input.
func requestJSON(op wire.Op, b []byte) json.RawMessage {
	switch op {
	case wire.OpLoadBundle:
		return envelopeJSON(b)
	case wire.OpInfo, wire.OpSaveProfile, wire.OpExplain:
		if len(b) == 0 {
			return nil
		}
		return marshal(map[string]string{"ignored": fmt.Sprintf("%d bytes: this operation reads no input", len(b))})
	}
	if !op.Valid() {
		if len(b) == 0 {
			return nil
		}
		return marshal(map[string]string{"ignored": fmt.Sprintf("%d bytes: unknown operation", len(b))})
	}
	var r wire.Request
	if err := minicbor.Unmarshal(b, &r, minicbor.DefaultLimits); err != nil {
		return undecodable(err)
	}
	return readable(&r)
}

// envelopeJSON summarises a bundle envelope: which bundle, not its thousands of numbers.
func envelopeJSON(b []byte) json.RawMessage {
	sum := sha256.Sum256(b)
	out := map[string]any{"envelope_bytes": len(b), "envelope_sha256": hex.EncodeToString(sum[:])}
	env, err := models.DecodeEnvelope(b)
	if err != nil {
		out["undecodable"] = err.Error()
		return marshal(out)
	}
	out["key_id"] = hex.EncodeToString(env.KeyID)
	bundle, err := models.Decode(env.Payload)
	if err != nil {
		out["bundle_undecodable"] = err.Error()
		return marshal(out)
	}
	out["bundle"] = map[string]any{"format": bundle.Format, "version": bundle.Version, "created": bundle.Created,
		"expires": bundle.Expires, "site": bundle.Site, "items": len(bundle.Items), "categories": len(bundle.Categories)}
	return marshal(out)
}

// readable writes a wire value as JSON with exactly the fields its CBOR carries: a field tagged
// omitempty is left out when zero, as the encoder leaves it out. Field names are the Go names of
// agent/wire; floats print as their shortest decimal (float32 at 32 bits), NaN and infinities as
// strings; a Profile byte string is shown decoded (agent.Profile) after its size.
func readable(v any) json.RawMessage {
	var buf bytes.Buffer
	writeReadable(&buf, reflect.ValueOf(v), "")
	return buf.Bytes()
}

func writeReadable(buf *bytes.Buffer, v reflect.Value, field string) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			buf.WriteString("null")
			return
		}
		writeReadable(buf, v.Elem(), field)
	case reflect.Struct:
		buf.WriteByte('{')
		t := v.Type()
		n := 0
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			if strings.Contains(f.Tag.Get("cbor"), "omitempty") && v.Field(i).IsZero() {
				continue
			}
			if n > 0 {
				buf.WriteByte(',')
			}
			n++
			buf.Write(marshal(f.Name))
			buf.WriteByte(':')
			writeReadable(buf, v.Field(i), f.Name)
		}
		buf.WriteByte('}')
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			writeBytes(buf, v.Bytes(), field)
			return
		}
		buf.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeReadable(buf, v.Index(i), field)
		}
		buf.WriteByte(']')
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			buf.Write(marshal(strconv.FormatFloat(f, 'g', -1, 64)))
			return
		}
		bits := 64
		if v.Kind() == reflect.Float32 {
			bits = 32
		}
		buf.WriteString(strconv.FormatFloat(f, 'g', -1, bits))
	default:
		buf.Write(marshal(v.Interface()))
	}
}

// writeBytes shows a byte string: a profile decoded, anything else in hex.
func writeBytes(buf *bytes.Buffer, b []byte, field string) {
	if field != "Profile" {
		buf.Write(marshal(hex.EncodeToString(b)))
		return
	}
	var p agent.Profile
	if err := minicbor.Unmarshal(b, &p, minicbor.DefaultLimits); err != nil {
		fmt.Fprintf(buf, `{"bytes":%d,"undecodable":%s}`, len(b), marshal(err.Error()))
		return
	}
	fmt.Fprintf(buf, `{"bytes":%d,"decoded":`, len(b))
	writeReadable(buf, reflect.ValueOf(&p), "")
	buf.WriteByte('}')
}

func undecodable(err error) json.RawMessage {
	return marshal(map[string]string{"undecodable": strings.TrimPrefix(err.Error(), "minicbor: ")})
}

func marshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`"not representable in JSON"`)
	}
	return b
}
