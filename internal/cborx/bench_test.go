package cborx_test

import (
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/minicbor"
)

// Benchmarks of a typical request (one event) and reply (an answer with 5 scores, 6 recs and
// 2 decisions), minicbor against fxamacker. The encoders reuse their buffer, as the module does.

func BenchmarkDecodeRequest(b *testing.B) {
	data := minicbor.Marshal(nil, typicalRequest())
	b.Run("minicbor", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		var r wire.Request
		for b.Loop() {
			if err := minicbor.Unmarshal(data, &r, minicbor.DefaultLimits); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fxamacker", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var r wire.Request
			if err := cborx.DecMode.Unmarshal(data, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeRequest(b *testing.B) {
	r := typicalRequest()
	b.Run("minicbor", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = minicbor.Marshal(buf[:0], r)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("fxamacker", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cborx.EncMode.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkDecodeReply(b *testing.B) {
	data := minicbor.Marshal(nil, typicalReply())
	b.Run("minicbor", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		var r wire.Reply
		for b.Loop() {
			if err := minicbor.Unmarshal(data, &r, minicbor.DefaultLimits); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fxamacker", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var r wire.Reply
			if err := cborx.DecMode.Unmarshal(data, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEncodeReply(b *testing.B) {
	r := typicalReply()
	b.Run("minicbor", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = minicbor.Marshal(buf[:0], r)
		}
		b.SetBytes(int64(len(buf)))
	})
	b.Run("fxamacker", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cborx.EncMode.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
