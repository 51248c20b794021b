package host

import (
	"bytes"
	"context"
	"fmt"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
)

// Session is one instance of the module, held by one caller between [Host.Acquire] and
// [Session.Release]: typically one visitor's request (load profile, handle, save profile). Its
// methods mirror the module's operations (see agent/wire.Op). A Session is not safe for concurrent
// use; it serves the same bundle from Acquire to Release.
//
// Errors: an error reply of the module is returned as a *wire.Error and leaves the session usable,
// and so does ErrDeadline for a context that had ended before the call started. Any other error
// (ErrTrap, ErrDeadline during the call, ErrClosed) means the instance failed and was discarded:
// every later call of the session returns that same error, and Release only forgets it.
type Session struct {
	h    *Host
	in   *instance
	ctx  context.Context
	lost error // why in was discarded
}

// Release gives the instance back to the pool. It is idempotent; the session is unusable afterwards.
func (s *Session) Release() {
	if s.in == nil {
		return
	}
	in := s.in
	s.in = nil
	if s.lost == nil {
		s.lost = ErrReleased
	}
	s.h.release(in)
}

// Bundle returns the version of the bundle given to [Host.LoadBundle] that this session serves
// from Acquire to Release, 0 if none was loaded (the module then serves the bundle compiled into it,
// if any) or after Release.
func (s *Session) Bundle() uint64 {
	if s.in == nil {
		return 0
	}
	return s.in.version
}

// raw runs op on input bytes and returns a view of the reply in the module's memory, valid until
// the next call.
func (s *Session) raw(op wire.Op, in []byte) ([]byte, error) {
	if s.in == nil {
		return nil, s.lost
	}
	reply, err := s.h.do(s.ctx, s.in, op, in)
	if err != nil && s.in.dead {
		s.fail(err)
	}
	return reply, err
}

// fail discards the instance after an error that broke it.
func (s *Session) fail(err error) {
	s.lost = err
	in := s.in
	s.in = nil
	s.h.discard(in)
}

// reply runs op and decodes its reply; an error reply becomes a *wire.Error. Byte strings of the
// reply (Profile, Batch.ID) alias the module's memory: callers copy them.
func (s *Session) reply(op wire.Op, in []byte) (*wire.Reply, error) {
	b, err := s.raw(op, in)
	if err != nil {
		return nil, err
	}
	r := new(wire.Reply)
	if err := decodeReply(b, r); err != nil {
		err = fmt.Errorf("%w (%s)", err, opName(op))
		s.fail(err)
		return nil, err
	}
	if r.Err != nil {
		return nil, r.Err
	}
	return r, nil
}

// request encodes req into the instance's buffer and runs op with it.
func (s *Session) request(op wire.Op, req *wire.Request) (*wire.Reply, error) {
	if s.in == nil {
		return nil, s.lost
	}
	s.in.enc = minicbor.Marshal(s.in.enc[:0], req)
	return s.reply(op, s.in.enc)
}

// Call runs op on raw request bytes and returns the module's reply bytes (a CBOR wire.Reply, error
// replies included), copied out of the module: the same bytes as agent.(*Agent).Call natively.
// The error is non-nil only when the host refused the input (a *wire.Error: too large) or the
// instance failed. Call does not check bundle signatures: after an OpLoadBundle the instance serves a
// bundle the host did not verify, so Release discards it instead of pooling it.
func (s *Session) Call(op wire.Op, in []byte) ([]byte, error) {
	return s.AppendCall(nil, op, in)
}

// AppendCall is Call appending the reply to dst, which saves the allocation when dst has room.
func (s *Session) AppendCall(dst []byte, op wire.Op, in []byte) ([]byte, error) {
	if op == wire.OpLoadBundle && s.in != nil {
		s.in.tainted = true
	}
	b, err := s.raw(op, in)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// Info describes the bundle this instance serves (OpInfo).
func (s *Session) Info() (*wire.BundleInfo, error) {
	r, err := s.reply(wire.OpInfo, nil)
	if err != nil {
		return nil, err
	}
	if r.Info == nil {
		return nil, s.missing(wire.OpInfo)
	}
	return r.Info, nil
}

// LoadProfile starts serving the visitor whose profile was saved as data (nil or empty: a new
// visitor). seed must be fresh random bits. A profile that cannot be read gives a *wire.Error with
// wire.CodeBadProfile, and a new profile has been started: the session is still usable.
func (s *Session) LoadProfile(data []byte, seed uint64) error {
	return s.loadProfile(clock(), data, seed)
}

func (s *Session) loadProfile(now int64, data []byte, seed uint64) error {
	_, err := s.request(wire.OpLoadProfile, &wire.Request{Now: now, Seed: seed, Profile: data})
	return err
}

// Handle applies req's events to the visitor's profile and returns the agent's answer. req.Now and
// req.Seed are sent as they are: the caller supplies the time (Unix ms) and fresh random bits.
func (s *Session) Handle(req *wire.Request) (*wire.Answer, error) {
	r, err := s.request(wire.OpHandle, req)
	if err != nil {
		return nil, err
	}
	if r.Answer == nil {
		return nil, s.missing(wire.OpHandle)
	}
	return r.Answer, nil
}

// Score scores the bundle's tabular models on req.Inputs (OpScore): one score per model, in bundle
// order. It reads nothing of the visitor's profile and changes nothing in it. Input the module
// refuses gives a *wire.Error; the session stays usable.
func (s *Session) Score(req *wire.Request) ([]wire.Score, error) {
	r, err := s.request(wire.OpScore, req)
	if err != nil {
		return nil, err
	}
	if r.Answer == nil {
		return nil, s.missing(wire.OpScore)
	}
	return r.Answer.Scores, nil
}

// SaveProfile returns the visitor's profile to store until the next visit; nil when the visitor denied
// consent, in which case the stored profile must be deleted.
func (s *Session) SaveProfile() ([]byte, error) {
	r, err := s.reply(wire.OpSaveProfile, nil)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(r.Profile), nil
}

// Drain takes the learning gathered by this visitor's sessions (aggregated counts, no identifier)
// and clears it. now is Unix ms, seed fresh random bits (the batch id).
func (s *Session) Drain(now int64, seed uint64) (*wire.Batch, error) {
	r, err := s.request(wire.OpDrain, &wire.Request{Now: now, Seed: seed})
	if err != nil {
		return nil, err
	}
	if r.Batch == nil {
		return nil, s.missing(wire.OpDrain)
	}
	r.Batch.ID = bytes.Clone(r.Batch.ID)
	return r.Batch, nil
}

// Explain says why the last decisions were taken.
func (s *Session) Explain() (*wire.Explanation, error) {
	r, err := s.reply(wire.OpExplain, nil)
	if err != nil {
		return nil, err
	}
	if r.Explanation == nil {
		return nil, s.missing(wire.OpExplain)
	}
	return r.Explanation, nil
}

// Forget erases the visitor: profile and learning buffer. seed must be fresh random bits.
func (s *Session) Forget(seed uint64) error {
	_, err := s.request(wire.OpForget, &wire.Request{Now: clock(), Seed: seed})
	return err
}

// missing reports a success reply without the operation's result: the module broke the ABI.
func (s *Session) missing(op wire.Op) error {
	err := fmt.Errorf("%w: %s: reply has no result", ErrTrap, opName(op))
	if s.in != nil {
		s.fail(err)
	}
	return err
}
