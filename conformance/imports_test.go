package conformance

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/presage-dev/presage/internal/modbuild"
	"github.com/presage-dev/presage/internal/wasmfile"
)

// forbidden are the packages the module must not depend on (.plan/CONTRACTS.md and
// shared/design.md): each costs the download tens of kilobytes or more (fmt, reflection, strconv's
// tables, crypto), or does I/O, reads a clock or is meant for the host (os, time, net, wazero), or is
// the trainer's (gonum). A name ending in "/" forbids the package and everything under it.
// internal/reflectlite is not listed: package errors depends on it for Is and As, which the module
// never calls; TestModuleLinked checks that none of its code is linked.
var forbidden = []string{
	"fmt", "reflect", "strconv", "crypto/", "encoding/", "os", "time", "net/",
	"math/big", "gonum.org/", "github.com/fxamacker/", "github.com/tetratelabs/", "embed", "sort",
	"slices", "log/",
}

func isForbidden(pkg string) (rule string, ok bool) {
	for _, f := range forbidden {
		if base, tree := strings.CutSuffix(f, "/"); tree {
			if pkg == base || strings.HasPrefix(pkg, f) {
				return f + "*", true
			}
		} else if pkg == f {
			return f, true
		}
	}
	return "", false
}

const wasmPkg = modbuild.ModulePath + "/wasm"

// TestModuleImports checks what the module is made of: no forbidden package among the
// dependencies of ./wasm (go list -deps, for GOOS=wasip1), and no import but WASI preview 1 in the
// built module, which browsers and edges provide through a small shim.
func TestModuleImports(t *testing.T) {
	t.Run("deps", func(t *testing.T) {
		graph := depGraph(t)
		var pkgs []string
		for p := range graph {
			pkgs = append(pkgs, p)
		}
		slices.Sort(pkgs)
		for _, p := range pkgs {
			if rule, bad := isForbidden(p); bad {
				t.Errorf("the module depends on %s (forbidden: %s), e.g. %s; pulled in by: %s", p, rule,
					strings.Join(importChain(graph, wasmPkg, p), " → "), strings.Join(culprits(graph, p), ", "))
			}
		}
	})
	t.Run("wasi-only", func(t *testing.T) {
		imps, err := wasmfile.Imports(moduleBytes(t))
		if err != nil {
			t.Fatal(err)
		}
		if len(imps) == 0 {
			t.Fatal("the module imports nothing: not a Go wasip1 module?")
		}
		for _, im := range imps {
			if im.Module != "wasi_snapshot_preview1" {
				t.Errorf("the module imports %s.%s: only wasi_snapshot_preview1 runs everywhere", im.Module, im.Name)
			}
		}
	})
}

// depGraph runs go list -deps on ./wasm for the module's target and returns each package's imports.
func depGraph(t *testing.T) map[string][]string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	ctx := context.Background()
	root, err := modbuild.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", "./wasm")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), modbuild.BuildEnv()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./wasm: %v\n%s", err, stderr.Bytes())
	}
	graph := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			graph[f[0]] = f[1:]
		}
	}
	if _, ok := graph[wasmPkg]; !ok {
		t.Fatalf("go list -deps ./wasm does not list %s", wasmPkg)
	}
	return graph
}

// culprits lists the imports by which the repository's own packages reach pkg: "agent → strings".
func culprits(graph map[string][]string, pkg string) []string {
	var out []string
	for p, imps := range graph {
		if !strings.HasPrefix(p, modbuild.ModulePath+"/") {
			continue
		}
		for _, q := range imps {
			if !strings.HasPrefix(q, modbuild.ModulePath+"/") && importChain(graph, q, pkg) != nil {
				out = append(out, strings.TrimPrefix(p, modbuild.ModulePath+"/")+" → "+q)
			}
		}
	}
	slices.Sort(out)
	return out
}

// importChain returns a shortest import path from one package to another, both included; nil if
// there is none.
func importChain(graph map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, q := range graph[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return nil
}

// TestModuleLinked is the finer check behind TestModuleImports: which forbidden packages have code
// in the linked module (the linker drops what is never called, so a dependency can cost nothing).
// It builds the module once more without -s -w, whose name section names every function, and reads
// their packages. Slow (a second build), so -short skips it. When TestModuleImports fails on a
// dependency, this test tells whether it costs the module anything yet.
func TestModuleLinked(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the module a second time")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	ctx := context.Background()
	root, err := modbuild.Root(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "named.wasm")
	args := modbuild.BuildArgs(out)
	for i, a := range args {
		if strings.HasPrefix(a, "-ldflags=") {
			args = slices.Delete(args, i, i+1) // keep the name section
			break
		}
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), modbuild.BuildEnv()...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	names, err := functionNames(wasm)
	if err != nil {
		t.Fatal(err)
	}
	// The runtime defines some functions under other packages' names (time.now, sync.runtime_Semacquire,
	// by go:linkname): a name counts only for a package the module really depends on.
	graph := depGraph(t)
	count := map[string]int{}
	for _, n := range names {
		if pkg := funcPackage(n); pkg != "" {
			if _, bad := isForbidden(pkg); bad {
				if _, dep := graph[pkg]; dep {
					count[pkg]++
				}
			}
		}
	}
	for pkg, n := range count {
		t.Errorf("the module links %d functions of %s", n, pkg)
	}
	t.Logf("%d functions linked", len(names))
}

// funcPackage returns the package of a Go symbol name: "internal/reflectlite.(*rtype).Name" →
// "internal/reflectlite".
func funcPackage(sym string) string {
	slash := strings.LastIndexByte(sym, '/')
	dot := strings.IndexByte(sym[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	return sym[:slash+1+dot]
}

// functionNames reads the function names of a module's name section (custom section "name",
// subsection 1).
func functionNames(wasm []byte) ([]string, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly module")
	}
	r := &leb{b: wasm[8:]}
	for len(r.b) > 0 && r.err == nil {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if id != 0 {
			continue
		}
		s := &leb{b: body}
		if string(s.bytes(int(s.u32()))) != "name" {
			continue
		}
		for len(s.b) > 0 && s.err == nil {
			sub := s.byte()
			content := &leb{b: s.bytes(int(s.u32()))}
			if sub != 1 {
				continue
			}
			n := content.u32()
			names := make([]string, 0, n)
			for range n {
				content.u32() // function index
				names = append(names, string(content.bytes(int(content.u32()))))
			}
			return names, content.err
		}
		return nil, s.err
	}
	if r.err != nil {
		return nil, r.err
	}
	return nil, errors.New("no name section: built with -s?")
}

// leb reads the module's LEB128 integers and byte vectors.
type leb struct {
	b   []byte
	err error
}

func (l *leb) byte() byte {
	if len(l.b) == 0 {
		l.err = errors.New("truncated module")
		return 0
	}
	c := l.b[0]
	l.b = l.b[1:]
	return c
}

func (l *leb) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35 && l.err == nil; shift += 7 {
		c := l.byte()
		v |= uint32(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	return v
}

func (l *leb) bytes(n int) []byte {
	if n > len(l.b) {
		l.err = errors.New("truncated module")
		n = len(l.b)
	}
	b := l.b[:n]
	l.b = l.b[n:]
	return b
}
