package loopsim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
)

// client talks to the sync server, retrying what may succeed later: connection errors (a server
// being restarted), 429 and 5xx answers.
type client struct {
	base, token string
	retry       Retry
	http        *http.Client
}

func newClient(base, token string, r Retry) *client {
	return &client{base: strings.TrimRight(base, "/"), token: token, retry: r, http: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only: never through a proxy
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// errGaveUp is a request that still failed after the retry policy's attempts or time.
var errGaveUp = errors.New("loopsim: gave up after retries")

// postBatch posts one batch until it is acknowledged (204). It returns the attempts made.
func (c *client) postBatch(ctx context.Context, bt *wire.Batch) (int, error) {
	body, err := cborx.EncMode.Marshal(bt)
	if err != nil {
		return 0, fmt.Errorf("loopsim: encoding a batch: %w", err)
	}
	code, msg, n, err := c.attempt(ctx, "POST", "/v1/batches", "application/cbor", body, false)
	if err != nil {
		return n, err
	}
	if code != http.StatusNoContent {
		return n, fmt.Errorf("loopsim: batch refused: %d %s", code, msg)
	}
	return n, nil
}

// do sends one request (admin ones with the token) and returns the final status and body.
func (c *client) do(ctx context.Context, method, path, ctype string, body []byte) (int, []byte, error) {
	code, b, _, err := c.attempt(ctx, method, path, ctype, body, true)
	return code, b, err
}

// doJSON sends in as JSON (if not nil) and decodes a 2xx answer into out (if not nil).
func (c *client) doJSON(ctx context.Context, method, path string, in, out any) (int, []byte, error) {
	var body []byte
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		body, ctype = b, "application/json"
	}
	code, b, _, err := c.attempt(ctx, method, path, ctype, body, true)
	if err != nil {
		return 0, nil, err
	}
	if out != nil && code/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return code, b, fmt.Errorf("loopsim: %s %s: %w", method, path, err)
		}
	}
	return code, b, nil
}

// attempt runs the retry loop: exponential backoff, bounded in attempts and time.
func (c *client) attempt(ctx context.Context, method, path, ctype string, body []byte, admin bool) (code int, out []byte, n int, err error) {
	r := c.retry
	deadline := time.Now().Add(r.Within)
	wait := r.First
	var last error
	for n < r.Attempts && time.Now().Before(deadline) {
		n++
		code, out, err = c.once(ctx, method, path, ctype, body, admin)
		switch {
		case err == nil && code != http.StatusTooManyRequests && code < 500:
			return code, out, n, nil
		case err == nil:
			last = fmt.Errorf("%d %s", code, bytes.TrimSpace(out))
		case ctx.Err() != nil:
			return 0, nil, n, context.Cause(ctx)
		default:
			last = err
		}
		t := time.NewTimer(min(wait, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil, n, context.Cause(ctx)
		case <-t.C:
		}
		wait = min(2*wait, r.Max)
	}
	return 0, nil, n, fmt.Errorf("%w: %s %s: %d attempts: %v", errGaveUp, method, path, n, last)
}

func (c *client) once(ctx context.Context, method, path, ctype string, body []byte, admin bool) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// served gets site's bundle as served (GET /v1/bundle) and verifies its signature with pub.
func (c *client) served(ctx context.Context, site string, pub ed25519.PublicKey) (*models.Bundle, []byte, error) {
	code, env, err := c.do(ctx, "GET", "/v1/bundle?site="+url.QueryEscape(site), "", nil)
	if err != nil {
		return nil, nil, err
	}
	if code != 200 {
		return nil, nil, fmt.Errorf("loopsim: GET /v1/bundle: %d %s", code, env)
	}
	b, err := signing.Verify(env, pub)
	if err != nil {
		return nil, nil, fmt.Errorf("loopsim: the bundle served: %w", err)
	}
	return b, env, nil
}
