package agent

import (
	"unicode/utf8"
	"unsafe"

	"github.com/presage-dev/presage/models"
)

// internTable holds the ids that requests and profiles repeat: the bundle's items, categories,
// campaigns, slots, variants and segments. The decoder asks it for a text before allocating one
// (minicbor.Decoder.Intern), so that an ordinary request or profile decodes without allocating a
// string: in WebAssembly an allocation costs about as much as decoding the whole item.
type internTable struct {
	strs []string
	byID idTable // 32-bit hash → index in strs; a string whose hash is taken is not interned
}

func newInternTable(b *models.Bundle) internTable {
	strs := make([]string, 0, len(b.Items)+len(b.Categories)+3*len(b.Campaigns)+len(b.Segments))
	strs = append(append(strs, b.Items...), b.Categories...)
	for i := range b.Campaigns {
		c := &b.Campaigns[i]
		strs = append(strs, c.ID, c.Slot)
		for j := range c.Variants {
			strs = append(strs, c.Variants[j].ID)
		}
	}
	for i := range b.Segments {
		strs = append(strs, b.Segments[i].Name)
	}
	// The decoder skips UTF-8 validation for a text it finds here: keep out what is not valid (a
	// bundle built in Go rather than decoded can hold any bytes).
	valid := strs[:0]
	for _, s := range strs {
		if utf8.Valid(unsafe.Slice(unsafe.StringData(s), len(s))) { // Valid: the decoder links it already
			valid = append(valid, s)
		}
	}
	strs = valid
	// The same id twice (a slot of several campaigns), or a collision: the first one is kept.
	byID, _ := hashTable(strs, func(int, int) error { return nil })
	return internTable{strs: strs, byID: byID}
}

// lookup returns the table's copy of the string b spells, if it has one. It does not keep b.
func (t *internTable) lookup(b []byte) (string, bool) {
	v := unsafe.String(unsafe.SliceData(b), len(b))
	if i, ok := t.byID.lookup(hashID(v)); ok && t.strs[i] == v {
		return t.strs[i], true
	}
	return "", false
}
