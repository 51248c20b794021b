package msg

import (
	"errors"
	"fmt"
	"testing"
)

func TestSprintfMatchesFmt(t *testing.T) {
	cases := []struct {
		name   string
		format string
		args   []any
	}{
		{"ints", "%d %d %d %d", []any{-7, uint8(255), int64(-1 << 62), uint64(1 << 63)}},
		{"strings", "a %s b %q", []any{"x y", "quote\" back\\ tab\t"}},
		{"floats", "%g %g %g %g %g %g", []any{0.1, float32(0.25), 1e300, -3.5, 123456.0, 0.000123}},
		{"error", "wrapped: %s", []any{errors.New("boom")}},
		{"percent", "100%% sure %d", []any{3}},
		{"utf8", "%q", []any{"café ☕"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, want := Sprintf(c.format, c.args...), fmt.Sprintf(c.format, c.args...)
			if got != want {
				t.Errorf("Sprintf(%q) = %q, fmt gives %q", c.format, got, want)
			}
		})
	}
}

func TestSprintfBadInput(t *testing.T) {
	if got := Sprintf("%d %d", 1); got != "1 %!d(MISSING)" {
		t.Errorf("missing arg: %q", got)
	}
	if got := Sprintf("%d", "x"); got != "%!d(BADTYPE)" {
		t.Errorf("bad type: %q", got)
	}
	if got := Sprintf("%q", "\xff\x01"); got != `"\xff\x01"` {
		t.Errorf("invalid utf8: %q", got)
	}
}

func TestErrorfWraps(t *testing.T) {
	sentinel := errors.New("models: bad bundle")
	err := Errorf(sentinel, "items[%d]: %q", 3, "a")
	if !errors.Is(err, sentinel) {
		t.Fatal("errors.Is does not match the sentinel")
	}
	if err.Error() != `models: bad bundle: items[3]: "a"` {
		t.Errorf("message %q", err.Error())
	}
}

func TestIsAs(t *testing.T) {
	sentinel := errors.New("sentinel")
	other := errors.New("other")
	wrapped := fmt.Errorf("ctx: %w", Errorf(sentinel, "detail"))
	joined := errors.Join(other, wrapped)
	for _, c := range []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"direct", sentinel, sentinel, true},
		{"wrapped twice", wrapped, sentinel, true},
		{"joined", joined, sentinel, true},
		{"absent", wrapped, other, false},
		{"nil", nil, sentinel, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Is(c.err, c.target); got != c.want || got != errors.Is(c.err, c.target) {
				t.Errorf("Is = %v, errors.Is = %v, want %v", got, errors.Is(c.err, c.target), c.want)
			}
		})
	}
	type myErr struct{ error }
	e := &myErr{sentinel}
	got, ok := As[*myErr](fmt.Errorf("x: %w", e))
	if !ok || got != e {
		t.Errorf("As did not find *myErr")
	}
	if _, ok := As[*myErr](joined); ok {
		t.Errorf("As found *myErr where there is none")
	}
}
