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
		{"floats", "%g %g %g", []any{0.1, float32(0.1), 1e300}},
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
