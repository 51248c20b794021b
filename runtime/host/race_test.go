//go:build race

package host

// raceEnabled shortens the long tests: under the race detector, every call from the module's code
// into Go (wazero's termination checks) is instrumented, which makes calls about 50 times slower.
const raceEnabled = true
