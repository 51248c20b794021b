package eval

import (
	"math"
	"slices"
)

// Ranked-list metrics for recommendations: ranked is the recommended items, best first (distinct);
// relevant is what the user went on to take (a held-out basket). Each returns one user's value;
// the metric of a recommender is the mean over users, with BootstrapMean for its interval.

// HitAt returns 1 when at least one of the first k recommended items is relevant, else 0: the hit
// rate HR@k once averaged over users (Deshpande & Karypis 2004, "Item-based top-N recommendation
// algorithms", ACM TOIS 22(1):143–177).
func HitAt(ranked, relevant []int, k int) float64 {
	for _, it := range ranked[:min(k, len(ranked))] {
		if slices.Contains(relevant, it) {
			return 1
		}
	}
	return 0
}

// NDCGAt returns the normalised discounted cumulative gain of the first k recommendations with
// binary relevance (Järvelin & Kekäläinen 2002, "Cumulated gain-based evaluation of IR
// techniques", ACM TOIS 20(4):422–446): Σ_{i<k, ranked[i] relevant} 1/log₂(i+2), divided by its
// best possible value Σ_{i<min(k,|relevant|)} 1/log₂(i+2). Unlike the hit rate it rewards putting
// the right items first. It is 0 when nothing is relevant.
func NDCGAt(ranked, relevant []int, k int) float64 {
	dcg := 0.0
	for i, it := range ranked[:min(k, len(ranked))] {
		if slices.Contains(relevant, it) {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	ideal := 0.0
	for i := range min(k, len(relevant)) {
		ideal += 1 / math.Log2(float64(i+2))
	}
	if ideal == 0 {
		return 0
	}
	return dcg / ideal
}

// PrecisionRecallAt returns the share of the k recommendation slots filled by relevant items
// (a short list still counts k slots) and the share of the relevant items that were recommended.
func PrecisionRecallAt(ranked, relevant []int, k int) (precision, recall float64) {
	if k < 1 || len(relevant) == 0 {
		return 0, 0
	}
	hits := 0.0
	for _, it := range ranked[:min(k, len(ranked))] {
		if slices.Contains(relevant, it) {
			hits++
		}
	}
	return hits / float64(k), hits / float64(len(relevant))
}
