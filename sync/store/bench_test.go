package store_test

import (
	"context"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
)

// BenchmarkIngestGroup measures one group commit of 64 agent-shaped batches (3 cells each), the
// store's share of the server's ingest: one transaction, one fsync. ns/op is per group.
//
//	go test -run '^$' -bench IngestGroup ./sync/store
func BenchmarkIngestGroup(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := be.open(b)
			const group = 64
			bs := make([]*wire.Batch, group)
			n := 0
			for b.Loop() {
				for i := range bs {
					n++
					bs[i] = batch(n, cell("summer", "A", 3, 1, 59.9), cell("summer", "", 1, 0, 0), cell("welcome", "B", 2, 0, 0))
				}
				if _, err := s.Ingest(context.Background(), bs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*group), "ns/batch")
		})
	}
}
