package main

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// nopCache answers every Get at once and allocates nothing: the fastest
// cache there could be.
type nopCache struct{}

func (nopCache) Name() string              { return "nop" }
func (nopCache) Get(uint64) (uint64, bool) { return 0, false }
func (nopCache) Set(uint64, uint64) bool   { return true }
func (nopCache) Len() int                  { return 0 }
func (nopCache) Close()                    {}

// The latency loop's own allocations must not depend on how fast the
// cache is. Its samples grew by append, so a fast cache's run allocated
// about five times its samples (xsync-mapof: 25 MB in 300ms, one GC cycle
// while the Gets were timed) and a slow one's nothing (golang-lru: 1 MB,
// no GC): the harness itself put a GC, its stop-the-world pauses and mark
// workers, under the timed Gets of the fastest caches only. Bounded by the
// fixed buffers (reservoir and sorted copy), whatever the duration.
func TestLatencyRunAllocatesAFixedBudget(t *testing.T) {
	ops := workload{keys: 1000, capacity: 100, s: 1.01}.opStream(1<<12, 100, 1)
	const goroutines = 2
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	r := latencyRun(nopCache{}, ops, goroutines, 300*time.Millisecond)
	runtime.ReadMemStats(&b)
	budget := uint64(2*goroutines*maxLatencySamples*8 + 1<<20)
	got := b.TotalAlloc - a.TotalAlloc
	t.Logf("%d timed Gets kept as %d samples, %d bytes allocated (budget %d)", r.timed, len(r.sorted), got, budget)
	if got > budget {
		t.Errorf("latencyRun allocated %d bytes for %d timed Gets; a fixed budget is %d", got, r.timed, budget)
	}
	if len(r.sorted) == 0 || r.timed < len(r.sorted) || len(r.sorted) > goroutines*maxLatencySamples || r.max < r.sorted[len(r.sorted)-1] {
		t.Errorf("timed %d, kept %d, max %d", r.timed, len(r.sorted), r.max)
	}
}

// setTailRun times every Set it makes: n of them when n > 0, keys first,
// first+1, ... (a cache that counts its Sets sees each once), and for
// about d otherwise; its percentiles come from all of them, sorted.
func TestSetTailRunTimesEverySet(t *testing.T) {
	c := &countingCache{}
	r := setTailRun(c, 100, 5000, 0)
	if r.timed != 5000 || len(r.sorted) != 5000 || c.sets != 5000 || c.last != 100+4999 {
		t.Fatalf("timed %d, kept %d, the cache saw %d Sets, the last of key %d; want 5000 of keys 100-5099", r.timed, len(r.sorted), c.sets, c.last)
	}
	for i := 1; i < len(r.sorted); i++ {
		if r.sorted[i] < r.sorted[i-1] {
			t.Fatal("samples not sorted")
		}
	}
	if r.max != r.sorted[len(r.sorted)-1] {
		t.Errorf("max %d, the slowest sample %d", r.max, r.sorted[len(r.sorted)-1])
	}
	c = &countingCache{}
	start := time.Now()
	r = setTailRun(c, 0, 0, 50*time.Millisecond)
	if took := time.Since(start); took < 50*time.Millisecond || r.timed == 0 || r.timed != c.sets {
		t.Errorf("a run of 50ms took %v and timed %d Sets of the %d made", took, r.timed, c.sets)
	}
}

// countingCache counts its Sets and keeps the last key.
type countingCache struct {
	nopCache
	sets int
	last uint64
}

func (c *countingCache) Set(k, _ uint64) bool { c.sets++; c.last = k; return true }

// decliningCache declines every other Set, as ristretto does when its
// buffer is full.
type decliningCache struct {
	nopCache
	n int
}

func (c *decliningCache) Set(uint64, uint64) bool { c.n++; return c.n%2 == 0 }

// drive counts the Sets of its stream and, apart, those that stored
// nothing: the throughput report shows that share beside the Mops/s, so
// that a cache whose Sets are dropped is not taken for a fast one.
func TestDriveCountsSetsThatStoreNothing(t *testing.T) {
	ops := workload{keys: 1000, capacity: 100, s: 1.01}.opStream(1<<12, 50, 1)
	c := &decliningCache{}
	perSec, sets, unstored := drive(c, ops, 1, 10*time.Millisecond)
	if perSec <= 0 || sets == 0 || sets != int64(c.n) {
		t.Fatalf("%.0f ops/s, %d Sets counted of the %d made", perSec, sets, c.n)
	}
	if declined := (sets + 1) / 2; unstored != declined { // the first, third, ...
		t.Errorf("%d of %d Sets counted as storing nothing; the cache declined %d", unstored, sets, declined)
	}
}

// reservoir keeps a uniform sample of every duration it is offered, not
// the latest ones: of 100,000 values in order, a sample of 1000 holds
// about a quarter from each quarter of the run (seeded, so the test is
// exact from run to run).
func TestReservoirIsUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	samples := make([]int64, 0, 1000)
	const n = 100_000
	for i := 1; i <= n; i++ {
		samples = reservoir(samples, int64(i), i, rng)
	}
	if len(samples) != 1000 {
		t.Fatalf("%d samples, want 1000", len(samples))
	}
	var quarters [4]int
	for _, x := range samples {
		quarters[(x-1)*4/n]++
	}
	for q, c := range quarters {
		if c < 200 || c > 300 {
			t.Errorf("quarter %d of the run holds %d of 1000 samples, want about 250 (%v)", q+1, c, quarters)
		}
	}
}

// opStream flags (100 - readPct)% of its operations as writes: none at
// 100% reads, every one at 0%, about a quarter at 75%.
func TestOpStreamMix(t *testing.T) {
	w := workload{keys: 1000, capacity: 100, s: 1.01}
	writes := func(readPct int) int {
		n := 0
		for _, k := range w.opStream(1<<14, readPct, 3) {
			if k&writeBit != 0 {
				n++
			}
		}
		return n
	}
	if got := writes(100); got != 0 {
		t.Errorf("100%% reads: %d writes", got)
	}
	if got := writes(0); got != 1<<14 {
		t.Errorf("0%% reads: %d writes of %d", got, 1<<14)
	}
	if got := writes(75); got < 1<<12-300 || got > 1<<12+300 {
		t.Errorf("75%% reads: %d writes of %d, want about %d", got, 1<<14, 1<<12)
	}
}

// gettingCache counts its Gets, from any goroutine.
type gettingCache struct {
	nopCache
	gets atomic.Int64
}

func (c *gettingCache) Get(uint64) (uint64, bool) { c.gets.Add(1); return 0, false }

// latencyRun's count of timed Gets is over every goroutine: each times
// the first of every 1<<sampleShift of its Gets, so the count is the
// Gets over 1<<sampleShift, rounded up per goroutine.
func TestLatencyRunCountsEveryGoroutinesTimedGets(t *testing.T) {
	ops := workload{keys: 1000, capacity: 100, s: 1.01}.opStream(1<<12, 100, 1)
	c := &gettingCache{}
	const goroutines = 4
	r := latencyRun(c, ops, goroutines, 20*time.Millisecond)
	gets := c.gets.Load()
	if lo := gets >> sampleShift; int64(r.timed) < lo || int64(r.timed) > lo+goroutines {
		t.Errorf("%d Gets timed of %d made, want %d to %d", r.timed, gets, lo, lo+goroutines)
	}
}
