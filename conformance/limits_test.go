package conformance

import (
	"fmt"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
)

// moduleInputLimit is the module's bound on one input (.plan/CONTRACTS.md: presage_input refuses
// more). runtime/host passes requests up to it under its default memory ceiling.
const moduleInputLimit = 4 << 20

// TestModuleInputLimit checks that an instance under runtime/host's default memory ceiling takes
// every input size the module accepts, whatever sizes came before: a pooled instance lives through
// many requests and bundle loads, and the host refuses only what is over the module's limit, so
// anything below must fit. A trap here is the Go runtime running out of memory in presage_input.
func TestModuleInputLimit(t *testing.T) {
	steps := func(from, step, to int32) []int32 {
		var s []int32
		for n := from; n <= to; n += step {
			s = append(s, n)
		}
		return s
	}
	var doubling []int32
	for n := int32(128 << 10); n <= moduleInputLimit; n *= 2 {
		doubling = append(doubling, n)
	}
	tests := []struct {
		name  string
		sizes []int32
	}{
		{"limit at once", []int32{moduleInputLimit}},
		{"doubling to the limit", doubling},
		{"3 MiB then the limit", []int32{3 << 20, moduleInputLimit}},
		{"growing by 512 KiB", steps(512<<10, 512<<10, moduleInputLimit)},
		{"growing by 128 KiB to 4 MiB", steps(128<<10, 128<<10, 4<<20)},
	}
	for _, n := range []int32{1 << 20, 2 << 20, 3 << 20, moduleInputLimit} {
		// A bundle load copies its input (agent.LoadBundle): twice the input must fit.
		t.Run(fmt.Sprintf("load bundle of %d MiB", n>>20), func(t *testing.T) {
			m := startModule(t, "TestModuleInputLimit")
			defer m.close()
			if addr, err := m.Input(n); err != nil || addr == 0 {
				t.Fatalf("presage_input(%d) on a fresh instance: %#x, %v (%s)", n, addr, err, m.stderr)
			}
			reply, err := m.CallN(int32(wire.OpLoadBundle), n)
			if err != nil {
				t.Fatalf("load bundle of %d bytes: trapped, %s (memory high-water %d of %d bytes)", n, m.stderr, m.highWater, m.ceiling)
			}
			if r := checkReply(t, wire.OpLoadBundle, reply); r.Err == nil || r.Err.Code != wire.CodeBadBundle {
				t.Fatalf("load bundle of %d zero bytes: %x, want a bad-bundle error", n, reply)
			}
			t.Logf("memory high-water %d bytes of a %d-byte ceiling", m.highWater, m.ceiling)
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := startModule(t, "TestModuleInputLimit")
			defer m.close()
			for _, n := range tt.sizes {
				addr, err := m.Input(n)
				if err != nil {
					t.Fatalf("presage_input(%d) after smaller buffers: trapped, %s (memory high-water %d of %d bytes)", n, m.stderr, m.highWater, m.ceiling)
				}
				if addr == 0 {
					t.Fatalf("presage_input(%d) refused within the limit", n)
				}
				reply, err := m.CallN(int32(wire.OpHandle), n)
				if err != nil {
					t.Fatalf("handle of %d bytes: %v", n, err)
				}
				if r := checkReply(t, wire.OpHandle, reply); r.Err == nil || r.Err.Code != wire.CodeTooLarge {
					t.Fatalf("handle of %d bytes: %x, want a too-large error", n, reply)
				}
			}
			t.Logf("memory high-water %d bytes of a %d-byte ceiling", m.highWater, m.ceiling)
		})
	}
}
