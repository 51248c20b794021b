package cborx_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/cborx"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/models"
)

// fuzzDecode decodes arbitrary bytes with minicbor. It must not panic; whatever it accepts,
// cborx.DecMode must accept too and decode to an equal value, and both encoders must write the
// same bytes for it, which minicbor must read back to the same value.
func fuzzDecode[T any, P interface {
	*T
	codec
}](f *testing.F, lim minicbor.Limits) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var m T
		if err := minicbor.Unmarshal(data, P(&m), lim); err != nil {
			if !strings.HasPrefix(err.Error(), "minicbor: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		var x T
		if err := cborx.DecMode.Unmarshal(data, &x); err != nil {
			t.Fatalf("minicbor accepts %x, fxamacker refuses: %v", data, err)
		}
		if !equalValues(&m, &x) {
			t.Fatalf("decoders differ on %x:\nminicbor  %+v\nfxamacker %+v", data, m, x)
		}
		mb := minicbor.Marshal(nil, P(&m))
		fb, err := cborx.EncMode.Marshal(&x)
		if err != nil {
			t.Fatalf("fxamacker Marshal: %v", err)
		}
		if !bytes.Equal(mb, fb) {
			t.Fatalf("re-encodings differ for %x:\nminicbor  %x\nfxamacker %x", data, mb, fb)
		}
		var again T
		if err := minicbor.Unmarshal(mb, P(&again), lim); err != nil || !equalValues(&m, &again) {
			t.Fatalf("canonical bytes %x do not read back: %v", mb, err)
		}
	})
}

func FuzzDecodeRequest(f *testing.F) { fuzzDecode[wire.Request](f, minicbor.DefaultLimits) }

func FuzzDecodeReply(f *testing.F) { fuzzDecode[wire.Reply](f, minicbor.DefaultLimits) }

func FuzzDecodeBundle(f *testing.F) { fuzzDecode[models.Bundle](f, minicbor.BundleLimits) }

// h decodes hex with spaces.
func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// nested returns depth arrays of one element around item.
func nested(depth int, item []byte) []byte {
	return append(bytes.Repeat([]byte{0x81}, depth), item...)
}

func typicalRequest() *wire.Request {
	return &wire.Request{
		Now:  1732270000123,
		Seed: 0x9e3779b97f4a7c15,
		Events: []wire.Event{{
			Type: wire.EventProductView, Time: 1732270000001, Page: wire.PageProduct,
			Item: "SKU-12345", Category: "shoes/running", Value: 89.9, DwellMs: 5300,
			Device: wire.DeviceMobile,
		}},
		Slots: []string{"home-hero", "pdp-reco"},
	}
}

func typicalReply() *wire.Reply {
	a := &wire.Answer{Stage: wire.StageNew, PrevStage: wire.StageLead, Session: 3,
		Segments: []string{"runners", "high-value"},
		Value:    &wire.CustomerValue{Alive: 0.93, Purchases: 1.7, Spend: 64.5, Value: 109.65}}
	for i, m := range []string{"purchase", "churn", "signup", "email", "upsell"} {
		a.Scores = append(a.Scores, wire.Score{Model: m, Value: 0.1 * float32(i+1)})
	}
	for i := range 6 {
		a.Recs = append(a.Recs, wire.Rec{Item: fmt.Sprintf("SKU-%05d", 10000+i*37), Score: 1 / float32(i+2)})
	}
	a.Decisions = []wire.Decision{
		{Slot: "home-hero", Campaign: "spring-sale", Variant: "b", Content: `{"title":"Spring sale -20%"}`},
		{Slot: "pdp-reco", Holdout: true},
	}
	return &wire.Reply{Answer: a}
}

func typicalBundle() *models.Bundle {
	inf := math.Inf(1)
	return &models.Bundle{
		Format: models.FormatVersion, Version: 42, Created: 1732200000, Site: "shop.example",
		Features:     []string{"sessions", "orders", "recency_days"},
		Items:        []string{"SKU-1", "SKU-2", "SKU-3"},
		ItemCategory: []uint16{0, 0, 1},
		Categories:   []string{"shoes", "socks"},
		Popular:      []uint16{2, 0, 1},
		Propensity:   []models.Logistic{{Name: "purchase", Features: []uint16{0, 2}, Weights: []float32{0.5, -0.01}, Bias: -2}},
		Neighbours:   &models.Neighbours{K: 1, Index: []byte{1, 0, 0, 0, 0, 0}, Weight: []byte{200, 180, 0}, Scale: 1.0 / 255},
		Appetence:    &models.Appetence{Rank: 2, Factors: []byte{1, 2, 3, 4}, Scale: 0.01, Slope: 1.5, Lambda: 0.5},
		Value:        &models.Value{R: 0.24, Alpha: 4.4, A: 0.79, B: 2.4, P: 6.25, Q: 3.74, Gamma: 15.44, Horizon: 52},
		Segments:     []models.Segment{{Name: "buyers", When: []models.Predicate{{Kind: models.PredFeature, Ref: 1, Lo: 1, Hi: inf}}}},
		Campaigns: []models.Campaign{{ID: "spring", Slot: "home-hero", Priority: 10,
			Variants: []models.Variant{{ID: "a", Weight: 1, Content: "A"}, {ID: "b", Weight: 1, Content: "B"}},
			When:     []models.Predicate{{Kind: models.PredStage, Stages: 0b110}}, Holdout: 500,
			Caps: &models.Caps{PerSession: 1, PerDay: 3}, Start: 1732000000}},
		Pressure: &models.Pressure{PerDay: 5},
		Settings: &models.Settings{SessionTimeoutSec: 1800, MaxRecs: 6},
		Brand:    []string{"example"},
	}
}

// seeds returns the committed seed corpus of each fuzz target: valid messages, then the hostile
// shapes the decoders must refuse cleanly.
func seeds() map[string]map[string][]byte {
	req := minicbor.Marshal(nil, typicalRequest())
	rep := minicbor.Marshal(nil, typicalReply())
	bun := minicbor.Marshal(nil, typicalBundle())
	full := func(v codec) []byte { return minicbor.Marshal(nil, v) }
	return map[string]map[string][]byte{
		"FuzzDecodeRequest": {
			"valid-typical":     req,
			"valid-minimal":     h("a1 01 00"),
			"valid-purchase":    full(&wire.Request{Now: 1, Events: []wire.Event{{Type: wire.EventPurchase, Value: 120.5, Lines: []wire.Line{{Item: "a", Quantity: 2, Price: 60.25}, {Item: "b"}}}}, Profile: []byte{1, 2, 3}, MaxRecs: 4}),
			"valid-unknown-key": h("a3 01 00 18 3f a2 00 82 f5 f6 01 f9 3c00 02 00"),
			"valid-nulls":       h("a4 01 00 03 f6 04 f6 05 f6"),
			"valid-nonshortest": h("a2 18 01 1b 0000000000000005 03 81 a2 01 19 0001 06 01"),
			"truncated":         req[:len(req)/2],
			"deep-nesting":      append(h("a2 01 00 18 3e"), nested(40, []byte{0})...),
			"huge-array":        h("a2 01 00 03 9b ffffffffffffffff"),
			"huge-string":       h("a2 01 00 04 81 7a ffffffff"),
			"dup-key":           h("a2 01 00 01 01"),
			"text-key":          h("a2 01 00 61 61 00"),
			"indefinite":        h("a2 01 00 04 9f 60 ff"),
			"tag":               h("a1 01 c1 00"),
		},
		"FuzzDecodeReply": {
			"valid-typical":  rep,
			"valid-empty":    h("a0"),
			"valid-error":    full(&wire.Reply{Err: &wire.Error{Code: wire.CodeBadBundle, Message: "models: bad"}}),
			"valid-batch":    full(&wire.Reply{Batch: &wire.Batch{ID: []byte{1, 2, 3, 4}, Site: "s", Day: 20000, Cells: []wire.Cell{{Campaign: "c", Exposures: 3, Revenue: 12.5}}}}),
			"valid-explain":  full(&wire.Reply{Explanation: &wire.Explanation{Time: 5, Slots: []wire.SlotExplanation{{Slot: "s", Campaign: "c", Chosen: true, Checks: []wire.Check{{Kind: wire.CheckScore, Name: "p", Value: 0.5, Lo: 0.2, Hi: float32(math.Inf(1)), Pass: true}}}}, Drivers: []wire.Driver{{Model: "p", Feature: "f", Contribution: -0.3}}}}),
			"valid-halves":   h("a1 03 a3 01 00 02 00 03 82 a2 01 61 6d 02 f9 7c01 a2 01 61 6e 02 f9 0001"),
			"valid-info":     full(&wire.Reply{Info: &wire.BundleInfo{Format: 1, Version: 7, Models: []string{"p"}, Features: 40}}),
			"truncated":      rep[:len(rep)-3],
			"deep-nesting":   append(h("a1 18 3f"), nested(33, []byte{0xf6})...),
			"huge-map":       h("a1 03 bb ffffffffffffffff"),
			"huge-bytes":     h("a1 04 5b 7fffffffffffffff"),
			"dup-key-nested": h("a1 03 a3 01 00 02 00 01 01"),
			"undefined":      h("a1 04 f7"),
			"bad-utf8":       h("a1 01 a2 01 01 02 62 c3 28"),
			"inexact-f32":    h("a1 03 a3 01 00 02 00 03 81 a2 01 60 02 fb 3fb999999999999a"),
		},
		"FuzzDecodeBundle": {
			"valid-typical":    bun,
			"valid-minimal":    h("a2 01 01 02 01"),
			"valid-f16-floats": h("a3 01 01 02 01 0b 81 a3 01 61 70 03 82 f9 3c00 f9 fc00 04 f9 7e00"),
			"valid-int-floats": h("a3 01 01 02 01 0e a4 01 01 02 20 03 18 64 04 3a 000f423f"),
			"valid-neighbours": h("a3 01 01 02 01 0c a4 01 01 02 40 03 f6 04 fa 3b808081"),
			"truncated":        bun[:len(bun)*2/3],
			"deep-nesting":     append(h("a3 01 01 02 01 18 3f"), nested(64, []byte{0})...),
			"huge-array":       h("a3 01 01 02 01 08 9a ffffffff"),
			"huge-string":      h("a3 01 01 02 01 05 7b 00000000ffffffff"),
			"dup-key":          h("a3 01 01 02 01 02 02"),
			"key-64":           h("a3 01 01 02 01 18 40 00"),
			"uint16-overflow":  h("a3 01 01 02 01 0a 81 1a 00010000"),
			"negative-key":     h("a3 01 01 02 01 20 00"),
			"trailing":         append(h("a2 01 01 02 01"), 0),
		},
	}
}

// TestSeedCorpus checks that every committed seed is in place and unchanged; with
// PRESAGE_WRITE_CORPUS=1 it (re)writes them. Crashers the fuzzer found live next to them under
// their own names and are left alone.
func TestSeedCorpus(t *testing.T) {
	write := os.Getenv("PRESAGE_WRITE_CORPUS") == "1"
	for target, files := range seeds() {
		dir := filepath.Join("testdata", "fuzz", target)
		for name, data := range files {
			path := filepath.Join(dir, name)
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
			if write {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s missing or stale (regenerate with PRESAGE_WRITE_CORPUS=1): %v", path, err)
			}
		}
	}
}

// The valid seeds must decode, and the hostile ones must fail, in both decoders.
func TestSeedsDecode(t *testing.T) {
	for target, files := range seeds() {
		for name, data := range files {
			t.Run(target+"/"+name, func(t *testing.T) {
				var err, ferr error
				switch target {
				case "FuzzDecodeRequest":
					err = minicbor.Unmarshal(data, new(wire.Request), minicbor.DefaultLimits)
					ferr = cborx.DecMode.Unmarshal(data, new(wire.Request))
				case "FuzzDecodeReply":
					err = minicbor.Unmarshal(data, new(wire.Reply), minicbor.DefaultLimits)
					ferr = cborx.DecMode.Unmarshal(data, new(wire.Reply))
				default:
					err = minicbor.Unmarshal(data, new(models.Bundle), minicbor.BundleLimits)
					ferr = cborx.DecMode.Unmarshal(data, new(models.Bundle))
				}
				valid := strings.HasPrefix(name, "valid-")
				t.Logf("minicbor: %v; fxamacker: %v", err, ferr)
				if valid != (err == nil) {
					t.Errorf("minicbor: err = %v, valid = %v", err, valid)
				}
				if valid && ferr != nil {
					t.Errorf("fxamacker: %v", ferr)
				}
			})
		}
	}
}
