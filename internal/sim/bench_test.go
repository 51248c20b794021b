package sim

import "testing"

// BenchmarkVisitors10k generates 10,000 visitors one after the other.
func BenchmarkVisitors10k(b *testing.B) {
	s, err := New(Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		events = 0
		for _, v := range s.Visitors(10000) {
			events += len(v.Events) + len(v.Holdout)
		}
	}
	b.ReportMetric(float64(events), "events/op")
}

// BenchmarkAll10k generates 10,000 visitors on every CPU.
func BenchmarkAll10k(b *testing.B) {
	s, err := New(Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.All()
	}
}
