package main

import (
	"strings"
	"testing"

	"github.com/ufocache/ufocache/perf/peers"
)

// Each test here pins a number or a mark of the hit-ratio tables, or of
// the replay behind them, that a mutation review found no test held.

// "Best peer" is the highest unmarked peer, not the last one listed: with
// golang-lru at 55% and 2Q at 45%, ufocache's 50% is 5 pp below the best.
func TestBestPeerIsTheHighestPeer(t *testing.T) {
	j := cellOf("a", 100, map[string]int{peers.Ufocache: 50, peers.LRU: 55, peers.TwoQ: 45, beladyName: 60})
	table, head := hitRatioSummary([]*hrJob{j}, []string{peers.Ufocache, peers.LRU, peers.TwoQ})
	if want := "| a @ 100 | 50.00 | 55.00 | 45.00 | 60.00 | **-5.00** |"; !strings.Contains(table, want) {
		t.Errorf("summary lacks %q:\n%s", want, table)
	}
	if h := head[len(head)-1]; !strings.Contains(h, "in 1 of 1 cells (a @ 100 -5.000)") {
		t.Errorf("headline %q, want a @ 100 named at -5.000", h)
	}
}

// A peer that held more than 10% above its bound is marked `*` in the
// summary, and is not the best peer: ufocache has no peer to compare.
func TestSummaryStarsAPeerOverItsBound(t *testing.T) {
	j := cellOf("a", 100, map[string]int{peers.Ufocache: 50, peers.LRU: 40, beladyName: 60})
	lru := j.results[peers.LRU]
	lru.samples, lru.sumOcc, lru.highOcc = 2, 230, 120 // mean 115 at a bound of 100
	j.results[peers.LRU] = lru
	table, _ := hitRatioSummary([]*hrJob{j}, []string{peers.Ufocache, peers.LRU})
	if want := "| a @ 100 | 50.00 | 40.00* | 60.00 | – |"; !strings.Contains(table, want) {
		t.Errorf("summary lacks %q:\n%s", want, table)
	}
}

// The pairwise difference is averaged over the cells the peer kept, not
// over every cell: ufocache 50% against 40% in the one kept cell is +10.
func TestPairwiseAveragesOverKeptCells(t *testing.T) {
	kept := cellOf("a", 100, map[string]int{peers.Ufocache: 50, peers.LRU: 40, beladyName: 60})
	over := cellOf("b", 100, map[string]int{peers.Ufocache: 50, peers.LRU: 70, beladyName: 80})
	res := over.results[peers.LRU]
	res.samples, res.sumOcc = 1, 200
	over.results[peers.LRU] = res
	got := pairwiseTable([]*hrJob{kept, over}, []string{peers.Ufocache, peers.LRU})
	if want := "| golang-lru | 1 of 2 | 40.00 | 50.00 | +10.00 |"; !strings.Contains(got, want) {
		t.Errorf("pairwise table lacks %q:\n%s", want, got)
	}
}

// The occupancy table shows the mean and the highest sample, in bold when
// the mean is more than 10% above the bound, and n/a without a sample.
func TestOccupancyTableMeanHighestAndBold(t *testing.T) {
	j := cellOf("a", 100, map[string]int{peers.Ufocache: 50, peers.LRU: 40, peers.TwoQ: 30})
	set := func(name string, samples int, sum, high int64) {
		r := j.results[name]
		r.samples, r.sumOcc, r.highOcc = samples, sum, high
		j.results[name] = r
	}
	set(peers.Ufocache, 2, 200, 101) // mean 100
	set(peers.LRU, 2, 230, 120)      // mean 115: over
	got := occupancyTable([]*hrJob{j}, []string{peers.Ufocache, peers.LRU, peers.TwoQ})
	if want := "| a @ 100 | 100 / 101 | **115 / 120** | n/a |"; !strings.Contains(got, want) {
		t.Errorf("occupancy table lacks %q:\n%s", want, got)
	}
}

// A weighted replay counts object hits as well as bytes, each object at
// its own size: keys 1 2 1 3 2 of 100, 300, 100, 50, 300 bytes on a cache
// that never evicts hit the third and fifth requests, 400 of 850 bytes.
func TestWeightedReplayCountsHitsAndBytes(t *testing.T) {
	res := replayWeighted(newMapCache[uint32](), []uint64{1, 2, 1, 3, 2}, []uint32{100, 300, 100, 50, 300}, 1000)
	if res.requests != 5 || res.hits != 2 || res.bytesRequested != 850 || res.bytesHit != 400 {
		t.Errorf("%+v: want 5 requests, 2 hits, 850 bytes requested, 400 hit", res)
	}
}

// lateTheine applies its Sets only when waited for, like lateCache, but
// is named theine, which peers.ReplayWaited does not list.
type lateTheine struct{ lateCache }

func (*lateTheine) Name() string { return peers.Theine }

// Only the caches of peers.ReplayWaited are waited for: a cache with a
// Wait that is not listed runs as configured, and here never sees a Set.
func TestReplayWaitsOnlyForTheListedCaches(t *testing.T) {
	if strings.Contains(strings.Join(peers.ReplayWaited, ","), peers.Theine) {
		t.Skip("theine is now waited for")
	}
	c := &lateTheine{lateCache{mapCache: *newMapCache[uint64](), pending: map[uint64]uint64{}}}
	if res := replay(c, []uint64{1, 1, 2, 2, 1}, 10, nil); res.hits != 0 {
		t.Errorf("%d hits of 5, want 0: the replay waited for a cache not in peers.ReplayWaited", res.hits)
	}
}
