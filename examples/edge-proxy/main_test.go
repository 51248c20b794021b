package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestCookieKeys(t *testing.T) {
	tests := []struct {
		env     string
		n       int
		wantErr bool
	}{
		{"", 1, false}, // a random key, with a warning
		{"00112233445566778899aabbccddeeff", 1, false},
		{"00112233445566778899aabbccddeeff, ffeeddccbbaa99887766554433221100", 2, false},
		{"not hex", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			var warn strings.Builder
			keys, err := cookieKeys(tc.env, &warn)
			if (err != nil) != tc.wantErr || len(keys) != tc.n {
				t.Fatalf("cookieKeys(%q) = %d keys, %v", tc.env, len(keys), err)
			}
			if (tc.env == "") != (warn.Len() > 0) {
				t.Errorf("warning %q", warn.String())
			}
		})
	}
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no origin", nil, "-origin is required"},
		{"no module", []string{"-origin", "http://127.0.0.1:1", "-wasm", "/nonexistent.wasm"}, "build it with make wasm"},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}
