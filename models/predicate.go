package models

// Holds reports whether v lies in the closed band [Lo, Hi], negated when Not is set. A NaN never
// lies in a band, so it fails every predicate except a negated one; a band with Lo > Hi is empty.
// PredSegment and PredStage ignore the band: membership and HoldsStage decide.
func (p *Predicate) Holds(v float64) bool {
	in := v >= p.Lo && v <= p.Hi
	return in != p.Not
}

// HoldsStage reports whether life-cycle stage s is one of p.Stages (bit s), negated when Not is
// set. Stages beyond bit 7 are in no set.
func (p *Predicate) HoldsStage(s int) bool {
	in := s >= 0 && s < 8 && p.Stages&(1<<uint(s)) != 0
	return in != p.Not
}
