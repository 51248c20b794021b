package cloudflareworker

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/presage-dev/presage/runtime/edge"
	"github.com/presage-dev/presage/runtime/host"
)

// TestCookieCodecJS checks the Worker's cookie code in Node, and that a compressed cookie it writes
// is read by the Go edge: the Go edge verifies and inflates it (no bad cookie), then the module
// refuses the payload, which is not a profile (a bad profile), as it should.
func TestCookieCodecJS(t *testing.T) {
	nodeBin := node(t)
	out, err := exec.Command(nodeBin, "test/cookie-check.mjs", hex.EncodeToString(cookieKey)).Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var res struct {
		Checks     map[string]bool `json:"checks"`
		Compressed string          `json:"compressed"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node's answer: %v\n%s", err, out)
	}
	for name, ok := range res.Checks {
		if !ok {
			t.Errorf("%s failed", name)
		}
	}

	ctx := context.Background()
	wasm, err := os.ReadFile(filepath.Join(moduleDir(t), "presage.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := host.New(ctx, wasm, host.NewConfig().WithPoolSize(1).
		WithCompilationCacheDir(filepath.Join(os.TempDir(), "presage-edge-wazero")))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(ctx)
	e, err := edge.New(edge.Config{Host: h, Keys: [][]byte{cookieKey}, InsecureCookie: true})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://shop.example/", nil)
	req.Header.Set("Accept", "text/html")
	req.AddCookie(&http.Cookie{Name: edge.DefaultCookieName, Value: res.Compressed})
	e.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })).
		ServeHTTP(httptest.NewRecorder(), req)
	if m := e.Metrics(); m.BadCookies != 0 || m.BadProfiles != 1 {
		t.Errorf("the Go edge did not read the Worker's compressed cookie: %+v", m)
	}
}
