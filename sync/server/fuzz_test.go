package server_test

import (
	"testing"

	"github.com/presage-dev/presage/sync/server"
)

// FuzzPostBatch posts arbitrary bytes as a batch. Whatever the input: no panic, no 5xx, and the
// answer agrees with the decoder — 204 exactly when the bytes decode to a batch that passes the
// checks, 400 when they do not, 413 only above the size limit. The seed corpus in
// testdata/fuzz/FuzzPostBatch holds agent-shaped batches and each kind of malformed CBOR the
// hardened decoder refuses.
func FuzzPostBatch(f *testing.F) {
	f.Add(encode(f, sampleBatch(1)))
	cfg := testConfig()
	cfg.MaxBodyBytes = 4096
	s, err := server.New(&memStore{ids: map[string]bool{}}, cfg)
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		w := do(h, "POST", "/v1/batches", body, "Content-Type", "application/cbor")
		_, derr := server.DecodeBatch(body, today, server.DefaultDedupDays)
		switch {
		case w.Code == 204 && derr == nil:
		case w.Code == 400 && derr != nil:
		case w.Code == 413 && len(body) > int(cfg.MaxBodyBytes):
		default:
			t.Fatalf("status %d (%s) for %d bytes; decoder says %v", w.Code, w.Body, len(body), derr)
		}
	})
}
