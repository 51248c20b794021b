package agent

import (
	"github.com/presage-dev/presage/agent/wire"
	"github.com/presage-dev/presage/internal/minicbor"
	"github.com/presage-dev/presage/internal/msg"
	"github.com/presage-dev/presage/models"
)

// Agent is the on-device brain for one visitor at a time: it holds a bundle and the profile being
// served. It is not safe for concurrent use; hosts keep one agent per instance (or per goroutine).
//
// # Invariants
//
//   - The agent does no I/O and reads no clock and no randomness: every call carries its time (Unix ms)
//     and random bits. The same calls therefore give the same answers natively and in the module.
//   - Nothing is allocated per event on the steady path beyond the answer's strings.
type Agent struct {
	b   *models.Bundle
	cb  compiled
	set Settings

	p       Profile
	started bool         // a profile is being served
	owned   bool         // p's memory is the agent's own, not a Start caller's
	spare   Profile      // the profile served before p, whose memory LoadProfile decodes into
	req     wire.Request // the request of the last Call, whose memory the next one decodes into

	// per-call scratch, reused
	x         Vector
	scores    []float64
	members   []bool
	dots      []int32
	vq        []int8
	vscale    float64
	hasApp    bool
	value     wire.CustomerValue
	hasVal    bool
	valueMemo valueMemo // customerValue's last result, for the visitor's next events (score.go)
	recs      models.RecScratch
	cands     []models.Candidate
	recent    []models.Weighted
	excluded  models.ItemSet // items not to recommend this event
	top       []int          // the best categories of the appetence pass
	order     []int          // campaigns of a slot by priority, reused by every decision
	slotOrder []int          // slots by their candidates' rank, when the pressure budget arbitrates
	dry       bool           // eligible ignores the pressure budget: arbitrate is looking for candidates
	expl      wire.Explanation
	checks    []wire.Check // backs every expl.Slots[i].Checks
	answer    wire.Answer
	enc       minicbor.Encoder
	dec       minicbor.Decoder
	primary   string // first segment the visitor belongs to: the learning buffer's segment
	fx        Vector // an example's features for federated learning (federated.go)
}

// compiled is the bundle resolved against the agent: features by id, items and categories by hash.
type compiled struct {
	cols       [][]uint16   // per propensity model: positions of its features in Vector
	linear     linearModels // the propensity models scored in one pass (linear.go)
	featOf     []Feature    // bundle feature index → agent feature
	items      idTable
	cats       idTable
	appetence  *models.AppetenceKernel // the appetence factors, packed for the one-pass kernel
	neighbours *models.NeighbourTable  // the neighbour lists, packed for Recommend
	projection []float64               // the appetence fold-in projection, computed from the factors
	inputs     inputIndex              // tabular models' request inputs (inputs.go)
	strs       internTable             // the bundle's ids, for the decoder to intern (intern.go)
	fed        int                     // length of FedState.Sums: 0 without a federated model (federated.go)
	clip       float64                 // the federated models' joint clip bound C
}

type keyIndex struct {
	key uint32
	idx uint32
}

// New returns an agent with no bundle. Load one with SetBundle before handling events.
func New() *Agent { return &Agent{} }

// Bundle returns the bundle serving, or nil.
func (a *Agent) Bundle() *models.Bundle { return a.b }

// SetBundle validates b, checks that it is newer than the bundle serving and not expired at now (Unix
// ms), and switches to it. On error the previous bundle keeps serving. The agent keeps b: do not modify it.
func (a *Agent) SetBundle(b *models.Bundle, now int64) error {
	if err := b.Validate(); err != nil {
		return err
	}
	return a.setBundle(b, now)
}

// setBundle is SetBundle for a bundle already validated (models.Open validates what it decodes):
// validating twice was a third of loading a bundle, and loading the bundle is most of a module's
// first call — the time a page waits for its first decision.
func (a *Agent) setBundle(b *models.Bundle, now int64) error {
	if a.b != nil && b.Version <= a.b.Version {
		return msg.Errorf(models.ErrStaleBundle, "version %d is not newer than %d", b.Version, a.b.Version)
	}
	if b.Expires != 0 && now/1000 > b.Expires {
		return msg.Errorf(models.ErrExpired, "expired at %d, now %d", b.Expires, now/1000)
	}
	cb, err := compile(b)
	if err != nil {
		return err
	}
	a.b, a.cb, a.set = b, cb, settingsFrom(b.Settings)
	a.valueMemo = valueMemo{}
	a.dec.Intern = a.cb.strs.lookup
	a.resetVisitorState() // the last explanation refers to the old bundle's models
	a.scores = make([]float64, len(b.Propensity))
	a.members = make([]bool, len(b.Segments))
	if b.Appetence != nil {
		a.dots = make([]int32, len(b.Categories))
		a.vq = make([]int8, b.Appetence.Rank)
	}
	return nil
}

func compile(b *models.Bundle) (compiled, error) {
	var cb compiled
	cb.featOf = make([]Feature, len(b.Features))
	for i, name := range b.Features {
		f, ok := FeatureByName(name)
		if !ok {
			f = notAgentFeature // a request input of tabular models (inputs.go)
		}
		cb.featOf[i] = f
	}
	if err := compileInputs(b, &cb); err != nil { // inputs.go: only tabular models read inputs
		return cb, err
	}
	cb.cols = make([][]uint16, len(b.Propensity))
	for m := range b.Propensity {
		cols := make([]uint16, len(b.Propensity[m].Features))
		for i, fi := range b.Propensity[m].Features {
			cols[i] = uint16(cb.featOf[fi])
		}
		cb.cols[m] = cols
	}
	cb.linear = compileLinear(b, cb.cols)
	if b.Appetence != nil {
		cb.appetence = models.NewAppetenceKernel(b.Appetence)
		cb.projection = b.Appetence.Projection()
	}
	if b.Neighbours != nil {
		cb.neighbours = b.Neighbours.Table()
	}
	cb.strs = newInternTable(b)
	compileFed(b, &cb)
	var err error
	if cb.items, err = index(b.Items, "items"); err != nil {
		return cb, err
	}
	if cb.cats, err = index(b.Categories, "categories"); err != nil {
		return cb, err
	}
	for i := range b.Campaigns {
		c := &b.Campaigns[i]
		if len(c.ID) > maxIDLen {
			return cb, msg.Errorf(models.ErrBadBundle, "campaigns[%d]: id longer than %d bytes", i, maxIDLen)
		}
		for j := range c.Variants {
			if len(c.Variants[j].ID) > maxIDLen {
				return cb, msg.Errorf(models.ErrBadBundle, "campaigns[%d].variants[%d]: id longer than %d bytes", i, j, maxIDLen)
			}
		}
	}
	for i := range b.Segments {
		if len(b.Segments[i].Name) > maxIDLen {
			return cb, msg.Errorf(models.ErrBadBundle, "segments[%d]: name longer than %d bytes", i, maxIDLen)
		}
	}
	return cb, nil
}

// idTable finds an item or a category by the 32-bit hash the profile keeps: open addressing with
// linear probing, at most half full, so that a lookup is one or two probes. A binary search over
// 1,000 ids took ten dependent steps, and WebAssembly makes every step dear.
type idTable struct {
	slots []keyIndex // idx is the index + 1; 0 marks an empty slot
	shift uint32
}

// index hashes ids into a table; two ids of one hash are refused.
func index(ids []string, what string) (idTable, error) {
	return hashTable(ids, func(first, i int) error {
		return msg.Errorf(models.ErrBadBundle, "%s %q and %q share a 32-bit hash; rename one", what, ids[first], ids[i])
	})
}

// hashTable hashes ids into a table. When ids[i] hashes like an earlier ids[first], shared asks what
// to do: an error stops the build, nil leaves ids[i] out (the first one is kept).
func hashTable(ids []string, shared func(first, i int) error) (idTable, error) {
	bits := uint32(1)
	for 1<<bits < 2*len(ids) {
		bits++
	}
	t := idTable{slots: make([]keyIndex, 1<<bits), shift: 32 - bits}
	mask := uint32(len(t.slots) - 1)
next:
	for i, id := range ids {
		h := hashID(id)
		s := t.home(h)
		for ; t.slots[s].idx != 0; s = (s + 1) & mask {
			if t.slots[s].key == h {
				if err := shared(int(t.slots[s].idx)-1, i); err != nil {
					return idTable{}, err
				}
				continue next
			}
		}
		t.slots[s] = keyIndex{h, uint32(i) + 1}
	}
	return t, nil
}

// home is the first slot probed for key: Fibonacci hashing spreads the top bits.
func (t *idTable) home(key uint32) uint32 { return (key * 0x9E3779B1) >> t.shift }

// addTo adds to set the ids whose hashes are keys, those the table knows.
func (t *idTable) addTo(set models.ItemSet, keys []uint32) {
	for _, k := range keys {
		if i, ok := t.lookup(k); ok {
			set.Add(i)
		}
	}
}

// lookup returns the index of the id whose hash is key.
func (t *idTable) lookup(key uint32) (int, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	mask := uint32(len(t.slots) - 1)
	for s := t.home(key); ; s = (s + 1) & mask {
		e := t.slots[s]
		if e.idx == 0 {
			return 0, false
		}
		if e.key == key {
			return int(e.idx) - 1, true
		}
	}
}

// Start begins serving a visitor from a saved profile (nil or empty: a new visitor whose id is drawn
// from seed). A profile that cannot be read is replaced by a new one and ErrBadProfile is returned:
// the agent is ready either way.
func (a *Agent) Start(p *Profile, seed uint64) {
	a.start(p, seed)
	a.owned = p == nil || p.Version != profileVersion // a caller's profile shares its memory
}

func (a *Agent) start(p *Profile, seed uint64) {
	if p == nil || p.Version != profileVersion {
		a.p = Profile{Version: profileVersion, Visitor: newVisitorID(seed)}
	} else {
		a.p = *p
		sanitize(&a.p)
		if a.p.Visitor == 0 {
			a.p.Visitor = newVisitorID(seed)
		}
	}
	a.started = true
	a.resetVisitorState()
}

// resetVisitorState forgets what the agent derived for the previous visitor: a pooled instance serves
// many visitors, and nothing of one may show in another's answers or explanations.
func (a *Agent) resetVisitorState() {
	a.x = Vector{}
	a.expl = wire.Explanation{Slots: a.expl.Slots[:0], Drivers: a.expl.Drivers[:0]}
}

// Features returns the feature vector of the last Handle. It is owned by the agent.
func (a *Agent) Features() *Vector { return &a.x }

// Profile returns the profile being served. It is owned by the agent and changes with every call.
func (a *Agent) Profile() *Profile { return &a.p }

// Forget erases the visitor: a new profile with a new id replaces the old one, the learning buffer included.
func (a *Agent) Forget(seed uint64) {
	a.p = Profile{Version: profileVersion, Visitor: newVisitorID(seed)}
	a.started, a.owned = true, true
	a.resetVisitorState()
}

func newVisitorID(seed uint64) uint64 {
	id := mix64(seed ^ 0x9e3779b97f4a7c15)
	if id == 0 {
		id = 1
	}
	return id
}

// consent is the consent in force.
func (a *Agent) consent() wire.Consent {
	if c := wire.Consent(a.p.Consent); c != wire.ConsentUnset {
		return c
	}
	return a.set.DefaultConsent
}

// Persistent reports whether the profile may be stored: false when the visitor denied consent.
func (a *Agent) Persistent() bool { return a.consent() != wire.ConsentDenied }

// ErrNoBundle is returned by Handle before any bundle was loaded.
var ErrNoBundle = errorString("agent: no bundle loaded")

// Limits on one request: a host that needs more sends several.
const (
	maxEvents    = 64
	maxSlots     = 16
	maxLines     = 64
	maxStringLen = 256
	maxQuantity  = 10000
	maxMoney     = 1e9
)
