package main

import (
	"strings"
	"testing"

	"github.com/ufocache/ufocache/perf/peers"
)

// mapCache never evicts and counts what it holds; lenUnknown makes Len
// say it cannot tell (-1), as sync-map's does.
type mapCache[V any] struct {
	m          map[uint64]V
	lenUnknown bool
}

func newMapCache[V any]() *mapCache[V] { return &mapCache[V]{m: map[uint64]V{}} }

func (*mapCache[V]) Name() string { return "map" }
func (c *mapCache[V]) Get(k uint64) (V, bool) {
	v, ok := c.m[k]
	return v, ok
}
func (c *mapCache[V]) Set(k uint64, v V) bool { c.m[k] = v; return true }
func (c *mapCache[V]) Len() int {
	if c.lenUnknown {
		return -1
	}
	return len(c.m)
}
func (*mapCache[V]) Close() {}

// Occupancy is sampled every sampleEvery requests from the request at
// which the misses reach the bound, not before (the cache filling would
// pull the mean down) and not one miss later. 40 new keys at a bound of
// 17: the 17th miss is request 16, so the samples are at 16 and 32, when
// the cache holds 17 and 33.
func TestReplaySamplesOccupancyOnceFull(t *testing.T) {
	keys := make([]uint64, 40)
	for i := range keys {
		keys[i] = uint64(i)
	}
	res := replay(newMapCache[uint64](), keys, 17, nil)
	if res.requests != 40 || res.hits != 0 || res.samples != 2 || res.sumOcc != 17+33 || res.highOcc != 33 {
		t.Errorf("%+v: want 40 requests, no hit, samples at requests 16 and 32 (17 and 33 held)", res)
	}
	// Every key again: all hits, and no new miss moves the sampling.
	res = replay(newMapCache[uint64](), append(keys, keys...), 17, nil)
	if res.hits != 40 || res.samples != 4 || res.highOcc != 40 {
		t.Errorf("%+v: want 40 hits and samples at 16, 32, 48 and 64", res)
	}
	// A cache that cannot count has no sample, not a sample of -1.
	c := newMapCache[uint64]()
	c.lenUnknown = true
	if res := replay(c, keys, 17, nil); res.samples != 0 || res.sumOcc != 0 {
		t.Errorf("%+v: Len -1 was sampled", res)
	}
}

// lateCache stores a Set only when waited for, as ristretto applies its
// Sets through a buffer; its name puts it in peers.ReplayWaited.
type lateCache struct {
	mapCache[uint64]
	pending map[uint64]uint64
}

func (*lateCache) Name() string { return peers.Ristretto }
func (c *lateCache) Set(k, v uint64) bool {
	c.pending[k] = v
	return true
}
func (c *lateCache) Wait() {
	for k, v := range c.pending {
		c.m[k] = v
	}
	clear(c.pending)
}

// A replay waits for the caches of peers.ReplayWaited after each Set, so
// that the next request sees the write: a key asked for twice in a row
// hits the second time.
func TestReplayWaitsForLateSets(t *testing.T) {
	if !strings.Contains(strings.Join(peers.ReplayWaited, ","), peers.Ristretto) {
		t.Skip("ristretto is no longer waited for")
	}
	c := &lateCache{mapCache: *newMapCache[uint64](), pending: map[uint64]uint64{}}
	if res := replay(c, []uint64{1, 1, 2, 2, 1}, 10, nil); res.hits != 3 {
		t.Errorf("%d hits of 5, want 3: the replay did not wait for the Sets", res.hits)
	}
}

// A weighted replay samples from the request whose miss brings the weight
// offered (the sizes of the misses) to the bound: at a bound of one
// object's size, the first; 10-byte misses reach a bound of 2600 at the
// 260th (request 259), so the first sample is at request 512, not 256.
func TestWeightedReplaySamplesFromTheBound(t *testing.T) {
	keys := make([]uint64, 1000)
	sizes := make([]uint32, 1000)
	for i := range keys {
		keys[i], sizes[i] = uint64(i), 10
	}
	for _, tc := range []struct {
		bound   int64
		samples int
		at      string
	}{{10, 4, "0, 256, 512, 768"}, {2600, 2, "512, 768"}} {
		if res := replayWeighted(heavyCache{bound: tc.bound}, keys, sizes, int(tc.bound)); res.samples != tc.samples {
			t.Errorf("bound %d: %d samples, want %d (requests %s)", tc.bound, res.samples, tc.samples, tc.at)
		}
	}
}

// A cache level with Belady's optimum is not above it: it kept its bound
// and counts as the best peer; only a higher ratio is marked.
func TestEqualToBeladyIsNotAboveIt(t *testing.T) {
	opt := replayResult{requests: 100, hits: 60}
	if (replayResult{requests: 300, hits: 180}).aboveOptimum(opt) {
		t.Error("a pooled ratio equal to Belady's is marked above it")
	}
	j := &hrJob{lt: &loadedTrace{spec: traceSpec{name: "a"}}, capacity: 100, results: map[string]replayResult{
		peers.Ufocache: {requests: 100, hits: 50},
		peers.LRU:      {requests: 100, hits: 60},
		beladyName:     opt,
	}}
	table, _ := hitRatioSummary([]*hrJob{j}, []string{peers.Ufocache, peers.LRU})
	if want := "| a @ 100 | 50.00 | 60.00 | 60.00 | **-10.00** |"; !strings.Contains(table, want) {
		t.Errorf("summary lacks %q:\n%s", want, table)
	}
}

// An object of size 0 weighs 1 (no cache stores a weightless entry): it
// counts so in the bytes requested, and so in the bytes hit, or a trace
// that hits every time after the first would not reach a byte hit ratio
// of 1 - 1/n.
func TestWeightedReplayCountsEmptyObjectsAsOne(t *testing.T) {
	res := replayWeighted(newMapCache[uint32](), []uint64{1, 1, 1, 1}, []uint32{0, 0, 0, 0}, 10)
	if res.bytesRequested != 4 || res.bytesHit != 3 || res.byteRatio() != 0.75 {
		t.Errorf("%+v: want 4 bytes requested, 3 hit", res)
	}
}
