package server

import (
	"context"

	"github.com/presage-dev/presage/agent/wire"
)

// Routes lists the router's method and path patterns, for the OpenAPI test.
func Routes(s *Server) [][2]string {
	out := make([][2]string, len(s.routes))
	for i, r := range s.routes {
		out[i] = [2]string{r.method, r.path}
	}
	return out
}

// Submit hands a batch to the group committer, as the handler does after decoding, for the
// benchmark of the committer alone.
func Submit(ctx context.Context, s *Server, b *wire.Batch) (bool, error) { return s.ing.submit(ctx, b) }

// DecodeBatch is the handler's decoding and checking, for the fuzz target's invariants.
var DecodeBatch = decodeBatch

// Redact is what the server does to net/http's log lines.
var Redact = redact

// RetrainScheduled runs the retraining schedule once, as the maintenance loop does every minute.
func RetrainScheduled(s *Server) { s.retrainScheduled() }
