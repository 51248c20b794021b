package edge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestForwarder(t *testing.T) {
	tests := []struct {
		name       string
		status     int  // the sync server's answer
		block      bool // the server holds requests until the test ends
		batches    int
		queue      int
		wantSent   uint64
		wantFailed uint64
		wantDrop   uint64
	}{
		{"all sent", 200, false, 5, 8, 5, 0, 0},
		{"server refuses: counted after a retry", 500, false, 2, 8, 0, 2, 0},
		{"queue full: counted as dropped", 200, true, 6, 2, 0, 0, 3}, // 1 in flight, 2 queued
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var posts atomic.Int64
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != BatchPath || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/cbor" {
					t.Errorf("got %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
				}
				posts.Add(1)
				if tc.block {
					<-release
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			var m counters
			f := newForwarder(srv.URL, srv.Client(), tc.queue, &m, func(error) {})
			for i := range tc.batches {
				f.enqueue([]byte{0xa1, 0x01, byte(i)})
				if tc.block && i == 0 {
					for posts.Load() == 0 { // the first batch is in flight: the queue is empty again
						time.Sleep(time.Millisecond)
					}
				}
			}
			if tc.block {
				close(release)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := f.close(ctx); err != nil {
				t.Fatal(err)
			}
			f.enqueue([]byte{0xa0}) // after close: dropped, counted
			if tc.block {
				tc.wantSent = uint64(tc.batches) - tc.wantDrop
			}
			got := [3]uint64{m.batchesSent.Load(), m.batchesFailed.Load(), m.batchesDropped.Load()}
			want := [3]uint64{tc.wantSent, tc.wantFailed, tc.wantDrop + 1}
			if got != want {
				t.Errorf("sent, failed, dropped = %v, want %v", got, want)
			}
			if q := m.batchesQueued.Load(); q+m.batchesDropped.Load() != uint64(tc.batches)+1 {
				t.Errorf("queued %d + dropped %d != %d enqueued", q, m.batchesDropped.Load(), tc.batches+1)
			}
		})
	}
}
