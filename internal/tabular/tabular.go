package tabular

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Kind is the type of a column.
type Kind uint8

// Column kinds.
const (
	Numeric Kind = iota
	Categorical
)

// String names the kind.
func (k Kind) String() string {
	if k == Categorical {
		return "categorical"
	}
	return "numeric"
}

// Column is one typed column of a table.
type Column struct {
	Name string
	Kind Kind
	// Num holds the values of a Numeric column, one per row; NaN marks an empty cell.
	Num []float64
	// Codes holds, for a Categorical column, the index in Levels of each row's value; -1 marks an
	// empty cell. Levels lists the distinct values in order of first appearance.
	Codes  []int32
	Levels []string
	// Missing counts the empty cells.
	Missing int
}

// Value returns row i's cell as text: the level of a Categorical column, the number of a Numeric one
// (shortest form), "" when empty.
func (c *Column) Value(i int) string {
	if c.Kind == Categorical {
		if k := c.Codes[i]; k >= 0 {
			return c.Levels[k]
		}
		return ""
	}
	if v := c.Num[i]; !math.IsNaN(v) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return ""
}

// Table is a CSV file read into typed columns.
type Table struct {
	File    string // the name used in errors
	Rows    int
	Columns []Column
	// Lines holds the line where each row starts (the header is line 1), for errors about a row.
	Lines []int32
}

// Options tune Read. The zero value detects every column's kind.
type Options struct {
	// Categorical and Numeric force the kind of the named columns. A name that is not in the header
	// is not an error here (Table.Lookup reports missing columns).
	Categorical []string
	Numeric     []string
	// MaxRows refuses files with more data rows than this; 0 means no limit.
	MaxRows int
}

// Error is an error about the input, located in the file.
type Error struct {
	File   string
	Line   int    // 1-based; 0 when the error is about the whole file
	Column int    // 1-based field number; 0 when the error is not about one field
	Name   string // the column's header name, when known
	Msg    string
}

// Error formats the location as file:line: column n (name): msg.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("tabular")
	}
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Column > 0 {
		b.WriteString("column " + strconv.Itoa(e.Column))
		if e.Name != "" {
			b.WriteString(" (" + e.Name + ")")
		}
		b.WriteString(": ")
	} else if e.Name != "" {
		b.WriteString("column " + strconv.Quote(e.Name) + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ReadFile reads the CSV file at path; errors name path.
func ReadFile(path string, opt Options) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, path, opt)
}

// Read reads a whole CSV from r; errors name file.
func Read(r io.Reader, file string, opt Options) (*Table, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return Parse(data, file, opt)
}

// Parse reads CSV bytes. It makes two passes over data, one to check the shape and find each
// column's kind and one to fill the typed columns, so that memory holds the bytes and the typed
// values but never a string per cell.
func Parse(data []byte, file string, opt Options) (*Table, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte-order mark
	t := &Table{File: file}
	fail := func(line, col int, msg string) error {
		e := &Error{File: file, Line: line, Column: col, Msg: msg}
		if col > 0 && col <= len(t.Columns) {
			e.Name = t.Columns[col-1].Name
		}
		return e
	}

	// Pass 1: header, widths, kinds.
	r := newReader(data)
	header, err := r.Read()
	if err == io.EOF {
		return nil, fail(0, 0, "empty file: no header row")
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	seen := make(map[string]int, len(header))
	t.Columns = make([]Column, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		line, _ := r.FieldPos(i)
		switch {
		case h == "":
			return nil, fail(line, i+1, "empty column name in the header")
		case seen[h] > 0:
			return nil, fail(line, i+1, "column name "+strconv.Quote(h)+" repeats column "+strconv.Itoa(seen[h]))
		}
		seen[h] = i + 1
		t.Columns[i].Name = h
	}
	forced := make([]int8, len(header)) // 1 numeric, 2 categorical
	for _, n := range opt.Numeric {
		if i := seen[n]; i > 0 {
			forced[i-1] = 1
		}
	}
	for _, n := range opt.Categorical {
		if i := seen[n]; i > 0 {
			forced[i-1] = 2
		}
	}
	text := make([]bool, len(header)) // a non-numeric cell was seen
	err = records(r, file, func(rec []string) error {
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return fail(line, min(len(rec), len(header))+1,
				strconv.Itoa(len(rec))+" fields, the header has "+strconv.Itoa(len(header)))
		}
		t.Rows++
		t.Lines = append(t.Lines, int32(line))
		if opt.MaxRows > 0 && t.Rows > opt.MaxRows {
			return fail(line, 0, "more than "+strconv.Itoa(opt.MaxRows)+" rows")
		}
		for j, s := range rec {
			if text[j] || forced[j] == 2 {
				continue
			}
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if _, ok := number(s); !ok {
				if forced[j] == 1 {
					l, _ := r.FieldPos(j)
					return fail(l, j+1, "not a number: "+strconv.Quote(clip(s)))
				}
				text[j] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for j := range t.Columns {
		c := &t.Columns[j]
		if text[j] || forced[j] == 2 {
			c.Kind = Categorical
			c.Codes = make([]int32, 0, t.Rows)
		} else {
			c.Num = make([]float64, 0, t.Rows)
		}
	}

	// Pass 2: values.
	r = newReader(data)
	if _, err := r.Read(); err != nil {
		return nil, csvError(file, err)
	}
	levels := make([]map[string]int32, len(header))
	err = records(r, file, func(rec []string) error {
		for j, s := range rec {
			c := &t.Columns[j]
			s = strings.TrimSpace(s)
			if c.Kind == Numeric {
				v, ok := number(s)
				if !ok {
					v = math.NaN()
					c.Missing++
				}
				c.Num = append(c.Num, v)
				continue
			}
			if s == "" {
				c.Codes = append(c.Codes, -1)
				c.Missing++
				continue
			}
			if levels[j] == nil {
				levels[j] = make(map[string]int32)
			}
			k, ok := levels[j][s]
			if !ok {
				k = int32(len(c.Levels))
				levels[j][s] = k
				c.Levels = append(c.Levels, s)
			}
			c.Codes = append(c.Codes, k)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// records calls fn with each record r reads until the end, or until fn or the reader fails.
func records(r *csv.Reader, file string, fn func(rec []string) error) error {
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return csvError(file, err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

func newReader(data []byte) *csv.Reader {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // widths are checked here, to name the line and the column
	r.ReuseRecord = true
	return r
}

// number parses a finite number; "" and text are not numbers.
func number(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// csvError locates a CSV syntax error (a bare quote, an unterminated quoted field).
func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Line: pe.Line, Msg: pe.Err.Error() + " at byte " + strconv.Itoa(pe.Column) + " of the line"}
	}
	return &Error{File: file, Msg: err.Error()}
}

// clip shortens text echoed in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Index returns the position of the named column, or -1.
func (t *Table) Index(name string) int {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return i
		}
	}
	return -1
}

// Lookup returns the positions of the named columns, or an *Error naming the first missing one.
func (t *Table) Lookup(names ...string) ([]int, error) {
	idx := make([]int, len(names))
	for k, n := range names {
		if idx[k] = t.Index(n); idx[k] < 0 {
			return nil, &Error{File: t.File, Line: 1, Name: n, Msg: "no such column in the header"}
		}
	}
	return idx, nil
}

// ColumnError returns an *Error about column j of the table as a whole (line 0), or about row i's
// cell when i ≥ 0 (rows are 0-based).
func (t *Table) ColumnError(j, i int, msg string) *Error {
	e := &Error{File: t.File, Column: j + 1, Msg: msg}
	if j >= 0 && j < len(t.Columns) {
		e.Name = t.Columns[j].Name
	}
	if i >= 0 && i < len(t.Lines) {
		e.Line = int(t.Lines[i])
	}
	return e
}
