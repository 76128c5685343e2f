package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateReadmeRewritesOnlyTheBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# x\n\nintro\n\n" + readmeBegin + "\nold numbers\n" + readmeEnd + "\n\ntail\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	summary := "# ufocache side by side\n\n## [Hit ratio](hitratio.md) (1s)\n\n| a | b |\n"
	if err := updateReadme(path, summary, "perf/results"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	s := string(got)
	for _, want := range []string{"# x\n\nintro\n\n", "\n\ntail\n", "## ufocache side by side", "### [Hit ratio](perf/results/hitratio.md)", "| a | b |", "![throughput-mix-cpu2.svg](perf/results/throughput-mix-cpu2.svg)"} {
		if !strings.Contains(s, want) {
			t.Errorf("README lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "old numbers") {
		t.Error("the old block survived")
	}
	if err := os.WriteFile(path, []byte("no markers"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := updateReadme(path, summary, "perf/results"); err == nil {
		t.Error("a README without the block was accepted")
	}
}
