package main

import (
	"strings"
	"testing"

	"github.com/ufocache/ufocache/perf/peers"
)

// cellOf is a unit-weight cell at a bound of 100 with the given hits of
// requests per cache.
func cellOf(name string, requests int, hits map[string]int) *hrJob {
	j := &hrJob{lt: &loadedTrace{spec: traceSpec{name: name}}, capacity: 100, results: map[string]replayResult{}}
	for c, h := range hits {
		j.results[c] = replayResult{requests: requests, hits: h}
	}
	return j
}

// The mean rows and the headline average every cell, those without a peer
// to compare included, and the gap to Belady is Belady's ratio minus the
// cache's: in c, golang-lru is above Belady (marked †), so it has no peer,
// yet it counts in the means, with a negative gap.
func TestSummaryMeansAndGapsOverEveryCell(t *testing.T) {
	caches := []string{peers.Ufocache, peers.LRU}
	jobs := []*hrJob{
		cellOf("a", 100, map[string]int{peers.Ufocache: 50, peers.LRU: 40, beladyName: 60}),
		cellOf("b", 100, map[string]int{peers.Ufocache: 30, peers.LRU: 35, beladyName: 45}),
		cellOf("c", 100, map[string]int{peers.Ufocache: 20, peers.LRU: 70, beladyName: 60}),
		cellOf("d", 100, map[string]int{peers.Ufocache: 40, peers.LRU: 39, beladyName: 41}),
	}
	table, head := hitRatioSummary(jobs, caches)
	for _, want := range []string{
		"| **mean of all cells** | 35.00 | 46.00 | 51.50 |  |",
		"| **mean gap to Belady (pp)** | 16.50 | 5.50 | 0.00 |  |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("summary lacks %q:\n%s", want, table)
		}
	}
	h := strings.Join(head, "\n")
	for _, want := range []string{
		"| ufocache | 35.00 | 16.50 |", "| golang-lru | 46.00 | 5.50 |", "| belady-opt | 51.50 | 0.00 |",
		"in 1 of 3 cells (b @ 100 -5.000); its worst cell is b @ 100 (-5.00 pp)",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("headline lacks %q:\n%s", want, h)
		}
	}
}

// "More than 0.5 pp below" is strictly more: a cell at exactly -0.5 (0 hits
// of 200 against 1) is neither bold nor named.
func TestSummaryHalfPointIsNotBelow(t *testing.T) {
	j := cellOf("a", 200, map[string]int{peers.Ufocache: 0, peers.LRU: 1, beladyName: 2})
	table, head := hitRatioSummary([]*hrJob{j}, []string{peers.Ufocache, peers.LRU})
	if !strings.Contains(table, "| -0.50 |") || !strings.Contains(head[len(head)-1], "in 0 of 1 cells;") {
		t.Errorf("a cell at -0.50 counted as below:\n%s\n%s", table, head[len(head)-1])
	}
}

// Within 10% of the bound is kept, 10% included: at a bound of 1000, a
// mean of 1100 entries (1.1 × 1000 is exact in floating point) is not
// over it, 1100.5 is.
func TestOverBoundIsMoreThanTenPercent(t *testing.T) {
	at := func(sum int64, samples int) replayResult {
		return replayResult{requests: 1, samples: samples, sumOcc: sum}
	}
	if at(1100, 1).overBound(1000) || !at(2201, 2).overBound(1000) || at(5000, 0).overBound(1000) {
		t.Error("want 1100 of 1000 kept, 1100.5 over, no sample never over")
	}
}

// sameRoom compares ufocache with the best peer that kept its bound, and
// replays it at that peer's mean occupancy rounded to the nearest entry
// (107.6 -> 108; a loop of 108 keys fits, and both ufocache and Belady hit
// all but the first pass, 95%). A cell where ufocache ties the peer has no
// row: it does not trail.
func TestSameRoomPicksTheBestPeer(t *testing.T) {
	lt := loop108()
	cell := func(ufo int) *hrJob {
		return &hrJob{lt: lt, capacity: 100, results: map[string]replayResult{
			peers.Ufocache: {requests: 100, hits: ufo},
			"p":            {requests: 100, hits: 50, samples: 5, sumOcc: 538},
			"q":            {requests: 100, hits: 45, samples: 1, sumOcc: 108},
			beladyName:     {requests: 100, hits: 99},
		}}
	}
	caches := []string{peers.Ufocache, "q", "p"}
	got := sameRoom([]*hrJob{cell(40)}, caches, 1, 1)
	if want := "| loop108 @ 100 | p | 108 | 50.00 | 40.00 | 95.00 | 95.00 | +45.00 |"; !strings.Contains(got, want) {
		t.Errorf("sameRoom lacks %q:\n%s", want, got)
	}
	if got := sameRoom([]*hrJob{cell(50)}, caches, 1, 1); !strings.HasPrefix(got, "No cell") {
		t.Errorf("ufocache level with the best peer got a row:\n%s", got)
	}
}

// The spread table names, per cache, the cell of its widest range and the
// mean range over the cells with at least two replays.
func TestSpreadTableWidestAndMean(t *testing.T) {
	cell := func(name string, lo, hi float64) *hrJob {
		return &hrJob{lt: &loadedTrace{spec: traceSpec{name: name}}, capacity: 100, results: map[string]replayResult{
			peers.Ufocache: {requests: 300, hits: 150, runs: 3, lo: lo, hi: hi},
		}}
	}
	got := spreadTable([]*hrJob{cell("a", 0.49, 0.51), cell("b", 0.47, 0.52), cell("c", 0.50, 0.51)}, []string{peers.Ufocache})
	if want := "| ufocache | 5.00 | b @ 100 | 2.67 |"; !strings.Contains(got, want) {
		t.Errorf("spread table lacks %q:\n%s", want, got)
	}
}

// Byte capacities are entry capacities times the mean size of the
// distinct objects, each counted once at its first size, rounded up to a
// KiB: objects of 1000 and 3000 bytes, the first asked for again at 9000,
// make 2000, so 2048.
func TestMeanDistinctSize(t *testing.T) {
	lt := &loadedTrace{keys: []uint64{1, 2, 1}, sizes: []uint32{1000, 3000, 9000}, distinct: 2}
	if got := meanDistinctSize(lt); got != 2048 {
		t.Errorf("meanDistinctSize = %d, want 2048", got)
	}
}

// The pairwise table has a row per peer and none for ufocache against
// itself.
func TestPairwiseHasNoRowForUfocache(t *testing.T) {
	j := cellOf("a", 100, map[string]int{peers.Ufocache: 50, peers.LRU: 40, beladyName: 60})
	got := pairwiseTable([]*hrJob{j}, []string{peers.Ufocache, peers.LRU})
	if strings.Contains(got, "| ufocache |") || !strings.Contains(got, "| golang-lru | 1 of 1 | 40.00 | 50.00 | +10.00 |") {
		t.Errorf("pairwise table:\n%s", got)
	}
}
