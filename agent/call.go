package agent

import (
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/internal/msg"
	"github.com/presage-dev/presage/models"
)

// Call runs one operation of the module's ABI on request bytes and appends the CBOR reply to out.
// It is the whole byte-level contract: the wasm module is a thin shell around it, and hosts that run
// the agent natively call it too, so that both give byte-identical replies. It never panics: a
// recovered panic becomes a CodeInternal error reply and the agent stays usable.
func (a *Agent) Call(op wire.Op, in, out []byte) (reply []byte) {
	var r wire.Reply
	defer func() {
		if p := recover(); p != nil {
			reply = a.encodeReply(out, &wire.Reply{Err: &wire.Error{Code: wire.CodeInternal, Message: panicText(p)}})
		}
	}()
	if err := a.call(op, in, &r); err != nil {
		r = wire.Reply{Err: toWireError(err)}
	}
	return a.encodeReply(out, &r)
}

// The codec is called directly, never through minicbor.Marshal's interfaces: an interface call of
// EncodeCBOR or DecodeCBOR would make the linker keep both methods of every type, which costs the
// module tens of kilobytes of decoders it never runs.

// The encoder and the decoder live in the agent: on the stack, escape analysis gives up on them
// (the generated codecs are too deep), and a heap allocation per call is dear in WebAssembly.

func (a *Agent) encodeReply(out []byte, r *wire.Reply) []byte {
	e := &a.enc
	e.Reset(out)
	r.EncodeCBOR(e)
	out = e.Bytes()
	e.Reset(nil)
	return out
}

func (a *Agent) encodeProfile(dst []byte, p *Profile) []byte {
	e := &a.enc
	e.Reset(dst)
	p.EncodeCBOR(e)
	dst = e.Bytes()
	e.Reset(nil)
	return dst
}

// Inputs are bounded before decoding: a CBOR message of many empty maps decodes to one struct per
// byte, so the input size bounds the memory a hostile request can make the module allocate.
const (
	maxRequestBytes = 64 << 10
	maxProfileBytes = 8 << 10
)

// requestLimits are the decoder limits for requests: far above what a valid request holds (64
// events, 64 lines, 16 slots), far below what could exhaust the module's memory.
// MaxString is the request size itself: a string cannot outgrow the bytes it is read from, and a
// saved profile of any size a request holds reaches LoadProfile, which refuses it as a bad profile.
var requestLimits = minicbor.Limits{MaxDepth: 8, MaxArray: 256, MaxMap: 64, MaxString: maxRequestBytes}

func (a *Agent) decodeRequest(in []byte, req *wire.Request) error {
	if len(in) > maxRequestBytes {
		return &wire.Error{Code: wire.CodeTooLarge, Message: msg.Sprintf("request of %d bytes, at most %d", len(in), maxRequestBytes)}
	}
	d := &a.dec
	d.Reset(in, requestLimits)
	req.DecodeCBORReuse(d) // into the previous request's memory: see LoadProfile
	err := d.Finish()
	d.Reset(nil, requestLimits)
	return err
}

func (a *Agent) call(op wire.Op, in []byte, r *wire.Reply) error {
	switch op {
	case wire.OpInfo:
		r.Info = a.Info()
		return nil
	case wire.OpLoadBundle:
		return a.LoadBundle(in, 0)
	case wire.OpSaveProfile:
		r.Profile = a.SaveProfile(nil)
		return nil
	case wire.OpExplain:
		r.Explanation = a.Explain()
		return nil
	}
	if !op.Valid() {
		return &wire.Error{Code: wire.CodeUnknownOp, Message: msg.Sprintf("operation %d", uint32(op))}
	}
	req := &a.req
	if err := a.decodeRequest(in, req); err != nil {
		if op == wire.OpLoadProfile {
			// Never keep serving the previous visitor: the next Handle starts a new one.
			a.p, a.started, a.expl = Profile{}, false, wire.Explanation{}
		}
		if we, ok := err.(*wire.Error); ok {
			return we
		}
		return msg.Errorf(ErrBadRequest, "%s", err)
	}
	switch op {
	case wire.OpLoadProfile:
		return a.LoadProfile(req.Profile, req.Seed)
	case wire.OpHandle:
		ans, err := a.Handle(req)
		r.Answer = ans
		return err
	case wire.OpDrain:
		r.Batch = a.Drain(req.Now, req.Seed)
		return nil
	case wire.OpForget:
		a.Forget(req.Seed)
		return nil
	case wire.OpScore: // inputs.go
		ans, err := a.ScoreInputs(req)
		r.Answer = ans
		return err
	}
	return &wire.Error{Code: wire.CodeUnknownOp, Message: msg.Sprintf("operation %d", uint32(op))}
}

// ErrBadProfile is returned when a saved profile could not be read; a new profile was started.
var ErrBadProfile = errorString("agent: bad profile")

// LoadProfile starts serving the visitor whose profile was saved as data (empty: a new visitor).
// A profile that cannot be read is replaced by a new one and ErrBadProfile is returned.
func (a *Agent) LoadProfile(data []byte, seed uint64) error {
	if len(data) == 0 {
		a.Start(nil, seed)
		return nil
	}
	if len(data) > maxProfileBytes {
		a.Start(nil, seed)
		return msg.Errorf(ErrBadProfile, "%d bytes, at most %d; started a new profile", len(data), maxProfileBytes)
	}
	// The profile is decoded into the memory of the one served before, kept as a.spare, and swapped
	// in: serving one returning visitor after another allocates nothing once both have grown.
	p := &a.spare
	d := &a.dec
	d.Reset(data, requestLimits)
	p.DecodeCBORReuse(d)
	err := d.Finish()
	d.Reset(nil, requestLimits)
	if err != nil {
		a.Start(nil, seed)
		return msg.Errorf(ErrBadProfile, "%s; started a new profile", err)
	}
	if p.Version != profileVersion {
		a.Start(nil, seed)
		return msg.Errorf(ErrBadProfile, "version %d, want %d; started a new profile", int(p.Version), profileVersion)
	}
	a.p, a.spare = a.spare, a.p
	if !a.owned {
		a.spare = Profile{} // the old profile's memory is its caller's (Start): never decode into it
	}
	a.start(&a.p, seed)
	a.owned = true
	return nil
}

// SaveProfile appends the profile's compact encoding to dst; nothing when the visitor denied consent
// (the host must then delete what it stored).
func (a *Agent) SaveProfile(dst []byte) []byte {
	if !a.started || !a.Persistent() {
		return dst
	}
	n := len(dst)
	out := a.encodeProfile(dst, &a.p)
	for len(out)-n > maxSavedBytes && a.shed(len(out)-n-maxSavedBytes) {
		out = a.encodeProfile(out[:n], &a.p)
	}
	return out
}

// maxSavedBytes is the budget of a saved profile: a first-party cookie at the edge.
const maxSavedBytes = 4096

// shed drops the least needed part of the profile when its encoding outgrows maxSavedBytes by excess
// bytes (long campaign, variant or segment ids): first the oldest purchases beyond the maxVoters
// newest (they only keep an item out of the recommendations), enough at once to cover excess at 5
// bytes a hash; then the oldest learning cell, counted as dropped, then the federated-learning
// state, then the exposure shown longest ago. It reports whether it dropped anything.
func (a *Agent) shed(excess int) bool {
	p := &a.p
	if k := len(p.Bought) - maxVoters; k > 0 {
		p.Bought = p.Bought[min(k, excess/5+1):]
		return true
	}
	if len(p.Learn) > 0 {
		p.Dropped += p.Learn[0].Exposures + p.Learn[0].Conversions
		p.Learn = append(p.Learn[:0], p.Learn[1:]...)
		return true
	}
	if p.Fed != nil { // federated.go: the day's gradient sums and a pending example
		p.Fed = nil
		return true
	}
	if len(p.Exposures) > 0 {
		oldest := 0
		for i := range p.Exposures {
			if p.Exposures[i].Last < p.Exposures[oldest].Last {
				oldest = i
			}
		}
		p.Exposures = append(p.Exposures[:oldest], p.Exposures[oldest+1:]...)
		return true
	}
	return false
}

// LoadBundle decodes a bundle envelope and switches to it (see SetBundle). The envelope's signature
// is the host's to check before this call: the module leaves it to the host's crypto, which costs the
// module nothing. The bytes are copied: the caller may reuse data.
func (a *Agent) LoadBundle(data []byte, now int64) error {
	b, err := models.Open(append([]byte(nil), data...))
	if err != nil {
		return err
	}
	return a.setBundle(b, now)
}

// Info describes the bundle serving.
func (a *Agent) Info() *wire.BundleInfo {
	info := &wire.BundleInfo{Features: uint32(NumFeatures)}
	b := a.b
	if b == nil {
		return info
	}
	info.Format, info.Version, info.Created, info.Expires, info.Site = b.Format, b.Version, b.Created, b.Expires, b.Site
	for i := range b.Propensity {
		info.Models = append(info.Models, b.Propensity[i].Name)
	}
	if b.Neighbours != nil {
		info.Models = append(info.Models, "neighbours")
	}
	if b.Appetence != nil {
		info.Models = append(info.Models, "appetence")
	}
	if b.Value != nil {
		info.Models = append(info.Models, "value")
	}
	for i := range b.Tabular { // inputs.go
		info.Models = append(info.Models, b.Tabular[i].Name)
	}
	for i := range b.Uplift {
		info.Models = append(info.Models, b.Uplift[i].Name)
	}
	for i := range b.Segments {
		info.Segments = append(info.Segments, b.Segments[i].Name)
	}
	for i := range b.Campaigns {
		info.Campaigns = append(info.Campaigns, b.Campaigns[i].ID)
	}
	info.Items, info.Categories = uint32(len(b.Items)), uint32(len(b.Categories))
	return info
}

// toWireError maps an error to its ABI code: the one table where Go errors meet the wire.
func toWireError(err error) *wire.Error {
	if we, ok := msg.As[*wire.Error](err); ok {
		return we
	}
	code := wire.CodeInternal
	switch {
	case msg.Is(err, ErrBadRequest):
		code = wire.CodeBadRequest
	case msg.Is(err, ErrNoBundle):
		code = wire.CodeNoBundle
	case msg.Is(err, ErrBadProfile):
		code = wire.CodeBadProfile
	case msg.Is(err, models.ErrUnknownFormat):
		code = wire.CodeUnknownFormat
	case msg.Is(err, models.ErrStaleBundle):
		code = wire.CodeStaleBundle
	case msg.Is(err, models.ErrExpired):
		code = wire.CodeExpiredBundle
	case msg.Is(err, models.ErrBadBundle):
		code = wire.CodeBadBundle
	}
	return &wire.Error{Code: code, Message: err.Error()}
}

func panicText(p any) string {
	switch v := p.(type) {
	case error:
		return "panic: " + v.Error()
	case string:
		return "panic: " + v
	}
	return "panic"
}

// LoadBundleNoCopy is LoadBundle for bytes that outlive the agent (a bundle compiled into the module):
// the bundle's tables alias data instead of copying it.
func (a *Agent) LoadBundleNoCopy(data []byte) error {
	b, err := models.Open(data)
	if err != nil {
		return err
	}
	return a.setBundle(b, 0)
}
