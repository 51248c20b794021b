package conformance

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/demo"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
)

// Files of the corpus folder besides the vectors.
const (
	BundleFile = "bundle.cbor" // the signed envelope every vector loads first
	KeyFile    = "test.key"    // TEST-ONLY private key that signed it: public, never trust it anywhere
	PubFile    = "test.pub"    // its public key
)

// CorpusConfig is the demo training of the corpus bundle: small (a bundle of about 12 KB, which every
// vector carries in hex) but with every model kind, segment and campaign of the demo, and a fixed
// creation time so that retraining is reproducible.
func CorpusConfig() demo.Config {
	return demo.Config{Seed: 1, Visitors: 1500, Items: 120, Categories: 12, Created: time.Unix(1767225600, 0).UTC()}
}

// TestKey returns the corpus's signing key: derived from a fixed, published seed, so it is a test key
// by construction. Nothing may ever trust it outside tests.
func TestKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("presage conformance corpus: TEST-ONLY key, public, never trust it"))
	return ed25519.NewKeyFromSeed(seed[:])
}

// Generate rewrites the corpus in dir from the NATIVE agent: the test key files if missing, the bundle
// (trained with CorpusConfig and signed when retrain is set or dir has none; otherwise the committed
// one is kept, because training's floating point may differ across platforms), and every vector.
// Vector files (*.json) that Generate no longer produces are removed.
func Generate(ctx context.Context, dir string, retrain bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	key := TestKey()
	if err := writeIfMissing(filepath.Join(dir, KeyFile), signing.MarshalPrivate(key)); err != nil {
		return err
	}
	if err := writeIfMissing(filepath.Join(dir, PubFile), signing.MarshalPublic(key.Public().(ed25519.PublicKey))); err != nil {
		return err
	}
	bundlePath := filepath.Join(dir, BundleFile)
	envelope, err := os.ReadFile(bundlePath)
	if retrain || errors.Is(err, os.ErrNotExist) {
		b, _, err := demo.Train(ctx, CorpusConfig())
		if err != nil {
			return fmt.Errorf("conformance: train the corpus bundle: %w", err)
		}
		envelope = signing.Sign(b, key)
		if err := os.WriteFile(bundlePath, envelope, 0o644); err != nil {
			return fmt.Errorf("conformance: %w", err)
		}
	} else if err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	vectors, err := Vectors(envelope, key)
	if err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	keep := map[string]bool{}
	for _, v := range vectors {
		data, err := v.Marshal()
		if err != nil {
			return err
		}
		path := filepath.Join(dir, v.Name+".json")
		keep[path] = true
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("conformance: %w", err)
		}
	}
	for _, f := range old {
		if !keep[f] {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("conformance: %w", err)
			}
		}
	}
	return nil
}

func writeIfMissing(path string, data []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("conformance: %w", err)
	}
	return nil
}

// Marshal returns the vector's file contents: JSON with one field per line and each call's readable
// request and reply on one line of their own (pipe them through jq to read them at length), ending in
// a newline. Keeping the readable parts compact keeps the corpus small enough to commit.
func (v *Vector) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	field := func(indent, name string, value any, last bool) {
		b, err := json.Marshal(value)
		if err != nil {
			b = []byte(`null`)
		}
		buf.WriteString(indent)
		buf.Write(marshal(name))
		buf.WriteString(": ")
		buf.Write(b)
		if !last {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("{\n")
	field("  ", "spec", v.Spec, false)
	field("  ", "name", v.Name, false)
	field("  ", "description", v.Description, false)
	buf.WriteString("  \"calls\": [\n")
	for i, c := range v.Calls {
		buf.WriteString("    {\n")
		field("      ", "op", c.Op, false)
		field("      ", "op_name", c.OpName, false)
		field("      ", "request_hex", c.RequestHex, false)
		field("      ", "reply_hex", c.ReplyHex, false)
		if c.Request != nil {
			field("      ", "request", compact(c.Request), false)
		}
		field("      ", "reply", compact(c.Reply), true)
		if i < len(v.Calls)-1 {
			buf.WriteString("    },\n")
		} else {
			buf.WriteString("    }\n")
		}
	}
	buf.WriteString("  ]\n}\n")
	if !json.Valid(buf.Bytes()) {
		return nil, fmt.Errorf("conformance: %s: marshalled an invalid JSON document", v.Name)
	}
	return buf.Bytes(), nil
}

// compact returns raw JSON without insignificant spaces (null when it is empty or invalid).
func compact(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return json.RawMessage("null")
	}
	return buf.Bytes()
}

// Vectors builds the corpus's vectors in memory by running every scenario through a fresh native
// agent.Agent, which loads envelope first. key signs the other bundles some vectors load (older,
// newer, another format).
func Vectors(envelope []byte, key ed25519.PrivateKey) ([]Vector, error) {
	g, err := newGen(envelope, key)
	if err != nil {
		return nil, err
	}
	var out []Vector
	for _, s := range scenarios {
		v, err := g.run(s)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// gen holds what scenarios share: the corpus bundle, decoded, and the simulator it was trained on.
type gen struct {
	envelope []byte
	payload  []byte
	bundle   *models.Bundle
	key      ed25519.PrivateKey
	prices   []float64 // per bundle item, from the simulator's catalogue
}

func newGen(envelope []byte, key ed25519.PrivateKey) (*gen, error) {
	env, err := models.DecodeEnvelope(envelope)
	if err != nil {
		return nil, fmt.Errorf("conformance: corpus bundle: %w", err)
	}
	b, err := models.Decode(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("conformance: corpus bundle: %w", err)
	}
	s, err := CorpusConfig().Sim()
	if err != nil {
		return nil, fmt.Errorf("conformance: %w", err)
	}
	g := &gen{envelope: envelope, payload: env.Payload, bundle: b, key: key, prices: make([]float64, len(b.Items))}
	cat := s.Catalogue()
	for i, id := range b.Items {
		it, ok := cat.Item(id)
		if !ok {
			return nil, fmt.Errorf("conformance: corpus bundle item %q is not in the simulator's catalogue: retrain it (-retrain)", id)
		}
		g.prices[i] = it.Price
	}
	return g, nil
}

// variant returns the corpus bundle changed by edit, signed with the test key.
func (g *gen) variant(edit func(b *models.Bundle)) []byte {
	b, err := models.Decode(bytes.Clone(g.payload))
	if err != nil {
		panic(err) // decoded once already
	}
	edit(b)
	return signing.Sign(b, g.key)
}

// item returns the bundle's item i: id, category id and price.
func (g *gen) item(i int) (id, category string, price float64) {
	i %= len(g.bundle.Items)
	return g.bundle.Items[i], g.bundle.Categories[g.bundle.ItemCategory[i]], g.prices[i]
}

func (g *gen) category(i int) string { return g.bundle.Categories[i%len(g.bundle.Categories)] }

// scenario is one vector's story, told to a recorder.
type scenario struct {
	name, description string
	run               func(g *gen, r *rec)
}

// rec runs calls on a native agent and records them as a vector. The first failed expectation is
// kept in err and ends the generation: a vector must test what its description says.
type rec struct {
	g   *gen
	a   *agent.Agent
	v   Vector
	err error
}

func (g *gen) run(s scenario) (Vector, error) {
	r := &rec{g: g, a: agent.New(), v: Vector{Spec: Spec, Name: s.name, Description: s.description}}
	r.raw(wire.OpLoadBundle, g.envelope).wantOK()
	s.run(g, r)
	if r.err != nil {
		return Vector{}, fmt.Errorf("conformance: vector %s: %w", s.name, r.err)
	}
	return r.v, nil
}

// result is the reply of one recorded call.
type result struct {
	r   *rec
	op  wire.Op
	rep wire.Reply
}

func (r *rec) failf(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("call %d: "+format, append([]any{len(r.v.Calls) - 1}, args...)...)
	}
}

// raw runs op on in and records the call.
func (r *rec) raw(op wire.Op, in []byte) *result {
	out := r.a.Call(op, in, nil)
	in = bytes.Clone(in)
	if in == nil {
		in = []byte{}
	}
	r.v.Calls = append(r.v.Calls, Call{
		Op: uint32(op), OpName: OpName(op),
		RequestHex: hex.EncodeToString(in), ReplyHex: hex.EncodeToString(out),
		Request: requestJSON(op, in), Reply: replyJSON(out),
		In: in, Out: out,
	})
	res := &result{r: r, op: op}
	if err := minicbor.Unmarshal(out, &res.rep, minicbor.DefaultLimits); err != nil {
		r.failf("%s: reply does not decode: %v", OpName(op), err)
	}
	return res
}

// req runs op on the encoding of q (nil: no input).
func (r *rec) req(op wire.Op, q *wire.Request) *result {
	var in []byte
	if q != nil {
		in = minicbor.Marshal(nil, q)
	}
	return r.raw(op, in)
}

func (res *result) wantOK() *wire.Reply {
	if res.rep.Err != nil {
		res.r.failf("%s: want success, got %v", OpName(res.op), res.rep.Err)
	}
	return &res.rep
}

// wantErr expects an error reply with one of codes.
func (res *result) wantErr(codes ...wire.Code) {
	if res.rep.Err == nil {
		res.r.failf("%s: want error %v, got success", OpName(res.op), codes)
		return
	}
	for _, c := range codes {
		if res.rep.Err.Code == c {
			return
		}
	}
	res.r.failf("%s: want error %v, got %v", OpName(res.op), codes, res.rep.Err)
}

// peekProfile returns the profile as OpSaveProfile would, without recording a call: for checks of
// the generator that the vector need not show.
func (r *rec) peekProfile() []byte {
	var rep wire.Reply
	if err := minicbor.Unmarshal(r.a.Call(wire.OpSaveProfile, nil, nil), &rep, minicbor.DefaultLimits); err != nil || rep.Err != nil {
		r.failf("save profile (unrecorded) failed: %v %v", err, rep.Err)
	}
	return rep.Profile
}

// Shorthands for the operations, each expecting success.

func (r *rec) info() *wire.BundleInfo { return r.req(wire.OpInfo, nil).wantOK().Info }

func (r *rec) loadProfile(now int64, seed uint64, profile []byte) {
	r.req(wire.OpLoadProfile, &wire.Request{Now: now, Seed: seed, Profile: profile}).wantOK()
}

func (r *rec) saveProfile() []byte {
	return bytes.Clone(r.req(wire.OpSaveProfile, nil).wantOK().Profile)
}

func (r *rec) handle(q *wire.Request) *wire.Answer {
	if q.MaxRecs == 0 && slices.ContainsFunc(q.Events, func(e wire.Event) bool { return e.Type == wire.EventProductView }) {
		q.MaxRecs = 6 // a product page shows a carousel: recommendations are only computed when asked
	}
	ans := r.req(wire.OpHandle, q).wantOK().Answer
	if ans == nil && r.err == nil {
		r.failf("handle: no answer")
		return &wire.Answer{}
	}
	return ans
}

func (r *rec) drain(now int64, seed uint64) *wire.Batch {
	return r.req(wire.OpDrain, &wire.Request{Now: now, Seed: seed}).wantOK().Batch
}

func (r *rec) explain() *wire.Explanation { return r.req(wire.OpExplain, nil).wantOK().Explanation }

func (r *rec) forget(now int64, seed uint64) {
	r.req(wire.OpForget, &wire.Request{Now: now, Seed: seed}).wantOK()
}
