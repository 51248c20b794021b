package wasmfile

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Go's runtime finds the function of a PC through findfunctab: one findfuncbucket {idx uint32;
// subbuckets [16]byte} per 4096 bytes of text. In WebAssembly a PC is funcIndex<<16 | block, so each
// function spans 16 buckets whose subbuckets are all zero, and idx steps by one every 16 buckets: for
// the Presage module, 35,200 buckets and 704 KB of data, nearly a quarter of the raw module, that
// every host must take in (decoded), hash, validate and copy at each instantiation, though brotli
// squeezes it to almost nothing on the wire.
const (
	recordSize = 20 // sizeof(findfuncbucket)
	// minRecords is the shortest run of records worth regenerating (80 KB).
	minRecords = 4096
	// maxPieceShare bounds the pieces of a run: at most one per 64 records, else it stays as data.
	maxPieceShare = 64
)

// ElideStats describes what ElideStrided did.
type ElideStats struct {
	Regions, Pieces int // runs of records regenerated, and the arithmetic pieces they took
	BytesElided     int // data bytes no longer in the module
	Segments        int // data segments left
}

// piece is a stretch of n records at addr whose first four bytes hold the little-endian uint32
// v0 + (j+phase)/per for record j, and whose other sixteen bytes are zero.
type piece struct{ addr, v0, per, phase, n uint32 }

// ElideStrided removes from the data section every long run of 20-byte records whose last 16
// bytes are zero and whose first four count up in steps (Go's findfunctab), and adds a start
// function that writes the same bytes at instantiation, before any export can run. The result
// leaves memory exactly as the input does once instantiated; its data section no longer carries
// the runs. Run it after MergeData, whose few large segments it splits around each run.
//
// The new start function and its helper take the next two function indices, so no existing index
// moves; their two types are appended to the type section. ElideStrided refuses what it cannot
// prove safe, as MergeData does, and a module that already has a start function. A module with no
// such run is returned unchanged, with zero stats.
func ElideStrided(module []byte) ([]byte, ElideStats, error) {
	m, segs, err := parseSegments(module)
	if err != nil {
		return nil, ElideStats{}, err
	}
	var st ElideStats
	var pieces []piece
	var body []byte
	count := 0
	for _, s := range segs {
		if len(s.init) == 0 {
			continue
		}
		from := 0 // start of the segment's bytes not yet written
		for _, r := range findRuns(s.addr, s.init) {
			ps := splitPieces(s.addr+uint32(r.off), s.init[r.off:r.off+r.n*recordSize])
			if len(ps) > r.n/maxPieceShare+1 {
				continue
			}
			if r.off > from {
				body = appendActiveHeader(body, s.addr+uint32(from), r.off-from)
				body = append(body, s.init[from:r.off]...)
				count++
			}
			from = r.off + r.n*recordSize
			pieces = append(pieces, ps...)
			st.Regions++
			st.Pieces += len(ps)
			st.BytesElided += r.n * recordSize
		}
		if from < len(s.init) {
			body = appendActiveHeader(body, s.addr+uint32(from), len(s.init)-from)
			body = append(body, s.init[from:]...)
			count++
		}
	}
	if st.Regions == 0 {
		return slices.Clone(module), ElideStats{}, nil
	}
	if m.hasSection(secStart) {
		return nil, ElideStats{}, errors.New("wasmfile: the module already has a start function")
	}
	for _, id := range []byte{secType, secFunction, secCode} {
		if !m.hasSection(id) {
			return nil, ElideStats{}, fmt.Errorf("wasmfile: no %s section to add the start function to", sectionNames[id])
		}
	}
	out, err := m.addStart(pieces, count, body)
	if err != nil {
		return nil, ElideStats{}, err
	}
	st.Segments = count
	return out, st, nil
}

// run is n records starting at byte off of a segment.
type run struct{ off, n int }

// findRuns returns the runs of at least minRecords records in data (written at addr) whose last 16
// bytes are zero, the records aligned to 4 bytes in memory, in increasing order and not overlapping.
func findRuns(addr uint32, data []byte) []run {
	// zero[i]: the number of zero bytes in data[:i], to test a record's tail in O(1).
	zero := make([]int, len(data)+1)
	for i, c := range data {
		zero[i+1] = zero[i]
		if c == 0 {
			zero[i+1]++
		}
	}
	tailZero := func(off int) bool { return zero[off+recordSize]-zero[off+4] == recordSize-4 }
	var runs []run
	aligned := int((4 - addr%4) % 4) // the first offset at a 4-aligned address
	for phase := 0; phase < recordSize; phase += 4 {
		off := aligned + phase
		start, n := off, 0
		for ; off+recordSize <= len(data); off += recordSize {
			if tailZero(off) {
				n++
				continue
			}
			if n >= minRecords {
				runs = append(runs, run{start, n})
			}
			start, n = off+recordSize, 0
		}
		if n >= minRecords {
			runs = append(runs, run{start, n})
		}
	}
	// Runs of different phases can overlap (a long stretch of zeros matches all five): keep the
	// longest, then the next longest that overlaps none kept, and so on.
	var kept []run
	for len(runs) > 0 {
		best := 0
		for i, r := range runs {
			if r.n > runs[best].n || (r.n == runs[best].n && r.off < runs[best].off) {
				best = i
			}
		}
		b := runs[best]
		kept = append(kept, b)
		out := runs[:0]
		for _, r := range runs {
			if r.off+r.n*recordSize <= b.off || b.off+b.n*recordSize <= r.off {
				out = append(out, r)
			}
		}
		runs = out
	}
	slices.SortFunc(kept, func(a, b run) int { return a.off - b.off })
	return kept
}

// splitPieces describes records (at addr) as arithmetic pieces: each takes the longest stretch
// whose values are v0 + (j+phase)/per, per being the length of its second run of equal values and
// phase what its first run lacks of a whole one.
func splitPieces(addr uint32, records []byte) []piece {
	n := len(records) / recordSize
	val := func(k int) uint32 {
		b := records[k*recordSize:]
		return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	}
	runLen := func(k int) int {
		j := k + 1
		for j < n && val(j) == val(k) {
			j++
		}
		return j - k
	}
	var ps []piece
	for k := 0; k < n; {
		v0, first := val(k), runLen(k)
		per := first
		if k+first < n && val(k+first) == v0+1 {
			per = max(first, runLen(k+first))
		}
		p := piece{addr: addr + uint32(k*recordSize), v0: v0, per: uint32(per), phase: uint32(per - first)}
		j := 0
		for k+j < n && uint64(v0)+uint64((j+per-first)/per) <= math.MaxUint32 &&
			val(k+j) == v0+uint32((j+per-first)/per) {
			j++
		}
		p.n = uint32(j)
		ps = append(ps, p)
		k += j
	}
	return ps
}

func (m *module) hasSection(id byte) bool {
	for _, s := range m.sections {
		if s.id == id {
			return true
		}
	}
	return false
}

// Opcodes of the two functions addStart writes.
const (
	opLoop     = 0x03
	opEnd      = 0x0b
	opBrIf     = 0x0d
	opCall     = 0x10
	opLocalGet = 0x20
	opLocalSet = 0x21
	opLocalTee = 0x22
	opI32Store = 0x36
	opI32Const = 0x41
	opI32LtU   = 0x49
	opI32Add   = 0x6a
	opI32DivU  = 0x6e
	typeI32    = 0x7f
	typeFunc   = 0x60
)

// fillBody is the helper fill(addr, v0, per, phase, n), with a local j:
//
//	do { store32(addr, v0 + (j+phase)/per); addr += 20; j++ } while j < n
//
// n ≥ 1 and per ≥ 1 always hold for the pieces splitPieces makes.
var fillBody = []byte{
	1, 1, typeI32, // one local: j
	opLoop, 0x40,
	opLocalGet, 0, opLocalGet, 1, opLocalGet, 5, opLocalGet, 3, opI32Add, opLocalGet, 2, opI32DivU, opI32Add,
	opI32Store, 2, 0, // align 4, offset 0
	opLocalGet, 0, opI32Const, recordSize, opI32Add, opLocalSet, 0,
	opLocalGet, 5, opI32Const, 1, opI32Add, opLocalTee, 5, opLocalGet, 4, opI32LtU, opBrIf, 0,
	opEnd,
	opEnd,
}

// addStart returns the module with its data section replaced by count segments in segs, and a
// start function (index f+1) that calls fill (index f) for each piece.
func (m *module) addStart(pieces []piece, count int, segs []byte) ([]byte, error) {
	nImported := 0
	for _, imp := range m.imports {
		if imp.Kind == FuncKind {
			nImported++
		}
	}
	var nTypes, nFuncs uint32
	for _, s := range m.sections {
		d := &decoder{buf: m.raw[s.start:s.end], base: s.start}
		switch s.id {
		case secType:
			nTypes = d.u32()
		case secFunction:
			nFuncs = d.u32()
		}
		if d.err != nil {
			return nil, fmt.Errorf("wasmfile: %s section: %w", sectionNames[s.id], d.err)
		}
	}
	if nFuncs != (&decoder{buf: m.code}).u32() {
		return nil, errors.New("wasmfile: function and code sections differ in length")
	}
	fill := uint32(nImported) + nFuncs
	start := appendU32(nil, 0) // no locals
	for _, p := range pieces {
		if p.v0 == 0 && p.per >= p.n+p.phase { // zeros: memory already holds them
			continue
		}
		for _, v := range []uint32{p.addr, p.v0, p.per, p.phase, p.n} {
			start = append(start, opI32Const)
			start = appendS32(start, int32(v))
		}
		start = append(start, opCall)
		start = appendU32(start, fill)
	}
	start = append(start, opEnd)

	data := append(appendU32(nil, uint32(count)), segs...)
	out := make([]byte, 0, len(m.raw))
	out = append(out, m.raw[:len(header)]...)
	startDone := false
	for _, s := range m.sections {
		if !startDone && s.id != secCustom && sectionRank[s.id] > sectionRank[secStart] {
			out = appendSection(out, secStart, appendU32(nil, fill+1))
			startDone = true
		}
		d := &decoder{buf: m.raw[s.start:s.end], base: s.start}
		n := d.u32() // the vector length, for the sections that get entries
		rest := d.buf[d.pos:]
		switch s.id {
		case secType:
			b := appendU32(nil, n+2)
			b = append(b, rest...)
			b = append(b, typeFunc, 5, typeI32, typeI32, typeI32, typeI32, typeI32, 0) // fill
			b = append(b, typeFunc, 0, 0)                                              // start
			out = appendSection(out, secType, b)
		case secFunction:
			b := appendU32(nil, n+2)
			b = append(b, rest...)
			b = appendU32(b, nTypes)
			b = appendU32(b, nTypes+1)
			out = appendSection(out, secFunction, b)
		case secCode:
			b := appendU32(nil, n+2)
			b = append(b, rest...)
			b = appendU32(b, uint32(len(fillBody)))
			b = append(b, fillBody...)
			b = appendU32(b, uint32(len(start)))
			b = append(b, start...)
			out = appendSection(out, secCode, b)
		case secData:
			out = appendSection(out, secData, data)
		case secDataCount:
			out = appendSection(out, secDataCount, appendU32(nil, uint32(count)))
		default:
			out = append(out, m.raw[s.hdr:s.end]...)
		}
	}
	if !startDone {
		out = appendSection(out, secStart, appendU32(nil, fill+1))
	}
	return out, nil
}
