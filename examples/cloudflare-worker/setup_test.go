package cloudflareworker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/models/signing"
)

// corpus is the conformance corpus: the vectors, and the demo shop's bundle that the Worker's
// module has compiled in (signed with the published TEST key: fine for tests only).
var corpus = filepath.Join("..", "..", "testdata", "vectors")

// modules builds, once, the generic module (what the vectors replay on) and the module with the
// corpus bundle compiled in (what the Worker serves), in a directory of their own.
var modules = sync.OnceValues(func() (dir string, err error) {
	ctx := context.Background()
	generic, err := modbuild.Build(ctx)
	if err != nil {
		return "", err
	}
	pub, err := signing.LoadPublic(filepath.Join(corpus, "test.pub"))
	if err != nil {
		return "", err
	}
	env, err := os.ReadFile(filepath.Join(corpus, "bundle.cbor"))
	if err != nil {
		return "", fmt.Errorf("corpus bundle: %w", err)
	}
	built, err := modbuild.Embed(ctx, generic, env, pub)
	if err != nil {
		return "", err
	}
	dir, err = os.MkdirTemp("", "presage-worker-test-")
	if err != nil {
		return "", err
	}
	if err := errors.Join(
		os.WriteFile(filepath.Join(dir, "presage-generic.wasm"), generic, 0o644),
		os.WriteFile(filepath.Join(dir, "presage.wasm"), built.Module, 0o644),
	); err != nil {
		return "", err
	}
	return dir, nil
})

func moduleDir(t testing.TB) string {
	t.Helper()
	dir, err := modules()
	if err != nil {
		t.Fatalf("building the modules: %v", err)
	}
	return dir
}

// node returns the node binary, or skips the test when there is none.
func node(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed (Node 20 or newer is needed for node:wasi and workerd)")
	}
	return p
}

// workerdBinary returns workerd from node_modules, installing the locked version with npm ci when
// it is missing (make tools does the same); it skips the test only when that is impossible.
var workerdOnce = sync.OnceValues(func() (string, error) {
	bin := filepath.Join("node_modules", "@cloudflare", "workerd-linux-64", "bin", "workerd")
	if _, err := os.Stat(bin); err == nil {
		return filepath.Abs(bin)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", errors.New("npm is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci: %w\n%s", err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("npm ci installed no workerd for this platform: %w", err)
	}
	return filepath.Abs(bin)
})

func workerd(t testing.TB) string {
	t.Helper()
	node(t)
	bin, err := workerdOnce()
	if err != nil {
		t.Skipf("workerd cannot be installed here (%v): run make tools with network access to the npm registry", err)
	}
	return bin
}

// server is one workerd process serving the capnp config of config(), on loopback sockets that the
// test opened itself and handed over as file descriptors (no port race).
type server struct {
	urls   map[string]string // socket name → base URL
	stderr *bytes.Buffer
	cmd    *exec.Cmd
}

// startWorkerd writes the Worker's sources, the modules and workerdConfig into a temporary
// directory and starts workerd on it, serving every socket of the config on a loopback port the test
// opened itself; it is stopped when the test ends.
func startWorkerd(t testing.TB, externals map[string]string) *server {
	t.Helper()
	bin := workerd(t)
	dir := t.TempDir()
	mods := moduleDir(t)
	for _, f := range []string{"src/worker.mjs", "src/abi.mjs", "src/wasi.mjs", "src/cbor.mjs", "src/cookie.mjs",
		"test/conformance-worker.mjs", filepath.Join(mods, "presage.wasm"), filepath.Join(mods, "presage-generic.wasm")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	config := workerdConfig
	for name, addr := range externals {
		config = strings.ReplaceAll(config, "@"+name+"@", addr)
	}
	config = regexp.MustCompile(`@[a-z]+@`).ReplaceAllString(config, "127.0.0.1:1") // unused services
	if err := os.WriteFile(filepath.Join(dir, "config.capnp"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	sockets := []string{"http", "fresh", "conformance"}
	s := &server{urls: map[string]string{}, stderr: &bytes.Buffer{}}
	args := []string{"serve", "config.capnp"}
	var files []*os.File
	for i, name := range sockets {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f, err := l.(*net.TCPListener).File()
		l.Close() // the duplicate in f keeps the socket open for workerd
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		args = append(args, "--socket-fd", fmt.Sprintf("%s=%d", name, 3+i))
		s.urls[name] = "http://" + l.Addr().String()
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.ExtraFiles = files
	s.cmd.Stdout, s.cmd.Stderr = s.stderr, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start workerd: %v", err)
	}
	for _, f := range files {
		f.Close()
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("workerd output:\n%s", s.stderr.String())
		}
	})
	// Ready when the conformance Worker answers: workerd serves every socket once its config loaded.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.urls["conformance"] + "/__ready")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workerd is not serving: %v", err)
		}
		select {
		case werr := <-exited:
			exited <- werr // for the cleanup
			t.Fatalf("workerd exited: %v", werr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return s
}

// workerdConfig serves three Workers: "shop" (the example, one reused instance per isolate),
// "fresh" (the same, a fresh instance per request, to measure reuse) and "conformance" (the corpus
// replayer of test/). @name@ placeholders are filled by startWorkerd; external services that a test
// does not use point at a closed port and are never connected.
var workerdConfig = strings.Replace(`using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "shop", worker = .shop),
    (name = "fresh", worker = .fresh),
    (name = "conformance", worker = .conformance),
    (name = "origin", external = (address = "@origin@", http = ())),
    (name = "sync", external = (address = "@sync@", http = ())),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:0", http = (), service = "shop"),
    (name = "fresh", address = "127.0.0.1:0", http = (), service = "fresh"),
    (name = "conformance", address = "127.0.0.1:0", http = (), service = "conformance"),
  ],
);
const modules :List(Workerd.Worker.Module) = [
  (name = "worker.mjs", esModule = embed "worker.mjs"),
  (name = "abi.mjs", esModule = embed "abi.mjs"),
  (name = "wasi.mjs", esModule = embed "wasi.mjs"),
  (name = "cbor.mjs", esModule = embed "cbor.mjs"),
  (name = "cookie.mjs", esModule = embed "cookie.mjs"),
  (name = "presage.wasm", wasm = embed "presage.wasm"),
];
@workers@const conformance :Workerd.Worker = (
  modules = [
    (name = "conformance-worker.mjs", esModule = embed "conformance-worker.mjs"),
    (name = "abi.mjs", esModule = embed "abi.mjs"),
    (name = "wasi.mjs", esModule = embed "wasi.mjs"),
    (name = "cbor.mjs", esModule = embed "cbor.mjs"),
    (name = "presage-generic.wasm", wasm = embed "presage-generic.wasm"),
    (name = "presage.wasm", wasm = embed "presage.wasm"),
  ],
  compatibilityDate = "2025-01-01",
);
`, "@workers@", shopWorker("shop")+shopWorker("fresh", `(name = "INSTANCE", text = "per-request")`), 1)

// shopWorker is the capnp definition of the example Worker named name, with the test's bindings and
// extra ones.
func shopWorker(name string, extra ...string) string {
	bindings := append([]string{
		`(name = "ORIGIN", service = "origin")`,
		`(name = "SYNC", service = "sync")`,
		`(name = "COOKIE_KEYS", text = "@keys@")`,
		`(name = "SLOTS", text = "popin,banner,carousel")`,
		`(name = "INSECURE_COOKIE", text = "1")`,
		`(name = "INLINE_JSON", text = "1")`,
		`(name = "DEBUG_HEADERS", text = "1")`,
	}, extra...)
	return fmt.Sprintf("const %s :Workerd.Worker = (\n  modules = .modules,\n  bindings = [\n    %s,\n  ],\n  compatibilityDate = \"2025-01-01\",\n);\n",
		name, strings.Join(bindings, ",\n    "))
}
