package tabular

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseKinds(t *testing.T) {
	const data = "\xef\xbb\xbfa, b ,c,flag,code\n" +
		"1,x,2.5,TRUE,3\n" +
		"2, y ,,FALSE,4\n" +
		"\"3\",x,-1e3,TRUE,\n"
	tb, err := Parse([]byte(data), "t.csv", Options{Categorical: []string{"code"}})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Rows != 3 || len(tb.Columns) != 5 {
		t.Fatalf("rows %d, columns %d", tb.Rows, len(tb.Columns))
	}
	want := []struct {
		name    string
		kind    Kind
		values  []string
		missing int
	}{
		{"a", Numeric, []string{"1", "2", "3"}, 0},
		{"b", Categorical, []string{"x", "y", "x"}, 0},
		{"c", Numeric, []string{"2.5", "", "-1000"}, 1},
		{"flag", Categorical, []string{"TRUE", "FALSE", "TRUE"}, 0},
		{"code", Categorical, []string{"3", "4", ""}, 1},
	}
	for j, w := range want {
		t.Run(w.name, func(t *testing.T) {
			c := &tb.Columns[j]
			if c.Name != w.name || c.Kind != w.kind || c.Missing != w.missing {
				t.Fatalf("got %q %s missing %d, want %q %s missing %d", c.Name, c.Kind, c.Missing, w.name, w.kind, w.missing)
			}
			for i, v := range w.values {
				if got := c.Value(i); got != v {
					t.Errorf("row %d: %q, want %q", i, got, v)
				}
			}
		})
	}
	if !math.IsNaN(tb.Columns[2].Num[1]) {
		t.Error("an empty numeric cell is not NaN")
	}
	if tb.Columns[1].Levels[0] != "x" || tb.Columns[1].Codes[2] != 0 {
		t.Error("levels are not in order of first appearance")
	}
	if got := tb.Lines; len(got) != 3 || got[0] != 2 || got[2] != 4 {
		t.Errorf("lines %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name       string
		data       string
		opt        Options
		line, col  int
		colName    string
		msgContain string
	}{
		{"empty", "", Options{}, 0, 0, "", "no header"},
		{"ragged short", "a,b,c\n1,2,3\n1,2\n", Options{}, 3, 3, "c", "2 fields, the header has 3"},
		{"ragged long", "a,b\n1,2\n1,2,3\n", Options{}, 3, 3, "", "3 fields"},
		{"empty name", "a,,c\n1,2,3\n", Options{}, 1, 2, "", "empty column name"},
		{"repeated name", "a,b,a\n1,2,3\n", Options{}, 1, 3, "", "repeats column 1"},
		{"forced numeric", "a,b\n1,2\n3,x\n", Options{Numeric: []string{"b"}}, 3, 2, "b", "not a number"},
		{"bare quote", "a,b\n1,x\"y\n", Options{}, 2, 0, "", "bare \""},
		{"unterminated", "a,b\n1,\"x\n", Options{}, 2, 0, "", "extraneous or missing"},
		{"too many rows", "a\n1\n2\n3\n", Options{MaxRows: 2}, 4, 0, "", "more than 2 rows"},
		{"quoted newline", "a,b\n1,\"x\ny\"\n2\n", Options{}, 4, 2, "b", "1 fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data), "in.csv", tc.opt)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if e.File != "in.csv" || e.Line != tc.line || e.Column != tc.col || e.Name != tc.colName {
				t.Errorf("located at %q line %d column %d (%q), want line %d column %d (%q)",
					e.File, e.Line, e.Column, e.Name, tc.line, tc.col, tc.colName)
			}
			if !strings.Contains(e.Error(), tc.msgContain) || !strings.HasPrefix(e.Error(), "in.csv") {
				t.Errorf("message %q, want it to start with the file and contain %q", e.Error(), tc.msgContain)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tb, err := Parse([]byte("a,b\n1,2\n"), "f.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := tb.Lookup("b", "a"); err != nil || idx[0] != 1 || idx[1] != 0 {
		t.Fatalf("Lookup(b, a) = %v, %v", idx, err)
	}
	_, err = tb.Lookup("a", "label")
	var e *Error
	if !errors.As(err, &e) || e.Name != "label" || e.Line != 1 {
		t.Fatalf("missing column: %v", err)
	}
	if got := e.Error(); got != `f.csv:1: column "label": no such column in the header` {
		t.Errorf("message %q", got)
	}
	if got := tb.ColumnError(1, 0, "bad").Error(); got != "f.csv:2: column 2 (b): bad" {
		t.Errorf("ColumnError: %q", got)
	}
}

func TestNonFiniteIsText(t *testing.T) {
	tb, err := Parse([]byte("a,b\nNaN,1\ninf,2\n"), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Columns[0].Kind != Categorical || tb.Columns[1].Kind != Numeric {
		t.Fatalf("kinds %s %s", tb.Columns[0].Kind, tb.Columns[1].Kind)
	}
}

// FuzzRead: any bytes are read or refused with an *Error; a table read has consistent columns.
func FuzzRead(f *testing.F) {
	f.Add([]byte("a,b\n1,x\n"), false)
	f.Add([]byte("a,b\n1\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, forceCat bool) {
		opt := Options{MaxRows: 1000}
		if forceCat {
			opt.Categorical = []string{"a"}
			opt.Numeric = []string{"b"}
		}
		tb, err := Parse(data, "fuzz.csv", opt)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if e.Line < 0 || e.Column < 0 || e.File != "fuzz.csv" {
				t.Fatalf("bad location %+v", e)
			}
			return
		}
		if len(tb.Lines) != tb.Rows {
			t.Fatalf("%d lines for %d rows", len(tb.Lines), tb.Rows)
		}
		for j := range tb.Columns {
			c := &tb.Columns[j]
			switch c.Kind {
			case Numeric:
				if len(c.Num) != tb.Rows || c.Codes != nil {
					t.Fatalf("numeric column %q: %d values for %d rows", c.Name, len(c.Num), tb.Rows)
				}
				for _, v := range c.Num {
					if math.IsInf(v, 0) {
						t.Fatalf("infinite value in %q", c.Name)
					}
				}
			case Categorical:
				if len(c.Codes) != tb.Rows || c.Num != nil {
					t.Fatalf("categorical column %q: %d codes for %d rows", c.Name, len(c.Codes), tb.Rows)
				}
				for _, k := range c.Codes {
					if k < -1 || int(k) >= len(c.Levels) {
						t.Fatalf("code %d of %d levels", k, len(c.Levels))
					}
				}
			default:
				t.Fatalf("kind %d", c.Kind)
			}
			for i := 0; i < tb.Rows; i++ {
				_ = c.Value(i)
			}
		}
	})
}
