package jsbridge

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/presage-dev/presage/agent/wire"
)

// TestCheckNames: presage.explain() names each check by its wire.CheckKind, through a list in
// src/presage.js indexed by the kind; a kind added in Go without its name there would be explained
// as "undefined", and one inserted in the middle would shift every later name.
func TestCheckNames(t *testing.T) {
	names := map[wire.CheckKind]string{wire.CheckFeature: "feature", wire.CheckScore: "score", wire.CheckStage: "stage",
		wire.CheckAppetence: "appetence", wire.CheckSegment: "segment", wire.CheckSchedule: "schedule", wire.CheckCap: "cap",
		wire.CheckPressure: "pressure", wire.CheckBucket: "bucket", wire.CheckHoldout: "holdout", wire.CheckPriority: "priority",
		wire.CheckPage: "page"}
	src, err := os.ReadFile("src/presage.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const CHECKS = '([^']*)'\.split\(' '\);`).FindSubmatch(src)
	if m == nil {
		t.Fatal("src/presage.js has no CHECKS list")
	}
	list := strings.Split(string(m[1]), " ")
	if len(list) != len(names)+1 { // index 0 is no kind
		t.Errorf("CHECKS has %d names, want %d", len(list)-1, len(names))
	}
	for k, want := range names {
		if int(k) >= len(list) || list[k] != want {
			t.Errorf("check kind %d: presage.js names it %q, want %q", k, at(list, int(k)), want)
		}
	}
}

func at(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}
