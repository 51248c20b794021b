package csvin

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Format is how fields are separated.
type Format int

const (
	// Auto picks Comma when the first line holds a comma, and Whitespace otherwise.
	Auto Format = iota
	// Comma is RFC 4180 CSV (quotes, embedded commas and newlines).
	Comma
	// Whitespace splits on runs of spaces and tabs, as in CDNOW_master.txt; no quoting.
	Whitespace
)

// ParseFormat maps a flag value (auto, csv, ws or whitespace) to a Format.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return Auto, nil
	case "csv", "comma":
		return Comma, nil
	case "ws", "whitespace", "space":
		return Whitespace, nil
	}
	return Auto, fmt.Errorf("csvin: unknown format %q (want auto, csv or ws)", s)
}

// Error is bad input at a place in a file. Line counts from 1 (the header is line 1 when there is
// one); Column counts fields from 1, and is 0 when the error is about the whole row or file.
type Error struct {
	File   string
	Line   int
	Column int
	Name   string // the column's name, when known
	Msg    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Name != "" {
		fmt.Fprintf(&b, " (column %q)", e.Name)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Options tune Open.
type Options struct {
	Format Format
	// Columns names the columns of a file without a header row (CDNOW_sample.txt); nil means the
	// first row is the header.
	Columns []string
	// Progress, if set, is called with bytes of the file read so far and the file's size, at most
	// about every 256 KiB and once at the end.
	Progress func(done, total int)
}

// Reader reads one table row by row.
type Reader struct {
	File   string   // the path, as given: it prefixes every error
	Header []string // column names

	f      *os.File
	count  *countingReader
	csv    *csv.Reader
	lines  *bufio.Scanner
	format Format
	line   int // line of the row last returned
	fields []string
}

type countingReader struct {
	r        io.Reader
	n, total int64
	last     int64
	progress func(done, total int)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && (c.n-c.last >= 256<<10 || err == io.EOF) {
		c.last = c.n
		c.progress(int(c.n), int(c.total))
	}
	return n, err
}

// Open opens path (gunzipping it when its name ends in .gz), decides the format and reads the
// header. An empty file, a file with a duplicated or empty column name, or a header whose width
// differs from Columns are errors.
func Open(path string, opt Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	r := &Reader{File: path, f: f}
	r.count = &countingReader{r: f, total: st.Size(), progress: opt.Progress}
	var in io.Reader = r.count
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r.count)
		if err != nil {
			f.Close()
			return nil, &Error{File: path, Msg: "not a gzip file: " + err.Error()}
		}
		in = zr
	}
	br := bufio.NewReaderSize(in, 64<<10)
	r.format = opt.Format
	if r.format == Auto {
		first, _ := br.Peek(4096)
		if i := slices.Index(first, '\n'); i >= 0 {
			first = first[:i]
		}
		r.format = Whitespace
		if slices.Contains(first, ',') {
			r.format = Comma
		}
	}
	if r.format == Comma {
		r.csv = csv.NewReader(br)
		r.csv.FieldsPerRecord = -1 // checked here, to name the column
		r.csv.ReuseRecord = true
	} else {
		r.lines = bufio.NewScanner(br)
		r.lines.Buffer(make([]byte, 64<<10), 16<<20)
	}
	if opt.Columns != nil {
		r.Header = slices.Clone(opt.Columns)
	} else {
		h, err := r.next()
		if err == io.EOF {
			f.Close()
			return nil, &Error{File: path, Line: 1, Msg: "empty file: no header row"}
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		r.Header = make([]string, len(h))
		for i, s := range h {
			r.Header[i] = strings.TrimSpace(strings.TrimPrefix(s, "\ufeff"))
		}
	}
	for i, name := range r.Header {
		if name == "" {
			f.Close()
			return nil, &Error{File: path, Line: 1, Column: i + 1, Msg: "empty column name"}
		}
		if j := slices.Index(r.Header[:i], name); j >= 0 {
			f.Close()
			return nil, &Error{File: path, Line: 1, Column: i + 1, Name: name, Msg: fmt.Sprintf("duplicate column name (also column %d)", j+1)}
		}
	}
	return r, nil
}

// next returns the next non-blank record and sets r.line.
func (r *Reader) next() ([]string, error) {
	if r.csv != nil {
		rec, err := r.csv.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &Error{File: r.File, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
			}
			return nil, err
		}
		r.line, _ = r.csv.FieldPos(0)
		return rec, nil
	}
	for r.lines.Scan() {
		r.line++
		r.fields = append(r.fields[:0], strings.Fields(r.lines.Text())...)
		if len(r.fields) > 0 {
			return r.fields, nil
		}
	}
	if err := r.lines.Err(); err != nil {
		return nil, &Error{File: r.File, Line: r.line + 1, Msg: err.Error()}
	}
	return nil, io.EOF
}

// Next returns the next row, or io.EOF after the last. The slice is reused by the next call. A row
// whose number of fields differs from the header's is an error naming the first missing or extra
// column.
func (r *Reader) Next() ([]string, error) {
	rec, err := r.next()
	if err != nil {
		return nil, err
	}
	if len(rec) != len(r.Header) {
		col := min(len(rec), len(r.Header)) + 1
		name := ""
		if col <= len(r.Header) {
			name = r.Header[col-1]
		}
		return nil, &Error{File: r.File, Line: r.line, Column: col, Name: name,
			Msg: fmt.Sprintf("ragged row: %d fields, the header has %d", len(rec), len(r.Header))}
	}
	return rec, nil
}

// Each calls fn with every remaining row, in order, until the end of the file or the first error
// (Next's or fn's). The slice is reused between calls.
func (r *Reader) Each(fn func(rec []string) error) error {
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// Line returns the line of the row last returned by Next.
func (r *Reader) Line() int { return r.line }

// Col returns the index of the named column, or an error listing the columns there are.
func (r *Reader) Col(name string) (int, error) {
	if i := slices.Index(r.Header, name); i >= 0 {
		return i, nil
	}
	return 0, &Error{File: r.File, Line: 1, Name: name,
		Msg: "no such column (columns: " + strings.Join(r.Header, ", ") + ")"}
}

// Errorf returns an error about column col (an index into Header) of the row last returned.
func (r *Reader) Errorf(col int, format string, args ...any) error {
	return &Error{File: r.File, Line: r.line, Column: col + 1, Name: r.Header[col], Msg: fmt.Sprintf(format, args...)}
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Float parses column col of rec as a finite number (surrounding spaces allowed), or returns an
// error naming the place.
func (r *Reader) Float(rec []string, col int) (float64, error) {
	s := strings.TrimSpace(rec[col])
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, r.Errorf(col, "%q is not a number", rec[col])
	}
	return v, nil
}
