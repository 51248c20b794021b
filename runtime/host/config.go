package host

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// Defaults of a [Config]. They are what a zero Config and [NewConfig] give.
const (
	// DefaultMemoryLimitPages is the ceiling on one instance's linear memory: 512 pages of 64 KiB,
	// 32 MiB. An instance serving small bundles settles at 5–10 MiB; the rest is room for large bundles
	// and requests.
	DefaultMemoryLimitPages = 512

	// DefaultCallTimeout bounds one call into the module. An answer takes well under a millisecond;
	// a call that runs for this long is a bug or an attack, and its instance is discarded.
	DefaultCallTimeout = 250 * time.Millisecond

	// setupTimeout bounds instantiation (the Go runtime's start) and bundle loads, which decode
	// megabytes and are not on a visitor's path. The call timeout still applies if it is longer.
	setupTimeout = 10 * time.Second

	// maxPages is WebAssembly's 4 GiB limit of a 32-bit memory.
	maxPages = 65536
)

// Config is the immutable configuration of a [Host]. Each With method returns a modified copy, so
// that one Config can be shared and specialised safely; nothing is checked until [New], which
// validates everything at once. The zero Config is valid and equal to [NewConfig].
type Config struct {
	cacheDir    string
	cacheDirSet bool // WithCompilationCacheDir was called ("" then means no disk cache)
	noGuard     bool // tests: interrupt with wazero's checks, as for a module the guard refuses
	poolSize    int
	memoryPages int
	callTimeout time.Duration
	noInterrupt bool // WithInterruptibleCalls(false)
	trusted     []ed25519.PublicKey
	skipVerify  bool
	stderr      io.Writer
}

// NewConfig returns the default configuration:
//   - compilation cache in os.UserCacheDir()/presage/wazero, or none if there is no user cache
//     directory (see [Config.WithCompilationCacheDir]);
//   - pool of runtime.GOMAXPROCS(0) instances at most;
//   - [DefaultMemoryLimitPages] of memory and [DefaultCallTimeout] per call, enforced within calls
//     (see [Config.WithInterruptibleCalls]);
//   - no trusted keys, which refuses every bundle handed to [Host.LoadBundle] (only a bundle compiled
//     into the module serves): trust is opt-in, never a default;
//   - the module's stderr (Go's fatal-error traces) discarded, as wazero does by default.
func NewConfig() Config { return Config{} }

// WithCompilationCacheDir keeps the machine code compiled from the module in dir, so that a later
// [New] with the same module takes tens of milliseconds instead of one to three seconds. The cache is
// keyed by the module's hash, wazero's version and the platform, so a stale entry is never used; it
// is safe to share between processes. An empty dir disables the disk cache: every New compiles.
// The default is os.UserCacheDir()/presage/wazero, or no disk cache when that is unavailable.
func (c Config) WithCompilationCacheDir(dir string) Config {
	c.cacheDir, c.cacheDirSet = dir, true
	return c
}

// WithPoolSize bounds the number of instances, hence of concurrent sessions: one instance is
// single-threaded and holds 5–10 MiB. Instances are created on demand up to n; when all are busy,
// [Host.Acquire] waits. 0 means runtime.GOMAXPROCS(0).
func (c Config) WithPoolSize(n int) Config {
	c.poolSize = n
	return c
}

// WithMemoryLimitPages caps each instance's linear memory at pages of 64 KiB (1 to 65536; 0 means
// [DefaultMemoryLimitPages]). An instance that needs more fails its call with [ErrTrap] and is
// replaced; a request that cannot fit is refused beforehand with wire.CodeTooLarge.
func (c Config) WithMemoryLimitPages(pages uint32) Config {
	c.memoryPages = int(pages)
	return c
}

// WithCallTimeout bounds each call into the module (0 means [DefaultCallTimeout]). The deadline of
// the context given to [Host.Acquire] also applies, whichever comes first. A call that overruns is
// interrupted, fails with [ErrDeadline], and its instance is discarded (but see
// [Config.WithInterruptibleCalls]). Bundle loads and instantiation get at least 10 s.
func (c Config) WithCallTimeout(d time.Duration) Config {
	c.callTimeout = d
	return c
}

// WithInterruptibleCalls says whether a call that overruns its deadline is interrupted (the default)
// or left to finish.
//
// To interrupt, the host rewrites the module before compiling it (the deadline guard, guard.go): at
// every function entry and loop header the module counts down and, every 1,024 checks, calls into
// Go and tests a stop flag that the call's deadline, its context and Close set. A call therefore
// stops within 1,024 function entries or loop iterations of its deadline, and the garbage collector's
// stop-the-world never waits longer than that for a running call. Measured on the Presage module,
// the guard costs within the benchmarks' noise. A module the guard cannot rewrite (no
// wasi_snapshot_preview1.sched_yield import, which every Go wasip1 module has, or instructions it
// does not know, such as SIMD) gets wazero's own checks instead: a call into Go at every loop header,
// which cost the Presage module 3–5× per call (LoadProfile of a returning visitor 22 → 150 µs,
// Handle of one page view 30 → 140 µs).
//
// Without interruption, deadlines are still checked before every call, but a call that never
// returns (a bug in the module, or input that triggers one) blocks its goroutine and its instance
// forever, and a long call holds up every stop-the-world of the process's garbage collector.
func (c Config) WithInterruptibleCalls(on bool) Config {
	c.noInterrupt = !on
	return c
}

// WithTrustedKeys sets the ed25519 keys that may sign bundles given to [Host.LoadBundle]; it
// replaces any keys set before. Without keys every bundle is refused, unless
// [Config.WithInsecureSkipVerify] is set.
func (c Config) WithTrustedKeys(keys ...ed25519.PublicKey) Config {
	c.trusted = make([]ed25519.PublicKey, len(keys))
	for i, k := range keys {
		c.trusted[i] = append(ed25519.PublicKey(nil), k...)
	}
	return c
}

// WithInsecureSkipVerify makes [Host.LoadBundle] accept bundles without checking their signature.
// It is meant for tests and for tools that produced the bundle themselves; a bundle is code-like
// (it decides what visitors see), so a server should never load an unverified one from the network.
// It cannot be combined with trusted keys.
func (c Config) WithInsecureSkipVerify() Config {
	c.skipVerify = true
	return c
}

// WithStderr receives what the module writes to its stderr: the Go runtime's trace when an instance
// dies of a fatal error. Writes are serialised, so w needs no locking of its own. nil discards.
func (c Config) WithStderr(w io.Writer) Config {
	c.stderr = w
	return c
}

// settings is a validated Config with defaults applied.
type settings struct {
	cacheDir    string
	poolSize    int
	memoryPages uint32
	callTimeout time.Duration
	interrupt   bool
	trusted     []ed25519.PublicKey
	skipVerify  bool
	stderr      io.Writer
}

func (c Config) validate() (settings, error) {
	s := settings{
		cacheDir:    c.cacheDir,
		poolSize:    c.poolSize,
		memoryPages: uint32(c.memoryPages),
		callTimeout: c.callTimeout,
		interrupt:   !c.noInterrupt,
		trusted:     c.trusted,
		skipVerify:  c.skipVerify,
		stderr:      c.stderr,
	}
	if !c.cacheDirSet {
		s.cacheDir = defaultCacheDir()
	}
	var errs []error
	switch {
	case c.poolSize < 0:
		errs = append(errs, fmt.Errorf("pool size %d is negative", c.poolSize))
	case c.poolSize == 0:
		s.poolSize = runtime.GOMAXPROCS(0)
	}
	switch {
	case c.memoryPages > maxPages:
		errs = append(errs, fmt.Errorf("memory limit of %d pages exceeds %d", c.memoryPages, maxPages))
	case c.memoryPages == 0:
		s.memoryPages = DefaultMemoryLimitPages
	}
	switch {
	case c.callTimeout < 0:
		errs = append(errs, fmt.Errorf("call timeout %v is negative", c.callTimeout))
	case c.callTimeout == 0:
		s.callTimeout = DefaultCallTimeout
	}
	for i, k := range c.trusted {
		if len(k) != ed25519.PublicKeySize {
			errs = append(errs, fmt.Errorf("trusted key %d is %d bytes, want %d", i, len(k), ed25519.PublicKeySize))
		}
	}
	if c.skipVerify && len(c.trusted) > 0 {
		errs = append(errs, errors.New("trusted keys and insecure skip verify are exclusive"))
	}
	if s.stderr == nil {
		s.stderr = io.Discard
	}
	if len(errs) > 0 {
		return s, fmt.Errorf("host: config: %w", errors.Join(errs...))
	}
	return s, nil
}

// defaultCacheDir is os.UserCacheDir()/presage/wazero, or "" (no disk cache) when the platform has
// no user cache directory ($HOME unset in a container, for example).
func defaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil || dir == "" {
		return ""
	}
	return filepath.Join(dir, "presage", "wazero")
}
