package main

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ufocache/ufocache/perf/peers"
)

// Tests of the parts of the throughput and latency suites' run loops that a
// mutation review found no test held: the interleaving of the caches and
// the median of the repetitions, the percentile columns of the latency
// tables, and the keys of the Sets into a full cache. Every expected value
// is worked out by hand in the comments; none is copied from a run.

// tpCell runs the caches interleaved, every cache once per repetition and
// each repetition starting one cache further on: A B C, then B C A, then
// C A B, so that each cache runs once first, once second and once last.
// A A A B B B C C C would put all of a cache's runs at one time of the
// cell, and A B C three times over would measure the same cache first
// every time. With two caches and three repetitions the rotation wraps:
// A B, B A, A B.
func TestTpCellInterleavesTheCaches(t *testing.T) {
	for _, c := range []struct {
		caches []string
		reps   int
		want   []string
	}{
		{[]string{"A", "B", "C"}, 3, []string{"A", "B", "C", "B", "C", "A", "C", "A", "B"}},
		{[]string{"A", "B"}, 3, []string{"A", "B", "B", "A", "A", "B"}},
	} {
		var order []string
		tpCell(c.caches, c.reps, func(name string) (float64, int64, int64) {
			order = append(order, name)
			return 1, 0, 0
		})
		if !slices.Equal(order, c.want) {
			t.Errorf("%d caches, %d repetitions: ran %v, want %v", len(c.caches), c.reps, order, c.want)
		}
	}
}

// tpCell keeps each cache's median over its repetitions, chosen here so
// that no other pick gives it:
//
//	A, 3 reps:  9  2  1     median 2; first 9, last 1, mean 4, max 9, min 1
//	B, 3 reps: 30 50 40     median 40; of A's and B's runs pooled 19.5
//	A, 4 reps:  4  1 10  2  median (2+4)/2 = 3; first 4, last 2, mean 4.25,
//	                        max 10, min 1, the lower and upper middles 2, 4
//
// The share of Sets that stored nothing is over all the runs together: A's
// runs made 10, 20 and 30 Sets of which 1, 2 and 7 stored nothing, 10 of
// 60, not the mean of the runs' shares (0.1+0.1+0.2333)/3 = 0.1444. B made
// no Set: a share of 0, not NaN.
func TestTpCellTakesTheMedianOfTheRepetitions(t *testing.T) {
	type runResult struct {
		perSec         float64
		sets, unstored int64
	}
	for _, c := range []struct {
		runs         map[string][]runResult // in the order of each cache's runs
		wantMedians  map[string]float64
		wantUnstored map[string]float64
	}{
		{
			runs: map[string][]runResult{
				"A": {{9, 10, 1}, {2, 20, 2}, {1, 30, 7}},
				"B": {{30, 0, 0}, {50, 0, 0}, {40, 0, 0}},
			},
			wantMedians:  map[string]float64{"A": 2, "B": 40},
			wantUnstored: map[string]float64{"A": 10.0 / 60, "B": 0},
		},
		{
			runs:         map[string][]runResult{"A": {{4, 0, 0}, {1, 0, 0}, {10, 0, 0}, {2, 0, 0}}},
			wantMedians:  map[string]float64{"A": 3},
			wantUnstored: map[string]float64{"A": 0},
		},
	} {
		var caches []string
		for name := range c.runs {
			caches = append(caches, name)
		}
		slices.Sort(caches)
		reps := len(c.runs[caches[0]])
		calls := map[string]int{}
		medians, unstored := tpCell(caches, reps, func(name string) (float64, int64, int64) {
			r := c.runs[name][calls[name]]
			calls[name]++
			return r.perSec, r.sets, r.unstored
		})
		if !maps.Equal(medians, c.wantMedians) {
			t.Errorf("runs %v: medians %v, want %v", c.runs, medians, c.wantMedians)
		}
		for name, want := range c.wantUnstored {
			if got, ok := unstored[name]; !ok || math.Abs(got-want) > 1e-12 {
				t.Errorf("runs %v: %s stored nothing in a share %v of its Sets, want %v", c.runs, name, got, want)
			}
		}
	}
}

// The latency tables' columns, on a sample of 1 to 1000 ns (sorted) from
// 32,000 timed operations whose slowest took 5µs. By the nearest rank the
// q-quantile of n = 1000 samples is the ceil(q·n)-th: p50 the 500th (500ns),
// p99 the 990th (990ns), p99.9 the 999th (999ns), p99.99 the 1000th (1µs).
// Each column is looked up by its heading, so that a row whose cells are
// out of step with getCols or setCols fails too.
func TestLatencyRowsColumns(t *testing.T) {
	lr := latencyResult{timed: 32_000, max: 5000}
	for i := range 1000 {
		lr.sorted = append(lr.sorted, int64(i+1))
	}
	want := map[string]string{
		"cache": "x", "samples": "32000", "Sets": "32000",
		"p50": "500ns", "p99": "990ns", "p99.9": "999ns", "p99.99": "1.0µs", "max": "5.0µs",
	}
	for _, c := range []struct {
		table string
		cols  []string
		row   []string
	}{
		{"Get", getCols, getRow("x", lr)},
		{"Set", setCols, setRow("x", lr)},
	} {
		if len(c.row) != len(c.cols) {
			t.Errorf("%s row %v for the columns %v", c.table, c.row, c.cols)
			continue
		}
		for i, col := range c.cols {
			if c.row[i] != want[col] {
				t.Errorf("%s table, column %s: %q, want %q (row %v)", c.table, col, c.row[i], want[col], c.row)
			}
		}
	}
}

// fifoCache holds at most bound keys and evicts the oldest for a new one.
// It counts the Sets that evicted a key, and the Sets of a key it already
// held (which evict nothing).
type fifoCache struct {
	mapCache[uint64]
	bound                 int
	order                 []uint64 // oldest first
	evictions, overwrites int
}

func (c *fifoCache) Set(k, v uint64) bool {
	if _, ok := c.m[k]; ok {
		c.overwrites++
	} else {
		if len(c.m) == c.bound {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
			c.evictions++
		}
		c.order = append(c.order, k)
	}
	c.m[k] = v
	return true
}

// setTail's full cache holds 4096 entries with -quick, prefilled, and its
// timed Sets are of keys it never held: each evicts one and none
// overwrites a key, so its evictions are the Sets the full table counts.
// Sets from a key below 4096 would overwrite prefilled keys, which a cache
// does without evicting, and a prefill of fewer keys, or a cache of more
// room, would leave the first timed Sets nothing to evict. The filling
// table is the other cache's run: 1<<14 = 16384 Sets of new keys into
// room for all of them, none evicting. Either table built from the other
// run shows the other's count.
func TestSetTailTimesNewKeys(t *testing.T) {
	var made []*fifoCache
	newCache := func(_ string, capacity int) peers.Cache[uint64, uint64] {
		c := &fifoCache{mapCache: *newMapCache[uint64](), bound: capacity}
		made = append(made, c)
		return c
	}
	r := &report{}
	setTail(&config{quick: true}, r, []string{"fifo"}, 2*time.Millisecond, newCache)
	if len(made) != 2 || made[0].bound != 4096 || made[1].bound != 1<<14 {
		t.Fatalf("%d caches made, want one of 4096 entries, then one of 16384", len(made))
	}
	full, fill := made[0], made[1]
	fullSets := cells(t, section(t, r, "### Into a full"), "fifo")[1]
	if full.evictions == 0 || full.overwrites != 0 || fullSets != strconv.Itoa(full.evictions) || len(full.m) != 4096 {
		t.Errorf("into the full cache: the table counts %s Sets; %d evicted a key, %d overwrote one, %d keys held; "+
			"want every Set counted evicting, none overwriting, 4096 held", fullSets, full.evictions, full.overwrites, len(full.m))
	}
	fillSets := cells(t, section(t, r, "### Into an empty"), "fifo")[1]
	if fillSets != "16384" || fill.evictions != 0 || fill.overwrites != 0 || len(fill.m) != 1<<14 {
		t.Errorf("into the empty cache: the table counts %s Sets; %d evicted a key, %d overwrote one, %d keys held; "+
			"want 16384 Sets, none evicting or overwriting, 16384 held", fillSets, fill.evictions, fill.overwrites, len(fill.m))
	}
}

// setKeysCache keeps the first 512 keys it is asked to Set. Only one
// goroutine Sets, and the test reads the keys after the run has waited for
// it.
type setKeysCache struct {
	nopCache
	keys []uint64
}

func (c *setKeysCache) Set(k, _ uint64) bool {
	if len(c.keys) < 512 {
		c.keys = append(c.keys, k)
	}
	return true
}

// drive and latencyRun Set the keys of the stream's writes, writeBit
// cleared, in the stream's order: over a stream of keys 0..999 in which the
// odd ones are writes, one goroutine's first 1024 operations (its first
// turn of 1024 between checks of the stop flag) make 512 Sets, of keys 1,
// 3, ..., 999 and then 1, 3, ..., 23 (the j-th Set is of key (2j+1) mod
// 1000). Were they Sets of other keys, say the hottest one, which the
// prefill stored, the throughput suite would time overwrites where its
// stream asks for new keys.
func TestRunsSetTheStreamsWriteKeys(t *testing.T) {
	ops := make([]uint64, 1000)
	for i := range ops {
		ops[i] = uint64(i)
		if i%2 == 1 {
			ops[i] |= writeBit
		}
	}
	for _, run := range []struct {
		name string
		f    func(c *setKeysCache)
	}{
		{"drive", func(c *setKeysCache) { drive(c, ops, 1, 10*time.Millisecond) }},
		{"latencyRun", func(c *setKeysCache) { latencyRun(c, ops, 1, 10*time.Millisecond) }},
	} {
		c := &setKeysCache{}
		run.f(c)
		if len(c.keys) < 512 {
			t.Errorf("%s: %d Sets, want at least 512", run.name, len(c.keys))
			continue
		}
		for j, k := range c.keys {
			if want := uint64(2*j+1) % 1000; k != want {
				t.Errorf("%s: Set %d was of key %d, want %d", run.name, j, k, want)
				break
			}
		}
	}
}

// In the memory-bound configuration the prefill fills the cache, and a
// share of the stream's writes are of keys it did not store: Sets that
// evict. That share is the Zipf mass beyond the prefilled hottest keys.
// With H(n) = Σ_{k≤n} k^-1.01 ≈ ζ(1.01) − 100·n^-0.01 and ζ(1.01) ≈
// 100.577: H(4096) ≈ 8.56, H(50,000) ≈ 10.83, so 1 − 8.56/10.83 ≈ 21% for
// -quick's 4096 of 50,000 keys; H(65,536) ≈ 11.08, H(1,000,000) ≈ 13.48,
// so about 18% for 65,536 of 1,000,000. A stream or a prefill that wrote
// only keys the cache holds would time no eviction at all.
func TestMemoryBoundWritesIncludeNewKeys(t *testing.T) {
	for _, c := range []struct {
		quick bool
		want  float64
	}{{true, 0.21}, {false, 0.18}} {
		if !c.quick && testing.Short() {
			continue // builds the full streams: about a second
		}
		configs := throughputConfigs(c.quick)
		i := slices.IndexFunc(configs, func(tc tpConfig) bool { return tc.name == "memory-bound" })
		if i < 0 {
			t.Fatalf("quick %v: no memory-bound configuration", c.quick)
		}
		tc := configs[i]
		held := newMapCache[uint64]()
		tc.load.prefill(held)
		if len(held.m) != tc.load.capacity {
			t.Fatalf("quick %v: the prefill stored %d keys, want the capacity %d", c.quick, len(held.m), tc.load.capacity)
		}
		for _, mix := range tc.mixes {
			if mix == 100 {
				continue // no write
			}
			writes, fresh := 0, 0
			for _, k := range tc.load.opStream(tc.ops, mix, 42) {
				if k&writeBit == 0 {
					continue
				}
				writes++
				if _, ok := held.m[k&^writeBit]; !ok {
					fresh++
				}
			}
			if share := float64(fresh) / float64(writes); math.Abs(share-c.want) > 0.03 {
				t.Errorf("quick %v, %d%% reads: %d of %d writes (%.3f) are of keys the prefill did not store, want about %.2f",
					c.quick, mix, fresh, writes, share, c.want)
			}
		}
	}
}
