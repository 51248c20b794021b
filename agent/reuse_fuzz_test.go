package agent_test

import (
	"bytes"
	"testing"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
)

// FuzzDecodeReuse: decoding into the memory of an earlier value (what the agent does with every
// request and profile) gives what decoding into a zero value gives: the same error, or a value
// that encodes to the same bytes. Nothing of the earlier value may survive.
func FuzzDecodeReuse(f *testing.F) {
	full := &wire.Request{Now: T, Seed: 7, Slots: []string{"banner", "popin"}, MaxRecs: 3, TZ: 60,
		Events: []wire.Event{ // every kind of field in the first event: a shorter request reuses it
			{Type: wire.EventPurchase, Time: T, Value: 30, Lines: []wire.Line{{Item: "a", Price: 10, Quantity: 3}},
				Channel: wire.ChannelEmail, Referrer: "mail.example", Source: "news", Query: "q", Quantity: 2},
			{Type: wire.EventArrival, Channel: wire.ChannelEmail, Referrer: "mail.example", Source: "news"},
		},
		Inputs: []wire.Input{{Name: "x", Num: 2}, {Name: "c", Cat: "k"}}}
	small := &wire.Request{Now: T, Events: []wire.Event{{Type: wire.EventProductView, Item: "b"}}}
	a := newAgent(f, handBundle())
	step(f, a, T, arrive(wire.ChannelDirect), view(itemID(1), "bags"), buy(20))
	profile := a.SaveProfile(nil)
	for _, prev := range [][]byte{enc(full), enc(small), profile, nil} {
		for _, in := range [][]byte{enc(full), enc(small), profile, {0xa0}} {
			f.Add(prev, in)
		}
	}
	lim := minicbor.Limits{MaxDepth: 8, MaxArray: 256, MaxMap: 64, MaxString: 1 << 16}
	f.Fuzz(func(t *testing.T, prev, in []byte) {
		var d minicbor.Decoder
		decode := func(b []byte, into func(*minicbor.Decoder)) error {
			d.Reset(b, lim)
			into(&d)
			return d.Finish()
		}
		{
			var fresh, reused wire.Request
			errFresh := decode(in, fresh.DecodeCBOR)
			_ = decode(prev, reused.DecodeCBORReuse)
			errReused := decode(in, reused.DecodeCBORReuse)
			compare(t, "request", errFresh, errReused, minicbor.Marshal(nil, &fresh), minicbor.Marshal(nil, &reused))
		}
		{
			var fresh, reused agent.Profile
			errFresh := decode(in, fresh.DecodeCBOR)
			_ = decode(prev, reused.DecodeCBORReuse)
			errReused := decode(in, reused.DecodeCBORReuse)
			compare(t, "profile", errFresh, errReused, minicbor.Marshal(nil, &fresh), minicbor.Marshal(nil, &reused))
		}
	})
}

func compare(t *testing.T, what string, errFresh, errReused error, fresh, reused []byte) {
	t.Helper()
	switch {
	case (errFresh == nil) != (errReused == nil) || errFresh != nil && errFresh.Error() != errReused.Error():
		t.Fatalf("%s: fresh decoding %v, reused %v", what, errFresh, errReused)
	case errFresh == nil && !bytes.Equal(fresh, reused):
		t.Fatalf("%s: fresh %x, reused %x", what, fresh, reused)
	}
}
