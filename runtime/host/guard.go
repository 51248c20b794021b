package host

import (
	"errors"
	"fmt"
	"slices"
)

// The deadline guard: how calls are interrupted without wazero's WithCloseOnContextDone.
//
// wazero interrupts a call by compiling, at every loop header, a call into Go that checks whether the
// instance was closed: native code cannot be preempted, so it exits to Go and back, and Go-compiled
// WebAssembly has a loop in nearly every function (its resumption dispatcher). That costs the
// Presage module 3–5× per call. The host instead rewrites the module once, before compiling it: it
// adds two mutable i32 globals, a stop flag (exported as [guardExport]) and a countdown, and at every
// loop header, and at the entry of every function that calls another, it inserts
//
//	global.get $count, i32.const 1, i32.sub, global.set $count
//	global.get $count, i32.eqz
//	if
//	  i32.const guardPeriod, global.set $count
//	  call $sched_yield, drop      (the module's own WASI import: a call into Go that does nothing)
//	  global.get $stop
//	  if
//	    unreachable
//	  end
//	end
//
// which the compiler turns into a load, a store and a conditional branch, with one call into Go every
// guardPeriod checks instead of one per check. While a call runs, a timer (the call's deadline), the
// context's cancellation and Host.Close set the stop flag from another goroutine; the instance traps
// at the next slow check, and the host discards it as after any trap. The call into Go matters: Go
// cannot preempt a goroutine running compiled WebAssembly, so without it a stop-the-world of the
// garbage collector would wait for the call to end, and the timer that should stop it would never
// run. Between two checks the module runs straight-line code of a few function bodies (a function
// that calls nothing runs forward to its end or into one of its loops) or a host function, so a call
// stops within guardPeriod checks of its deadline, whatever it was doing. Checking the entries of
// calling functions as well as loop headers also stops recursion that loops through calls alone,
// which wazero's loop-header checks do not.
//
// A module the rewriter does not handle (no wasi_snapshot_preview1.sched_yield import, which every
// Go wasip1 module has; SIMD, threads, exceptions or anything newer) is not rewritten: the host then
// falls back to wazero's checks, which cost more but interrupt as well
// (see Config.WithInterruptibleCalls).

// guardPeriod is the number of checks between two calls into Go: a call overruns its deadline by
// at most that many function entries and loop iterations.
const guardPeriod = 1024

// guardExport is the name under which the rewritten module exports its stop flag.
const guardExport = "presage.host.stop"

// errUnguardable means the module uses something the rewriter does not handle.
var errUnguardable = errors.New("host: module cannot be guarded")

// Section ids of the WebAssembly binary format.
const (
	secType   = 1
	secImport = 2
	secGlobal = 6
	secExport = 7
	secCode   = 10
)

// guard rewrites wasm as described above and returns the new module. It parses only what it must
// (imports, globals, exports, code); wazero validates the result.
func guard(wasm []byte) ([]byte, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || wasm[4] != 1 || wasm[5] != 0 || wasm[6] != 0 || wasm[7] != 0 {
		return nil, fmt.Errorf("%w: not a WebAssembly 1.0 binary", errUnguardable)
	}
	type section struct {
		id   byte
		body []byte
	}
	var secs []section
	r := &reader{b: wasm, pos: 8}
	for r.pos < len(r.b) {
		id := r.byte()
		n := r.u32()
		secs = append(secs, section{id, r.bytes(int(n))})
		if r.err != nil {
			return nil, r.err
		}
	}
	// The new globals' indices follow the imported globals and the module's own.
	var (
		globals  uint32
		yieldFn  = -1 // function index of the sched_yield import
		yieldSig []bool
	)
	hasGlobal, hasExport, hasCode := false, false, false
	for _, s := range secs {
		var err error
		switch s.id {
		case secType:
			yieldSig, err = noneToI32(s.body)
		case secImport:
			var n uint32
			n, yieldFn, err = scanImports(s.body, yieldSig)
			globals += n
		case secGlobal:
			hasGlobal = true
			sr := &reader{b: s.body}
			globals += sr.u32()
			err = sr.err
		case secExport:
			hasExport = true
			err = noExport(s.body, guardExport)
		case secCode:
			hasCode = true
		}
		if err != nil {
			return nil, err
		}
	}
	if !hasExport || !hasCode {
		return nil, fmt.Errorf("%w: no exports or no code", errUnguardable)
	}
	if yieldFn < 0 {
		return nil, fmt.Errorf("%w: no wasi_snapshot_preview1.sched_yield import", errUnguardable)
	}
	stop, count := globals, globals+1
	var check []byte
	check = appendU32(append(check, 0x23), count) // global.get $count
	check = append(check, 0x41, 0x01, 0x6b)       // i32.const 1, i32.sub
	check = appendU32(append(check, 0x24), count) // global.set $count
	check = appendU32(append(check, 0x23), count) // global.get $count
	check = append(check, 0x45, 0x04, 0x40)       // i32.eqz, if
	check = appendS32(append(check, 0x41), guardPeriod)
	check = appendU32(append(check, 0x24), count)           // global.set $count
	check = appendU32(append(check, 0x10), uint32(yieldFn)) // call $sched_yield
	check = append(check, 0x1a)                             // drop
	check = appendU32(append(check, 0x23), stop)            // global.get $stop
	check = append(check, 0x04, 0x40, 0x00, 0x0b, 0x0b)     // if, unreachable, end, end
	newGlobals := []byte{0x7f, 0x01, 0x41, 0x00, 0x0b}      // $stop: (mut i32) (i32.const 0)
	newGlobals = append(newGlobals, 0x7f, 0x01, 0x41)       // $count: (mut i32) (i32.const guardPeriod)
	newGlobals = append(appendS32(newGlobals, guardPeriod), 0x0b)

	out := append(make([]byte, 0, len(wasm)+len(wasm)/8), wasm[:8]...)
	for _, s := range secs {
		body := s.body
		switch s.id {
		case secGlobal:
			sr := &reader{b: body}
			n := sr.u32()
			body = append(appendU32(nil, n+2), body[sr.pos:]...)
			body = append(body, newGlobals...)
		case secExport:
			sr := &reader{b: body}
			n := sr.u32()
			body = append(appendU32(nil, n+1), body[sr.pos:]...)
			body = appendU32(body, uint32(len(guardExport)))
			body = append(body, guardExport...)
			body = append(body, 0x03) // global
			body = appendU32(body, stop)
		case secCode:
			var err error
			if body, err = guardCode(body, check); err != nil {
				return nil, err
			}
		}
		if s.id == secExport && !hasGlobal {
			// No global section: one goes before the exports, with the guard's alone.
			g := append(appendU32(nil, 2), newGlobals...)
			out = append(out, secGlobal)
			out = appendU32(out, uint32(len(g)))
			out = append(out, g...)
		}
		out = append(out, s.id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	return out, nil
}

// noExport fails if an export section already has the name: a module guarded twice, or one that
// chose the guard's name.
func noExport(b []byte, name string) error {
	r := &reader{b: b}
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		if string(r.bytes(int(r.u32()))) == name {
			return fmt.Errorf("%w: it already exports %s", errUnguardable, name)
		}
		r.byte() // kind
		r.u32()  // index
	}
	return r.err
}

// noneToI32 reads a type section and reports, for each type, whether it is [] -> [i32].
func noneToI32(b []byte) ([]bool, error) {
	r := &reader{b: b}
	n := r.u32()
	sig := make([]bool, 0, min(n, 1<<16))
	for ; n > 0 && r.err == nil; n-- {
		if r.byte() != 0x60 {
			return nil, fmt.Errorf("%w: a type that is not a function type", errUnguardable)
		}
		params := r.bytes(int(r.u32()))
		results := r.bytes(int(r.u32()))
		sig = append(sig, len(params) == 0 && len(results) == 1 && results[0] == 0x7f)
	}
	return sig, r.err
}

// scanImports counts the globals among an import section's entries and finds the function index of
// wasi_snapshot_preview1.sched_yield, if it is imported with the type [] -> [i32] (-1 otherwise).
func scanImports(b []byte, noneToI32 []bool) (globals uint32, yieldFn int, err error) {
	r := &reader{b: b}
	yieldFn = -1
	funcs := 0
	for n := r.u32(); n > 0 && r.err == nil; n-- {
		module := string(r.bytes(int(r.u32())))
		name := string(r.bytes(int(r.u32())))
		switch kind := r.byte(); kind {
		case 0x00: // func: type index
			t := r.u32()
			if module == "wasi_snapshot_preview1" && name == "sched_yield" && int(t) < len(noneToI32) && noneToI32[t] {
				yieldFn = funcs
			}
			funcs++
		case 0x01: // table: reftype, limits
			r.byte()
			r.limits()
		case 0x02: // memory: limits
			r.limits()
		case 0x03: // global: valtype, mutability
			r.byte()
			r.byte()
			globals++
		default:
			return 0, -1, fmt.Errorf("%w: import kind %#x", errUnguardable, kind)
		}
	}
	return globals, yieldFn, r.err
}

// guardCode rewrites the code section: check at each body's start (after its locals) and after the
// block type of each loop.
func guardCode(b []byte, check []byte) ([]byte, error) {
	r := &reader{b: b}
	n := r.u32()
	out := appendU32(make([]byte, 0, len(b)+len(b)/8), n)
	var fn []byte
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			break
		}
		var err error
		if fn, err = guardBody(fn[:0], body, check); err != nil {
			return nil, fmt.Errorf("%w (function %d of the code section)", err, i)
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.err == nil && r.pos != len(r.b) {
		r.err = fmt.Errorf("%w: %d bytes after the code section's bodies", errUnguardable, len(r.b)-r.pos)
	}
	return out, r.err
}

// guardBody appends the rewritten body of one function to dst.
func guardBody(dst, body, check []byte) ([]byte, error) {
	r := &reader{b: body}
	for n := r.u32(); n > 0 && r.err == nil; n-- { // locals: (count, type) pairs
		r.u32()
		r.byte()
	}
	if r.err != nil {
		return nil, r.err
	}
	dst = append(dst, body[:r.pos]...)
	entry := len(dst) // where the entry check goes, if the function calls anything
	calls := false
	from := r.pos
	for r.pos < len(r.b) && r.err == nil {
		op := r.byte()
		switch op {
		case 0x10, 0x11, 0x12, 0x13: // call, call_indirect, return_call, return_call_indirect
			calls = true
		}
		switch {
		case op == 0x03: // loop blocktype: the check goes first in the loop's body
			r.s64()
			dst = append(dst, body[from:r.pos]...)
			dst = append(dst, check...)
			from = r.pos
		case op == 0x02 || op == 0x04: // block, if
			r.s64()
		case op <= 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1,
			op >= 0x45 && op <= 0xc4: // no immediate
		case op == 0x0c || op == 0x0d || op == 0x10 || op == 0x12 || op == 0xd2 ||
			op >= 0x20 && op <= 0x26 || op == 0x3f || op == 0x40: // one index
			r.u32()
		case op == 0x0e: // br_table
			for k := r.u32(); k > 0 && r.err == nil; k-- {
				r.u32()
			}
			r.u32()
		case op == 0x11 || op == 0x13: // call_indirect, return_call_indirect: type, table
			r.u32()
			r.u32()
		case op == 0x1c: // select t*
			for k := r.u32(); k > 0 && r.err == nil; k-- {
				r.byte()
			}
		case op >= 0x28 && op <= 0x3e: // memarg
			if align := r.u32(); align&0x40 != 0 {
				r.u32() // memory index (multi-memory)
			}
			r.u64()
		case op == 0x41:
			r.s64()
		case op == 0x42:
			r.s64()
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op == 0xd0: // ref.null heaptype
			r.s64()
		case op == 0xfc:
			switch sub := r.u32(); {
			case sub <= 7: // saturating truncations
			case sub == 8 || sub == 10 || sub == 12 || sub == 14: // memory.init, memory.copy, table.init, table.copy
				r.u32()
				r.u32()
			case sub == 9 || sub == 11 || sub == 13 || sub >= 15 && sub <= 17:
				r.u32()
			default:
				return nil, fmt.Errorf("%w: instruction 0xfc %d", errUnguardable, sub)
			}
		default:
			return nil, fmt.Errorf("%w: instruction %#x", errUnguardable, op)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	dst = append(dst, body[from:]...)
	if calls {
		// A function that calls nothing needs no entry check: without its loops, which are
		// checked, it runs forward to its end. One that calls may recurse.
		dst = slices.Insert(dst, entry, check...)
	}
	return dst, nil
}

// reader reads the binary format; the first error sticks and later reads return zeros.
type reader struct {
	b   []byte
	pos int
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated or malformed at byte %d", errUnguardable, r.pos)
	}
	r.pos = len(r.b)
}

func (r *reader) byte() byte {
	if r.pos >= len(r.b) {
		r.fail()
		return 0
	}
	c := r.b[r.pos]
	r.pos++
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b)-r.pos {
		r.fail()
		return nil
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s
}

// u64 reads an unsigned LEB128 of at most 10 bytes.
func (r *reader) u64() uint64 {
	var v uint64
	for shift := uint(0); shift < 70; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail()
	return 0
}

func (r *reader) u32() uint32 {
	if r.pos < len(r.b) && r.b[r.pos] < 0x80 { // most indices: one byte
		r.pos++
		return uint32(r.b[r.pos-1])
	}
	v := r.u64()
	if v > 1<<32-1 {
		r.fail()
		return 0
	}
	return uint32(v)
}

// s64 skips a signed LEB128 (block types, constants, heap types): only its length matters here.
func (r *reader) s64() {
	for range 10 {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail()
}

func (r *reader) limits() {
	flags := r.byte()
	r.u64()
	if flags&0x01 != 0 {
		r.u64()
	}
}

func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
