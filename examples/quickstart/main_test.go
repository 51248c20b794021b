package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestQuickstart runs the example: it must serve the whole visit and end with a new customer.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a bundle and builds the module")
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 8 {
		t.Fatalf("want 7 events and a profile line, got %d lines", len(lines))
	}
	if !strings.Contains(lines[0], "stage prospect") || !strings.Contains(lines[6], "stage new") {
		t.Errorf("the purchase should turn the prospect into a new customer:\n%s", out.String())
	}
}
