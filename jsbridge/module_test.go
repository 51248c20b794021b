package jsbridge_test

// Tests of the layers under the tag in Chromium, through presage.mjs: the conformance corpus through
// the WASI shim, and the JavaScript CBOR codec against Go's.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/conformance"
	"github.com/presage-dev/presage/internal/minicbor"
)

var (
	vectorsOnce sync.Once
	vectorsJSON []byte
	vectorsN    [2]int // vectors, calls
	vectorsErr  error
)

// corpusJSON is the conformance corpus as the runner page reads it: only what a runner needs.
func corpusJSON(t testing.TB) []byte {
	t.Helper()
	vectorsOnce.Do(func() {
		vs, err := conformance.Load(vectorsDir)
		if err != nil {
			vectorsErr = err
			return
		}
		type call struct {
			Op      uint32 `json:"op"`
			Request string `json:"request_hex"`
			Reply   string `json:"reply_hex"`
		}
		type vector struct {
			Name  string `json:"name"`
			Calls []call `json:"calls"`
		}
		out := make([]vector, 0, len(vs))
		for _, v := range vs {
			w := vector{Name: v.Name}
			for _, c := range v.Calls {
				w.Calls = append(w.Calls, call{c.Op, c.RequestHex, c.ReplyHex})
			}
			out = append(out, w)
			vectorsN[0]++
			vectorsN[1] += len(v.Calls)
		}
		vectorsJSON, vectorsErr = json.Marshal(out)
	})
	if vectorsErr != nil {
		t.Fatal(vectorsErr)
	}
	return vectorsJSON
}

// openRunner opens the page that imports presage.mjs.
func openRunner(t *testing.T) (*shop, *tab) {
	t.Helper()
	s := newShop(t)
	tb := openTab(t, "")
	tb.navigate(s.url("/runner.html"), "")
	tb.wait(`window.runner`)
	return s, tb
}

// TestBrowserConformance replays the conformance corpus (testdata/vectors) in Chromium through
// presage.mjs's open(), the shim and ABI wrapper presage.js uses, on a fresh instance of the generic
// module per vector, and requires every reply to be byte-identical to the corpus's.
func TestBrowserConformance(t *testing.T) {
	_, tb := openRunner(t)
	corpusJSON(t)
	type mismatch struct {
		Vector         string
		Index, Op      int
		Want, Got, Err string
	}
	res := eval[struct {
		Vectors, Calls int
		Mismatches     []mismatch
		Times          []string
	}](tb, `(async () => {
	const hex = s => Uint8Array.from(s.match(/../g) || [], h => parseInt(h, 16));
	const tohex = b => Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
	const vectors = await (await fetch('/vectors.json')).json();
	const mod = await WebAssembly.compileStreaming(fetch('/generic.wasm'));
	const out = {vectors: 0, calls: 0, mismatches: []};
	out.times = [];
	for (const v of vectors) {
		const t0 = performance.now();
		const m = await runner.open(mod);
		const t1 = performance.now();
		out.vectors++;
		for (let i = 0; i < v.calls.length; i++) {
			const c = v.calls[i];
			let got = '', err = '';
			try { got = tohex(m.call(c.op, hex(c.request_hex))) } catch (e) { err = String(e) }
			out.calls++;
			if (got != c.reply_hex) { out.mismatches.push({vector: v.name, index: i, op: c.op, want: c.reply_hex, got, err}); break }
		}
		out.times.push(v.name + ' open ' + (t1 - t0).toFixed(1) + ' calls ' + (performance.now() - t1).toFixed(1));
	}
	return out;
})()`)
	if res.Vectors != vectorsN[0] || res.Calls != vectorsN[1] {
		t.Errorf("replayed %d vectors, %d calls; the corpus has %d, %d", res.Vectors, res.Calls, vectorsN[0], vectorsN[1])
	}
	for _, m := range res.Mismatches {
		want, _ := hex.DecodeString(m.Want)
		got, _ := hex.DecodeString(m.Got)
		t.Errorf("%s: call %d (op %d) differs in Chromium%s\n want: %s\n got:  %s", m.Vector, m.Index, m.Op, m.Err,
			conformance.DescribeReply(want), conformance.DescribeReply(got))
	}
	t.Log(res.Times)
	t.Logf("conformance corpus in Chromium: %d vectors, %d calls, %d mismatches", res.Vectors, res.Calls, len(res.Mismatches))
}

// TestBrowserCodec checks src/cbor.js against Go's codec (internal/minicbor, which the module and
// cborx agree with) on random wire values: requests that JavaScript encodes must decode in Go to
// the same value (and be the same bytes unless a float64 is integral, which JavaScript writes as
// an integer), and replies that Go encodes must decode in JavaScript to the same tree. Then random
// and damaged bytes must make the decoder answer or throw its own error, never hang or crash.
func TestBrowserCodec(t *testing.T) {
	_, tb := openRunner(t)
	rng := rand.New(rand.NewPCG(5, 2026))
	const n = 300

	// Requests: Go value → JSON tree → JavaScript encode → Go decode.
	reqs := make([]wire.Request, n)
	trees := make([]any, n)
	for i := range reqs {
		fill(rng, reflect.ValueOf(&reqs[i]).Elem(), 0)
		trees[i] = tree(reflect.ValueOf(reqs[i]))
	}
	in, _ := json.Marshal(trees)
	encoded := eval[[]string](tb, `(() => {
	const fromTree = v => v === null || typeof v != 'object' ? v : Array.isArray(v) ? v.map(fromTree) :
		'$b' in v ? Uint8Array.from(v.$b.match(/../g) || [], h => parseInt(h, 16)) :
		Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromTree(x)]));
	return `+string(in)+`.map(t => Array.from(runner.encode(fromTree(t)), x => x.toString(16).padStart(2, '0')).join(''));
})()`)
	exact := 0
	for i, h := range encoded {
		js, _ := hex.DecodeString(h)
		want := minicbor.Marshal(nil, &reqs[i])
		if bytes.Equal(js, want) {
			exact++
			continue
		}
		var got wire.Request
		if err := minicbor.Unmarshal(js, &got, minicbor.DefaultLimits); err != nil {
			t.Errorf("request %d: JavaScript's bytes do not decode in Go: %v\n js: %x\n go: %x", i, err, js, want)
			continue
		}
		if !reflect.DeepEqual(got, reqs[i]) {
			t.Errorf("request %d: JavaScript's bytes decode to another value\n js: %x\n go: %x", i, js, want)
		}
		if !hasIntegralFloat(reflect.ValueOf(reqs[i])) {
			t.Errorf("request %d: bytes differ with no integral float\n js: %x\n go: %x", i, js, want)
		}
	}
	t.Logf("%d requests encoded in JavaScript: %d byte-identical to Go, the others equal after decoding", n, exact)

	// Replies: Go encode → JavaScript decode → tree, compared with the Go value's tree.
	replies := make([]wire.Reply, n)
	hexes := make([]string, n)
	for i := range replies {
		fill(rng, reflect.ValueOf(&replies[i]).Elem(), 0)
		hexes[i] = hex.EncodeToString(minicbor.Marshal(nil, &replies[i]))
	}
	in, _ = json.Marshal(hexes)
	decoded := eval[[]json.RawMessage](tb, `(() => {
	const toTree = v => v instanceof Uint8Array ? {$b: Array.from(v, x => x.toString(16).padStart(2, '0')).join('')} :
		v === null || typeof v != 'object' ? v : Array.isArray(v) ? v.map(toTree) :
		Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toTree(x)]));
	return `+string(in)+`.map(h => toTree(runner.decode(Uint8Array.from(h.match(/../g) || [], x => parseInt(x, 16)))));
})()`)
	for i, raw := range decoded {
		var got, want any
		json.Unmarshal(raw, &got)
		w, _ := json.Marshal(tree(reflect.ValueOf(replies[i])))
		json.Unmarshal(w, &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("reply %d (%s) decodes in JavaScript to\n %s\nwant\n %s", i, hexes[i], raw, w)
		}
	}

	// Garbage: random bytes, and valid replies truncated, extended or with one byte changed.
	var junk []string
	for i := range 2000 {
		var b []byte
		switch i % 4 {
		case 0:
			b = make([]byte, rng.IntN(64))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
		default:
			b, _ = hex.DecodeString(hexes[rng.IntN(n)])
			switch i % 4 {
			case 1:
				b = b[:rng.IntN(len(b))]
			case 2:
				b = append(b, byte(rng.Uint32()))
			case 3:
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			}
		}
		junk = append(junk, hex.EncodeToString(b))
	}
	in, _ = json.Marshal(junk)
	res := eval[struct {
		Accepted, Refused int
		Foreign           []string
	}](tb, `(() => {
	const out = {accepted: 0, refused: 0, foreign: []};
	for (const h of `+string(in)+`) {
		try { runner.decode(Uint8Array.from(h.match(/../g) || [], x => parseInt(x, 16))); out.accepted++ }
		catch (e) { if (String(e.message).startsWith('cbor: ')) out.refused++; else out.foreign.push(h + ': ' + e) }
	}
	return out;
})()`)
	for _, f := range res.Foreign {
		t.Errorf("decoder failed with an error of its own making: %s", f)
	}
	t.Logf("%d damaged inputs: %d decoded, %d refused with a cbor error", len(junk), res.Accepted, res.Refused)
}

// fill sets v to a random value: within what JavaScript numbers hold exactly (integers below 2^53),
// strings of any script, no NaN (JSON cannot carry it); empty slices are nil, as decoding makes them.
func fill(rng *rand.Rand, v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if rng.IntN(3) > 0 || v.Type().Field(i).Tag.Get("cbor") != "" && !strings.Contains(v.Type().Field(i).Tag.Get("cbor"), "omitempty") {
				fill(rng, v.Field(i), depth+1)
			}
		}
	case reflect.Pointer:
		if depth < 4 && rng.IntN(2) == 0 {
			v.Set(reflect.New(v.Type().Elem()))
			fill(rng, v.Elem(), depth+1)
		}
	case reflect.Slice:
		if n := rng.IntN(4); n > 0 && depth < 4 {
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				fill(rng, s.Index(i), depth+1)
			}
			v.Set(s)
		}
	case reflect.String:
		words := []string{"", "a", "banner", "sku-00042", "été", "日本語", "🛒 cart", "x\x00y", strings.Repeat("z", 30)}
		v.SetString(words[rng.IntN(len(words))])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		if bits == 64 {
			bits = 54
		}
		lim := int64(1) << (bits - 1)
		switch rng.IntN(3) {
		case 0:
			v.SetInt(rng.Int64N(48) - 24)
		default:
			v.SetInt(rng.Int64N(2*lim-1) - lim + 1)
		}
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := min(v.Type().Bits(), 53)
		switch rng.IntN(3) {
		case 0:
			v.SetUint(rng.Uint64N(30))
		default:
			v.SetUint(rng.Uint64N(1 << bits))
		}
	case reflect.Float32, reflect.Float64:
		specials := []float64{0, 1, -1, 0.5, 30, 1e9, 1e-7, 3.4e38, -2.5e-40, math.Inf(1), math.Inf(-1), 59.9}
		f := specials[rng.IntN(len(specials))]
		if rng.IntN(2) == 0 {
			f = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-4))
		}
		if v.Kind() == reflect.Float32 {
			f = float64(float32(f))
		}
		if math.IsInf(f, 0) && v.Kind() == reflect.Float64 && rng.IntN(2) == 0 {
			f = 12.75
		}
		if math.IsInf(f, 0) {
			f = 1e300 // JSON cannot carry infinities either
			if v.Kind() == reflect.Float32 {
				f = float64(float32(3e38))
			}
		}
		v.SetFloat(f)
	}
}

// tree is the JSON form of a wire value as its CBOR is: integer keys as strings, fields tagged
// omitempty left out when zero, byte strings as {"$b": hex}, every number a float64.
func tree(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer:
		return tree(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		for i := range v.NumField() {
			tag := v.Type().Field(i).Tag.Get("cbor")
			key, opts, _ := strings.Cut(tag, ",")
			if key == "" || strings.Contains(opts, "omitempty") && v.Field(i).IsZero() {
				continue
			}
			m[key] = tree(v.Field(i))
		}
		return m
	case reflect.Slice:
		if v.IsNil() {
			return nil // a nil slice not tagged omitempty is CBOR null
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return map[string]any{"$b": hex.EncodeToString(v.Bytes())}
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = tree(v.Index(i))
		}
		return out
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	}
	panic("tree: " + v.Kind().String())
}

func hasIntegralFloat(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer:
		return !v.IsNil() && hasIntegralFloat(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if hasIntegralFloat(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if hasIntegralFloat(v.Index(i)) {
				return true
			}
		}
	case reflect.Float64:
		f := v.Float()
		return f == math.Trunc(f) && math.Abs(f) < 1<<53
	}
	return false
}
