package host

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Host runs the Presage module in a pool of wazero instances. It is safe for concurrent use.
type Host struct {
	cfg        settings
	rt         wazero.Runtime
	cache      wazero.CompilationCache // nil without a disk cache
	compiled   wazero.CompiledModule
	modCfg     wazero.ModuleConfig
	inputLimit int  // largest request: the module's bound, or less under a low memory ceiling
	guarded    bool // interruptible calls through the deadline guard (guard.go), not wazero's checks

	// The pool. idle holds instances ready to serve; slots holds one token per instance that may
	// still be created. Tokens plus live instances always equal the pool size, so that neither
	// channel ever blocks a sender and the instance count stays bounded.
	idle  chan *instance
	slots chan struct{}
	done  chan struct{} // closed by Close
	mu    sync.Mutex    // orders Release against Close, so that no instance enters idle after Close
	shut  bool
	live  atomic.Int64 // instances alive, for tests and monitoring
	// instances are the live instances of a guarded host, so that Close can halt busy ones.
	instances map[*instance]struct{}

	bundle atomic.Pointer[bundleState]
	loadMu sync.Mutex // one LoadBundle at a time, so that generations and versions increase together
}

// bundleState is the bundle every instance must serve. gen 0 is the module's own state at start: no
// bundle, or the one compiled into it.
type bundleState struct {
	gen      uint64
	envelope []byte
	info     *wire.BundleInfo // nil for gen 0
}

// New compiles wasm (a Presage module, see wasm/) and returns a Host ready to serve. Compilation
// uses wazero's optimising compiler when the platform has one and its interpreter otherwise; with a
// compilation cache (the default) only the first New on a machine pays the one to three seconds of
// compiling. New instantiates one instance at once, so that a module that does not speak this host's
// ABI fails here rather than on the first request; the rest of the pool is created on demand.
func New(ctx context.Context, wasm []byte, cfg Config) (*Host, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	h := &Host{
		cfg:   s,
		idle:  make(chan *instance, s.poolSize),
		slots: make(chan struct{}, s.poolSize),
		done:  make(chan struct{}),

		instances: make(map[*instance]struct{}),
	}
	// An input is held with a copy and its decoded form; an eighth of the ceiling leaves room for them.
	h.inputLimit = min(maxModuleInput, int(s.memoryPages)*65536/8)
	for range s.poolSize {
		h.slots <- struct{}{}
	}
	h.bundle.Store(&bundleState{})

	if s.interrupt && !cfg.noGuard {
		// The deadline guard interrupts calls at a fraction of the cost of wazero's checks; a module
		// it cannot rewrite gets wazero's checks instead (guard.go).
		if g, err := guard(wasm); err == nil {
			wasm, h.guarded = g, true
		}
	}
	rc := wazero.NewRuntimeConfig(). // the compiler where supported, else the interpreter
						WithMemoryLimitPages(s.memoryPages).
						WithCloseOnContextDone(s.interrupt && !h.guarded)
	if s.cacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(s.cacheDir)
		switch {
		case err == nil:
			h.cache = cache
			rc = rc.WithCompilationCache(cache)
		case cfg.cacheDirSet: // asked for explicitly: say so
			return nil, fmt.Errorf("host: compilation cache: %w", err)
		} // the default directory is a convenience: without it, compile every time
	}
	h.rt = wazero.NewRuntimeWithConfig(ctx, rc)
	fail := func(err error) (*Host, error) {
		_ = h.rt.Close(context.Background())
		if h.cache != nil {
			_ = h.cache.Close(context.Background())
		}
		return nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, h.rt); err != nil {
		return fail(fmt.Errorf("host: wasi: %w", err))
	}
	h.compiled, err = h.rt.CompileModule(ctx, wasm)
	if err != nil {
		return fail(fmt.Errorf("host: compile: %w", err))
	}
	if err := checkExports(h.compiled); err != nil {
		return fail(err)
	}
	h.modCfg = wazero.NewModuleConfig().
		WithName(""). // anonymous: the same compiled module is instantiated many times
		WithStartFunctions(startFunc).
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader).
		WithStderr(&lockedWriter{w: s.stderr})

	<-h.slots
	in, err := h.newInstance(ctx)
	if err != nil {
		return fail(err)
	}
	h.idle <- in
	return h, nil
}

func checkExports(cm wazero.CompiledModule) error {
	defs := cm.ExportedFunctions()
	for _, e := range exportSigs {
		d, ok := defs[e.name]
		if !ok {
			return fmt.Errorf("host: module does not export %s: not a Presage module", e.name)
		}
		if !allI32(d.ParamTypes(), e.params) || !allI32(d.ResultTypes(), e.results) {
			return fmt.Errorf("host: export %s has signature %v -> %v, want %d i32 -> %d i32",
				e.name, d.ParamTypes(), d.ResultTypes(), e.params, e.results)
		}
	}
	if _, ok := defs[startFunc]; !ok {
		return fmt.Errorf("host: module does not export %s: build it with -buildmode=c-shared", startFunc)
	}
	return nil
}

func allI32(ts []api.ValueType, n int) bool {
	if len(ts) != n {
		return false
	}
	for _, t := range ts {
		if t != api.ValueTypeI32 {
			return false
		}
	}
	return true
}

// Acquire takes an instance from the pool for one visitor's session, waiting while all are busy,
// and creating one when the pool is below its size. The instance first catches up with the last
// bundle given to LoadBundle. ctx bounds the wait and, with the call timeout, every call of the
// session. The session must be released.
func (h *Host) Acquire(ctx context.Context) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctxError("acquire", err)
	}
	if h.isClosed() {
		return nil, ErrClosed
	}
	var in *instance
	select {
	case in = <-h.idle: // an idle instance is cheaper than a new one: prefer it
	default:
		select {
		case in = <-h.idle:
		case <-h.slots:
			var err error
			if in, err = h.newInstance(ctx); err != nil {
				h.slots <- struct{}{}
				if h.isClosed() {
					return nil, fmt.Errorf("%w: %w", ErrClosed, err)
				}
				return nil, err
			}
		case <-ctx.Done():
			return nil, ctxError("acquire", ctx.Err())
		case <-h.done:
			return nil, ErrClosed
		}
	}
	if err := h.catchUp(ctx, in); err != nil {
		h.discard(in)
		return nil, err
	}
	return &Session{h: h, in: in, ctx: ctx}, nil
}

// catchUp loads the host's bundle into an instance that serves an older one. Pooled instances are
// swapped this way one by one, on their next use: a session always sees one bundle from start to end.
func (h *Host) catchUp(ctx context.Context, in *instance) error {
	st := h.bundle.Load()
	if in.gen == st.gen {
		return nil
	}
	reply, err := h.do(ctx, in, wire.OpLoadBundle, st.envelope)
	if err == nil {
		var r wire.Reply
		if err = decodeReply(reply, &r); err == nil && r.Err != nil {
			err = r.Err
		}
	}
	if err != nil {
		return fmt.Errorf("host: load bundle %d into a pooled instance: %w", st.info.Version, err)
	}
	in.gen, in.version = st.gen, st.info.Version
	return nil
}

// release returns an instance to the pool, or discards it if it failed, was closed, or loaded a
// bundle of its own.
func (h *Host) release(in *instance) {
	if in.dead || in.tainted || in.mod.IsClosed() {
		h.discard(in)
		return
	}
	h.mu.Lock()
	if h.shut {
		h.mu.Unlock()
		h.discard(in)
		return
	}
	h.idle <- in // never blocks: at most poolSize instances exist
	h.mu.Unlock()
}

// discard closes an instance and frees its slot for a new one.
func (h *Host) discard(in *instance) {
	if h.guarded {
		h.mu.Lock()
		delete(h.instances, in)
		h.mu.Unlock()
	}
	in.close()
	h.live.Add(-1)
	h.slots <- struct{}{}
}

func (h *Host) isClosed() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// Close closes every instance (sessions still running fail with ErrClosed), the runtime and the
// compilation cache. Acquire and LoadBundle then fail with ErrClosed. Close is idempotent.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.shut {
		h.mu.Unlock()
		return nil
	}
	h.shut = true
	close(h.done)
	for in := range h.instances { // guarded calls still running stop at their next check
		in.halt()
	}
	h.mu.Unlock()
	for {
		select {
		case in := <-h.idle:
			h.discard(in)
			continue
		default:
		}
		break
	}
	err := h.rt.Close(ctx) // closes busy instances too; their calls return and their sessions fail
	if h.cache != nil {
		err = errors.Join(err, h.cache.Close(ctx))
	}
	if err != nil {
		return fmt.Errorf("host: close: %w", err)
	}
	return nil
}

// LoadBundle makes every instance serve the bundle in envelope (a models.Envelope). It verifies the
// signature against the trusted keys (see Config.WithTrustedKeys), decodes and validates the bundle,
// refuses an expired one, then loads it into one instance, where the module refuses a bundle that is
// not newer than the one serving. Once that succeeds the bundle is the host's: the other instances
// load it on their next Acquire, and sessions already running finish on the bundle they started with.
//
// A refused bundle leaves the previous one serving everywhere. The error matches its wire code,
// errors.Is(err, &wire.Error{Code: wire.CodeBadSignature}) (or CodeBadBundle, CodeUnknownFormat,
// CodeStaleBundle, CodeExpiredBundle), and for checks done by the host also the cause
// (signing.ErrBadSignature, models.ErrBadBundle…).
func (h *Host) LoadBundle(ctx context.Context, envelope []byte) (wire.BundleInfo, error) {
	if h.isClosed() {
		return wire.BundleInfo{}, ErrClosed
	}
	b, err := h.open(envelope)
	if err != nil {
		return wire.BundleInfo{}, err
	}
	if now := time.Now().Unix(); b.Expires != 0 && now > b.Expires {
		return wire.BundleInfo{}, refuse(wire.CodeExpiredBundle,
			fmt.Errorf("%w: version %d expired at %d, now %d", models.ErrExpired, b.Version, b.Expires, now))
	}

	h.loadMu.Lock()
	defer h.loadMu.Unlock()
	s, err := h.Acquire(ctx) // the instance is at the current bundle: the module's stale check is right
	if err != nil {
		return wire.BundleInfo{}, err
	}
	defer s.Release()
	env := bytes.Clone(envelope)
	if _, err := s.reply(wire.OpLoadBundle, env); err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			return wire.BundleInfo{}, &bundleError{code: we, cause: we}
		}
		return wire.BundleInfo{}, err
	}
	// From here the instance serves the new bundle: if anything fails, it must not go back to the pool.
	info, err := s.Info()
	if err != nil {
		if s.in != nil {
			s.in.tainted = true
		}
		return wire.BundleInfo{}, err
	}
	st := &bundleState{gen: h.bundle.Load().gen + 1, envelope: env, info: info}
	h.bundle.Store(st)
	s.in.gen, s.in.version = st.gen, info.Version
	return *info, nil
}

// open checks the signature of an envelope (unless verification is off) and decodes its bundle.
func (h *Host) open(envelope []byte) (*models.Bundle, error) {
	var (
		b   *models.Bundle
		err error
	)
	switch {
	case h.cfg.skipVerify:
		b, err = models.Open(envelope)
	case len(h.cfg.trusted) == 0:
		err = fmt.Errorf("%w: no trusted keys are configured (see Config.WithTrustedKeys)", signing.ErrBadSignature)
	default:
		b, err = signing.Verify(envelope, h.cfg.trusted...)
	}
	if err == nil {
		return b, nil
	}
	code := wire.CodeBadBundle
	switch {
	case errors.Is(err, signing.ErrBadSignature):
		code = wire.CodeBadSignature
	case errors.Is(err, models.ErrUnknownFormat):
		code = wire.CodeUnknownFormat
	case errors.Is(err, models.ErrStaleBundle):
		code = wire.CodeStaleBundle
	case errors.Is(err, models.ErrExpired):
		code = wire.CodeExpiredBundle
	}
	return nil, refuse(code, err)
}

// BundleInfo describes the last bundle loaded with LoadBundle; ok is false before the first (the
// instances then serve the bundle compiled into the module, if any: ask a session's Info).
func (h *Host) BundleInfo() (info wire.BundleInfo, ok bool) {
	st := h.bundle.Load()
	if st.info == nil {
		return wire.BundleInfo{}, false
	}
	return *st.info, true
}

// Handle serves one request of one visitor, as an edge does: acquire an instance, load the visitor's
// profile (empty for a new visitor), handle req, save the profile, release. It returns the answer and
// the profile to store; a nil profile means the visitor denied consent and the stored one must be
// deleted. A profile that cannot be read starts a new visitor rather than failing the request, as the
// agent does. A zero req.Now is replaced by the host's clock and a zero req.Seed by random bits; req
// itself is not modified.
func (h *Host) Handle(ctx context.Context, profile []byte, req *wire.Request) (*wire.Answer, []byte, error) {
	s, err := h.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer s.Release()
	var seeds [16]byte
	_, _ = rand.Read(seeds[:]) // never fails since Go 1.24
	r := *req
	if r.Now == 0 {
		r.Now = clock()
	}
	if r.Seed == 0 {
		r.Seed = le64(seeds[8:])
	}
	if err := s.loadProfile(r.Now, profile, le64(seeds[:8])); err != nil && !errors.Is(err, &wire.Error{Code: wire.CodeBadProfile}) {
		return nil, nil, err
	}
	ans, err := s.Handle(&r)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.SaveProfile()
	if err != nil {
		return nil, nil, err
	}
	return ans, p, nil
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// decodeReply decodes a reply with the module's own codec and limits. A reply that does not decode
// breaks the ABI: the caller treats it as a failure of the instance.
func decodeReply(reply []byte, r *wire.Reply) error {
	if err := minicbor.Unmarshal(reply, r, minicbor.DefaultLimits); err != nil {
		return fmt.Errorf("%w: malformed reply: %w", ErrTrap, err)
	}
	return nil
}

// lockedWriter serialises the writes of instances running on several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
