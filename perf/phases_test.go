package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/ufocache/ufocache/perf/belady"
	"github.com/ufocache/ufocache/perf/peers"
)

// TestPhasesSplitTheReplayByWindow replays a loop of 10 keys, 105 requests,
// at 20 entries in 10 windows of 11 requests (the last of 6): every cache
// misses the first pass only, so the first window hits 1 of 11 and the
// others all, the short last window included.
func TestPhasesSplitTheReplayByWindow(t *testing.T) {
	keys := make([]uint64, 105)
	for i := range keys {
		keys[i] = uint64(i % 10)
	}
	lt := &loadedTrace{spec: traceSpec{name: "loop10"}, keys: keys, oracle: belady.Prepare(keys)}
	j := newPhaseJob(lt, 20, 10)
	caches := []string{peers.Ufocache, peers.LRU}
	j.run(caches, true)
	for _, name := range append(caches, beladyName) {
		if got, want := j.hits[name], []int{1, 11, 11, 11, 11, 11, 11, 11, 11, 6}; !slices.Equal(got, want) {
			t.Errorf("%s: hits by window %v, want %v", name, got, want)
		}
	}
	s := j.table(caches)
	whole := "| 9.1 |" + strings.Repeat(" 100.0 |", 9) + " 90.48 |"
	for _, want := range []string{
		"### loop10 @ 20",
		"| cache | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | whole |",
		"| golang-lru " + whole,
		"| ufocache " + whole,
		"| " + beladyName + " " + whole,
		"| ufocache − best other | +0.0 |" + strings.Repeat(" +0.0 |", 9) + " +0.00 |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
}

// More windows than a trace fills are cut into fewer: 105 requests in 100
// windows make 52 of 2 and a last of 1, and every request is counted.
func TestPhasesTooManyWindows(t *testing.T) {
	keys := make([]uint64, 105) // one key: every request but the first hits
	lt := &loadedTrace{spec: traceSpec{name: "one"}, keys: keys, oracle: belady.Prepare(keys)}
	j := newPhaseJob(lt, 1, 100)
	if j.windows != 53 || j.size != 2 {
		t.Fatalf("%d windows of %d, want 53 of 2", j.windows, j.size)
	}
	j.run([]string{peers.LRU}, true)
	for _, name := range []string{peers.LRU, beladyName} {
		per, whole := j.ratios(name)
		if len(per) != 53 || per[0] != 50 || per[1] != 100 || per[52] != 100 || whole != 100*104.0/105 {
			t.Errorf("%s: windows %v, whole %v", name, per, whole)
		}
	}
}

// The lead row compares ufocache with the best other cache in each window,
// not with one cache throughout.
func TestPhasesLeadIsOverTheBestInEachWindow(t *testing.T) {
	keys := make([]uint64, 40)
	lt := &loadedTrace{spec: traceSpec{name: "t"}, keys: keys}
	j := newPhaseJob(lt, 1, 2)
	j.hits = map[string][]int{
		peers.Ufocache: {10, 10},
		peers.LRU:      {15, 5},
		peers.OtterV2:  {5, 12},
	}
	s := j.table([]string{peers.Ufocache, peers.OtterV2, peers.LRU})
	if want := "| ufocache − best other | -25.0 | -10.0 | +0.00 |"; !strings.Contains(s, want) {
		t.Errorf("table lacks %q:\n%s", want, s)
	}
}

// TestPhasesSuite runs the suite through perf's flags on one trace.
func TestPhasesSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("replays a trace")
	}
	s := runAndRead(t, t.TempDir(), "phases.md", "-suite", "phases", "-traces", "gli", "-windows", "4", "-caches", "ufocache,golang-lru")
	for _, want := range []string{"# Hit ratio by phase", "cut into 4 windows", "### gli @ 250", "### gli @ 2000", "| golang-lru |", "| belady-opt |", "| ufocache − best other |"} {
		if !strings.Contains(s, want) {
			t.Errorf("phases.md lacks %q:\n%s", want, s)
		}
	}
}

// The lead row is over the other caches, not over Belady's optimum, which
// no cache reaches: with Belady ahead in every window, the lead is still
// over golang-lru.
func TestPhasesLeadLeavesBeladyOut(t *testing.T) {
	keys := make([]uint64, 40)
	lt := &loadedTrace{spec: traceSpec{name: "t"}, keys: keys}
	j := newPhaseJob(lt, 1, 2)
	j.hits = map[string][]int{
		peers.Ufocache: {10, 10},
		peers.LRU:      {8, 6},
		beladyName:     {18, 19},
	}
	s := j.table([]string{peers.Ufocache, peers.LRU})
	if want := "| ufocache − best other | +10.0 | +20.0 | +15.00 |"; !strings.Contains(s, want) {
		t.Errorf("table lacks %q:\n%s", want, s)
	}
}
