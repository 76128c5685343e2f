package ufocache_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ufocache/ufocache"
)

// SetMaxWeight: a smaller bound evicts down to it (reported as capacity
// evictions) and hands the index's room back; a larger one lets the cache
// fill to it; bad bounds are errors that change nothing.
func TestSetMaxWeightShrinksAndGrows(t *testing.T) {
	var evicted atomic.Int64
	resizing := false
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 40_000, OnEvict: func(_, _ int, r ufocache.EvictReason) {
		if resizing && r != ufocache.EvictCapacity {
			t.Errorf("SetMaxWeight evicted with %v, want EvictCapacity", r)
		}
		evicted.Add(1)
	}})
	n := ufocache.ShardCountOf(c)
	slots := func() (s int) {
		for i := range n {
			s += ufocache.IndexSlotsOf(c, i)
		}
		return s
	}
	for k := range 40_000 {
		c.Set(k, k)
	}
	held, full := c.Len(), slots()
	evicted.Store(0) // the fill's
	for _, w := range []int64{0, -1, int64(n) - 1} {
		if err := c.SetMaxWeight(w); err == nil {
			t.Errorf("SetMaxWeight(%d): no error", w)
		}
	}
	if c.MaxWeight() != 40_000 || c.Len() != held || evicted.Load() != 0 {
		t.Fatalf("after refused bounds: MaxWeight %d, Len %d (was %d), %d evicted", c.MaxWeight(), c.Len(), held, evicted.Load())
	}

	resizing = true
	if err := c.SetMaxWeight(1000); err != nil {
		t.Fatal(err)
	}
	resizing = false
	if c.MaxWeight() != 1000 || c.Weight() > 1000 || c.Len() < 1000-n {
		t.Fatalf("after SetMaxWeight(1000): MaxWeight %d, Weight %d, Len %d", c.MaxWeight(), c.Weight(), c.Len())
	}
	if got := int64(held - c.Len()); evicted.Load() != got || got == 0 {
		t.Errorf("%d evictions reported, %d entries left", evicted.Load(), got)
	}
	if s := slots(); s > full/8 {
		t.Errorf("index slots %d after the shrink, %d before: its room was not handed back", s, full)
	}
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
	for k := range 40_000 { // still a working cache of 1000
		c.Set(k, k)
		if v, ok := c.Get(k); !ok || v != k {
			t.Fatalf("Get(%d) = %d, %v right after its Set", k, v, ok)
		}
	}
	if c.Weight() > 1000 {
		t.Fatalf("Weight %d above the new bound", c.Weight())
	}

	if err := c.SetMaxWeight(80_000); err != nil {
		t.Fatal(err)
	}
	for k := range 80_000 {
		c.Set(k, k)
	}
	// Each shard holds its share, so the shards the keys fill first evict
	// while others have room: with 32 shards of 2,500, 98.89-99.42% of the
	// bound over 60 caches, as the keys' spread follows each cache's random
	// hash seed (one CI run held 98.99%, under the 99% this asked for).
	if c.Len() < 80_000*97/100 || c.Weight() > 80_000 {
		t.Fatalf("grown to 80,000: Len %d, Weight %d", c.Len(), c.Weight())
	}
	if s := slots(); s < 80_000 {
		t.Errorf("index slots %d for %d entries", s, c.Len())
	}
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
}

// A weighted cache's index, which has no bound of its own, also hands its
// room back when a smaller bound leaves it mostly empty.
func TestSetMaxWeightShrinksAWeightedIndex(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 40_000, Weigher: func(int, int) uint32 { return 1 }})
	for k := range 40_000 {
		c.Set(k, k)
	}
	slots := func() (s int) {
		for i := range ufocache.ShardCountOf(c) {
			s += ufocache.IndexSlotsOf(c, i)
		}
		return s
	}
	full := slots()
	if err := c.SetMaxWeight(1000); err != nil {
		t.Fatal(err)
	}
	if s := slots(); s > full/8 || c.Weight() > 1000 {
		t.Errorf("after SetMaxWeight(1000): %d index slots (%d before), Weight %d", s, full, c.Weight())
	}
	for k := range 40_000 {
		c.Set(k, k)
	}
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
}

// A value heavier than the new share, MaxWeight/Shards, is declined from
// then on; one stored before stays while it fits.
func TestSetMaxWeightLowersTheHeaviestValue(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, Shards: 1, Weigher: func(_ string, v int) uint32 { return uint32(v) }})
	if !c.Set("a", 40) {
		t.Fatal("a value of 40 declined under a bound of 100")
	}
	if err := c.SetMaxWeight(50); err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Get("a"); !ok || v != 40 {
		t.Errorf("the stored value of 40 is gone after SetMaxWeight(50): %d, %v", v, ok)
	}
	if c.Set("b", 51) {
		t.Error("a value of 51 stored under a bound of 50")
	}
	if err := c.SetMaxWeight(30); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("a"); ok || c.Weight() > 30 {
		t.Errorf("a value of 40 stays under a bound of 30 (Weight %d)", c.Weight())
	}
}

// Writers run on while the bound moves up and down: once a SetMaxWeight
// has returned, the cache holds at most its bound until the next one
// starts, and the accounting agrees with the queues at the end.
func TestSetMaxWeightConcurrentWithWriters(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 8192, Shards: 4})
	var stop atomic.Bool
	var writes atomic.Int64
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for !stop.Load() {
				k := r.IntN(20_000)
				c.Set(k, k)
				writes.Add(1)
				if v, ok := c.Get(k); ok && v != k {
					t.Errorf("Get(%d) = %d", k, v)
					return
				}
			}
		})
	}
	for i := range 200 {
		w := int64([]int{64, 8192, 1000, 20_000, 4}[i%5])
		if err := c.SetMaxWeight(w); err != nil {
			t.Fatal(err)
		}
		for from := writes.Load(); writes.Load() < from+200; {
			if got := c.Weight(); got > w {
				t.Fatalf("Weight %d after SetMaxWeight(%d) returned", got, w)
			}
			runtime.Gosched()
		}
	}
	stop.Store(true)
	wg.Wait()
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
}

// The policy keeps working at the new size: on Zipf traffic, a cache
// shrunk from 20,000 entries to 2,000 hits, once the traffic has turned
// over several times its size, about as often as one made at 2,000, and
// one grown from 2,000 to 20,000 about as often as one made at 20,000.
func TestSetMaxWeightKeepsThePolicyWorking(t *testing.T) {
	const keys = 200_000
	replay := func(c *ufocache.Cache[uint64, uint64], seed uint64, n int) (hits int) {
		z := rand.NewZipf(rand.New(rand.NewPCG(seed, 3)), 1.05, 1, keys-1)
		for range n {
			k := z.Uint64()
			if _, ok := c.Get(k); ok {
				hits++
			} else {
				c.Set(k, k)
			}
		}
		return hits
	}
	for _, tc := range []struct{ from, to int64 }{{20_000, 2000}, {2000, 20_000}} {
		resized := ufocache.Must(ufocache.Options[uint64, uint64]{MaxWeight: tc.from})
		replay(resized, 1, 200_000)
		if err := resized.SetMaxWeight(tc.to); err != nil {
			t.Fatal(err)
		}
		replay(resized, 4, 600_000) // at the new size
		fresh := ufocache.Must(ufocache.Options[uint64, uint64]{MaxWeight: tc.to})
		replay(fresh, 1, 200_000)
		replay(fresh, 4, 600_000)
		const n = 400_000
		got, want := float64(replay(resized, 2, n))/n, float64(replay(fresh, 2, n))/n
		t.Logf("%d -> %d entries: %.2f%% hits, a cache made at %d: %.2f%%", tc.from, tc.to, 100*got, tc.to, 100*want)
		if got < want-0.01 {
			t.Errorf("%d -> %d entries: %.2f%% hits, more than a point under a cache made at %d (%.2f%%)", tc.from, tc.to, 100*got, tc.to, 100*want)
		}
	}
}

// Clear and SetMaxWeight run at once (an admin flush during a config
// reload): no data race (a user-eyes review's -race run found Clear
// reading the index's least size and the sketch's outside the shard's
// lock while Resize wrote them), and the cache ends consistent, at the
// last bound.
func TestSetMaxWeightConcurrentWithClear(t *testing.T) {
	for _, weigher := range []func(int, int) uint32{nil, func(int, int) uint32 { return 1 }} {
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 4096, Shards: 2, Weigher: weigher})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := range 200 {
				if err := c.SetMaxWeight(int64(64 + (i+1)%2*4000)); err != nil { // the last: 64
					t.Error(err)
				}
			}
		})
		wg.Go(func() {
			for i := range 200 {
				for k := range 50 {
					c.Set(i*50+k, k)
				}
				c.Clear()
			}
		})
		wg.Wait()
		for k := range 10_000 {
			c.Set(k, k)
		}
		if err := ufocache.CheckInvariantsOf(c); err != nil {
			t.Fatal(err)
		}
		if c.Weight() > 64 || c.MaxWeight() != 64 {
			t.Fatalf("at the last bound, 64: Weight %d, MaxWeight %d", c.Weight(), c.MaxWeight())
		}
	}
}

// Shards reports the shard count, given or chosen, and MaxWeight/Shards is
// the heaviest value stored, before and after SetMaxWeight.
func TestShardsGivesTheHeaviestValue(t *testing.T) {
	if n := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100, Shards: 4}).Shards(); n != 4 {
		t.Errorf("Shards() = %d with Options.Shards 4", n)
	}
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1 << 20, Weigher: func(_, v int) uint32 { return uint32(v) }})
	n := c.Shards()
	if n < 1 || n&(n-1) != 0 {
		t.Fatalf("Shards() = %d, want a power of two", n)
	}
	for _, w := range []int64{1 << 20, 1 << 16} {
		if err := c.SetMaxWeight(w); err != nil {
			t.Fatal(err)
		}
		heaviest := int(c.MaxWeight()) / c.Shards()
		if !c.Set(1, heaviest) || c.Set(2, heaviest+1) {
			t.Errorf("bound %d, %d shards: a value of %d not stored, or one of %d stored", w, n, heaviest, heaviest+1)
		}
	}
}
