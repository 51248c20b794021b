package conformance

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/runtime/host"
)

var (
	update  = flag.Bool("update", false, "regenerate testdata/vectors from the native agent before replaying")
	retrain = flag.Bool("retrain", false, "with -update: retrain and re-sign the corpus bundle too")
)

// corpusDir is the committed corpus, relative to this package.
var corpusDir = filepath.Join("..", "testdata", "vectors")

func TestConformance(t *testing.T) {
	if *update {
		if err := Generate(context.Background(), corpusDir, *retrain); err != nil {
			t.Fatal(err)
		}
	}
	vectors, err := Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("native", func(t *testing.T) {
		for _, v := range vectors {
			t.Run(v.Name, func(t *testing.T) {
				a := agent.New()
				err := Replay(v, func(op wire.Op, req []byte) ([]byte, error) { return a.Call(op, req, nil), nil })
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	})

	t.Run("wazero", func(t *testing.T) {
		h := newHost(t)
		for _, v := range vectors {
			t.Run(v.Name, func(t *testing.T) {
				// A raw OpLoadBundle taints the instance, so that Release discards it: every vector
				// gets a fresh instance (a reused one would refuse the first load as stale).
				s, err := h.Acquire(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer s.Release()
				if err := Replay(v, s.Call); err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

// newHost runs the module built from source in runtime/host, as servers and edges do. Session.Call
// takes raw bytes and does not verify the OpLoadBundle it passes on (the host verifies only in
// Host.LoadBundle); the test key is trusted all the same, as a host serving this corpus would be.
func newHost(t testing.TB) *host.Host {
	t.Helper()
	wasm := moduleBytes(t)
	cfg := host.NewConfig().
		WithCompilationCacheDir(cacheDir(t)).
		WithTrustedKeys(testPub(t)).
		WithPoolSize(1).
		WithCallTimeout(30 * time.Second). // -race and loaded CI machines
		WithStderr(tbWriter{t})
	h, err := host.New(context.Background(), wasm, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func moduleBytes(t testing.TB) []byte {
	t.Helper()
	wasm, err := modbuild.Build(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// cacheDir is wazero's compilation cache shared by the tests and fuzz workers of this machine, so
// that only the first compiles the module.
func cacheDir(t testing.TB) string {
	dir := filepath.Join(os.TempDir(), "presage-conformance-wazero")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func testPub(t testing.TB) ed25519.PublicKey {
	t.Helper()
	pub, err := signing.LoadPublic(filepath.Join(corpusDir, PubFile))
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func corpusBundle(t testing.TB) []byte {
	t.Helper()
	env, err := os.ReadFile(filepath.Join(corpusDir, BundleFile))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.t.Logf("module stderr: %s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// TestCorpus checks the committed corpus itself: the bundle verifies with the test key, the key pair
// is the published test key, every vector loads exactly that bundle first, and the vectors are what
// the native agent generates today (a stale corpus fails here with a hint, before any replay).
func TestCorpus(t *testing.T) {
	env := corpusBundle(t)
	pub := testPub(t)
	if _, err := signing.Verify(env, pub); err != nil {
		// A bundle format change: the committed bundle no longer decodes to the same bytes.
		t.Fatalf("corpus bundle: %v: run go test ./conformance -run TestConformance -update -retrain", err)
	}
	key, err := signing.LoadPrivate(filepath.Join(corpusDir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(TestKey()) || !pub.Equal(TestKey().Public()) {
		t.Errorf("%s/%s is not the published test key (TestKey)", KeyFile, PubFile)
	}
	vectors, err := Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vectors {
		if !bytes.Equal(v.Calls[0].In, env) {
			t.Errorf("%s: the first call does not load %s", v.Name, BundleFile)
		}
	}
	fresh, err := Vectors(env, TestKey())
	if err != nil {
		t.Fatal(err)
	}
	committed := map[string]Vector{}
	for _, v := range vectors {
		committed[v.Name] = v
	}
	const hint = "run go test ./conformance -run TestConformance -update and review the diff"
	if len(fresh) != len(vectors) {
		t.Errorf("%d vectors committed, %d generated: %s", len(vectors), len(fresh), hint)
	}
	for _, v := range fresh {
		c, ok := committed[v.Name]
		switch {
		case !ok:
			t.Errorf("%s: not committed: %s", v.Name, hint)
		case !sameCalls(v.Calls, c.Calls):
			t.Errorf("%s: the committed vector is not what the native agent generates: %s", v.Name, hint)
		}
	}
}

func sameCalls(a, b []Call) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Op != b[i].Op || !bytes.Equal(a[i].In, b[i].In) || !bytes.Equal(a[i].Out, b[i].Out) {
			return false
		}
	}
	return true
}

func TestReplayReportsMismatch(t *testing.T) {
	vectors, err := Load(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	v := vectors[0]
	a := agent.New()
	calls := 0
	err = Replay(v, func(op wire.Op, req []byte) ([]byte, error) {
		calls++
		out := a.Call(op, req, nil)
		if calls == len(v.Calls) {
			out = append(out[:len(out):len(out)], 0)
		}
		return out, nil
	})
	var m *Mismatch
	if !errors.As(err, &m) || m.Index != len(v.Calls)-1 {
		t.Fatalf("Replay: %v, want a mismatch at the last call", err)
	}
	t.Logf("a mismatch reads:\n%v", err)
}
