package models

import (
	"os/exec"
	"regexp"
	"runtime"
	"testing"
)

// fusedOps matches the fused multiply-add instructions of every architecture whose Go compiler
// fuses x*y + z: arm64, ppc64, s390x, riscv64, loong64 and amd64 with GOAMD64=v3.
var fusedOps = regexp.MustCompile(`\t(V?FN?M(ADD|SUB)[A-Z0-9]*)\t`)

// TestNoFusedMultiplyAdd compiles the package for the architectures that fuse and fails if the
// generated code (detmath inlined into it included) contains a fused multiply-add: every product
// that meets an addition must be written float64(x*y), or results would differ between platforms.
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() || runtime.GOOS == "wasip1" || runtime.GOOS == "js" {
		t.Skip("needs the go command")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	const pkg = "github.com/presage-dev/presage/models"
	// The two fusing targets Presage ships to; ppc64le, s390x, riscv64 and loong64 fuse too and pass
	// (checked when this test was written) but cost a cold build each.
	for _, env := range [][]string{{"GOARCH=arm64"}, {"GOARCH=amd64", "GOAMD64=v3"}} {
		t.Run(env[0], func(t *testing.T) {
			cmd := exec.Command(gobin, "build", "-o", "/dev/null", "-gcflags="+pkg+"=-S", pkg)
			cmd.Env = append(cmd.Environ(), append([]string{"GOOS=linux", "CGO_ENABLED=0"}, env...)...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			if m := fusedOps.FindAll(out, 5); m != nil {
				t.Errorf("%s compiles to fused multiply-adds (%q): wrap the products in float64()", pkg, m)
			}
		})
	}
}
