package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
)

// The fuzz targets drive the real module under wazero. FuzzModuleCall and FuzzModuleExports keep ONE
// instance per fuzzing process across iterations, as a pooled instance lives through many visitors:
// what one input leaves behind (a grown buffer, a loaded profile, a new bundle) is the next input's
// starting point. A trap or a reply that breaks the ABI fails the input; the instance is then
// replaced, so that the failure is reported once.
//
// Set PRESAGE_FUZZ_REPORT to a directory to have each fuzzing process write there the memory
// high-water mark of its instance (one file per target and process, rewritten when it grows).

var (
	callModule    *rawModule // FuzzModuleCall's instance
	exportsModule *rawModule // FuzzModuleExports's instance
	exportsBuf    int32      // the size of exportsModule's input buffer, as far as the fuzzer knows
	diffPair      *pair      // FuzzNativeVsModule's agent and instance
)

// fuzzSetup is what the targets start from: the corpus bundle, a returning customer's profile.
type fuzzSetup struct {
	bundle  []byte
	profile []byte // a wire.Request for OpLoadProfile
}

var setup *fuzzSetup

func loadSetup(t testing.TB) *fuzzSetup {
	t.Helper()
	if setup != nil {
		return setup
	}
	env := corpusBundle(t)
	g, err := newGen(env, TestKey())
	if err != nil {
		t.Fatal(err)
	}
	setup = &fuzzSetup{bundle: env, profile: minicbor.Marshal(nil, &wire.Request{Now: t0, Seed: 7, Profile: g.savedProfile()})}
	return setup
}

// startModule makes an instance serving the corpus bundle and the setup's profile. Its stderr (the
// Go runtime's last words when it dies) is kept in m.stderr, for the failure message.
func startModule(t testing.TB, target string) *rawModule {
	t.Helper()
	s := loadSetup(t)
	stderr := &headWriter{}
	m := newRawModule(t, stderr)
	m.stderr = stderr
	for _, c := range []struct {
		op wire.Op
		in []byte
	}{{wire.OpLoadBundle, s.bundle}, {wire.OpLoadProfile, s.profile}} {
		reply, err := m.Call(c.op, c.in)
		if err != nil {
			t.Fatalf("%s: setup %s: %v", target, OpName(c.op), err)
		}
		if r := decodeReply(t, reply); r.Err != nil {
			t.Fatalf("%s: setup %s: %v", target, OpName(c.op), r.Err)
		}
	}
	return m
}

func decodeReply(t testing.TB, b []byte) *wire.Reply {
	t.Helper()
	var r wire.Reply
	if err := minicbor.Unmarshal(b, &r, minicbor.DefaultLimits); err != nil {
		t.Fatalf("the reply does not decode as a wire.Reply: %v\n%x", err, b)
	}
	return &r
}

// checkReply asserts what every reply of the module must be: a wire.Reply, never CodeInternal, and
// for a success the result of its operation.
func checkReply(t testing.TB, op wire.Op, b []byte) *wire.Reply {
	t.Helper()
	r := decodeReply(t, b)
	if r.Err != nil {
		if r.Err.Code == wire.CodeInternal {
			t.Fatalf("%s: internal error (a recovered panic): %v", OpName(op), r.Err)
		}
		if r.Err.Code == 0 || r.Err.Code > wire.CodeBadSignature {
			t.Fatalf("%s: error code %d is not a wire.Code", OpName(op), r.Err.Code)
		}
		return r
	}
	missing := ""
	switch op {
	case wire.OpInfo:
		if r.Info == nil {
			missing = "Info"
		}
	case wire.OpHandle:
		if r.Answer == nil {
			missing = "Answer"
		}
	case wire.OpDrain:
		if r.Batch == nil {
			missing = "Batch"
		}
	case wire.OpExplain:
		if r.Explanation == nil {
			missing = "Explanation"
		}
	}
	if missing != "" {
		t.Fatalf("%s: a success reply without its %s: %x", OpName(op), missing, b)
	}
	return r
}

// headWriter keeps the first lines written to it: the cause of a fatal error, not the goroutine dump.
type headWriter struct{ buf []byte }

func (w *headWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p[:min(len(p), max(0, 512-len(w.buf)))]...)
	return len(p), nil
}

// String returns the first two lines written.
func (w *headWriter) String() string {
	lines := strings.SplitN(string(w.buf), "\n", 3)
	return strings.Join(lines[:min(len(lines), 2)], " / ")
}

// report writes the memory high-water mark where PRESAGE_FUZZ_REPORT asks.
var reported = map[string]uint64{}

func report(target string, m *rawModule) {
	dir := os.Getenv("PRESAGE_FUZZ_REPORT")
	if dir == "" || m.highWater <= reported[target] {
		return
	}
	reported[target] = m.highWater
	line := fmt.Sprintf("%s pid %d: memory high-water %d bytes (%d pages) of a %d-byte ceiling\n",
		target, os.Getpid(), m.highWater, m.highWater/65536, m.ceiling)
	_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.txt", target, os.Getpid())), []byte(line), 0o644)
}

// seedCalls adds every call of the corpus as a seed (op, request), deduplicated, so that the
// fuzzer starts from valid requests of every operation, bundle loads included.
func seedCalls(f *testing.F, add func(op uint32, in []byte)) {
	vectors, err := Load(corpusDir)
	if err != nil {
		f.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range vectors {
		for _, c := range v.Calls {
			key := fmt.Sprintf("%d/%x", c.Op, c.In)
			if seen[key] {
				continue
			}
			seen[key] = true
			add(c.Op, c.In)
		}
	}
}

// FuzzModuleCall sends (op, input) through the module's ABI as a host does, on one long-lived
// instance: no trap, a wire.Reply every time, never CodeInternal, memory within the ceiling.
func FuzzModuleCall(f *testing.F) {
	seedCalls(f, func(op uint32, in []byte) { f.Add(op, in) })
	f.Fuzz(func(t *testing.T, op uint32, input []byte) {
		if callModule == nil {
			callModule = startModule(t, "FuzzModuleCall")
		}
		m := callModule
		reply, err := m.Call(wire.Op(op), input)
		report("FuzzModuleCall", m)
		if err != nil {
			callModule = nil
			m.close()
			t.Fatalf("%s with %d bytes: %v", OpName(wire.Op(op)), len(input), err)
		}
		checkReply(t, wire.Op(op), reply)
	})
}

// FuzzModuleExports calls the exports with what a host never sends: presage_input of any size
// (negative, zero, past the 4 MiB limit), and presage_call with any operation and any length,
// including lengths past the input buffer. The module must refuse, never trap.
func FuzzModuleExports(f *testing.F) {
	for _, s := range exportSeeds {
		f.Add(s.size, s.op, s.n, s.data)
	}
	f.Fuzz(func(t *testing.T, size, op, n int32, data []byte) {
		if exportsModule == nil {
			exportsModule = startModule(t, "FuzzModuleExports")
			exportsBuf = 64 << 10 // allocated at start
		}
		m := exportsModule
		fail := func(format string, args ...any) {
			exportsModule = nil
			m.close()
			t.Fatalf(format, args...)
		}
		addr, err := m.Input(size)
		report("FuzzModuleExports", m)
		if err != nil {
			fail("presage_input(%d): %v", size, err)
		}
		refused := size < 0 || size > moduleInputLimit
		if refused != (addr == 0) {
			fail("presage_input(%d) = %#x: want a refusal exactly for sizes outside [0, %d]", size, addr, moduleInputLimit)
		}
		if addr != 0 {
			// The module grows its buffer by doubling (wasm/main.go), up to its limit.
			for exportsBuf < size {
				exportsBuf = min(2*exportsBuf, moduleInputLimit)
			}
			if !m.mem.Write(addr, data[:min(len(data), int(size))]) {
				fail("presage_input(%d) = %#x: buffer outside memory", size, addr)
			}
		}
		reply, err := m.CallN(op, n)
		report("FuzzModuleExports", m)
		if err != nil {
			fail("presage_call(%d, %d): %v", op, n, err)
		}
		r := checkReply(t, wire.Op(uint32(op)), reply)
		if (n < 0 || n > exportsBuf) && (r.Err == nil || r.Err.Code != wire.CodeUnknownOp) {
			fail("presage_call(%d, %d) past the %d-byte buffer: want an unknown-operation error, got %x", op, n, exportsBuf, reply)
		}
	})
}

// exportSeeds are FuzzModuleExports's starting points: the limits of presage_input and presage_call.
var exportSeeds = []struct {
	size, op, n int32
	data        []byte
}{
	{0, int32(wire.OpInfo), 0, []byte{}},
	{100, int32(wire.OpHandle), 100, []byte{0xa1, 0x01, 0x00}},
	{-1, int32(wire.OpHandle), -1, []byte{}},
	{16 << 20, int32(wire.OpDrain), 16 << 20, []byte{0xa0}},
	{16<<20 + 1, int32(wire.OpHandle), 1 << 30, []byte{}},
	{10, int32(wire.OpLoadProfile), 64<<10 + 1, []byte{0xa0}},
	{3, -1, 3, []byte{0xa0}},
	{1<<31 - 1, int32(wire.OpSaveProfile), 1<<31 - 1, []byte{}},
	{64 << 10, int32(wire.OpLoadBundle), 64 << 10, []byte{0xa1, 0x01, 0x40}},
}

// pair is a native agent and a module instance that have seen the same calls.
type pair struct {
	native *agent.Agent
	module *rawModule
}

// FuzzNativeVsModule sends the same (op, input) to the native agent and to the module, both serving
// the corpus bundle and starting from the same profile, and wants byte-identical replies: the
// property the conformance vectors check on chosen inputs, on any input.
func FuzzNativeVsModule(f *testing.F) {
	seedCalls(f, func(op uint32, in []byte) { f.Add(op, in) })
	f.Fuzz(func(t *testing.T, op uint32, input []byte) {
		s := loadSetup(t)
		if diffPair == nil {
			p := &pair{native: agent.New(), module: startModule(t, "FuzzNativeVsModule")}
			p.native.Call(wire.OpLoadBundle, s.bundle, nil)
			diffPair = p
		}
		p := diffPair
		call := func(op wire.Op, in []byte) (native, module []byte) {
			native = p.native.Call(op, in, nil)
			module, err := p.module.Call(op, in)
			report("FuzzNativeVsModule", p.module)
			if err != nil {
				diffPair = nil
				p.module.close()
				t.Fatalf("%s: module: %v", OpName(op), err)
			}
			if !bytes.Equal(native, module) {
				diffPair = nil
				p.module.close()
				t.Fatalf("%s with %x: replies differ\nnative: %s\n        %x\nmodule: %s\n        %x",
					OpName(op), in, DescribeReply(native), native, DescribeReply(module), module)
			}
			return native, module
		}
		call(wire.OpLoadProfile, s.profile) // the same starting profile every time
		native, _ := call(wire.Op(op), input)
		if wire.Op(op) == wire.OpLoadBundle && decodeReply(t, native).Err == nil {
			// A mutated bundle loaded in both: start the next input from the corpus bundle again.
			diffPair = nil
			p.module.close()
		}
	})
}

// TestFuzzSeeds keeps the committed seed corpora of the fuzz targets (testdata/fuzz) present, and
// writes them with -update: a few calls of every operation from the vectors, for the call targets,
// and the export cases, for FuzzModuleExports. The fuzz targets also seed themselves with every call
// of the corpus at run time; the files are what `go test` runs without -fuzz on any machine.
func TestFuzzSeeds(t *testing.T) {
	seeds := map[string][][]any{}
	vectors, err := Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	perOp := map[uint32]int{}
	for _, v := range vectors {
		if v.Name != "visit-brand-search" && v.Name != "bad-garbage" && v.Name != "forget" && v.Name != "stale-bundle" {
			continue
		}
		for _, c := range v.Calls {
			if limit := 3; wire.Op(c.Op) == wire.OpLoadBundle && perOp[c.Op] >= 2 || perOp[c.Op] >= limit {
				continue // bundles are large: the corpus bundle and one garbage envelope are enough
			}
			perOp[c.Op]++
			for _, target := range []string{"FuzzModuleCall", "FuzzNativeVsModule"} {
				seeds[target] = append(seeds[target], []any{c.Op, c.In})
			}
		}
	}
	for _, s := range exportSeeds {
		seeds["FuzzModuleExports"] = append(seeds["FuzzModuleExports"], []any{s.size, s.op, s.n, s.data})
	}
	for target, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if !*update {
			if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) == 0 {
				t.Errorf("%s: no seed files: run go test ./conformance -run TestFuzzSeeds -update", dir)
			}
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, args := range list {
			var b bytes.Buffer
			b.WriteString("go test fuzz v1\n")
			for _, a := range args {
				switch a := a.(type) {
				case []byte:
					fmt.Fprintf(&b, "[]byte(%q)\n", a)
				default:
					fmt.Fprintf(&b, "%T(%v)\n", a, a)
				}
			}
			sum := sha256.Sum256(b.Bytes())
			if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:8])), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
