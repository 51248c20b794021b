package modbuild

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/presage-dev/presage/internal/wasmfile"
)

func TestBuild(t *testing.T) {
	if testing.Short() && os.Getenv(EnvModule) == "" {
		t.Skip("builds the module")
	}
	ctx := context.Background()
	b, err := Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatalf("not a WebAssembly module: % x", b[:min(8, len(b))])
	}
	exports, err := wasmfile.ExportedFuncs(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"_initialize", "presage_abi", "presage_input", "presage_call", "presage_output"} {
		if !contains(exports, want) {
			t.Errorf("module does not export %s (exports: %v): not built as a reactor?", want, exports)
		}
	}
	b[0] = 'x' // a copy: the cached module is untouched
	again, err := Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again[0] != 0 || !bytes.Equal(again[1:], b[1:]) {
		t.Errorf("second Build differs from the first")
	}
	p, err := Path(ctx)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, again) {
		t.Errorf("%s does not hold the module", p)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
