package main

import (
	"os"
	"path/filepath"
	"slices"
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
	if err := updateReadme(path, summary, "perf/results", []string{"throughput-mix-cpu2.svg"}); err != nil {
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
	if err := updateReadme(path, summary, "perf/results", []string{"throughput-mix-cpu2.svg"}); err == nil {
		t.Error("a README without the block was accepted")
	}
}

// The block is rewritten in place, markers kept, so that every full run
// can rewrite it again: twice over, the README holds one block, the
// second run's, and the text around it as it was.
func TestUpdateReadmeTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# x\n\n" + readmeBegin + "\nold\n" + readmeEnd + "\n\ntail\n"
	if err := os.WriteFile(path, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, summary := range []string{"# first\n\nrun one\n", "# second\n\nrun two\n"} {
		if err := updateReadme(path, summary, "perf/results", []string{"throughput-mix-cpu2.svg"}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	s := string(got)
	if strings.Count(s, readmeBegin) != 1 || strings.Count(s, readmeEnd) != 1 || !strings.HasPrefix(s, "# x\n\n"+readmeBegin+"\n") ||
		!strings.HasSuffix(s, readmeEnd+"\n\ntail\n") || !strings.Contains(s, "run two") || strings.Contains(s, "run one") {
		t.Errorf("after two rewrites:\n%s", s)
	}
	// A README with a begin marker and no end, or the end before the
	// begin, is refused, not cut.
	for _, bad := range []string{"a\n" + readmeBegin + "\nb\n", readmeEnd + "\n" + readmeBegin + "\n"} {
		if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := updateReadme(path, "# s\n", "perf/results", nil); err == nil {
			t.Errorf("README %q accepted", bad)
		}
		if got, _ := os.ReadFile(path); string(got) != bad {
			t.Errorf("README %q rewritten as %q", bad, got)
		}
	}
}

// The README shows the throughput mix chart the run drew, named by its
// largest GOMAXPROCS, and no chart the run did not draw (one left in
// results/ by an earlier run on another machine would show its numbers).
func TestReadmeChartsAreTheRunsOwn(t *testing.T) {
	reports := []*report{
		{charts: []chart{{file: "throughput-mix-cpu1.svg"}, {file: "throughput-mix-cpu8.svg"}, {file: "throughput-cpu-hit-path.svg"}}},
		{charts: []chart{{file: "hitratio-oltp.svg"}, {file: "hitratio-gli.svg"}}},
	}
	got := readmeCharts(reports, 8)
	if want := []string{"throughput-mix-cpu8.svg", "throughput-cpu-hit-path.svg", "hitratio-oltp.svg"}; !slices.Equal(got, want) {
		t.Errorf("readmeCharts = %v, want %v", got, want)
	}
}
