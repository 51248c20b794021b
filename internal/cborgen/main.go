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
	// allocated holds the structs that pointers and slices refer to: their tables allocate.
	allocated map[string]bool
}

// generate returns the formatted source for the listed types.
func generate(pkg *pkgInfo, names []string, minicborPath, from string) ([]byte, error) {
	g := &gen{pkg: pkg, listed: map[string]bool{}, structs: map[string][]field{}, allocated: map[string]bool{}}
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
	for _, fs := range g.structs {
		for _, f := range fs {
			if f.t.kind == kPtr || f.t.kind == kStructSlice {
				g.allocated[f.t.elem] = true
			}
		}
	}
	var late []string
	for _, n := range names {
		g.tables(n, &late)
	}
	if len(late) > 0 {
		g.p("\nfunc init() {\n%s\n}", strings.Join(late, "\n"))
	}
	var out bytes.Buffer
	gen := "cborgen"
	if from != "" && from != "." {
		gen += " from " + from
	}
	fmt.Fprintf(&out, "// Code generated by %s; DO NOT EDIT.\n\npackage %s\n\nimport (\n\t\"unsafe\"\n\n\t%q\n)\n", gen, pkg.name, minicborPath)
	out.Write(g.buf.Bytes())
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

// kindOf returns the minicbor kind of basic type b.
func kindOf(b string) string {
	switch b {
	case "bool":
		return "KindBool"
	case "string":
		return "KindString"
	case "float32":
		return "KindFloat32"
	case "float64":
		return "KindFloat64"
	case "uint":
		return "KindUint"
	case "int":
		return "KindInt"
	}
	return "Kind" + strings.ToUpper(b[:1]) + b[1:]
}

// tableName names the minicbor.Struct table of struct n.
func tableName(n string) string { return "cbor" + n }

// tables writes the table of struct n and its EncodeCBOR and DecodeCBOR methods. Encoding and
// decoding share one table (measured: separate encoding tables without New, so that a type the
// module only encodes links no allocator, made the module 0.5 KB larger after brotli).
func (g *gen) tables(n string, late *[]string) {
	t := tableName(n)
	g.table(n, t, late)
	g.p("\n// EncodeCBOR implements minicbor.Marshaler: it writes x as a map keyed by field number.")
	g.p("func (x *%s) EncodeCBOR(e *minicbor.Encoder) { e.Struct(unsafe.Pointer(x), &%s) }", n, t)
	g.p("\n// DecodeCBOR implements minicbor.Unmarshaler: it resets x, then reads a map keyed by field number.")
	g.p("func (x *%s) DecodeCBOR(d *minicbor.Decoder) {\n*x = %s{}\nd.Struct(unsafe.Pointer(x), &%s)\n}", n, n, t)
	g.p("\n// DecodeCBORReuse is DecodeCBOR keeping the memory x holds (see minicbor.Decoder.Reuse).")
	g.p("func (x *%s) DecodeCBORReuse(d *minicbor.Decoder) { d.Reuse(unsafe.Pointer(x), &%s) }", n, t)
}

// table writes the minicbor.Struct table t of struct n, with New when n is allocated (a pointer
// or slice element). Type references that close a cycle of struct types (Go forbids a variable
// whose initialiser refers to itself) are left out and listed in late, for an init function to set.
func (g *gen) table(n, t string, late *[]string) {
	g.p("\nvar %s = minicbor.Struct{Size: unsafe.Sizeof(%s{}),", t, n)
	if g.allocated[n] {
		g.p("New: func(n int) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(make([]%s, n))) },", n)
	}
	g.p("Fields: []minicbor.Field{")
	for i, f := range g.structs[n] {
		var k, extra string
		switch f.t.kind {
		case kBasic:
			k = kindOf(f.t.basic)
		case kBytes, kUint8s:
			k = "KindBytes"
		case kBasicSlice:
			k, extra = "KindSlice", ", Elem: minicbor."+kindOf(f.t.basic)
		case kStruct, kPtr, kStructSlice:
			k = map[kind]string{kStruct: "KindStruct", kPtr: "KindPtr", kStructSlice: "KindStructs"}[f.t.kind]
			if g.reaches(f.t.elem, n) {
				*late = append(*late, fmt.Sprintf("%s.Fields[%d].Type = &%s", t, i, tableName(f.t.elem)))
			} else {
				extra = ", Type: &" + tableName(f.t.elem)
			}
		}
		omit := ""
		if f.omitEmpty {
			omit = ", Omit: true"
		}
		g.p("{Off: unsafe.Offsetof(%s{}.%s), Key: %d, Kind: minicbor.%s%s%s},", n, f.name, f.key, k, extra, omit)
	}
	g.p("}}")
}

// reaches reports whether struct from refers, directly or through other structs, to struct to:
// then a reference from to's table to from's would close a cycle of initialisers.
func (g *gen) reaches(from, to string) bool {
	seen := map[string]bool{}
	var walk func(n string) bool
	walk = func(n string) bool {
		if n == to {
			return true
		}
		if seen[n] {
			return false
		}
		seen[n] = true
		for _, f := range g.structs[n] {
			if f.t.kind == kStruct || f.t.kind == kPtr || f.t.kind == kStructSlice {
				if walk(f.t.elem) {
					return true
				}
			}
		}
		return false
	}
	return walk(from)
}
