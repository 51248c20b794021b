package edge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// BatchPath is where the sync server takes learning batches (POST, one CBOR wire.Batch per body).
const BatchPath = "/v1/batches"

// forwarder posts learning batches to the sync server from a bounded queue, on one goroutine, so
// that a visitor's request never waits on the sync server. A full queue drops the batch and counts it
// (Metrics.BatchesDropped); a batch the server refuses or that cannot be sent after one retry is
// counted too (Metrics.BatchesFailed). Retrying is safe because each batch carries a random id the
// server deduplicates on.
type forwarder struct {
	url    string
	client *http.Client
	m      *counters
	onErr  func(error)

	mu     sync.Mutex // guards closed against enqueue, so that nothing is queued after Close
	closed bool
	q      chan []byte
	stop   chan struct{} // closed by close: post what is queued, then return
	ctx    context.Context
	cancel context.CancelFunc // aborts the post in flight when Close's context ends
	done   chan struct{}
}

func newForwarder(url string, client *http.Client, size int, m *counters, onErr func(error)) *forwarder {
	ctx, cancel := context.WithCancel(context.Background())
	f := &forwarder{
		url: url + BatchPath, client: client, m: m, onErr: onErr,
		q: make(chan []byte, size), stop: make(chan struct{}), ctx: ctx, cancel: cancel, done: make(chan struct{}),
	}
	go f.run()
	return f
}

// enqueue hands a CBOR batch to the queue without ever blocking.
func (f *forwarder) enqueue(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		f.m.batchesDropped.Add(1)
		return
	}
	select {
	case f.q <- b:
		f.m.batchesQueued.Add(1)
	default:
		f.m.batchesDropped.Add(1)
	}
}

func (f *forwarder) run() {
	defer close(f.done)
	for {
		select {
		case b := <-f.q:
			f.post(b)
		case <-f.stop:
			for { // what was queued before Close
				select {
				case b := <-f.q:
					if f.ctx.Err() != nil {
						f.m.batchesDropped.Add(1)
						continue
					}
					f.post(b)
				default:
					return
				}
			}
		}
	}
}

func (f *forwarder) post(b []byte) {
	err := f.try(b)
	if err != nil && f.ctx.Err() == nil {
		select { // one retry, after a pause that lets a restarting server come back
		case <-time.After(200 * time.Millisecond):
		case <-f.ctx.Done():
		}
		err = f.try(b)
	}
	if err != nil {
		f.m.batchesFailed.Add(1)
		f.onErr(err)
		return
	}
	f.m.batchesSent.Add(1)
}

func (f *forwarder) try(b []byte) error {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodPost, f.url, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("edge: sync: %w", err)
	}
	req.Header.Set("Content-Type", "application/cbor")
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("edge: sync: post batch: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("edge: sync: post batch: %s", resp.Status)
	}
	return nil
}

// close stops taking batches, posts those queued until ctx ends (the rest are counted as dropped),
// and waits for the goroutine.
func (f *forwarder) close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		<-f.done
		return nil
	}
	f.closed = true
	close(f.stop)
	f.mu.Unlock()
	select {
	case <-f.done:
		f.cancel()
		return nil
	case <-ctx.Done():
		f.cancel()
		<-f.done
		return fmt.Errorf("edge: close: batches left unsent: %w", ctx.Err())
	}
}
