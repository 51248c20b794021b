package host

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
)

func isCode(err error, c wire.Code) bool { return errors.Is(err, &wire.Error{Code: c}) }

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of New's error; "" for success
	}{
		{"zero config", Config{}, ""},
		{"negative pool", NewConfig().WithPoolSize(-1), "pool size -1"},
		{"too many pages", NewConfig().WithMemoryLimitPages(maxPages + 1), "exceeds 65536"},
		{"negative timeout", NewConfig().WithCallTimeout(-time.Second), "negative"},
		{"short key", NewConfig().WithTrustedKeys(ed25519.PublicKey{1, 2, 3}), "trusted key 0 is 3 bytes"},
		{"keys and skip", NewConfig().WithTrustedKeys(testPub).WithInsecureSkipVerify(), "exclusive"},
		{"unwritable cache", NewConfig().WithCompilationCacheDir("/proc/presage-no-such-dir"), "compilation cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if !cfg.cacheDirSet {
				cfg = cfg.WithCompilationCacheDir(cacheDir)
			}
			h, err := New(context.Background(), moduleWasm, cfg)
			if err == nil {
				defer h.Close(context.Background())
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New: got %v, want an error containing %q", err, tt.want)
			case err != nil && !strings.HasPrefix(err.Error(), "host: "):
				t.Errorf("error %q does not start with \"host: \"", err)
			}
		})
	}

	t.Run("immutable", func(t *testing.T) {
		key := append(ed25519.PublicKey(nil), testPub...)
		base := NewConfig()
		c := base.WithPoolSize(3).WithTrustedKeys(key)
		key[0] ^= 0xff
		if base.poolSize != 0 || base.trusted != nil {
			t.Errorf("With modified the receiver: %+v", base)
		}
		if !bytes.Equal(c.trusted[0], testPub) {
			t.Errorf("WithTrustedKeys aliases the caller's key")
		}
	})

	t.Run("defaults", func(t *testing.T) {
		s, err := NewConfig().validate()
		if err != nil {
			t.Fatal(err)
		}
		if s.memoryPages != DefaultMemoryLimitPages || s.callTimeout != DefaultCallTimeout || s.poolSize < 1 ||
			s.skipVerify || !s.interrupt || s.stderr == nil {
			t.Errorf("defaults: %+v", s)
		}
	})
}

func TestNewRefusesOtherModules(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		want string
	}{
		{"garbage", []byte("not wasm at all"), "host: compile"},
		{"empty module", []byte("\x00asm\x01\x00\x00\x00"), "does not export presage_abi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.wasm, testConfig(t))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestInfoWithoutBundle(t *testing.T) {
	h := newHost(t, testConfig(t))
	s := acquire(t, h)
	info, err := s.Info()
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Version != 0 || info.Features != uint32(agent.NumFeatures) {
		t.Errorf("Info = %+v, want version 0 and %d features", info, agent.NumFeatures)
	}
	if _, ok := h.BundleInfo(); ok {
		t.Errorf("BundleInfo ok before any LoadBundle")
	}
	_, err = s.Handle(visit(t0))
	if !isCode(err, wire.CodeNoBundle) {
		t.Errorf("Handle without bundle: got %v, want CodeNoBundle", err)
	}
	var we *wire.Error
	if !errors.As(err, &we) {
		t.Errorf("error reply is %T, want *wire.Error", err)
	}
	if _, err := s.Info(); err != nil { // an error reply leaves the session usable
		t.Errorf("Info after an error reply: %v", err)
	}
}

func TestLoadBundle(t *testing.T) {
	h := newHost(t, testConfig(t).WithTrustedKeys(testPub))
	ctx := context.Background()
	info, err := h.LoadBundle(ctx, signed(testBundle(5, "v5")))
	if err != nil {
		t.Fatalf("LoadBundle: %v", err)
	}
	if info.Version != 5 || info.Site != "shop.example" || info.Items != 10 || len(info.Campaigns) != 1 {
		t.Errorf("info = %+v", info)
	}

	expired := testBundle(9, "expired")
	expired.Expires = time.Now().Add(-time.Hour).Unix()
	future := testBundle(9, "future")
	future.Format = models.FormatVersion + 1
	tampered := signed(testBundle(9, "tampered"))
	tampered[len(tampered)/2] ^= 1
	env := models.Envelope{Payload: testBundle(9, "x").Encode()} // no signature at all
	unsigned := env.Encode()
	badFeature := testBundle(9, "bad feature")
	badFeature.Features = []string{"no_such_feature", "session_pages"}

	tests := []struct {
		name     string
		envelope []byte
		code     wire.Code
		cause    error // the host-side cause, when the host refuses
	}{
		{"other key", signing.Sign(testBundle(9, "other"), otherKey), wire.CodeBadSignature, signing.ErrBadSignature},
		{"tampered", tampered, wire.CodeBadSignature, nil},
		{"unsigned", unsigned, wire.CodeBadSignature, signing.ErrBadSignature},
		{"same version", signed(testBundle(5, "again")), wire.CodeStaleBundle, nil},
		{"older version", signed(testBundle(4, "older")), wire.CodeStaleBundle, nil},
		{"expired", signed(expired), wire.CodeExpiredBundle, models.ErrExpired},
		{"unknown format", signed(future), wire.CodeUnknownFormat, models.ErrUnknownFormat},
		{"unknown feature", signed(badFeature), wire.CodeBadBundle, nil},
		{"garbage", []byte("\xff\xfe not cbor"), wire.CodeBadBundle, models.ErrBadBundle},
		{"garbage payload", (&models.Envelope{Payload: []byte("hello")}).Encode(), wire.CodeBadSignature, signing.ErrBadSignature},
		{"empty", nil, wire.CodeBadBundle, models.ErrBadBundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.LoadBundle(ctx, tt.envelope)
			if !isCode(err, tt.code) {
				t.Fatalf("LoadBundle: got %v, want code %v", err, tt.code)
			}
			if tt.cause != nil && !errors.Is(err, tt.cause) {
				t.Errorf("LoadBundle: %v does not wrap %v", err, tt.cause)
			}
			if !strings.HasPrefix(err.Error(), "host: ") {
				t.Errorf("error %q does not start with \"host: \"", err)
			}
			// The old bundle keeps serving, in the host's view and in the instances.
			if info, _ := h.BundleInfo(); info.Version != 5 {
				t.Errorf("host serves version %d after a refusal, want 5", info.Version)
			}
			s := acquire(t, h)
			if info, err := s.Info(); err != nil || info.Version != 5 {
				t.Errorf("instance serves %+v (%v) after a refusal, want version 5", info, err)
			}
			s.Release()
		})
	}

	t.Run("newer", func(t *testing.T) {
		info, err := h.LoadBundle(ctx, signed(testBundle(6, "v6")))
		if err != nil || info.Version != 6 {
			t.Fatalf("LoadBundle v6: %+v, %v", info, err)
		}
	})
}

func TestTrustPolicy(t *testing.T) {
	env := signed(testBundle(1, "v1"))
	tests := []struct {
		name string
		cfg  Config
		code wire.Code // 0: accepted
	}{
		{"no keys refuses everything", testConfig(t), wire.CodeBadSignature},
		{"other key refuses", testConfig(t).WithTrustedKeys(otherKey.Public().(ed25519.PublicKey)), wire.CodeBadSignature},
		{"trusted key accepts", testConfig(t).WithTrustedKeys(otherKey.Public().(ed25519.PublicKey), testPub), 0},
		{"skip verify accepts", testConfig(t).WithInsecureSkipVerify(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHost(t, tt.cfg.WithPoolSize(1))
			_, err := h.LoadBundle(context.Background(), env)
			switch {
			case tt.code == 0 && err != nil:
				t.Fatalf("LoadBundle: %v", err)
			case tt.code != 0 && !isCode(err, tt.code):
				t.Fatalf("LoadBundle: got %v, want code %v", err, tt.code)
			}
		})
	}
}

// TestSwapReachesEveryInstance checks that instances idle during LoadBundle catch up on their next
// Acquire, and that a session keeps its bundle until released.
func TestSwapReachesEveryInstance(t *testing.T) {
	h := newHost(t, testConfig(t).WithTrustedKeys(testPub).WithPoolSize(3))
	ctx := context.Background()
	if _, err := h.LoadBundle(ctx, signed(testBundle(1, "v1"))); err != nil {
		t.Fatal(err)
	}
	var held []*Session
	for range 3 { // create all three instances, all on v1
		s := acquire(t, h)
		if v := s.Bundle(); v != 1 {
			t.Fatalf("session serves %d, want 1", v)
		}
		held = append(held, s)
	}
	old := held[0]
	for _, s := range held[1:] {
		s.Release()
	}
	done := make(chan error, 1)
	go func() { // waits for an instance: the pool is full
		_, err := h.LoadBundle(ctx, signed(testBundle(2, "v2")))
		done <- err
	}()
	ans, err := old.Handle(visit(t0)) // the held session still serves v1
	if err != nil || ans.Decisions[0].Content != "v1" {
		t.Fatalf("held session: %+v, %v; want content v1", ans, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("LoadBundle v2: %v", err)
	}
	old.Release()
	for range 3 {
		s := acquire(t, h)
		info, err := s.Info()
		if err != nil || info.Version != 2 {
			t.Fatalf("after the swap an instance serves %+v, %v", info, err)
		}
		held = append(held, s)
	}
	if n := h.live.Load(); n != 3 {
		t.Errorf("%d instances, want 3", n)
	}
}

func TestHandleRoundTrip(t *testing.T) {
	h := newHost(t, testConfig(t).WithTrustedKeys(testPub))
	if _, err := h.LoadBundle(context.Background(), signed(testBundle(1, "hello"))); err != nil {
		t.Fatal(err)
	}
	s := acquire(t, h)
	if err := s.LoadProfile(nil, 1); err != nil {
		t.Fatalf("LoadProfile(nil): %v", err)
	}
	ans, err := s.Handle(visit(t0))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(ans.Scores) != 1 || ans.Scores[0].Model != "buy" || !(ans.Scores[0].Value > 0 && ans.Scores[0].Value < 1) {
		t.Errorf("scores = %+v", ans.Scores)
	}
	if len(ans.Decisions) != 1 || ans.Decisions[0].Campaign != "welcome" || ans.Decisions[0].Content != "hello" {
		t.Errorf("decisions = %+v", ans.Decisions)
	}
	expl, err := s.Explain()
	if err != nil || len(expl.Slots) == 0 || expl.Slots[0].Campaign != "welcome" {
		t.Errorf("Explain = %+v, %v", expl, err)
	}
	saved, err := s.SaveProfile()
	if err != nil || len(saved) == 0 {
		t.Fatalf("SaveProfile: %d bytes, %v", len(saved), err)
	}
	batch, err := s.Drain(t0+5000, 99)
	if err != nil || len(batch.ID) == 0 {
		t.Errorf("Drain = %+v, %v", batch, err)
	}
	s.Release()

	// A later session, probably on another instance, restores the same visitor.
	s2 := acquire(t, h)
	if err := s2.LoadProfile(saved, 2); err != nil {
		t.Fatalf("LoadProfile(saved): %v", err)
	}
	again, err := s2.SaveProfile()
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.LoadProfile(saved, 3); err != nil {
		t.Fatal(err)
	}
	if again2, _ := s2.SaveProfile(); !bytes.Equal(again, again2) || !bytes.Equal(again, saved) {
		t.Errorf("profile changed by a load/save round trip:\n saved %x\n again %x", saved, again)
	}
	ans2, err := s2.Handle(&wire.Request{Now: t0 + 60_000, Seed: 7, Slots: []string{"hero"}})
	if err != nil {
		t.Fatalf("Handle after restore: %v", err)
	}
	if ans2.Scores[0].Value != ans.Scores[0].Value {
		t.Errorf("restored visitor scores %v, want %v", ans2.Scores[0].Value, ans.Scores[0].Value)
	}
	if ans2.Decisions[0].Variant != ans.Decisions[0].Variant {
		t.Errorf("restored visitor got variant %q, want the same %q", ans2.Decisions[0].Variant, ans.Decisions[0].Variant)
	}

	// A corrupt profile starts a new visitor and says so; the session goes on.
	if err := s2.LoadProfile([]byte("\xff\x00garbage"), 4); !isCode(err, wire.CodeBadProfile) {
		t.Errorf("LoadProfile(garbage): got %v, want CodeBadProfile", err)
	}
	if err := s2.Forget(5); err != nil {
		t.Errorf("Forget: %v", err)
	}
	if _, err := s2.Handle(visit(t0)); err != nil {
		t.Errorf("Handle after Forget: %v", err)
	}
}

func TestHostHandle(t *testing.T) {
	h := newHost(t, testConfig(t).WithTrustedKeys(testPub).WithPoolSize(2))
	ctx := context.Background()
	if _, err := h.LoadBundle(ctx, signed(testBundle(1, "hi"))); err != nil {
		t.Fatal(err)
	}
	req := visit(0) // Now and Seed zero: the host fills them
	req.Seed = 0
	ans, profile, err := h.Handle(ctx, nil, req)
	if err != nil || len(profile) == 0 || ans.Decisions[0].Content != "hi" {
		t.Fatalf("Handle: %+v, %d bytes, %v", ans, len(profile), err)
	}
	if req.Now != 0 || req.Seed != 0 {
		t.Errorf("Handle modified the caller's request")
	}
	ans2, profile2, err := h.Handle(ctx, profile, &wire.Request{})
	if err != nil {
		t.Fatalf("second Handle: %v", err)
	}
	if ans2.Scores[0].Value != ans.Scores[0].Value || len(profile2) == 0 {
		t.Errorf("second visit lost the first: %+v vs %+v", ans2.Scores, ans.Scores)
	}
	if _, p, err := h.Handle(ctx, []byte("corrupt"), &wire.Request{}); err != nil || len(p) == 0 {
		t.Errorf("Handle with a corrupt profile: %d bytes, %v; want a new profile", len(p), err)
	}
	denied := &wire.Request{Events: []wire.Event{{Type: wire.EventConsent, Consent: wire.ConsentDenied}}}
	if _, p, err := h.Handle(ctx, profile, denied); err != nil || p != nil {
		t.Errorf("Handle with consent denied: profile %x, %v; want nil", p, err)
	}
}

// TestCallMatchesNative compares the module's reply bytes with the native agent's for the same calls.
func TestCallMatchesNative(t *testing.T) {
	h := newHost(t, testConfig(t).WithPoolSize(1))
	s := acquire(t, h)
	native := agent.New()
	enc := func(r *wire.Request) []byte { return minicbor.Marshal(nil, r) }
	calls := []struct {
		name string
		op   wire.Op
		in   []byte
	}{
		{"info empty", wire.OpInfo, nil},
		{"handle without bundle", wire.OpHandle, enc(visit(t0))},
		{"load bundle", wire.OpLoadBundle, signed(testBundle(3, "native"))},
		{"info", wire.OpInfo, nil},
		{"load profile", wire.OpLoadProfile, enc(&wire.Request{Now: t0, Seed: 11})},
		{"handle", wire.OpHandle, enc(visit(t0))},
		{"handle again", wire.OpHandle, enc(visit(t0 + 90_000))},
		{"explain", wire.OpExplain, nil},
		{"save profile", wire.OpSaveProfile, nil},
		{"drain", wire.OpDrain, enc(&wire.Request{Now: t0 + 100_000, Seed: 12})},
		{"forget", wire.OpForget, enc(&wire.Request{Now: t0, Seed: 13})},
		{"garbage request", wire.OpHandle, []byte{0xff, 0x01}},
		{"unknown op", wire.Op(99), nil},
		{"op zero", wire.Op(0), nil},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Call(c.op, c.in)
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			want := native.Call(c.op, c.in, nil)
			if !bytes.Equal(got, want) {
				t.Errorf("module and native replies differ:\nmodule %x\nnative %x", got, want)
			}
		})
	}
	s.Release()
	if n := h.live.Load(); n != 0 {
		t.Errorf("an instance that ran a raw OpLoadBundle went back to the pool (%d live)", n)
	}
}

func TestBadInput(t *testing.T) {
	h := newHost(t, testConfig(t).WithTrustedKeys(testPub).WithPoolSize(1))
	if _, err := h.LoadBundle(context.Background(), signed(testBundle(1, "x"))); err != nil {
		t.Fatal(err)
	}
	s := acquire(t, h)
	in := s.in
	tests := []struct {
		name string
		op   wire.Op
		in   []byte
		code wire.Code
	}{
		{"garbage request", wire.OpHandle, []byte("\x9f\xff garbage"), wire.CodeBadRequest},
		{"truncated request", wire.OpHandle, minicbor.Marshal(nil, visit(t0))[:20], wire.CodeBadRequest},
		{"unknown op", wire.Op(1000), nil, wire.CodeUnknownOp},
		{"negative op", wire.Op(0xffffffff), nil, wire.CodeUnknownOp},
		{"too many events", wire.OpHandle, minicbor.Marshal(nil, &wire.Request{Now: t0, Events: make([]wire.Event, 65)}), wire.CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := s.Call(tt.op, tt.in)
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			var r wire.Reply
			if err := minicbor.Unmarshal(b, &r, minicbor.DefaultLimits); err != nil || r.Err == nil || r.Err.Code != tt.code {
				t.Fatalf("reply %+v (%v), want code %v", r.Err, err, tt.code)
			}
		})
	}

	t.Run("above the module's limit", func(t *testing.T) {
		_, err := s.Call(wire.OpHandle, make([]byte, maxModuleInput+1))
		if !isCode(err, wire.CodeTooLarge) {
			t.Fatalf("got %v, want CodeTooLarge", err)
		}
	})

	// The ABI itself: a length past the input buffer, and a request the module refuses to buffer.
	t.Run("n past the buffer", func(t *testing.T) {
		in.stack[0], in.stack[1] = uint64(wire.OpInfo), uint64(in.inCap)+1<<20
		if err := in.call.CallWithStack(context.Background(), in.stack); err != nil {
			t.Fatal(err)
		}
		b, err := s.raw(wire.OpInfo, nil) // re-read through the host: the module must still answer
		if err != nil || len(b) == 0 {
			t.Fatalf("after a bad n: %v", err)
		}
		in.stack[0], in.stack[1] = uint64(wire.OpInfo), 0xffffffff // n = -1
		if err := in.call.CallWithStack(context.Background(), in.stack); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("presage_input refuses", func(t *testing.T) {
		if err := in.reserve(context.Background(), maxModuleInput+1); !isCode(err, wire.CodeTooLarge) {
			t.Fatalf("reserve: got %v, want CodeTooLarge", err)
		}
	})

	if s.in != in || in.dead {
		t.Fatalf("the instance was replaced by bad input")
	}
	if _, err := s.Handle(visit(t0)); err != nil {
		t.Errorf("Handle after bad input: %v", err)
	}
}

func TestInputBufferGrows(t *testing.T) {
	h := newHost(t, testConfig(t).WithPoolSize(1))
	s := acquire(t, h)
	addr := s.in.inAddr
	// A request larger than the initial buffer moves the buffer; later requests use the new one.
	big := minicbor.Marshal(nil, &wire.Request{Now: t0, Slots: []string{strings.Repeat("s", 200_000)}})
	if _, err := s.Call(wire.OpHandle, big); err != nil {
		t.Fatal(err)
	}
	if s.in.inCap < uint32(len(big)) || s.in.inAddr == addr {
		t.Errorf("buffer: %#x+%d, was %#x", s.in.inAddr, s.in.inCap, addr)
	}
	for _, n := range []int{0, 10, len(big)} {
		b, err := s.Call(wire.OpInfo, make([]byte, n))
		if err != nil || len(b) == 0 {
			t.Fatalf("Info with %d bytes: %v", n, err)
		}
	}
	want := agent.New().Call(wire.OpHandle, big, nil)
	if got, _ := s.Call(wire.OpHandle, big); !bytes.Equal(got, want) {
		t.Errorf("big request: module %x, native %x", got, want)
	}
}

func TestDeadline(t *testing.T) {
	h := newHost(t, testConfig(t).WithTrustedKeys(testPub).WithPoolSize(2))
	if _, err := h.LoadBundle(context.Background(), signed(testBundle(1, "x"))); err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()

	t.Run("acquire with an expired context", func(t *testing.T) {
		_, err := h.Acquire(expired)
		if !errors.Is(err, ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want ErrDeadline", err)
		}
	})
	t.Run("context expires during a session", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		s, err := h.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Release()
		<-ctx.Done()
		if _, err := s.Info(); !errors.Is(err, ErrDeadline) {
			t.Fatalf("got %v, want ErrDeadline", err)
		}
	})
	t.Run("pool recovers", func(t *testing.T) {
		for range 4 { // more than the pool size: slots of discarded instances were given back
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			s, err := h.Acquire(ctx)
			if err != nil {
				cancel()
				t.Fatalf("Acquire: %v", err)
			}
			ans, err := s.Handle(visit(t0))
			s.Release()
			cancel()
			if err != nil || ans.Decisions[0].Content != "x" {
				t.Fatalf("Handle: %+v, %v", ans, err)
			}
		}
	})
	t.Run("acquire waits for a busy pool", func(t *testing.T) {
		a, b := acquire(t, h), acquire(t, h)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if _, err := h.Acquire(ctx); !errors.Is(err, ErrDeadline) {
			t.Errorf("Acquire on a busy pool: got %v, want ErrDeadline", err)
		}
		a.Release()
		b.Release()
	})
}

func TestMemoryCeiling(t *testing.T) {
	const pages = 160 // 10 MiB: room for the agent, not for a request of 8 MiB
	stderr := new(syncBuffer)
	h := newHost(t, testConfig(t).WithMemoryLimitPages(pages).WithPoolSize(1).WithStderr(stderr))
	s := acquire(t, h)
	if n := s.in.mem.Size(); n > pages*65536 {
		t.Fatalf("memory %d bytes above the ceiling", n)
	}

	t.Run("above the ceiling is refused", func(t *testing.T) {
		_, err := s.Call(wire.OpInfo, make([]byte, pages*65536+1))
		if !isCode(err, wire.CodeTooLarge) || s.in == nil || s.in.dead {
			t.Fatalf("got %v, want CodeTooLarge with the instance kept", err)
		}
	})
	t.Run("inputs the ceiling could not hold are refused before the module", func(t *testing.T) {
		// An input is held with a copy and its decoded form: the host refuses anything above an
		// eighth of the ceiling, so a request can never run the module out of memory.
		_, err := s.Call(wire.OpInfo, make([]byte, pages*65536/8+1))
		if !isCode(err, wire.CodeTooLarge) || s.in == nil || s.in.dead {
			t.Fatalf("got %v, want CodeTooLarge with the instance kept", err)
		}
		if n := s.in.mem.Size(); n > pages*65536 {
			t.Fatalf("memory %d bytes above the ceiling", n)
		}
	})
	s.Release()
	t.Run("replaced", func(t *testing.T) {
		s := acquire(t, h)
		info, err := s.Info()
		if err != nil || info.Features == 0 {
			t.Fatalf("Info on the new instance: %+v, %v", info, err)
		}
	})
}

func TestClose(t *testing.T) {
	h, err := New(context.Background(), moduleWasm, testConfig(t).WithTrustedKeys(testPub).WithPoolSize(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	busy, err := h.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idle, err := h.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idle.Release()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := h.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := busy.Info(); !errors.Is(err, ErrClosed) {
		t.Errorf("call on a session during Close: got %v, want ErrClosed", err)
	}
	busy.Release()
	busy.Release()
	if _, err := h.Acquire(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close: got %v, want ErrClosed", err)
	}
	if _, err := h.LoadBundle(ctx, signed(testBundle(1, "x"))); !errors.Is(err, ErrClosed) {
		t.Errorf("LoadBundle after Close: got %v, want ErrClosed", err)
	}
	if _, _, err := h.Handle(ctx, nil, &wire.Request{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Handle after Close: got %v, want ErrClosed", err)
	}
	if n := h.live.Load(); n != 0 {
		t.Errorf("%d instances alive after Close", n)
	}
	if _, err := busy.Info(); !errors.Is(err, ErrClosed) && !errors.Is(err, ErrReleased) {
		t.Errorf("call after Release: %v", err)
	}
}

func TestReleasedSession(t *testing.T) {
	h := newHost(t, testConfig(t).WithPoolSize(1))
	s := acquire(t, h)
	s.Release()
	if _, err := s.Info(); !errors.Is(err, ErrReleased) {
		t.Errorf("Info after Release: got %v, want ErrReleased", err)
	}
	if _, err := s.Call(wire.OpInfo, nil); !errors.Is(err, ErrReleased) {
		t.Errorf("Call after Release: got %v, want ErrReleased", err)
	}
}

// TestUninterruptible checks the mode without wazero's termination checks: everything works, an
// expired context still fails before the call, and a short timeout no longer interrupts.
func TestUninterruptible(t *testing.T) {
	h := newHost(t, testConfig(t).WithTrustedKeys(testPub).WithPoolSize(1).
		WithInterruptibleCalls(false).WithCallTimeout(time.Nanosecond))
	if _, err := h.LoadBundle(context.Background(), signed(testBundle(1, "calm"))); err != nil {
		t.Fatal(err)
	}
	ans, p, err := h.Handle(context.Background(), nil, visit(t0))
	if err != nil || ans.Decisions[0].Content != "calm" || len(p) == 0 {
		t.Fatalf("Handle: %+v, %d bytes, %v", ans, len(p), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	s, err := h.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	<-ctx.Done()
	if _, err := s.Info(); !errors.Is(err, ErrDeadline) {
		t.Fatalf("call with an expired context: got %v, want ErrDeadline", err)
	}
	if s.in == nil || h.live.Load() != 1 {
		t.Errorf("a call refused before it started lost its instance")
	}
}
