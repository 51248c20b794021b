package agent

import "github.com/presage-dev/presage/agent/wire"

// Summaries for learning on the sync server (issue 4 §2; the server side is sync/learn's cooc.go
// and clv.go). With full consent only, a drain adds to the batch:
//
//   - co-occurrences: pairs of items seen in the current session (Session.Seen: product views and
//     cart adds), chosen most recent first, as (smaller hash, larger hash), each pair at most once
//     per visitor per Unix day and at most wire.MaxPairs a day, sent sorted by hash.
//     ShareState.Sent remembers a 32-bit digest of the pairs sent today, so that a pair seen
//     again in a later session or drain of the same day is not sent again. Sent is kept when
//     consent is withdrawn: it is what bounds the day, and it never leaves the device.
//   - the customer summary, when the bundle has a value model and the visitor has ordered: BG/NBD's
//     (x, t_x, T) in weeks and the mean order value, as one histogram cell (wire.CustomerCell), at
//     most once per visitor per week (Unix day / 7).
//
// Both ride on the batch, which has no identifier; the server keeps only counts per pair and per
// cell, and uses none below its k-anonymity threshold.

// ShareState is what the summaries remember between drains: what was sent, never what to send.
type ShareState struct {
	Day  int32    `cbor:"1,keyasint,omitempty"` // Unix day of Sent
	Sent []uint32 `cbor:"2,keyasint,omitempty"` // digests of the pairs sent that day, at most wire.MaxPairs
	Week int32    `cbor:"3,keyasint,omitempty"` // 1 + Unix week of the last customer summary sent; 0: never
}

// ItemHash is the 32-bit hash a profile keeps for an item or category id, the one Batch.Pairs
// carries: the server maps its catalogue through it.
func ItemHash(id string) uint32 { return hashID(id) }

// shareDrain adds the day's co-occurrence pairs and the week's customer summary to bt. The
// profile's ShareState is created only when something is sent.
func (a *Agent) shareDrain(bt *wire.Batch, now int64) {
	p := &a.p
	if a.b == nil || a.consent() != wire.ConsentFull {
		return
	}
	day := int32(floorDiv(now, dayMs))
	st := p.Share
	if st == nil {
		st = &ShareState{Day: day}
	}
	if st.Day != day {
		st.Day, st.Sent = day, st.Sent[:0]
	}
	sent := len(bt.Pairs)
	if s := p.Session; s != nil && a.b.Neighbours != nil {
	pairs:
		for j := len(s.Seen) - 1; j > 0; j-- {
			for i := j - 1; i >= 0; i-- {
				if len(st.Sent) >= wire.MaxPairs {
					break pairs
				}
				x, y := min(s.Seen[i], s.Seen[j]), max(s.Seen[i], s.Seen[j])
				d := uint32(mix64(uint64(x)<<32 | uint64(y)))
				if x == y || containsU32(st.Sent, d) {
					continue
				}
				st.Sent = append(st.Sent, d)
				bt.Pairs = append(bt.Pairs, x, y)
			}
		}
	}
	// Sorted by hash: the batch does not tell in which order the items were seen.
	for i := sent + 2; i < len(bt.Pairs); i += 2 {
		for j := i; j > sent && (bt.Pairs[j] < bt.Pairs[j-2] || bt.Pairs[j] == bt.Pairs[j-2] && bt.Pairs[j+1] < bt.Pairs[j-1]); j -= 2 {
			bt.Pairs[j], bt.Pairs[j+1], bt.Pairs[j-2], bt.Pairs[j-1] = bt.Pairs[j-2], bt.Pairs[j-1], bt.Pairs[j], bt.Pairs[j+1]
		}
	}
	if week := int32(floorDiv(now, weekMs)) + 1; a.b.Value != nil && p.Orders > 0 && p.FirstOrder > 0 && st.Week != week {
		st.Week = week
		w := float64(weekMs)
		bt.Customer = wire.CustomerCell(float64(p.Orders-1), float64(p.LastOrder-p.FirstOrder)/w,
			float64(max(now, p.LastOrder)-p.FirstOrder)/w, p.Revenue/float64(p.Orders))
	}
	if len(bt.Pairs) > sent || bt.Customer != 0 {
		p.Share = st
	}
}

func containsU32(list []uint32, v uint32) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// sanitizeShare bounds a decoded profile's summaries state: a list longer than the day's bound
// counts as the day's bound spent.
func sanitizeShare(p *Profile) {
	if st := p.Share; st != nil && len(st.Sent) > wire.MaxPairs {
		st.Sent = st.Sent[:wire.MaxPairs]
	}
}
