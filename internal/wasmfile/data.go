package wasmfile

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

const pageSize = 65536

// Stats describes what MergeData did. Bytes count segment contents, not headers.
type Stats struct {
	SegmentsBefore, SegmentsAfter int
	BytesBefore, BytesAfter       int
}

// MergeData rewrites the data section so that active segments at most maxGap bytes apart become
// one segment, the gap filled with zeros. Empty segments are dropped. The result writes exactly the same
// bytes into a fresh memory, with far fewer segments: Go's linker splits its data at every run of 8
// or more zero bytes, so a maxGap of about 256 turns some 22,000 segments into a handful.
//
// MergeData refuses (with an error saying why, and no module) modules it cannot rewrite safely:
// passive segments, offsets other than i32.const, several memories, an imported memory (whose gaps
// need not be zero), segments outside the initial memory or overlapping each other, and a DataCount
// section with code that may name segments by index. Go's output has none of these.
//
// The merged module can be up to maxGap bytes per segment larger than the input; maxGap is meant
// to be small.
func MergeData(module []byte, maxGap int) ([]byte, Stats, error) {
	if maxGap < 0 {
		return nil, Stats{}, fmt.Errorf("wasmfile: negative maxGap %d", maxGap)
	}
	m, segs, err := parseSegments(module)
	if err != nil {
		return nil, Stats{}, err
	}
	st := Stats{SegmentsBefore: len(m.segments)}
	segs = slices.DeleteFunc(segs, func(s segment) bool { return len(s.init) == 0 })
	var body []byte
	for i := 0; i < len(segs); {
		start, end := segs[i].addr, segs[i].end()
		j := i + 1
		for ; j < len(segs) && uint64(segs[j].addr) <= end+uint64(maxGap); j++ {
			end = max(end, segs[j].end())
		}
		size := int(end - uint64(start))
		body = appendActiveHeader(body, start, size)
		base := len(body)
		body = append(body, make([]byte, size)...)
		for _, s := range segs[i:j] {
			st.BytesBefore += len(s.init)
			copy(body[base+int(s.addr-start):], s.init)
		}
		st.SegmentsAfter++
		st.BytesAfter += size
		i = j
	}
	out, err := m.rewrite(st.SegmentsAfter, body)
	if err != nil {
		return nil, Stats{}, err
	}
	return out, st, nil
}

// parseSegments parses a module whose data segments are to be rewritten, renumbered or moved, and
// returns its active segments sorted by address. It refuses, saying why, what such a rewrite
// cannot handle safely: passive segments, offsets other than i32.const, several memories, segments
// outside the initial memory or overlapping, an imported memory (whose initial contents, gaps
// included, are not zero), and code that may name segments by index.
func parseSegments(module []byte) (*module, []segment, error) {
	m, err := parse(module)
	if err != nil {
		return nil, nil, err
	}
	segs, _, err := m.layout(false)
	if err != nil {
		return nil, nil, err
	}
	if len(m.memImports) > 0 {
		return nil, nil, errors.New("wasmfile: memory 0 is imported: the gaps between segments may hold data")
	}
	if err := m.checkNoSegmentRefs(); err != nil {
		return nil, nil, err
	}
	return m, segs, nil
}

// Embed returns a copy of module with one more active data segment, which writes data at addr in
// memory 0 when the module is instantiated. [addr, addr+len(data)) must lie inside memory 0's
// initial size (from the memory section or the imported memory's limits) and must not overlap any
// existing segment: the target is meant to be a zero-initialised Go array, which lives in BSS and
// so has no segment of its own. A DataCount section is updated; existing segment indices do not
// change, since the new segment comes last.
func Embed(module []byte, addr uint32, data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, errors.New("wasmfile: embed: no data")
	}
	m, err := parse(module)
	if err != nil {
		return nil, err
	}
	segs, memSize, err := m.layout(true)
	if err != nil {
		return nil, err
	}
	end := uint64(addr) + uint64(len(data))
	if end > memSize {
		return nil, fmt.Errorf("wasmfile: embed: [%#x, %#x) lies outside the initial memory of %d bytes",
			addr, end, memSize)
	}
	for _, s := range segs {
		if len(s.init) > 0 && uint64(s.addr) < end && uint64(addr) < s.end() {
			return nil, fmt.Errorf("wasmfile: embed: [%#x, %#x) overlaps data segment %d [%#x, %#x)",
				addr, end, s.index, s.addr, s.end())
		}
	}
	body := make([]byte, 0, len(m.segRaw)+16+len(data))
	body = append(body, m.segRaw...)
	body = appendActiveHeader(body, addr, len(data))
	return m.rewrite(len(m.segments)+1, append(body, data...))
}

// layout checks that every segment writes at a known address inside memory 0's initial size and
// that no two overlap. It returns the active segments sorted by address, and the memory size.
// Passive segments are skipped if allowPassive, refused otherwise.
func (m *module) layout(allowPassive bool) ([]segment, uint64, error) {
	mem, err := m.memory0()
	if err != nil {
		return nil, 0, err
	}
	if mem.min > math.MaxUint32/pageSize+1 {
		return nil, 0, fmt.Errorf("wasmfile: memory 0: %d pages is more than 4 GiB", mem.min)
	}
	size := mem.min * pageSize
	var segs []segment
	for _, s := range m.segments {
		var why string
		switch {
		case s.passive:
			if allowPassive {
				continue
			}
			why = "passive segments cannot be merged"
		case s.memory != 0:
			why = fmt.Sprintf("targets memory %d: only one memory is supported", s.memory)
		case !s.constOK:
			why = "offset expression is not i32.const"
		case s.end() > size:
			why = fmt.Sprintf("[%#x, %#x) lies outside the initial memory of %d bytes", s.addr, s.end(), size)
		default:
			segs = append(segs, s)
			continue
		}
		return nil, 0, fmt.Errorf("wasmfile: data section: segment %d: %s", s.index, why)
	}
	slices.SortStableFunc(segs, func(a, b segment) int { return cmp.Compare(a.addr, b.addr) })
	var prev *segment // the non-empty segment reaching furthest so far
	for i := range segs {
		s := &segs[i]
		if len(s.init) == 0 {
			continue
		}
		if prev != nil && uint64(s.addr) < prev.end() {
			return nil, 0, fmt.Errorf("wasmfile: data section: segment %d [%#x, %#x) overlaps segment %d [%#x, %#x)",
				s.index, s.addr, s.end(), prev.index, prev.addr, prev.end())
		}
		if prev == nil || s.end() > prev.end() {
			prev = s
		}
	}
	return segs, size, nil
}

// checkNoSegmentRefs makes renumbering segments safe. Code can name a segment only through
// memory.init (0xfc 8) and data.drop (0xfc 9), and only in a module with a DataCount section. This
// package does not decode code, so it looks for the bytes instead: 0xfc followed by a byte whose low
// 7 bits are 8 or 9 (which also covers over-long encodings of the sub-opcode). A match inside some
// immediate only makes MergeData refuse a module it could have handled; it never lets one through.
func (m *module) checkNoSegmentRefs() error {
	if m.dataCount == nil {
		return nil
	}
	for i := 0; i+1 < len(m.code); i++ {
		if m.code[i] == 0xfc && (m.code[i+1]&0x7f == 8 || m.code[i+1]&0x7f == 9) {
			return errors.New("wasmfile: the code may refer to data segments by index (memory.init or data.drop): merging would renumber them")
		}
	}
	return nil
}

// appendActiveHeader appends the head of an active segment for memory 0: flags 0, the offset
// expression `i32.const addr end`, and the length of the contents that must follow.
func appendActiveHeader(b []byte, addr uint32, n int) []byte {
	b = append(b, 0, 0x41)
	b = appendS32(b, int32(addr))
	b = append(b, 0x0b)
	return appendU32(b, uint32(n))
}

// rewrite returns the module with its data section replaced by count segments encoded in segs, and
// its DataCount section (if any) set to count. All other sections are copied byte for byte. A data
// section the module lacked goes after the last non-custom section, where the spec orders it.
func (m *module) rewrite(count int, segs []byte) ([]byte, error) {
	if uint64(count) > math.MaxUint32 || uint64(len(segs))+5 > math.MaxUint32 {
		return nil, errors.New("wasmfile: data section too large")
	}
	data := append(appendU32(make([]byte, 0, 5+len(segs)), uint32(count)), segs...)
	last := -1
	for i, s := range m.sections {
		if s.id != secCustom {
			last = i
		}
	}
	out := make([]byte, 0, len(m.raw)+len(data)+16)
	out = append(out, m.raw[:len(header)]...)
	if last < 0 {
		out = appendSection(out, secData, data)
	}
	for i, s := range m.sections {
		switch s.id {
		case secData: // replaced below
		case secDataCount:
			out = appendSection(out, secDataCount, appendU32(nil, uint32(count)))
		default:
			out = append(out, m.raw[s.hdr:s.end]...)
		}
		if i == last {
			out = appendSection(out, secData, data)
		}
	}
	return out, nil
}

func appendSection(b []byte, id byte, contents []byte) []byte {
	b = append(b, id)
	b = appendU32(b, uint32(len(contents)))
	return append(b, contents...)
}
