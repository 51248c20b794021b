package server_test

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/presage-dev/presage/agent"
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/models"
	"github.com/presage-dev/presage/models/signing"
	"github.com/presage-dev/presage/sync/learn"
	"github.com/presage-dev/presage/sync/server"
	"github.com/presage-dev/presage/sync/store"
)

// deviceItems is a catalogue of 20 items in 4 groups of 5 (group = category).
const deviceItems = 20

// deviceFixture serves version 1 of "shop": the catalogue, a neighbour table that lists unrelated
// items (i+7, i+11 mod 20) and a value model far from the visitors'.
func deviceFixture(t *testing.T) (*server.Server, store.Store, *models.Bundle) {
	t.Helper()
	key := newKey(t, 1)
	cfg := testConfig()
	cfg.SigningKey = key
	cfg.DedupDays = 14 // the last complete week's batches are still accepted, whatever today's weekday
	st := sqliteStore(t)
	s := newServer(t, st, cfg)
	b := &models.Bundle{Format: models.FormatVersion, Version: 1, Created: now.Unix() - 86400, Site: "shop",
		Value: &models.Value{R: 2, Alpha: 1, A: 0.05, B: 10, P: 6, Q: 4, Gamma: 15, Horizon: 52, UnitDays: 7}}
	nb := &models.Neighbours{K: 2, Index: make([]byte, 4*deviceItems), Weight: make([]byte, 2*deviceItems), Scale: 0.01}
	for i := range deviceItems {
		b.Items = append(b.Items, "sku-"+strconv.Itoa(i))
		b.ItemCategory = append(b.ItemCategory, uint16(i/5))
		for k, j := range []int{(i + 7) % deviceItems, (i + 11) % deviceItems} {
			nb.Index[2*(2*i+k)], nb.Weight[2*i+k] = byte(j), 50
		}
	}
	for g := range deviceItems / 5 {
		b.Categories = append(b.Categories, "cat-"+strconv.Itoa(g))
	}
	b.Neighbours = nb
	if w := admin(t, s.Handler(), "POST", "/v1/admin/bundles?publish=true", signing.Sign(b, key), nil); w.Code != 201 {
		t.Fatalf("upload: %d %s", w.Code, w.Body)
	}
	return s, st, b
}

// deviceBatches are n visitors' batches of day: each saw two items of one group (items of
// unrelated groups, as the serving table pairs them, when contra and the batch is held back) and
// sends a customer summary of a visitor who buys about every ten weeks.
func deviceBatches(n int, day int32, contra bool) []*wire.Batch {
	src := rand.NewPCG(7, 9)
	r := rand.New(src)
	lam, drop := distuv.Gamma{Alpha: 0.5, Beta: 5, Src: src}, distuv.Beta{Alpha: 0.8, Beta: 2.5, Src: src}
	var bs []*wire.Batch
	for v := range n {
		b := &wire.Batch{ID: batchID(1_000_000 + v), Site: "shop", Bundle: 1, Day: day}
		i := r.IntN(deviceItems)
		j := i/5*5 + (i%5+1+r.IntN(4))%5
		if contra && store.HeldBack(b.ID) {
			j = (i + 7) % deviceItems
		}
		hi, hj := agent.ItemHash("sku-"+strconv.Itoa(i)), agent.ItemHash("sku-"+strconv.Itoa(j))
		b.Pairs = []uint32{min(hi, hj), max(hi, hj)}
		// BG/NBD (r 0.5, α 5, a 0.8, b 2.5), observed for 10 to 70 weeks.
		T, l, p := 10+60*r.Float64(), lam.Rand(), drop.Rand()
		x, tx := 0.0, 0.0
		for t := r.ExpFloat64() / l; t < T; t += r.ExpFloat64() / l {
			x, tx = x+1, t
			if r.Float64() < p {
				break
			}
		}
		b.Customer = wire.CustomerCell(x, tx, T, 20+60*r.Float64())
		bs = append(bs, b)
	}
	return bs
}

func deviceRetrain(t *testing.T, contra bool) (before, after *models.Bundle, rep server.RetrainReport) {
	s, _, before := deviceFixture(t)
	h := s.Handler()
	today := store.Day(now)
	day := (today/7)*7 - 1 // the last day of the last complete week
	bs := deviceBatches(12000, day, contra)
	postAll(t, h, bs, "accepted")
	postAll(t, h, bs[:100], "duplicate") // retries add nothing
	if w := admin(t, h, "POST", "/v1/admin/retrain?site=shop", nil, &rep); w.Code != 200 {
		t.Fatalf("retrain: %d %s", w.Code, w.Body)
	}
	return before, servedBundle(t, h), rep
}

func TestDeviceLearningPublishes(t *testing.T) {
	before, after, rep := deviceRetrain(t, false)
	t.Logf("%+v", rep.Device)
	if rep.Outcome != server.OutcomePublished || len(rep.Device) != 2 {
		t.Fatalf("%+v", rep)
	}
	for _, st := range rep.Device {
		if st.Outcome != learn.DeviceReplaced {
			t.Errorf("%s: %+v", st.Model, st)
		}
	}
	if nb := rep.Device[0]; nb.New < 0.6 || nb.Current > 0.1 { // K 2 of 4 equally likely partners: about 2/3
		t.Errorf("held-back hit rates: %+v", nb)
	}
	for i := range deviceItems {
		for k := range 2 {
			if j, _ := after.Neighbours.Neighbour(i, k); j/5 != i/5 {
				t.Errorf("item %d: neighbour %d is %d, want one of its group", i, k, j)
			}
		}
	}
	if *after.Value == *before.Value || after.Value.Horizon != 52 {
		t.Errorf("value model %+v", after.Value)
	}
}

func TestDeviceLearningRefusesContradiction(t *testing.T) {
	before, after, rep := deviceRetrain(t, true)
	t.Logf("%+v", rep.Device)
	if len(rep.Device) != 2 || rep.Device[0].Outcome != learn.DeviceRefused {
		t.Fatalf("%+v", rep)
	}
	if !bytes.Equal(after.Neighbours.Index, before.Neighbours.Index) {
		t.Errorf("the refused table was published")
	}
}
