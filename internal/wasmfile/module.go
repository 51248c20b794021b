package wasmfile

import (
	"bytes"
	"fmt"
)

// Section ids (WebAssembly core spec 3.0, §5.5.2).
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13 // exception handling
)

var sectionNames = [...]string{"custom", "type", "import", "function", "table", "memory", "global",
	"export", "start", "element", "code", "data", "data count", "tag"}

// sectionRank gives the order in which non-custom sections must appear; each at most once.
var sectionRank = [...]int{
	secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5, secTag: 6, secGlobal: 7,
	secExport: 8, secStart: 9, secElement: 10, secDataCount: 11, secCode: 12, secData: 13,
}

var header = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

// ExternKind is the kind of an import or export.
type ExternKind byte

// The extern kinds of the binary format.
const (
	FuncKind ExternKind = iota
	TableKind
	MemoryKind
	GlobalKind
	TagKind
)

func (k ExternKind) String() string {
	switch k {
	case FuncKind:
		return "func"
	case TableKind:
		return "table"
	case MemoryKind:
		return "memory"
	case GlobalKind:
		return "global"
	case TagKind:
		return "tag"
	}
	return fmt.Sprintf("ExternKind(%d)", byte(k))
}

// Import is one entry of the import section.
type Import struct {
	Module, Name string
	Kind         ExternKind
}

type export struct {
	name  string
	kind  ExternKind
	index uint32
}

// limits are the limits of a memory or table; max is absent when hasMax is false.
type limits struct {
	min, max     uint64
	hasMax       bool
	shared, is64 bool
}

// section locates one section in the module: raw[hdr:start] is the id and size, raw[start:end] the
// contents.
type section struct {
	id              byte
	hdr, start, end int
}

// segment is one data segment as decoded. For active segments with an i32.const offset, constOK is
// true and addr holds the offset as an unsigned address.
type segment struct {
	index   int // position in the data section
	passive bool
	memory  uint32
	constOK bool
	addr    uint32
	init    []byte // aliases the module
}

func (s *segment) end() uint64 { return uint64(s.addr) + uint64(len(s.init)) }

// module is a parsed module: the section table plus the sections this package reads.
type module struct {
	raw        []byte
	sections   []section
	imports    []Import
	memImports []limits // limits of imported memories, in import order
	memories   []limits // memory section
	exports    []export
	dataCount  *uint32 // nil when there is no DataCount section
	segments   []segment
	segRaw     []byte // the data section's contents after the segment count
	code       []byte // contents of the code section, for the memory.init/data.drop scan
}

// parse checks the module's structure and decodes the sections this package needs.
func parse(raw []byte) (*module, error) {
	if len(raw) < len(header) || !bytes.Equal(raw[:4], header[:4]) {
		return nil, fmt.Errorf("wasmfile: not a WebAssembly module (bad magic)")
	}
	if !bytes.Equal(raw[4:8], header[4:]) {
		return nil, fmt.Errorf("wasmfile: unsupported binary format version %x", raw[4:8])
	}
	m := &module{raw: raw}
	d := &decoder{buf: raw, pos: len(header)}
	lastRank := 0
	for !d.done() {
		hdr := d.pos
		id := d.byte()
		size := d.u32()
		if d.err != nil {
			return nil, fmt.Errorf("wasmfile: section header: %w", d.err)
		}
		if int(id) >= len(sectionNames) {
			return nil, fmt.Errorf("wasmfile: unknown section id %d at offset %#x", id, hdr)
		}
		if uint64(size) > uint64(len(raw)-d.pos) {
			return nil, fmt.Errorf("wasmfile: %s section at offset %#x: size %d runs past the end of the module",
				sectionNames[id], hdr, size)
		}
		s := section{id: id, hdr: hdr, start: d.pos, end: d.pos + int(size)}
		d.pos = s.end
		if id != secCustom {
			r := sectionRank[id]
			if r <= lastRank {
				return nil, fmt.Errorf("wasmfile: %s section at offset %#x: duplicate or out of order",
					sectionNames[id], hdr)
			}
			lastRank = r
		}
		m.sections = append(m.sections, s)
		if err := m.decodeSection(s); err != nil {
			return nil, fmt.Errorf("wasmfile: %s section: %w", sectionNames[id], err)
		}
	}
	n := uint32(len(m.segments))
	if m.dataCount != nil && *m.dataCount != n {
		return nil, fmt.Errorf("wasmfile: data count section says %d segments, data section has %d",
			*m.dataCount, n)
	}
	return m, nil
}

// decodeSection decodes the sections this package reads; it only checks the name of custom sections
// and skips the others.
func (m *module) decodeSection(s section) error {
	d := &decoder{buf: m.raw[s.start:s.end], base: s.start}
	switch s.id {
	case secCustom:
		d.name()
		return d.err
	case secImport:
		return m.decodeImports(d)
	case secMemory:
		n := d.count(2)
		for i := 0; i < n && d.err == nil; i++ {
			m.memories = append(m.memories, d.limits())
		}
	case secExport:
		n := d.count(3)
		seen := make(map[string]bool, n)
		for i := 0; i < n && d.err == nil; i++ {
			e := export{name: d.name(), kind: ExternKind(d.byte()), index: d.u32()}
			if d.err != nil {
				return fmt.Errorf("export %d: %w", i, d.err)
			}
			if e.kind > TagKind {
				return fmt.Errorf("export %d (%q): unknown kind %d", i, e.name, e.kind)
			}
			if seen[e.name] {
				return fmt.Errorf("export %d: duplicate name %q", i, e.name)
			}
			seen[e.name] = true
			m.exports = append(m.exports, e)
		}
	case secDataCount:
		n := d.u32()
		m.dataCount = &n
	case secCode:
		m.code = d.buf
		return nil
	case secData:
		return m.decodeData(d)
	default:
		return nil
	}
	if d.err == nil && !d.done() {
		d.failf("%d trailing bytes", len(d.buf)-d.pos)
	}
	return d.err
}

func (m *module) decodeImports(d *decoder) error {
	n := d.count(4)
	for i := 0; i < n && d.err == nil; i++ {
		imp := Import{Module: d.name(), Name: d.name(), Kind: ExternKind(d.byte())}
		switch imp.Kind {
		case FuncKind:
			d.u32() // type index
		case TableKind:
			d.refType()
			d.limits()
		case MemoryKind:
			m.memImports = append(m.memImports, d.limits())
		case GlobalKind:
			d.valType()
			if mut := d.byte(); mut > 1 {
				d.failf("bad global mutability %d", mut)
			}
		case TagKind:
			if attr := d.byte(); attr != 0 {
				d.failf("bad tag attribute %d", attr)
			}
			d.u32()
		default:
			d.failf("unknown import kind %d", imp.Kind)
		}
		if d.err != nil {
			return fmt.Errorf("import %d: %w", i, d.err)
		}
		m.imports = append(m.imports, imp)
	}
	if d.err == nil && !d.done() {
		d.failf("%d trailing bytes", len(d.buf)-d.pos)
	}
	return d.err
}

// decodeData decodes the data section (spec §5.5.14).
func (m *module) decodeData(d *decoder) error {
	n := d.count(2)
	m.segments = make([]segment, 0, n)
	m.segRaw = d.buf[d.pos:]
	for i := 0; i < n; i++ {
		s := segment{index: i}
		switch flags := d.u32(); flags {
		case 0:
		case 1:
			s.passive = true
		case 2:
			s.memory = d.u32()
		default:
			d.failf("unknown segment flags %d", flags)
		}
		if !s.passive {
			s.addr, s.constOK = d.constExpr()
		}
		s.init = d.bytes(d.u32())
		if d.err != nil {
			return fmt.Errorf("segment %d: %w", i, d.err)
		}
		m.segments = append(m.segments, s)
	}
	if d.err == nil && !d.done() {
		d.failf("%d trailing bytes", len(d.buf)-d.pos)
	}
	return d.err
}

// constExpr reads a constant expression (spec §3.3.10, with extended-const arithmetic). It returns
// the address and true only for the form Go emits, a lone `i32.const N`; any other valid constant
// expression (global.get, i32.add, …) returns false and is refused by the operations that need an
// address.
func (d *decoder) constExpr() (addr uint32, ok bool) {
	for n := 0; d.err == nil; n++ {
		switch op := d.byte(); op {
		case 0x0b: // end
			return addr, ok && n == 1
		case 0x41: // i32.const
			addr, ok = uint32(int32(d.sleb(32))), n == 0
		case 0x42: // i64.const
			d.sleb(64)
		case 0x43: // f32.const
			d.bytes(4)
		case 0x44: // f64.const
			d.bytes(8)
		case 0x23, 0xd2: // global.get, ref.func
			d.u32()
		case 0xd0: // ref.null
			d.refType()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // i32/i64 add, sub, mul
		default:
			d.failf("unsupported instruction %#x in constant expression", op)
		}
	}
	return 0, false
}

// limits reads table or memory limits: flags (bit 0 has max, bit 1 shared, bit 2 64-bit), min, max.
func (d *decoder) limits() limits {
	flags := d.byte()
	if flags > 7 {
		d.failf("bad limits flags %#x", flags)
		return limits{}
	}
	l := limits{hasMax: flags&1 != 0, shared: flags&2 != 0, is64: flags&4 != 0}
	read := func() uint64 {
		if l.is64 {
			return d.u64()
		}
		return uint64(d.u32())
	}
	l.min = read()
	if l.hasMax {
		l.max = read()
	}
	return l
}

func (d *decoder) valType() {
	switch t := d.byte(); t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // i32 i64 f32 f64 v128 funcref externref
	default:
		d.failf("unsupported value type %#x", t)
	}
}

func (d *decoder) refType() {
	switch t := d.byte(); t {
	case 0x70, 0x6f:
	default:
		d.failf("unsupported reference type %#x", t)
	}
}

// memory0 returns the limits of memory 0: the first imported memory, else the first defined one.
func (m *module) memory0() (limits, error) {
	var l limits
	switch {
	case len(m.memImports) > 0:
		l = m.memImports[0]
	case len(m.memories) > 0:
		l = m.memories[0]
	default:
		return l, fmt.Errorf("wasmfile: module has no memory")
	}
	if l.is64 {
		return l, fmt.Errorf("wasmfile: memory64 is not supported")
	}
	return l, nil
}

// ExportedFuncs returns the names of the module's function exports, in export order.
func ExportedFuncs(module []byte) ([]string, error) {
	m, err := parse(module)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range m.exports {
		if e.kind == FuncKind {
			names = append(names, e.name)
		}
	}
	return names, nil
}

// Imports returns the module's imports, in import order.
func Imports(module []byte) ([]Import, error) {
	m, err := parse(module)
	if err != nil {
		return nil, err
	}
	return m.imports, nil
}
