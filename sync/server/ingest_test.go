package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/sync/server"
)

func TestPostBatch(t *testing.T) {
	good := encode(t, sampleBatch(1))
	withTrailing := append(append([]byte(nil), good...), 0x00)
	future := sampleBatch(2)
	future.Day = today + 2
	old := sampleBatch(3)
	old.Day = today - server.DefaultDedupDays
	shortID := sampleBatch(4)
	shortID.ID = []byte{1, 2, 3}
	noCampaign := sampleBatch(5)
	noCampaign.Cells[0].Campaign = ""
	// {1: id, 4: day, 99: 0}: fields of a newer agent are skipped.
	unknownKey, err := cborx.EncMode.Marshal(map[int]any{1: batchID(6), 4: today, 99: 0})
	if err != nil {
		t.Fatal(err)
	}

	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.Origins = []string{"https://shop.example"}
			cfg.MaxBodyBytes = 1024
			h := newServer(t, b.open(t), cfg).Handler()
			for _, tc := range []struct {
				name    string
				body    []byte
				header  []string
				code    int
				ack     string // Presage-Batch header
				message string // in the error body
			}{
				{"accepted", good, []string{"Content-Type", "application/cbor"}, 204, "accepted", ""},
				{"retry is a duplicate", good, nil, 204, "duplicate", ""},
				{"beacon as text/plain", encode(t, sampleBatch(7)), []string{"Content-Type", "text/plain;charset=UTF-8"}, 204, "accepted", ""},
				{"allowed origin", encode(t, sampleBatch(8)), []string{"Origin", "https://shop.example"}, 204, "accepted", ""},
				{"unknown keys skipped", unknownKey, nil, 204, "accepted", ""},
				{"other origin", encode(t, sampleBatch(9)), []string{"Origin", "https://evil.example"}, 403, "", "origin not allowed"},
				{"json", []byte(`{"id":"x"}`), []string{"Content-Type", "application/json"}, 415, "", "application/cbor"},
				{"empty", nil, nil, 400, "", "empty body"},
				{"not cbor", []byte{0xff, 0x00}, nil, 400, "", "decode batch"},
				{"trailing bytes", withTrailing, nil, 400, "", "extraneous"},
				{"duplicate map key", []byte{0xa2, 0x01, 0x41, 0x00, 0x01, 0x41, 0x00}, nil, 400, "", "duplicate"},
				{"indefinite length", []byte{0xbf, 0x01, 0x41, 0x00, 0xff}, nil, 400, "", "indefinite"},
				{"wrong type", []byte{0xa1, 0x01, 0x63, 'a', 'b', 'c'}, nil, 400, "", "decode batch"},
				{"short id", encode(t, shortID), nil, 400, "", "id is 3 bytes"},
				{"future day", encode(t, future), nil, 400, "", "future"},
				{"day past the retry window", encode(t, old), nil, 400, "", "window"},
				{"cell without campaign", encode(t, noCampaign), nil, 400, "", "empty campaign"},
				{"too large", bytes.Repeat([]byte{0}, 2000), nil, 413, "", "larger than 1024"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					w := do(h, "POST", "/v1/batches", tc.body, tc.header...)
					if w.Code != tc.code || w.Header().Get("Presage-Batch") != tc.ack || !strings.Contains(w.Body.String(), tc.message) {
						t.Errorf("%d %q %s, want %d %q with %q", w.Code, w.Header().Get("Presage-Batch"), w.Body, tc.code, tc.ack, tc.message)
					}
					if c := w.Header().Get("Set-Cookie"); c != "" {
						t.Errorf("a cookie was set: %s", c)
					}
				})
			}
		})
	}
}

// TestPostBatchChunkedTooLarge sends a body without Content-Length: the limit holds while reading.
func TestPostBatchChunkedTooLarge(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBodyBytes = 100
	ts := httptest.NewServer(newServer(t, sqliteStore(t), cfg).Handler())
	defer ts.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/v1/batches", struct{ *bytes.Reader }{bytes.NewReader(make([]byte, 5000))})
	req.ContentLength = -1
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

func TestPreflight(t *testing.T) {
	cfg := testConfig()
	cfg.Origins = []string{"https://shop.example"}
	h := newServer(t, sqliteStore(t), cfg).Handler()
	for _, tc := range []struct {
		origin string
		code   int
		allow  string
	}{
		{"https://shop.example", 204, "https://shop.example"},
		{"https://evil.example", 403, ""},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			w := do(h, "OPTIONS", "/v1/batches", nil, "Origin", tc.origin, "Access-Control-Request-Method", "POST")
			if w.Code != tc.code || w.Header().Get("Access-Control-Allow-Origin") != tc.allow {
				t.Errorf("%d allow-origin %q, want %d %q", w.Code, w.Header().Get("Access-Control-Allow-Origin"), tc.code, tc.allow)
			}
			if w.Header().Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials allowed")
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.Rate, cfg.Burst = 0.001, 3 // three batches, then nothing for a long time
	cfg.ClientIPHeader = "X-Forwarded-For"
	h := newServer(t, sqliteStore(t), cfg).Handler()
	post := func(n int, remote, fwd string) int {
		r := httptest.NewRequest("POST", "/v1/batches", bytes.NewReader(encode(t, sampleBatch(n))))
		r.RemoteAddr = remote
		if fwd != "" {
			r.Header.Set("X-Forwarded-For", fwd)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == 429 && w.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		return w.Code
	}
	for _, tc := range []struct {
		name         string
		remote, fwd  string
		want         []int
		firstBatchID int
	}{
		{"one client", "192.0.2.1:1000", "", []int{204, 204, 204, 429, 429}, 0},
		{"another port, same address", "192.0.2.1:2000", "", []int{429}, 10},
		{"another address", "192.0.2.2:1000", "", []int{204}, 20},
		{"same IPv6 /64", "[2001:db8::1]:1", "", []int{204, 204, 204, 429}, 30},
		{"other IPv6 address of that /64", "[2001:db8::ffff]:1", "", []int{429}, 40},
		{"proxy header, last entry", "10.0.0.1:1", "198.51.100.7, 203.0.113.9", []int{204, 204, 204, 429}, 50},
		{"same client behind the proxy", "10.0.0.2:1", "203.0.113.9", []int{429}, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for i := range tc.want {
				got = append(got, post(tc.firstBatchID+i, tc.remote, tc.fwd))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("codes %v, want %v", got, tc.want)
			}
		})
	}
}

// TestGroupCommit sends many batches at once to a store whose commits are slow: they share a few
// transactions, every one is acknowledged, and each is counted once.
func TestGroupCommit(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			slow := &slowStore{Store: b.open(t), delay: 20 * time.Millisecond, started: make(chan struct{})}
			ts := httptest.NewServer(newServer(t, slow, testConfig()).Handler())
			defer ts.Close()
			const n = 200
			codes := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					// Batches 0..99 twice each: the second copy is a duplicate, in the same group or not.
					resp, err := ts.Client().Post(ts.URL+"/v1/batches", "application/cbor", bytes.NewReader(encode(t, sampleBatch(i%100))))
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					codes[i] = resp.StatusCode
				})
			}
			wg.Wait()
			for i, c := range codes {
				if c != 204 {
					t.Fatalf("batch %d: status %d", i, c)
				}
			}
			if calls := slow.calls.Load(); calls > n/4 {
				t.Errorf("%d commits for %d concurrent batches: not grouped", calls, n)
			}
			tot, err := slow.Totals(context.Background(), "shop", today, today)
			if err != nil || tot.Batches != 100 {
				t.Errorf("counted %d batches (%v), want 100", tot.Batches, err)
			}
		})
	}
}

// TestShutdownFinishesInFlight shuts the server down while batches wait for a slow commit: every
// one of them is acknowledged, and what was acknowledged is in the store.
func TestShutdownFinishesInFlight(t *testing.T) {
	slow := &slowStore{Store: sqliteStore(t), delay: 150 * time.Millisecond, started: make(chan struct{})}
	s, err := server.New(slow, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/v1/batches"

	// One connection per request: a keep-alive connection that the server closes as idle while
	// the client reuses it would fail a POST that never reached the server, which is the agent's
	// retry to make, not what this test is about.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	const n = 40
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := client.Post(url, "application/cbor", bytes.NewReader(encode(t, sampleBatch(i))))
			if err != nil {
				return // refused after the listener closed: never received, retried by the agent
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	<-slow.started
	time.Sleep(20 * time.Millisecond) // let the other requests arrive and queue behind the first commit
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	acked := 0
	for _, c := range codes {
		switch c {
		case 204:
			acked++
		case 0: // never received
		default:
			t.Errorf("status %d during shutdown", c)
		}
	}
	tot, err := slow.Totals(context.Background(), "shop", today, today)
	if err != nil {
		t.Fatal(err)
	}
	if acked == 0 || tot.Batches != int64(acked) {
		t.Errorf("%d acknowledged, %d in the store: want equal and more than 0", acked, tot.Batches)
	}
	if _, err := client.Post(url, "application/cbor", bytes.NewReader(encode(t, sampleBatch(999)))); err == nil {
		t.Error("a batch was accepted after shutdown")
	}
}

// TestCommitFailure checks that a batch the store could not count is answered 503, to be retried.
func TestCommitFailure(t *testing.T) {
	st := sqliteStore(t)
	h := newServer(t, st, testConfig()).Handler()
	st.Close()
	w := do(h, "POST", "/v1/batches", encode(t, sampleBatch(1)))
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("%d %s, want 503 with Retry-After", w.Code, w.Body)
	}
	if w := do(h, "GET", "/readyz", nil); w.Code != 503 {
		t.Errorf("readyz %d with a closed store, want 503", w.Code)
	}
}
