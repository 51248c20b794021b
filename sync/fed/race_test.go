//go:build race

package fed_test

// raceEnabled: under the race detector the simulation takes minutes, not seconds.
const raceEnabled = true
