package ufocache_test

// Policy tests on access patterns whose right answer is known.

import (
	"container/list"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ufocache/ufocache"
	"github.com/ufocache/ufocache/internal/hashing"
	"github.com/ufocache/ufocache/internal/tracetest"
)

// mix64 is a seeded integer hash (splitmix64's finaliser).
func mix64(x, seed uint64) uint64 {
	x ^= seed
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// hitRatio replays keys through c (Get; on a miss, Set) and returns the
// share of hits.
func hitRatio(c *ufocache.Cache[uint64, uint64], keys []uint64) float64 {
	hits := 0
	for _, hit := range replayHits(c, keys) {
		if hit {
			hits++
		}
	}
	return float64(hits) / float64(len(keys))
}

// replayHits replays keys through c (Get; on a miss, Set) and reports
// which requests hit.
func replayHits(c *ufocache.Cache[uint64, uint64], keys []uint64) []bool {
	hits := make([]bool, len(keys))
	for i, k := range keys {
		if _, hits[i] = c.Get(k); !hits[i] {
			c.Set(k, k)
		}
	}
	return hits
}

// A loop over 1011 keys through a cache of 1000: a cache that keeps its
// bound does best by holding a fixed 1000 of them (98.9% hits); plain FIFO
// or LRU gets none. The
// policy must keep a stable set under every hash seed: with one seed in
// twelve, the small queue's share used to climb to its maximum on ghost
// hits from keys that leave the small queue just before they come back,
// and the hit ratio fell to 81%.
// The policy tests fix their hash seeds with a Hasher used raw (not
// spread with the cache's random seeds), so that each replay is the same on
// every run.
func TestLoopLongerThanTheCacheKeepsAStableSet(t *testing.T) {
	const keys, capacity, rounds = 1011, 1000, 500
	var sum float64
	for s := range uint64(12) {
		seed := s*0x9e3779b97f4a7c15 + 12345
		c := ufocache.Must(ufocache.WithRawHasher(ufocache.Options[uint64, uint64]{
			MaxWeight: capacity,
			Hasher:    func(k uint64) uint64 { return mix64(k, seed) },
		}))
		hits := 0
		for range rounds {
			for k := range uint64(keys) {
				if _, ok := c.Get(k); ok {
					hits++
				} else {
					c.Set(k, k)
				}
			}
		}
		r := float64(hits) / (keys * rounds)
		if r < 0.95 {
			t.Errorf("seed %d: hit ratio %.1f%%, want at least 95%%", s, 100*r)
		}
		sum += r
	}
	// A small queue of 1 entry (its least share) leaves 999 to main: at
	// least 98.5% less the churn; its former least share, 5 entries, gave
	// 98.11% on average.
	if m := sum / 12; m < 0.983 {
		t.Errorf("mean hit ratio %.2f%% over 12 seeds, want at least 98.3%%", 100*m)
	}
}

// A zig-zag scan (keys 0..2000, then back, 26 times) through a cache of
// 1000: LRU is optimal here (48.0%), and so is holding a fixed set. Every
// key is read as often as every other, so newcomers lose their duels, and
// the keys they were, which come back soon after the turn, must not read
// as a call for a longer small queue. The guard on duels won kept it short
// (46.3% with it, 43.4% without); since blind admission follows LRU up to
// the first turn, this gives 47.5% with or without the guard, and 47.7%
// since the small queue's growth has no floor while newcomers lose nearly
// every duel.
func TestZigZagScanKeepsTheSmallQueueShort(t *testing.T) {
	const keys, capacity, passes = 2001, 1000, 26
	var hits, total int
	for s := range uint64(6) {
		seed := s*0x9e3779b97f4a7c15 + 12345
		c := ufocache.Must(ufocache.WithRawHasher(ufocache.Options[uint64, uint64]{
			MaxWeight: capacity,
			Hasher:    func(k uint64) uint64 { return mix64(k, seed) },
		}))
		for p := range passes {
			for i := range uint64(keys) {
				k := i
				if p%2 == 1 {
					k = keys - 1 - i
				}
				total++
				if _, ok := c.Get(k); ok {
					hits++
				} else {
					c.Set(k, k)
				}
			}
		}
	}
	r := float64(hits) / float64(total)
	t.Logf("hit ratio %.2f%% over 6 seeds", 100*r)
	if r < 0.476 {
		t.Errorf("hit ratio %.2f%% over 6 seeds, want at least 47.6%% (LRU: 48%%)", 100*r)
	}
}

// The bundled zig-zag trace through 250 entries, under the library's own
// integer hash with 32 seeds: the four worst of seeds 0-599 and 28 more.
// Before the bets on duels won (fifo's S3.strict) six of them fell below
// 9%: 267 to 0.5%, 303 4.7%, 1023 4.9%, 333 6.0%, 1006 6.2%, 8 7.0%, where
// LRU gets 12.0%. In the collapse a tenth of the newcomers won their duels
// on count-min noise, each displacing one admitted a little earlier, so
// that nothing stayed long enough to be read. The guard made the worst of
// seeds 0-599 10.4%; with blind admission it is 11.3%, and 11.4% among
// these.
func TestZigZagTraceDoesNotCollapse(t *testing.T) {
	keys := tracetest.LIRS(t, "testdata/traces/lirs/zigzag.trace.gz")
	seeds := []uint64{267, 303, 333, 8}
	for s := range uint64(28) {
		seeds = append(seeds, 1000+s)
	}
	for _, s := range seeds {
		seed := s*0x9e3779b97f4a7c15 + 777
		s1, s2 := mix64(seed, 1), mix64(seed, 2)|1
		c := ufocache.Must(ufocache.WithRawHasher(ufocache.Options[uint64, uint64]{
			MaxWeight: 250,
			Hasher:    func(k uint64) uint64 { return hashing.Mix(k, s1, s2) },
		}))
		if r := hitRatio(c, keys); r < 0.11 {
			t.Errorf("seed %d: hit ratio %.2f%%, want at least 11%% (LRU: 12.0%%)", s, 100*r)
		}
	}
}

// The zig-zag trace sweeps 2001 keys up, down, up, ... 26 times; LRU is
// optimal on it (one pass's worth of hits per turn). Up to the first turn
// every key is new, so blind admission lets the newcomers displace the
// residents the cache filled with, as LRU does, and the first backward
// pass must hit as LRU's does. (Before it, the newcomers lost their duels
// to those residents and, seen twice on their way back, won and evicted
// them just before the sweep reached them: 50 hits at 1000 entries where
// LRU gets 999.) From then on it holds a stable set and must stay within
// 1.2% of LRU's hits under 8 fixed hash seeds (97.2% of LRU at worst in 40
// random ones before blind admission; under these, 98.6% at worst while
// the small queue's growth floor held when newcomers lost every duel, and
// 99.1% since: the floor's steps cost main residents each pass came back
// to).
func TestZigZagFollowsLRUFromTheFirstTurn(t *testing.T) {
	keys := tracetest.LIRS(t, "testdata/traces/lirs/zigzag.trace.gz")
	const pass = 2000 // requests per sweep after the first (2001)
	for i := range 8 * 4 {
		capacity := []int{250, 500, 1000, 1500}[i%4]
		seed := uint64(i/4)*0x9e3779b97f4a7c15 + 4242
		s1, s2 := mix64(seed, 1), mix64(seed, 2)|1
		c := ufocache.Must(ufocache.WithRawHasher(ufocache.Options[uint64, uint64]{
			MaxWeight: int64(capacity),
			Hasher:    func(k uint64) uint64 { return hashing.Mix(k, s1, s2) },
		}))
		lru := newRefLRU(capacity)
		var ours, best []int // hits per pass
		for i, k := range keys {
			p := max(i-1, 0) / pass
			for len(ours) <= p {
				ours, best = append(ours, 0), append(best, 0)
			}
			if _, ok := c.Get(k); ok {
				ours[p]++
			} else {
				c.Set(k, k)
			}
			if lru.hit(k) {
				best[p]++
			}
		}
		sumOurs, sumBest := 0, 0
		for p := 2; p < len(ours); p++ {
			sumOurs += ours[p]
			sumBest += best[p]
		}
		t.Logf("capacity %d, seed %d: first backward pass %d hits (LRU %d); the %d passes after it %d (LRU %d)",
			capacity, i/4, ours[1], best[1], len(ours)-2, sumOurs, sumBest)
		if float64(ours[1]) < 0.98*float64(best[1]) {
			t.Errorf("capacity %d, seed %d: %d hits in the first backward pass, want at least 98%% of LRU's %d",
				capacity, i/4, ours[1], best[1])
		}
		if float64(sumOurs) < 0.988*float64(sumBest) {
			t.Errorf("capacity %d, seed %d: %d hits in the passes after the first backward one, want at least 98.8%% of LRU's %d",
				capacity, i/4, sumOurs, sumBest)
		}
	}
}

// refLRU is an exact LRU cache of keys, the reference the policy tests
// compare with where LRU is optimal.
type refLRU struct {
	capacity int
	order    *list.List // most recent first
	at       map[uint64]*list.Element
}

func newRefLRU(capacity int) *refLRU {
	return &refLRU{capacity, list.New(), map[uint64]*list.Element{}}
}

// hit reports whether k was held, and makes it the most recent key,
// inserting it (and evicting the least recent) if it was not.
func (l *refLRU) hit(k uint64) bool {
	if e := l.at[k]; e != nil {
		l.order.MoveToFront(e)
		return true
	}
	l.at[k] = l.order.PushFront(k)
	if l.order.Len() > l.capacity {
		delete(l.at, l.order.Remove(l.order.Back()).(uint64))
	}
	return false
}

// stackStream is the LRU stack model: each request reuses, with
// probability 0.85, the key at a stack depth drawn from an exponential
// distribution of mean depth (0: the most recent key), and otherwise asks
// for a new key. Recency is all it has, so LRU is the best online policy
// for it, and a frequency sketch learns nothing that helps.
func stackStream(n int, depth float64, seed uint64) []uint64 {
	r := rand.New(rand.NewPCG(seed, seed))
	out := make([]uint64, n)
	var stack []uint64 // the most recent last
	next := uint64(0)
	for i := range out {
		var k uint64
		if len(stack) > 0 && r.Float64() < 0.85 {
			j := len(stack) - 1 - min(int(r.ExpFloat64()*depth), len(stack)-1)
			k = stack[j]
			stack = append(slices.Delete(stack, j, j+1), k)
		} else {
			k, next = next, next+1
			if len(stack) == 20*int(depth) {
				stack = slices.Delete(stack, 0, 1)
			}
			stack = append(stack, k)
		}
		out[i] = k
	}
	return out
}

// On pure recency the small queue must be able to take most of the
// cache: newcomers that lose their duels are the keys coming back next,
// and main's residents, however often they were read, are not. With the
// share capped at 60% the cache got 2.5-3 pp below LRU on such a stream
// (perf's synthetic recency workload at 500 and 2000 entries); a cap of
// 90% halves that.
func TestRecencyStreamComesCloseToLRU(t *testing.T) {
	const n, capacity, depth = 200_000, 500, 200
	var ours, best int
	for s := range uint64(4) {
		keys := stackStream(n, depth, s+1)
		seed := s*0x9e3779b97f4a7c15 + 99
		c := ufocache.Must(ufocache.WithRawHasher(ufocache.Options[uint64, uint64]{
			MaxWeight: capacity,
			Hasher:    func(k uint64) uint64 { return mix64(k, seed) },
		}))
		lru := newRefLRU(capacity)
		for _, k := range keys {
			if _, ok := c.Get(k); ok {
				ours++
			} else {
				c.Set(k, k)
			}
			if lru.hit(k) {
				best++
			}
		}
	}
	d := 100 * float64(ours-best) / (4 * n)
	t.Logf("hit ratio %.2f%%, LRU %.2f%% (%+.2f pp), 4 seeds", 100*float64(ours)/(4*n), 100*float64(best)/(4*n), d)
	if d < -1.5 {
		t.Errorf("hit ratio %.2f pp below LRU's on a recency stream, want at most 1.5", -d)
	}
}

// A shard's sketch counts the keys the shard is offered, which on a trace
// with many more keys than the cache holds are far more than its entries.
// p3 at 25k entries (16 shards of about 1.6k) offers each shard hundreds of
// thousands of keys; sketches sharing 4K keys of least room had 90-98% of
// their counters in use, and the duels went by conflated counts. With room
// for 4K keys in each shard, p3 there must gain at least 0.5 pp (1.2 in
// the policy suite).
func TestSketchRoomPerShard(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 3.9M requests twice")
	}
	var keys []uint64
	for _, k := range tracetest.ARC(t, "testdata/traces/arc/p3.gz") {
		keys = append(keys, uint64(k))
	}
	ratio := func() float64 {
		return hitRatio(ufocache.Must(ufocache.WithRawHasher(ufocache.Options[uint64, uint64]{
			MaxWeight: 25000,
			Shards:    16,
			Hasher:    func(k uint64) uint64 { return mix64(k, 12345) },
		})), keys)
	}
	per := ratio()
	*ufocache.SketchLeastPerShard = false
	defer func() { *ufocache.SketchLeastPerShard = true }()
	shared := ratio()
	t.Logf("p3 at 25000 entries in 16 shards: %.2f%% with 4K keys of sketch per shard, %.2f%% with 4K over all", 100*per, 100*shared)
	if per < shared+0.005 {
		t.Errorf("room per shard gains %.2f pp, want at least 0.5", 100*(per-shared))
	}
}

// shiftStream is n requests, Zipf(s) over keys ranks, whose popularity
// moves every phase requests: at each new phase, the ranks r with
// r%10 < 7 pass to keys never seen before (a new day's news), the others
// keep theirs.
func shiftStream(n, keys, phase int, s float64, seed uint64) []uint64 {
	cdf := make([]float64, keys)
	sum := 0.0
	for r := range cdf {
		sum += math.Pow(float64(r+1), -s)
		cdf[r] = sum
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	out := make([]uint64, n)
	for i := range out {
		r, _ := slices.BinarySearch(cdf, rng.Float64()*sum)
		k := uint64(r)
		if p := i / phase; r%10 < 7 {
			k += uint64(p * keys)
		}
		out[i] = k
	}
	return out
}

// A working set that moves, moves in every shard at once, but each of n
// shards sees only 1/n of the ghost hits that call for a larger small
// queue, and with each shard's momentum its own, the small queues grew
// too slowly to follow it: here 4 and 16 shards got 0.81 and 2.62 pp
// fewer hits than one shard (perf's shift workload at 50k entries, 32
// shards: 65.1% against one shard's 67.2). With small's momentum pooled
// (fifo.Pool), 0.28 and 0.34; the shards must come within 0.5 pp of one
// shard.
func TestShiftedWorkingSetWithManyShards(t *testing.T) {
	const capacity, keys = 16384, 65536
	stream := shiftStream(10*3*capacity, keys, 3*capacity, 0.9, 7)
	ratio := func(shards int) float64 {
		sum := 0.0
		for s := range uint64(4) {
			sum += hitRatio(ufocache.Must(ufocache.WithRawHasher(ufocache.Options[uint64, uint64]{
				MaxWeight: capacity,
				Shards:    shards,
				Hasher:    func(k uint64) uint64 { return mix64(k, s+1) },
			})), stream)
		}
		return sum / 4
	}
	one := ratio(1)
	for _, n := range []int{4, 16} {
		got := ratio(n)
		t.Logf("%d shards: %.2f%%, one shard %.2f%% (4 seeds)", n, 100*got, 100*one)
		if d := 100 * (one - got); d > 0.5 {
			t.Errorf("%d shards got %.2f pp fewer hits than one shard, want at most 0.5", n, d)
		}
	}
}

// Clear forgets everything the policy learned, in every shard and in what
// the shards pool (the small share's momentum): a cleared cache replays a
// trace hit for hit as a new one with the same hash does. Here 40,000
// requests of sprite (whose working set moves, so the share and its
// momentum move) into 4 shards of 500 entries.
func TestClearedCacheReplaysAsANewOne(t *testing.T) {
	keys := tracetest.LIRS(t, "testdata/traces/lirs/sprite.trace.gz")[:40_000]
	opts := ufocache.WithRawHasher(ufocache.Options[uint64, uint64]{
		MaxWeight: 2000,
		Shards:    4,
		Hasher:    func(k uint64) uint64 { return mix64(k, 1) },
	})
	used := ufocache.Must(opts)
	first := replayHits(used, keys)
	used.Clear()
	again, fresh := replayHits(used, keys), replayHits(ufocache.Must(opts), keys)
	if !slices.Equal(first, fresh) {
		t.Fatal("setup: two new caches with the same hash replayed the trace differently")
	}
	for i := range keys {
		if again[i] != fresh[i] {
			t.Fatalf("after Clear, request %d (key %d) was a hit: %v, in a new cache: %v", i, keys[i], again[i], fresh[i])
		}
	}
}

// 2_pools draws half its requests from 100 keys and half uniformly from
// 9,839 others (each of those a Poisson count of about 5 over the trace):
// no order of the uniform half's requests says which of its keys come
// back. The best a cache of C entries that keeps its bound can do online
// is to hold the hot pool and any C-100 of the rest, so a cache told which
// keys are hot (its oracle here: the hot keys pinned once seen, LRU over
// the rest) is the ceiling, whatever the policy. A peer above it held
// more than C entries: otter v1 held about 2,125 at 2000 and got 59.85%,
// this oracle's figure at 2,125 (59.93), where at 2000 it gets 59.33.
// ufocache must hold the hot pool and every unit of its room: within
// 0.15 pp of the oracle at each capacity of the suite, under 4 hash seeds.
func TestTwoPoolsIsLevelWithItsCeiling(t *testing.T) {
	keys := tracetest.LIRS(t, "testdata/traces/lirs/2_pools.trace.gz")
	count := map[uint64]int{}
	for _, k := range keys {
		count[k]++
	}
	hot := map[uint64]bool{}
	for k, n := range count {
		if n > 100 { // hot keys come about 500 times, the others at most 14
			hot[k] = true
		}
	}
	if len(hot) != 100 {
		t.Fatalf("%d hot keys, want the trace's 100", len(hot))
	}
	for _, capacity := range []int{500, 1000, 2000, 4000} {
		seen := map[uint64]bool{}
		rest := newRefLRU(capacity - len(hot))
		ceiling := 0
		for _, k := range keys {
			if hot[k] {
				if seen[k] {
					ceiling++
				}
				seen[k] = true
			} else if rest.hit(k) {
				ceiling++
			}
		}
		var ours int
		for s := range uint64(4) {
			seed := s*0x9e3779b97f4a7c15 + 41
			c := ufocache.Must(ufocache.WithRawHasher(ufocache.Options[uint64, uint64]{
				MaxWeight: int64(capacity),
				Hasher:    func(k uint64) uint64 { return mix64(k, seed) },
			}))
			for _, hit := range replayHits(c, keys) {
				if hit {
					ours++
				}
			}
		}
		r, o := 100*float64(ours)/float64(4*len(keys)), 100*float64(ceiling)/float64(len(keys))
		t.Logf("%d entries: %.2f%%, ceiling %.2f%% (%+.2f pp), 4 seeds", capacity, r, o, r-o)
		if r < o-0.15 {
			t.Errorf("%d entries: hit ratio %.2f%%, %.2f pp under the ceiling of %.2f%%", capacity, r, o-r, o)
		}
	}
}
