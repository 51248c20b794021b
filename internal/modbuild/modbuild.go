package modbuild

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// EnvModule names the environment variable that holds a prebuilt module's path.
const EnvModule = "PRESAGE_TEST_WASM"

// ModulePath is the import path of the Presage module, whose ./wasm is built.
const ModulePath = "github.com/presage-dev/presage"

// BuildEnv returns what the go command needs on top of the caller's environment to build the module:
// WASI preview 1, and the WebAssembly features every target host has.
func BuildEnv() []string { return []string{"GOOS=wasip1", "GOARCH=wasm", "GOWASM=satconv,signext"} }

// BuildArgs returns the go command's arguments that build ./wasm (relative to the source tree's root)
// into out: a reactor, without file paths or debug sections.
func BuildArgs(out string) []string {
	return []string{"build", "-buildmode=c-shared", "-trimpath", "-gcflags=runtime=-l", "-ldflags=-s -w", "-o", out, "./wasm"}
}

var (
	mu     sync.Mutex
	module []byte // the module, once built or read
	path   string // a file holding it, once written
)

// Build returns the generic module: the file named by $PRESAGE_TEST_WASM if set, otherwise ./wasm of
// the Presage source tree built with [BuildArgs] and [BuildEnv]. The first successful call does the work; later
// calls return a copy of the same bytes. A failure is not cached: ctx may have
// been the reason.
func Build(ctx context.Context) ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	if module != nil {
		return bytes.Clone(module), nil
	}
	var (
		b   []byte
		err error
	)
	if p := os.Getenv(EnvModule); p != "" {
		if b, err = os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("modbuild: $%s: %w", EnvModule, err)
		}
	} else if b, err = build(ctx); err != nil {
		return nil, err
	}
	module = b
	return bytes.Clone(module), nil
}

// Path returns the path of a file holding [Build]'s module: $PRESAGE_TEST_WASM itself when set,
// otherwise a file in os.TempDir() named after the module's hash, written once and shared by every
// process that built the same bytes (so that repeated test runs do not leave a file each).
func Path(ctx context.Context) (string, error) {
	if p := os.Getenv(EnvModule); p != "" {
		return p, nil
	}
	b, err := Build(ctx)
	if err != nil {
		return "", err
	}
	mu.Lock()
	defer mu.Unlock()
	if path != "" {
		return path, nil
	}
	sum := sha256.Sum256(b)
	p := filepath.Join(os.TempDir(), "presage-"+hex.EncodeToString(sum[:8])+".wasm")
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, b) {
		path = p
		return path, nil
	}
	// Written under another name and renamed, so that a concurrent reader never sees half a module.
	f, err := os.CreateTemp(os.TempDir(), "presage-*.wasm.tmp")
	if err != nil {
		return "", fmt.Errorf("modbuild: %w", err)
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("modbuild: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("modbuild: %w", err)
	}
	path = p
	return path, nil
}

// Root returns the directory of the Presage source tree, as the go command sees it from the current
// directory.
func Root(ctx context.Context) (string, error) {
	gocmd, err := goCommand()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, gocmd, "list", "-m", "-f", "{{.Dir}}", ModulePath)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("modbuild: go list -m %s: %w: %s", ModulePath, err, strings.TrimSpace(stderr.String()))
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("modbuild: go list -m %s: no source directory", ModulePath)
	}
	return dir, nil
}

func build(ctx context.Context) ([]byte, error) {
	gocmd, err := goCommand()
	if err != nil {
		return nil, err
	}
	root, err := Root(ctx)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "presage-modbuild-")
	if err != nil {
		return nil, fmt.Errorf("modbuild: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "presage.wasm")
	args := BuildArgs(out)
	cmd := exec.CommandContext(ctx, gocmd, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), BuildEnv()...)
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("modbuild: go %s: %w\n%s", strings.Join(args, " "), err, output)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("modbuild: %w", err)
	}
	return b, nil
}

// goCommand finds the go command: on PATH (go test puts its own GOROOT/bin first), else $GOROOT/bin.
func goCommand() (string, error) {
	if p, err := exec.LookPath("go"); err == nil {
		return p, nil
	}
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("modbuild: no go command on PATH to build the module: set " + EnvModule)
}
