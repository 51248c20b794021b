package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/tetratelabs/wazero/api"
)

// The module's exports (see .plan/CONTRACTS.md, "ABI of the module").
const (
	exportABI    = "presage_abi"
	exportInput  = "presage_input"
	exportCall   = "presage_call"
	exportOutput = "presage_output"
	startFunc    = "_initialize"
	abiVersion   = 1

	// maxModuleInput is the module's own bound on one input (4 MiB): presage_input refuses more.
	maxModuleInput = 4 << 20

	// initialInput is the input buffer size asked for when an instance starts, so that ordinary
	// requests never pay the presage_input call: the module allocates 64 KiB anyway.
	initialInput = 64 << 10
)

// exportSigs are the exports the host needs, with their signatures, checked once at compile time.
var exportSigs = []struct {
	name            string
	params, results int // counts of i32
}{
	{exportABI, 0, 1},
	{exportInput, 1, 1},
	{exportCall, 2, 1},
	{exportOutput, 0, 1},
}

// instance is one module instance and what the host knows about it. It is used by one session at a
// time; nothing in it is synchronised.
type instance struct {
	mod                 api.Module
	mem                 api.Memory
	input, call, output api.Function // cached exports: looking them up is a map access and an allocation

	stack  []uint64 // parameters and results of the exports, reused
	inAddr uint32   // address of the module's input buffer, valid for inCap bytes
	inCap  uint32   // 0 until presage_input has been called
	enc    []byte   // request encoding buffer, reused

	gen     uint64 // generation of the host's bundle this instance serves (see Host.LoadBundle)
	version uint64 // that bundle's version; 0 for generation 0 (no bundle, or the module's own)
	tainted bool   // a raw OpLoadBundle ran: its bundle may differ from the host's, so it is not pooled
	dead    bool   // a call failed: wazero closed it or it must be closed; never pooled

	// The deadline guard (guard.go), nil without it: stop is the module's flag, halt sets it, timer
	// calls halt when a call's time is up, and ctxStop unregisters halt from the call's context.
	stop    api.MutableGlobal
	halt    func()
	timer   *time.Timer
	ctxStop func() bool
}

// arm starts the guard for one call: the instance is told to stop when d has passed or ctx ends.
func (in *instance) arm(ctx context.Context, d time.Duration) {
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	in.timer.Reset(d)
	if ctx.Done() != nil {
		in.ctxStop = context.AfterFunc(ctx, in.halt)
	}
}

// disarm stops the guard after a call and reports whether it fired: the instance was told to stop
// (or is being told), so it must not serve again.
func (in *instance) disarm() (fired bool) {
	fired = !in.timer.Stop()
	if in.ctxStop != nil {
		fired = !in.ctxStop() || fired
		in.ctxStop = nil
	}
	return fired
}

// newInstance instantiates the compiled module: the WASI imports with real clocks and crypto/rand,
// _initialize (the Go runtime's start), then the ABI check and the export lookup, once.
func (h *Host) newInstance(ctx context.Context) (*instance, error) {
	timeout := max(setupTimeout, h.cfg.callTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	modCfg := h.modCfg
	if h.guarded {
		modCfg = modCfg.WithStartFunctions() // _initialize runs in setup, under the guard
	}
	mod, err := h.rt.InstantiateModule(ctx, h.compiled, modCfg)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, ctxError("instantiate", cerr)
		}
		return nil, fmt.Errorf("host: instantiate: %w", err)
	}
	in := &instance{
		mod:    mod,
		mem:    mod.Memory(),
		input:  mod.ExportedFunction(exportInput),
		call:   mod.ExportedFunction(exportCall),
		output: mod.ExportedFunction(exportOutput),
		stack:  make([]uint64, 2),
		enc:    make([]byte, 0, 512),
	}
	if h.guarded {
		stop, ok := mod.ExportedGlobal(guardExport).(api.MutableGlobal)
		if !ok {
			_ = mod.Close(context.Background())
			return nil, fmt.Errorf("host: the guarded module exports no %s", guardExport)
		}
		in.stop = stop
		var mu sync.Mutex // the timer, the context and Close may halt at once
		in.halt = func() {
			mu.Lock()
			stop.Set(1)
			mu.Unlock()
		}
		in.timer = time.AfterFunc(time.Hour, in.halt)
		in.timer.Stop()
		in.arm(ctx, timeout)
	}
	err = h.setup(ctx, in)
	if h.guarded && in.disarm() && err == nil {
		err = ctxError("setup", context.DeadlineExceeded)
	}
	if err != nil {
		_ = mod.Close(context.Background())
		return nil, err
	}
	h.live.Add(1)
	if h.guarded {
		h.mu.Lock()
		h.instances[in] = struct{}{}
		h.mu.Unlock()
	}
	return in, nil
}

// setup starts a new instance: the Go runtime's start when the guard runs it, the ABI check, the
// input buffer and the boot call.
func (h *Host) setup(ctx context.Context, in *instance) error {
	if in.mem == nil {
		return fmt.Errorf("host: module has no memory")
	}
	if h.guarded {
		if err := in.mod.ExportedFunction(startFunc).CallWithStack(ctx, nil); err != nil {
			return fmt.Errorf("host: instantiate: %s: %w", startFunc, err)
		}
	}
	if err := in.mod.ExportedFunction(exportABI).CallWithStack(ctx, in.stack); err != nil {
		return fmt.Errorf("host: %s: %w", exportABI, err)
	}
	if v := uint32(in.stack[0]); v != abiVersion {
		return fmt.Errorf("host: module ABI version %d, this host speaks %d", v, abiVersion)
	}
	if err := in.reserve(ctx, initialInput); err != nil {
		return fmt.Errorf("host: %s: %w", exportInput, err)
	}
	// The module's first call boots it: it decodes and compiles the bundle built into it, tens of
	// milliseconds in wazero (more with interruptible calls, or on a loaded machine). Boot it here,
	// under the setup deadline, so that no visitor's call pays for it or overruns its deadline.
	if _, err := in.invoke(ctx, wire.OpInfo, nil); err != nil {
		return fmt.Errorf("host: boot: %w", callError(ctx, h, wire.OpInfo, err))
	}
	return nil
}

// reserve makes the module's input buffer hold at least n bytes, calling presage_input only when the
// buffer known so far is smaller: the module may move the buffer when it grows it, never otherwise.
func (in *instance) reserve(ctx context.Context, n uint32) error {
	if n <= in.inCap && in.inCap != 0 {
		return nil
	}
	in.stack[0] = uint64(n)
	if err := in.input.CallWithStack(ctx, in.stack); err != nil {
		in.dead = true
		return err
	}
	addr := uint32(in.stack[0])
	if addr == 0 {
		return &wire.Error{Code: wire.CodeTooLarge, Message: fmt.Sprintf("host: input of %d bytes refused by the module", n)}
	}
	if _, ok := in.mem.Read(addr, n); !ok {
		in.dead = true
		return fmt.Errorf("input buffer [%#x, +%d) outside memory", addr, n)
	}
	in.inAddr, in.inCap = addr, n
	return nil
}

// do runs one operation: request into the input buffer, presage_call, then a view of the reply in
// the module's memory. The view is valid until the next call on this instance; decode or copy it.
// A *wire.Error means the host refused the request and the instance is intact; any other error means
// the instance failed (in.dead is set) and must be discarded.
func (h *Host) do(ctx context.Context, in *instance, op wire.Op, req []byte) ([]byte, error) {
	if len(req) > h.inputLimit {
		return nil, &wire.Error{Code: wire.CodeTooLarge, Message: fmt.Sprintf("host: input of %d bytes exceeds %d", len(req), h.inputLimit)}
	}
	if err := ctx.Err(); err != nil { // before wazero closes a healthy instance over it
		return nil, ctxError(opName(op), err)
	}
	timeout := h.cfg.callTimeout
	if op == wire.OpLoadBundle {
		timeout = max(timeout, setupTimeout)
	}
	if h.guarded {
		return h.doGuarded(ctx, in, op, req, timeout)
	}
	cctx := ctx
	if h.cfg.interrupt { // wazero closes the instance when cctx ends; without interruption, it ignores it
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	reply, err := in.invoke(cctx, op, req)
	return h.result(cctx, in, op, reply, err)
}

// result is a call's outcome: a *wire.Error from the host leaves the instance intact; any other
// error means the instance failed.
func (h *Host) result(ctx context.Context, in *instance, op wire.Op, reply []byte, err error) ([]byte, error) {
	if err != nil {
		if _, ok := err.(*wire.Error); ok && !in.dead {
			return nil, err
		}
		in.dead = true
		return nil, callError(ctx, h, op, err)
	}
	return reply, nil
}

// doGuarded is do under the deadline guard (guard.go).
func (h *Host) doGuarded(ctx context.Context, in *instance, op wire.Op, req []byte, timeout time.Duration) ([]byte, error) {
	if h.isClosed() { // Close halted the instances: a call would trap at once
		in.dead = true
		return nil, fmt.Errorf("%w: %s", ErrClosed, opName(op))
	}
	in.arm(ctx, timeout)
	reply, err := in.invoke(ctx, op, req)
	if in.disarm() {
		// Told to stop: whether the call trapped on the flag or finished just before, the flag is
		// set (or about to be), so the instance cannot serve again.
		in.dead = true
		switch {
		case h.isClosed():
			return nil, fmt.Errorf("%w: %s interrupted", ErrClosed, opName(op))
		case errors.Is(ctx.Err(), context.Canceled):
			return nil, fmt.Errorf("host: %s: %w", opName(op), context.Canceled)
		}
		return nil, fmt.Errorf("%w: %s", ErrDeadline, opName(op))
	}
	return h.result(ctx, in, op, reply, err)
}

func (in *instance) invoke(ctx context.Context, op wire.Op, req []byte) ([]byte, error) {
	n := uint32(len(req))
	if err := in.reserve(ctx, n); err != nil {
		return nil, err
	}
	if !in.mem.Write(in.inAddr, req) {
		return nil, fmt.Errorf("input buffer [%#x, +%d) outside memory", in.inAddr, n)
	}
	in.stack[0], in.stack[1] = uint64(op), uint64(n)
	if err := in.call.CallWithStack(ctx, in.stack); err != nil {
		return nil, err
	}
	length := int32(uint32(in.stack[0]))
	if length < 0 {
		return nil, fmt.Errorf("%s returned length %d", exportCall, length)
	}
	if err := in.output.CallWithStack(ctx, in.stack); err != nil {
		return nil, err
	}
	addr := uint32(in.stack[0])
	reply, ok := in.mem.Read(addr, uint32(length))
	if !ok || (addr == 0 && length > 0) {
		return nil, fmt.Errorf("reply [%#x, +%d) outside memory", addr, length)
	}
	return reply, nil
}

func (in *instance) close() {
	in.dead = true
	_ = in.mod.Close(context.Background())
}

// clock is the host's time for requests whose caller gave none, in Unix milliseconds.
func clock() int64 { return time.Now().UnixMilli() }
