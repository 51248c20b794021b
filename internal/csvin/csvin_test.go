package csvin

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	data := []byte(content)
	if strings.HasSuffix(name, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		data = b.Bytes()
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAll(r *Reader) ([][]string, error) {
	var out [][]string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, append([]string(nil), rec...))
	}
}

func TestRead(t *testing.T) {
	tests := []struct {
		name, file, content string
		opt                 Options
		header              []string
		rows                int
		lastLine            int
	}{
		{"csv", "a.csv", "id,date,amount\n1,2024-01-01,3.5\n2,2024-01-02,4\n", Options{}, []string{"id", "date", "amount"}, 2, 3},
		{"csv-crlf-bom-quotes", "a.csv", "\ufeffid,name\r\n1,\"a, b\"\r\n2,\"multi\nline\"\r\n3,c\r\n", Options{}, []string{"id", "name"}, 3, 5},
		{"whitespace-auto", "a.txt", " customer_id  date  n  dollars\r\n 00001 19970101  1   11.77\r\n\r\n 00002 19970112  1   12.00\r\n", Options{},
			[]string{"customer_id", "date", "n", "dollars"}, 2, 4},
		{"headerless", "a.txt", "00004 0001 19970101  2   29.33\n", Options{Columns: []string{"m", "id", "date", "n", "d"}},
			[]string{"m", "id", "date", "n", "d"}, 1, 1},
		{"gzip", "a.csv.gz", "x,y\n1,2\n", Options{}, []string{"x", "y"}, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			tt.opt.Progress = func(done, total int) { calls++ }
			r, err := Open(write(t, tt.file, tt.content), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if strings.Join(r.Header, "|") != strings.Join(tt.header, "|") {
				t.Errorf("header %q, want %q", r.Header, tt.header)
			}
			rows, err := readAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tt.rows || r.Line() != tt.lastLine {
				t.Errorf("%d rows ending on line %d, want %d ending on %d: %q", len(rows), r.Line(), tt.rows, tt.lastLine, rows)
			}
			if calls == 0 {
				t.Error("no progress reported")
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name, file, content string
		col                 string // column to look up, if any
		want                string
		line, column        int
	}{
		{"ragged-short", "a.csv", "id,date,amount\n1,2024-01-01,3\n2,2024-01-02\n", "", "a.csv:3:3 (column \"amount\"): ragged row: 2 fields, the header has 3", 3, 3},
		{"ragged-long", "a.csv", "id,amount\n1,2,3\n", "", "a.csv:2:3: ragged row: 3 fields, the header has 2", 2, 3},
		{"ragged-ws", "a.txt", "a b c\n1 2 3\n4 5\n", "", "a.txt:3:3 (column \"c\"): ragged row", 3, 3},
		{"missing-column", "a.csv", "id,date\n1,2\n", "amount", "a.csv:1 (column \"amount\"): no such column (columns: id, date)", 1, 0},
		{"bad-quote", "a.csv", "id,name\n1,\"abc\n", "", "a.csv:2:", 2, 0},
		{"empty", "a.csv", "", "", "a.csv:1: empty file", 1, 0},
		{"duplicate-column", "a.csv", "id,id\n", "", "a.csv:1:2 (column \"id\"): duplicate column name (also column 1)", 1, 2},
		{"not-gzip", "a.csv.gz", "plain", "", "not a gzip file", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open(path, Options{})
			if err == nil {
				defer r.Close()
				if tt.col != "" {
					_, err = r.Col(tt.col)
				} else {
					_, err = readAll(r)
				}
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want a *csvin.Error", err, err)
			}
			msg := strings.TrimPrefix(err.Error(), filepath.Dir(path)+string(filepath.Separator))
			if !strings.Contains(msg, tt.want) || ce.Line != tt.line || (tt.column > 0 && ce.Column != tt.column) {
				t.Errorf("err = %q (line %d col %d), want %q (line %d col %d)", msg, ce.Line, ce.Column, tt.want, tt.line, tt.column)
			}
		})
	}
}

func TestEach(t *testing.T) {
	r, err := Open(write(t, "a.csv", "x\n1\n2\n3\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []string
	stop := errors.New("stop")
	err = r.Each(func(rec []string) error {
		got = append(got, rec[0])
		if rec[0] == "2" {
			return stop
		}
		return nil
	})
	if err != stop || strings.Join(got, ",") != "1,2" {
		t.Errorf("Each: %v, rows %q", err, got)
	}
	if err := r.Each(func([]string) error { return nil }); err != nil || r.Line() != 4 {
		t.Errorf("Each to the end: %v, line %d", err, r.Line())
	}
}

func TestFloat(t *testing.T) {
	r, err := Open(write(t, "a.csv", "x,y\n 1.5 ,abc\nNaN,1e400\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, _ := r.Next()
	if v, err := r.Float(rec, 0); err != nil || v != 1.5 {
		t.Errorf("Float = %v, %v", v, err)
	}
	if _, err := r.Float(rec, 1); err == nil || !strings.Contains(err.Error(), `:2:2 (column "y"): "abc" is not a number`) {
		t.Errorf("err = %v", err)
	}
	rec, _ = r.Next()
	for col := range 2 {
		if _, err := r.Float(rec, col); err == nil {
			t.Errorf("column %d: %q accepted", col, rec[col])
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Auto, "auto": Auto, "csv": Comma, "WS": Whitespace, "whitespace": Whitespace} {
		if got, err := ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("tsv"); err == nil {
		t.Error("tsv accepted")
	}
}
