package agent

// FNV-1a: ids are hashed on the device without crypto/* (which would add ~100 KB to the module).
// Hashes are identifiers, not secrets: collisions only merge two items' history.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// hash64 returns FNV-1a of s, finished with a SplitMix64 mixer so that every output bit depends on
// every input bit: bucketing uses the high bits.
func hash64(seed uint64, s string) uint64 { return mix64(fnv(uint64(fnvOffset64)^seed, s)) }

// hash64Pair is hash64(seed, s+t) without building s+t.
func hash64Pair(seed uint64, s, t string) uint64 {
	return mix64(fnv(fnv(uint64(fnvOffset64)^seed, s), t))
}

// fnv continues FNV-1a from h over s.
func fnv(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// hashID is the 32-bit id the profile keeps for an item or a category (SKUs are longer than 4 bytes).
func hashID(s string) uint32 { return uint32(hash64(0, s) >> 32) }

// mix64 is SplitMix64's finaliser (Steele, Lea & Flood 2014).
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit maps a hash to [0, 1) with 53 bits of resolution.
func unit(h uint64) float64 { return float64(h>>11) * (1.0 / (1 << 53)) }
