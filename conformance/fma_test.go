package conformance

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// fusedOps matches the fused multiply-add instructions of every architecture whose Go compiler
// fuses x*y + z: arm64, ppc64, s390x, riscv64, loong64 (FMADD…, FMSUB…, FNMADD…, FNMSUB…) and
// amd64 with GOAMD64=v3 (VFMADD…, VFNMADD…, VFMSUB…, VFNMSUB…).
var fusedOps = regexp.MustCompile(`\t(V?FN?M(ADD|SUB)[A-Z0-9]*)\t`)

// TestNoFusedMultiplyAdd compiles every Presage package the module links (through agent, which
// imports them all) for the architectures that fuse, and fails on any fused multiply-add: every
// product that meets an addition must be written float64(x*y), or a score computed on an arm64 server
// would differ in its last bit from the same score in the module, and a band could flip.
func TestNoFusedMultiplyAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the agent twice")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	// The two fusing targets Presage ships to; ppc64le, s390x, riscv64 and loong64 fuse too but cost
	// a cold build each.
	for _, env := range [][]string{{"GOARCH=arm64"}, {"GOARCH=amd64", "GOAMD64=v3"}} {
		t.Run(env[0], func(t *testing.T) {
			const ours = "github.com/presage-dev/presage/..."
			cmd := exec.Command(gobin, "build", "-o", "/dev/null", "-gcflags="+ours+"=-S", "github.com/presage-dev/presage/agent")
			cmd.Env = append(cmd.Environ(), append([]string{"GOOS=linux", "CGO_ENABLED=0"}, env...)...)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go build: %v\n%s", err, out)
			}
			var fn string
			for _, line := range strings.Split(string(out), "\n") {
				if i := strings.Index(line, " STEXT"); i > 0 {
					fn = line[:i]
				}
				if m := fusedOps.FindString(line + "\t"); m != "" {
					t.Errorf("%s compiles to a fused multiply-add (%s): wrap the product in float64()", fn, strings.TrimSpace(m))
				}
			}
		})
	}
}
