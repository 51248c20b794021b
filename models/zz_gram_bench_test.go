package models

import "testing"

func BenchmarkGramOnly(b *testing.B) {
	a := randAppetence(1, 1000, 32)
	for b.Loop() {
		gramInt8(a.Factors, 32)
	}
}
func BenchmarkInvOnly(b *testing.B) {
	a := randAppetence(1, 1000, 32)
	L := a.cholesky()
	for b.Loop() {
		inverseFromCholesky(L, 32)
	}
}
