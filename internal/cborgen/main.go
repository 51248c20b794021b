package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

func main() {
	types := flag.String("type", "", "comma-separated struct type names (required)")
	output := flag.String("output", "", "output file (default <GOFILE without .go>_cbor.go)")
	flag.Parse()
	if err := run(".", *types, *output, os.Getenv("GOFILE")); err != nil {
		fmt.Fprintln(os.Stderr, "cborgen:", err)
		os.Exit(1)
	}
}

// run generates the methods for the listed types of the package in dir.
func run(dir, typeList, output, gofile string) error {
	if typeList == "" {
		return errors.New("-type is required")
	}
	if output == "" {
		if gofile == "" {
			return errors.New("-output is required when GOFILE is not set (run through go generate)")
		}
		output = strings.TrimSuffix(gofile, ".go") + "_cbor.go"
	}
	if !filepath.IsAbs(output) {
		output = filepath.Join(dir, output)
	}
	pkg, err := load(dir, output)
	if err != nil {
		return err
	}
	mod, err := minicborImport(dir)
	if err != nil {
		return err
	}
	src, err := generate(pkg, strings.Split(typeList, ","), mod, filepath.Base(gofile))
	if err != nil {
		return err
	}
	return os.WriteFile(output, src, 0o644)
}

// pkgInfo is what the generator knows of the package: its name and its type declarations.
type pkgInfo struct {
	name  string
	types map[string]*ast.TypeSpec
}

// load parses the package's non-test Go files, skipping generated ones and the output file.
func load(dir, output string) (*pkgInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	pkg := &pkgInfo{types: map[string]*ast.TypeSpec{}}
	outAbs, _ := filepath.Abs(output)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		path := filepath.Join(dir, name)
		if abs, _ := filepath.Abs(path); abs == outAbs {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		if ast.IsGenerated(f) {
			continue
		}
		if pkg.name == "" {
			pkg.name = f.Name.Name
		} else if pkg.name != f.Name.Name {
			return nil, fmt.Errorf("%s: package %s, want %s", name, f.Name.Name, pkg.name)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				pkg.types[ts.Name.Name] = ts
			}
		}
	}
	if pkg.name == "" {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	return pkg, nil
}

// minicborImport finds the module path in the nearest go.mod and returns minicbor's import path.
func minicborImport(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			for line := range strings.Lines(string(data)) {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					return strings.Trim(strings.TrimSpace(rest), `"`) + "/internal/minicbor", nil
				}
			}
			return "", fmt.Errorf("%s/go.mod has no module line", d)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.mod found")
		}
		d = parent
	}
}

// Kinds of field types.
type kind int

const (
	kBasic       kind = iota // bool, integers, floats, string, and named types of those
	kBytes                   // []byte or []uint8: a byte string
	kUint8s                  // a slice of a named uint8 type: a byte string
	kBasicSlice              // a slice of basic values: an array
	kStruct                  // a listed struct by value
	kPtr                     // a pointer to a listed struct
	kStructSlice             // a slice of listed structs
)

// fieldType describes how one field is encoded.
type fieldType struct {
	kind  kind
	basic string // the builtin type at the bottom of a basic type or element: "uint16", "string"…
	elem  string // the element (or pointee, or struct) type as written in the source
	typ   string // the field's type as written
}

// field is one encoded struct field.
type field struct {
	name      string
	key       int
	omitEmpty bool
	t         fieldType
}

// gen holds the generator's state.
type gen struct {
	pkg     *pkgInfo
	listed  map[string]bool
	structs map[string][]field
	buf     bytes.Buffer
	math    bool // the output uses package math
}

// generate returns the formatted source for the listed types.
func generate(pkg *pkgInfo, names []string, minicborPath, from string) ([]byte, error) {
	g := &gen{pkg: pkg, listed: map[string]bool{}, structs: map[string][]field{}}
	for i, n := range names {
		n = strings.TrimSpace(n)
		names[i] = n
		ts, ok := pkg.types[n]
		if !ok {
			return nil, fmt.Errorf("type %s not found in package %s", n, pkg.name)
		}
		if _, ok := ts.Type.(*ast.StructType); !ok || ts.TypeParams != nil || ts.Assign != 0 {
			return nil, fmt.Errorf("type %s is not a non-generic struct type", n)
		}
		if g.listed[n] {
			return nil, fmt.Errorf("type %s listed twice", n)
		}
		g.listed[n] = true
	}
	for _, n := range names {
		fs, err := g.fields(n)
		if err != nil {
			return nil, err
		}
		g.structs[n] = fs
	}
	var body bytes.Buffer
	for _, n := range names {
		g.buf.Reset()
		if err := g.encoder(n); err != nil {
			return nil, err
		}
		g.decoder(n)
		body.Write(g.buf.Bytes())
	}
	var out bytes.Buffer
	gen := "cborgen"
	if from != "" && from != "." {
		gen += " from " + from
	}
	fmt.Fprintf(&out, "// Code generated by %s; DO NOT EDIT.\n\npackage %s\n\nimport (\n", gen, pkg.name)
	if g.math {
		out.WriteString("\t\"math\"\n\n")
	}
	fmt.Fprintf(&out, "\t%q\n)\n", minicborPath)
	out.Write(body.Bytes())
	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("formatting the output (a generator bug): %w\n%s", err, out.Bytes())
	}
	return src, nil
}

// fields reads the encoded fields of struct n, sorted by key.
func (g *gen) fields(n string) ([]field, error) {
	st := g.pkg.types[n].Type.(*ast.StructType)
	var fs []field
	seen := map[int]string{}
	for _, f := range st.Fields.List {
		tag := ""
		if f.Tag != nil {
			s, err := strconv.Unquote(f.Tag.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: bad tag %s", n, f.Tag.Value)
			}
			tag = reflect.StructTag(s).Get("cbor")
		}
		if len(f.Names) == 0 {
			return nil, fmt.Errorf("%s: embedded field %s is not supported", n, exprString(f.Type))
		}
		for _, id := range f.Names {
			where := n + "." + id.Name
			if tag == "-" {
				continue
			}
			if !id.IsExported() {
				if tag != "" {
					return nil, fmt.Errorf("%s: unexported field has a cbor tag (fxamacker ignores it)", where)
				}
				continue
			}
			key, omit, err := parseTag(tag)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if prev, dup := seen[key]; dup {
				return nil, fmt.Errorf("%s: key %d already used by %s", where, key, prev)
			}
			seen[key] = id.Name
			t, err := g.resolve(f.Type)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			fs = append(fs, field{name: id.Name, key: key, omitEmpty: omit, t: t})
		}
	}
	slices.SortFunc(fs, func(a, b field) int { return a.key - b.key })
	return fs, nil
}

// parseTag reads `N,keyasint[,omitempty]`.
func parseTag(tag string) (key int, omitEmpty bool, err error) {
	if tag == "" {
		return 0, false, errors.New(`exported field needs a cbor:"N,keyasint" tag (or cbor:"-")`)
	}
	parts := strings.Split(tag, ",")
	key, err = strconv.Atoi(parts[0])
	if err != nil || key < 0 || key > 63 {
		return 0, false, fmt.Errorf("cbor tag %q: key must be an integer in 0..63", tag)
	}
	asInt := false
	for _, opt := range parts[1:] {
		switch opt {
		case "keyasint":
			asInt = true
		case "omitempty":
			omitEmpty = true
		default:
			return 0, false, fmt.Errorf("cbor tag %q: option %q is not supported", tag, opt)
		}
	}
	if !asInt {
		return 0, false, fmt.Errorf("cbor tag %q: keyasint is required", tag)
	}
	return key, omitEmpty, nil
}

// builtins are the basic types the generator supports, with their aliases.
var builtins = map[string]string{
	"bool": "bool", "string": "string", "float32": "float32", "float64": "float64",
	"int8": "int8", "int16": "int16", "int32": "int32", "int64": "int64", "int": "int", "rune": "int32",
	"uint8": "uint8", "uint16": "uint16", "uint32": "uint32", "uint64": "uint64", "uint": "uint", "byte": "uint8",
}

// basicOf follows named types down to a supported builtin; "" if there is none.
func (g *gen) basicOf(e ast.Expr) string {
	for range 100 { // bounded: type cycles are compile errors anyway
		id, ok := e.(*ast.Ident)
		if !ok {
			return ""
		}
		ts, local := g.pkg.types[id.Name]
		if !local {
			return builtins[id.Name]
		}
		e = ts.Type
	}
	return ""
}

// resolve classifies a field type.
func (g *gen) resolve(e ast.Expr) (fieldType, error) {
	t := fieldType{typ: exprString(e)}
	bad := func(why string) (fieldType, error) {
		return fieldType{}, fmt.Errorf("unsupported field type %s: %s", t.typ, why)
	}
	if b := g.basicOf(e); b != "" {
		t.kind, t.basic = kBasic, b
		return t, nil
	}
	// Follow named (non-struct) types to their definition: a named slice type is a slice.
	under := e
	for range 100 {
		id, ok := under.(*ast.Ident)
		if !ok || g.listed[id.Name] {
			break
		}
		ts, local := g.pkg.types[id.Name]
		if !local {
			break
		}
		under = ts.Type
	}
	switch x := under.(type) {
	case *ast.Ident:
		if g.listed[x.Name] {
			t.kind, t.elem = kStruct, x.Name
			return t, nil
		}
		return bad("not a supported basic type")
	case *ast.StarExpr:
		id, ok := x.X.(*ast.Ident)
		if !ok || !g.listed[id.Name] {
			return bad("only pointers to structs listed in -type are supported")
		}
		t.kind, t.elem = kPtr, id.Name
		return t, nil
	case *ast.ArrayType:
		if x.Len != nil {
			return bad("arrays are not supported; use a slice")
		}
		t.elem = exprString(x.Elt)
		if id, ok := x.Elt.(*ast.Ident); ok && g.listed[id.Name] {
			t.kind = kStructSlice
			return t, nil
		}
		b := g.basicOf(x.Elt)
		switch {
		case b == "":
			return bad("slice elements must be basic types or structs listed in -type")
		case b == "uint8" && (t.elem == "byte" || t.elem == "uint8"):
			t.kind = kBytes
		case b == "uint8":
			t.kind = kUint8s
		default:
			t.kind = kBasicSlice
		}
		t.basic = b
		return t, nil
	case *ast.StructType:
		if _, named := e.(*ast.Ident); named {
			return bad("struct types must be listed in -type")
		}
		return bad("anonymous struct types are not supported")
	}
	return bad("not supported by cborgen")
}

// exprString prints a type expression as written.
func exprString(e ast.Expr) string {
	var b bytes.Buffer
	_ = format.Node(&b, token.NewFileSet(), e)
	return b.String()
}

func (g *gen) p(format string, args ...any) {
	fmt.Fprintf(&g.buf, format, args...)
	g.buf.WriteByte('\n')
}

// nonEmpty returns the Go condition under which fxamacker writes an omitempty field (its
// OmitEmptyCBORValue rules): a nonzero number (-0 counts as zero), true, a non-empty string or
// slice, a non-nil pointer, a struct with a non-omitempty field or a non-empty field. "true" means
// always, "false" never.
func (g *gen) nonEmpty(f field, x string) string {
	v := x + "." + f.name
	switch f.t.kind {
	case kBasic:
		switch f.t.basic {
		case "bool":
			return v
		case "string":
			return v + ` != ""`
		}
		return v + " != 0"
	case kPtr:
		return v + " != nil"
	case kStruct:
		var conds []string
		for _, sf := range g.structs[f.t.elem] {
			if !sf.omitEmpty {
				return "true"
			}
			if c := g.nonEmpty(sf, v); c != "false" {
				if c == "true" {
					return "true"
				}
				conds = append(conds, c)
			}
		}
		if len(conds) == 0 {
			return "false"
		}
		return "(" + strings.Join(conds, " || ") + ")"
	}
	return "len(" + v + ") != 0"
}

// encodeValue returns the statement writing field f of x.
func (g *gen) encodeValue(f field) string {
	v := "x." + f.name
	t := f.t
	conv := func(to string) string {
		if t.typ == to {
			return v
		}
		return to + "(" + v + ")"
	}
	switch t.kind {
	case kBasic:
		switch b := t.basic; {
		case b == "bool":
			return "e.Bool(" + conv("bool") + ")"
		case b == "string":
			return "e.Text(" + conv("string") + ")"
		case b == "float32":
			return "e.Float32(" + conv("float32") + ")"
		case b == "float64":
			return "e.Float64(" + conv("float64") + ")"
		case strings.HasPrefix(b, "uint"):
			return "e.Uint(" + conv("uint64") + ")"
		default:
			return "e.Int(" + conv("int64") + ")"
		}
	case kBytes:
		return "minicbor.EncodeBytes(e, " + v + ")"
	case kUint8s:
		return "minicbor.EncodeUint8s(e, " + v + ")"
	case kBasicSlice:
		return "minicbor.Encode" + sliceHelper(t.basic) + "(e, " + v + ")"
	case kStructSlice:
		return "minicbor.EncodeSlice(e, " + v + ")"
	default: // kStruct, kPtr: EncodeCBOR writes null for a nil pointer
		return v + ".EncodeCBOR(e)"
	}
}

// sliceHelper names the minicbor helper family for slices of a basic type.
func sliceHelper(b string) string {
	switch {
	case b == "bool":
		return "Bools"
	case b == "string":
		return "Texts"
	case b == "float32":
		return "Float32s"
	case b == "float64":
		return "Float64s"
	case strings.HasPrefix(b, "uint"):
		return "Uints"
	default:
		return "Ints"
	}
}

// bounds returns the range arguments for decoding integer type b.
func (g *gen) bounds(b string) string {
	g.math = true
	switch b {
	case "uint8", "uint16", "uint32", "uint64", "uint":
		return "math.Max" + strings.ToUpper(b[:1]) + b[1:]
	}
	n := "Int" + b[3:]
	return "math.Min" + n + ", math.Max" + n
}

// decodeValue returns the statement reading field f of x.
func (g *gen) decodeValue(f field) string {
	v := "x." + f.name
	t := f.t
	conv := func(from, call string) string {
		if t.typ == from {
			return v + " = " + call
		}
		return v + " = " + t.typ + "(" + call + ")"
	}
	switch t.kind {
	case kBasic:
		switch b := t.basic; {
		case b == "bool":
			return conv("bool", "d.Bool()")
		case b == "string":
			return conv("string", "d.Text()")
		case b == "float32":
			return conv("float32", "d.Float32()")
		case b == "float64":
			return conv("float64", "d.Float64()")
		case strings.HasPrefix(b, "uint"):
			return conv("uint64", "d.Uint("+g.bounds(b)+")")
		default:
			return conv("int64", "d.Int("+g.bounds(b)+")")
		}
	case kBytes:
		return v + " = minicbor.DecodeBytes(d)"
	case kUint8s:
		return v + " = minicbor.DecodeUint8s[" + t.elem + "](d)"
	case kBasicSlice:
		h := sliceHelper(t.basic)
		args := "d"
		if h == "Uints" || h == "Ints" {
			args += ", " + g.bounds(t.basic)
		}
		return v + " = minicbor.Decode" + h + "[" + t.elem + "](" + args + ")"
	case kStructSlice:
		return v + " = minicbor.DecodeSlice[" + t.elem + "](d)"
	case kPtr:
		return v + " = minicbor.DecodePtr[" + t.elem + "](d)"
	default: // kStruct
		return v + ".DecodeCBOR(d)"
	}
}

// encoder writes EncodeCBOR for struct n: an int-keyed map, keys ascending, empty omitempty
// fields left out. The map head is patched at the end so that each emptiness test runs once.
func (g *gen) encoder(n string) error {
	fs := g.structs[n]
	g.p("\n// EncodeCBOR implements minicbor.Marshaler: it writes x as a map keyed by field number.")
	g.p("func (x *%s) EncodeCBOR(e *minicbor.Encoder) {", n)
	g.p("if x == nil {\ne.Null()\nreturn\n}")
	always := 0
	type enc struct {
		cond string
		f    field
	}
	var encs []enc
	for _, f := range fs {
		c := "true"
		if f.omitEmpty {
			c = g.nonEmpty(f, "x")
		}
		if c == "false" {
			continue // a struct with nothing to write: fxamacker always omits it
		}
		if c == "true" {
			always++
		}
		encs = append(encs, enc{c, f})
	}
	if len(encs) == 0 {
		g.p("e.MapHeader(0)\n}")
		return nil
	}
	if always == len(encs) {
		g.p("e.MapHeader(%d)", always)
	} else {
		g.p("m, n := e.MapStart(), %d", always)
	}
	for _, x := range encs {
		if x.cond == "true" {
			g.p("e.Uint(%d)\n%s", x.f.key, g.encodeValue(x.f))
			continue
		}
		g.p("if %s {\ne.Uint(%d)\n%s\nn++\n}", x.cond, x.f.key, g.encodeValue(x.f))
	}
	if always != len(encs) {
		g.p("e.MapEnd(m, n)")
	}
	g.p("}")
	return nil
}

// decoder writes DecodeCBOR for struct n: unknown keys skipped, duplicates refused by the KeySet.
func (g *gen) decoder(n string) {
	fs := g.structs[n]
	g.p("\n// DecodeCBOR implements minicbor.Unmarshaler: it resets x, then reads a map keyed by field number.")
	g.p("func (x *%s) DecodeCBOR(d *minicbor.Decoder) {", n)
	g.p("*x = %s{}", n)
	g.p("var seen minicbor.KeySet")
	g.p("for n := d.MapHeader(); n > 0; n-- {")
	g.p("switch d.Key(&seen) {")
	for _, f := range fs {
		g.p("case %d:\n%s", f.key, g.decodeValue(f))
	}
	g.p("default:\nd.Skip()\n}\n}\n}")
}
