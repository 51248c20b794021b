package agent_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
)

// results counts the results a reply carries; a reply is exactly one of an error and its result
// (or nothing, for operations without a result).
func results(r *wire.Reply) int {
	n := 0
	for _, set := range []bool{r.Err != nil, r.Info != nil, r.Answer != nil, r.Profile != nil, r.Batch != nil, r.Explanation != nil} {
		if set {
			n++
		}
	}
	return n
}

// Every operation, round trip through the byte ABI.
func TestCallEveryOp(t *testing.T) {
	a := agent.New()
	info := callOK(t, a, wire.OpInfo, nil).Info
	if info == nil || info.Version != 0 || info.Features != uint32(agent.NumFeatures) {
		t.Fatalf("info without a bundle: %+v", info)
	}
	b := handBundle()
	if r := callOK(t, a, wire.OpLoadBundle, envelope(b)); results(r) != 0 {
		t.Fatalf("load bundle replies %+v", r)
	}
	info = callOK(t, a, wire.OpInfo, nil).Info
	if info.Version != b.Version || info.Format != models.FormatVersion || info.Site != "hand-shop" || info.Items != handItems ||
		info.Categories != 4 || !slices.Equal(info.Models, []string{"buy", "band", "email", "neighbours", "appetence", "value"}) ||
		!slices.Equal(info.Segments, handSegmentNames) || !slices.Equal(info.Campaigns, []string{"banner-a"}) || info.Created != b.Created {
		t.Fatalf("info %+v", info)
	}
	if r := callOK(t, a, wire.OpLoadProfile, enc(&wire.Request{Now: T, Seed: 5})); results(r) != 0 {
		t.Fatalf("load profile replies %+v", r)
	}
	r := callOK(t, a, wire.OpHandle, enc(&wire.Request{Now: T, Seed: 6, Slots: []string{"banner"}, MaxRecs: 3,
		Events: []wire.Event{arrive(wire.ChannelEmail), view(itemID(1), "bags"), buy(12)}}))
	if results(r) != 1 || r.Answer == nil || len(r.Answer.Scores) != 3 || len(r.Answer.Decisions) != 1 || r.Answer.Decisions[0].Campaign != "banner-a" ||
		r.Answer.Stage != wire.StageNew || r.Answer.Value == nil || len(r.Answer.Recs) == 0 {
		t.Fatalf("handle replies %+v", r)
	}
	saved := callOK(t, a, wire.OpSaveProfile, nil)
	if results(saved) != 1 || len(saved.Profile) == 0 || !bytes.Equal(saved.Profile, a.SaveProfile(nil)) {
		t.Fatalf("save profile replies %+v", saved)
	}
	ex := callOK(t, a, wire.OpExplain, nil)
	if results(ex) != 1 || ex.Explanation == nil || len(ex.Explanation.Slots) != 1 || ex.Explanation.Time != T || len(ex.Explanation.Drivers) == 0 {
		t.Fatalf("explain replies %+v", ex)
	}
	dr := callOK(t, a, wire.OpDrain, enc(&wire.Request{Now: T, Seed: 7}))
	if results(dr) != 1 || dr.Batch == nil || len(dr.Batch.Cells) != 1 {
		t.Fatalf("drain replies %+v", dr)
	}
	visitor := a.Profile().Visitor
	if r := callOK(t, a, wire.OpForget, enc(&wire.Request{Now: T, Seed: 8})); results(r) != 0 {
		t.Fatalf("forget replies %+v", r)
	}
	if p := a.Profile(); p.Visitor == visitor || p.Orders != 0 || p.Visits != 0 || len(p.Learn) != 0 {
		t.Fatalf("forget left %+v", p)
	}
	if r := callOK(t, a, wire.OpExplain, nil); len(r.Explanation.Slots) != 0 {
		t.Fatal("forget left the explanation of the forgotten visitor")
	}
	// A saved profile loads back through the ABI.
	callOK(t, a, wire.OpLoadProfile, enc(&wire.Request{Now: T, Seed: 9, Profile: saved.Profile}))
	if a.Profile().Visitor != visitor || a.Profile().Orders != 1 {
		t.Fatal("the saved profile did not load back")
	}
}

// The reply is appended to out, as Call's documentation says.
func TestCallAppends(t *testing.T) {
	a := newAgent(t, handBundle())
	prefix := []byte("host-prefix")
	out := a.Call(wire.OpInfo, nil, append([]byte(nil), prefix...))
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("Call overwrote the %d bytes already in out (BUG, see report)", len(prefix))
	}
	var r wire.Reply
	if err := minicbor.Unmarshal(out[len(prefix):], &r, minicbor.DefaultLimits); err != nil || r.Info == nil {
		t.Fatalf("reply after the prefix: %v", err)
	}
}

// Bad calls give error replies with the right code, and the agent keeps serving.
func TestCallErrors(t *testing.T) {
	valid := enc(&wire.Request{Now: T, Events: []wire.Event{pv(wire.PageHome)}})
	for _, tc := range []struct {
		name string
		op   wire.Op
		in   []byte
		code wire.Code
	}{
		{"op 0", 0, valid, wire.CodeUnknownOp},
		{"op 9", 9, valid, wire.CodeUnknownOp},
		{"op 255", 255, nil, wire.CodeUnknownOp},
		{"op 2^31", 1 << 31, valid, wire.CodeUnknownOp},
		{"op 2^32-1", 1<<32 - 1, nil, wire.CodeUnknownOp},
		{"handle: empty input", wire.OpHandle, nil, wire.CodeBadRequest},
		{"drain: empty input", wire.OpDrain, nil, wire.CodeBadRequest},
		{"forget: empty input", wire.OpForget, nil, wire.CodeBadRequest},
		{"handle: garbage", wire.OpHandle, []byte("\xff\xfe garbage"), wire.CodeBadRequest},
		{"handle: an array", wire.OpHandle, []byte{0x82, 0x01, 0x02}, wire.CodeBadRequest},
		{"handle: trailing bytes", wire.OpHandle, append(append([]byte(nil), valid...), 0), wire.CodeBadRequest},
		{"handle: truncated", wire.OpHandle, valid[:len(valid)-1], wire.CodeBadRequest},
		{"handle: duplicate key", wire.OpHandle, []byte{0xa2, 0x01, 0x01, 0x01, 0x02}, wire.CodeBadRequest},
		{"handle: indefinite length", wire.OpHandle, []byte{0xbf, 0x01, 0x01, 0xff}, wire.CodeBadRequest},
		{"handle: a tag", wire.OpHandle, []byte{0xc1, 0xa1, 0x01, 0x01}, wire.CodeBadRequest},
		{"handle: deep nesting", wire.OpHandle, append([]byte{0xa1, 0x03}, bytes.Repeat([]byte{0x81}, 64)...), wire.CodeBadRequest},
		{"handle: time out of range", wire.OpHandle, []byte{0xa1, 0x01, 0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, wire.CodeBadRequest},
		{"handle: 300 events declared", wire.OpHandle, []byte{0xa2, 0x01, 0x01, 0x03, 0x99, 0x01, 0x2c}, wire.CodeBadRequest},
		{"handle: oversized", wire.OpHandle, oversized(), wire.CodeTooLarge},
		{"drain: oversized", wire.OpDrain, oversized(), wire.CodeTooLarge},
		{"load bundle: empty", wire.OpLoadBundle, nil, wire.CodeBadBundle},
		{"load bundle: garbage", wire.OpLoadBundle, []byte("not cbor"), wire.CodeBadBundle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t, handBundle())
			step(t, a, T-minute, arrive(wire.ChannelDirect), buy(10))
			before := a.SaveProfile(nil)
			r := callCode(t, a, tc.op, tc.in, tc.code)
			if results(r) != 1 || r.Err.Message == "" {
				t.Fatalf("error reply %+v", r)
			}
			if !bytes.Equal(before, a.SaveProfile(nil)) {
				t.Fatal("a refused call changed the profile")
			}
			if r := callOK(t, a, wire.OpHandle, valid); r.Answer == nil || r.Answer.Stage != wire.StageNew {
				t.Fatalf("the agent stopped serving: %+v", r)
			}
		})
	}
}

// TestInvalidUTF8Item: the decoder skips UTF-8 validation for the ids it interns, so a bundle built
// in Go with an item id that is not valid UTF-8 must not make such bytes acceptable in a request.
func TestInvalidUTF8Item(t *testing.T) {
	b := handBundle()
	b.Items[0] = "\xc3("
	a := newAgent(t, b)
	in := enc(&wire.Request{Now: T, Events: []wire.Event{{Type: wire.EventProductView, Item: b.Items[0]}}})
	if r := callCode(t, a, wire.OpHandle, in, wire.CodeBadRequest); !strings.Contains(r.Err.Message, "UTF-8") {
		t.Errorf("error %q does not name UTF-8", r.Err.Message)
	}
}

// oversized is a valid request one byte over the request limit.
func oversized() []byte {
	in := enc(&wire.Request{Now: T, Slots: []string{strings.Repeat("s", agent.MaxRequestBytes)}})
	return in[:agent.MaxRequestBytes+1]
}

// A bundle that fails Validate, a stale version or an unknown format is refused with its code, and
// the old bundle keeps serving.
func TestCallBundleRefused(t *testing.T) {
	base := handBundle()
	env := func(mods ...func(*models.Bundle)) []byte {
		b := handBundle(append([]func(*models.Bundle){func(b *models.Bundle) { b.Version = base.Version + 1 }}, mods...)...)
		return envelope(b)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		code wire.Code
	}{
		{"duplicate item", env(func(b *models.Bundle) { b.Items[1] = b.Items[0] }), wire.CodeBadBundle},
		{"weights and features disagree", env(func(b *models.Bundle) { b.Propensity[0].Weights = b.Propensity[0].Weights[1:] }), wire.CodeBadBundle},
		{"neighbour out of range", env(func(b *models.Bundle) { b.Neighbours.Index[0] = 200 }), wire.CodeBadBundle},
		{"segment refers to a later segment", env(func(b *models.Bundle) { b.Segments[segNonCustomer].When[0].Ref = segEngaged }), wire.CodeBadBundle},
		{"unknown feature name", env(func(b *models.Bundle) { b.Features[0] = "no_such_feature" }), wire.CodeBadBundle},
		{"campaign id too long", env(func(b *models.Bundle) { b.Campaigns[0].ID = strings.Repeat("c", agent.MaxIDLen+1) }), wire.CodeBadBundle},
		{"segment name too long", env(func(b *models.Bundle) { b.Segments[0].Name = strings.Repeat("s", agent.MaxIDLen+1) }), wire.CodeBadBundle},
		{"same version", env(func(b *models.Bundle) { b.Version = base.Version }), wire.CodeStaleBundle},
		{"older version", env(func(b *models.Bundle) { b.Version = base.Version - 1 }), wire.CodeStaleBundle},
		{"unknown format", env(func(b *models.Bundle) { b.Format = models.FormatVersion + 1 }), wire.CodeUnknownFormat},
		{"unknown format, undecodable", envelope2([]byte{0xa2, 0x01, 0x09, 0x02, 0x63, 'a', 'b', 'c'}), wire.CodeUnknownFormat},
		{"empty envelope", []byte{0xa0}, wire.CodeBadBundle},
		{"payload not a bundle", envelope2([]byte("garbage")), wire.CodeBadBundle},
		{"truncated envelope", env()[:100], wire.CodeBadBundle},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := agent.New()
			callOK(t, a, wire.OpLoadBundle, envelope(base))
			step(t, a, T, arrive(wire.ChannelDirect), view(itemID(1), "bags"))
			callCode(t, a, wire.OpLoadBundle, tc.in, tc.code)
			if info := callOK(t, a, wire.OpInfo, nil).Info; info.Version != base.Version {
				t.Fatalf("info shows version %d after a refused bundle, want %d", info.Version, base.Version)
			}
			r := callOK(t, a, wire.OpHandle, enc(&wire.Request{Now: T + sec, Slots: []string{"banner"}, Events: []wire.Event{view(itemID(2), "hats")}}))
			if len(r.Answer.Scores) != 3 || r.Answer.Decisions[0].Campaign != "banner-a" || a.Profile().Session.Products != 2 {
				t.Fatalf("the old bundle stopped serving: %+v", r.Answer)
			}
		})
	}
	// A newer valid bundle replaces it, and the visitor's profile carries over.
	a := agent.New()
	callOK(t, a, wire.OpLoadBundle, envelope(base))
	step(t, a, T, arrive(wire.ChannelDirect), buy(10))
	callOK(t, a, wire.OpLoadBundle, env(func(b *models.Bundle) { b.Propensity = b.Propensity[:2]; b.Segments = b.Segments[:2] }))
	if info := callOK(t, a, wire.OpInfo, nil).Info; info.Version != base.Version+1 || len(info.Segments) != 2 {
		t.Fatalf("info %+v", info)
	}
	if r := callOK(t, a, wire.OpHandle, enc(&wire.Request{Now: T + sec})); len(r.Answer.Scores) != 2 || r.Answer.Stage != wire.StageNew {
		t.Fatalf("after the swap: %+v", r.Answer)
	}
}

func envelope2(payload []byte) []byte {
	e := models.Envelope{Payload: payload}
	return e.Encode()
}

// Expiry is checked by SetBundle against the time it is given (through the ABI the host checks it:
// OpLoadBundle carries no time).
func TestSetBundleExpired(t *testing.T) {
	a := newAgent(t, handBundle())
	b := handBundle(func(b *models.Bundle) { b.Version++; b.Expires = T / 1000 })
	if err := a.SetBundle(b, T+sec); !errors.Is(err, models.ErrExpired) {
		t.Fatalf("SetBundle of an expired bundle: %v", err)
	}
	if a.Bundle().Version != 100 {
		t.Fatal("the expired bundle replaced the serving one")
	}
	if err := a.SetBundle(b, T); err != nil {
		t.Fatalf("SetBundle before expiry: %v", err)
	}
}

// Each of the agent's sentinel errors maps to the code hosts branch on.
func TestErrorCodes(t *testing.T) {
	a := agent.New()
	callCode(t, a, wire.OpHandle, enc(&wire.Request{Now: T}), wire.CodeNoBundle)
	callOK(t, a, wire.OpLoadBundle, envelope(handBundle()))
	callCode(t, a, wire.OpLoadProfile, enc(&wire.Request{Now: T, Profile: []byte{0xff}}), wire.CodeBadProfile)
	callCode(t, a, wire.OpHandle, enc(&wire.Request{Now: -1}), wire.CodeBadRequest)
}
