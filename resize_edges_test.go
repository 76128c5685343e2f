package ufocache_test

// SetMaxWeight's edges and its adversarial review's tests (each kills a
// mutant of the resize, or failed on a bug it found).

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// OnEvict is documented to run outside any lock; a resize from inside it
// (a callback that lowers the bound when memory is tight) must not hang.
func TestAdvSetMaxWeightFromOnEvict(t *testing.T) {
	var c *ufocache.Cache[int, int]
	var armed atomic.Bool
	c = ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000, Shards: 2, OnEvict: func(_, _ int, r ufocache.EvictReason) {
		if r == ufocache.EvictCapacity && armed.CompareAndSwap(true, false) {
			c.SetMaxWeight(100)
		}
	}})
	for k := range 1000 {
		c.Set(k, k)
	}
	armed.Store(true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.SetMaxWeight(500)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("SetMaxWeight called from OnEvict during a SetMaxWeight: deadlock")
	}
}

// After SetMaxWeight(101) over 2 shards, a value of 51 is declined
// whichever shard its key lands in, though the first shard holds 51
// units: the limit is w/Shards, as New's is. (Mutant: each shard's limit
// its own capacity survived every test.)
func TestAdvSetMaxWeightLimitIsTheShareForEveryShard(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000, Shards: 2, Weigher: func(_, v int) uint32 { return uint32(v) }})
	if err := c.SetMaxWeight(101); err != nil {
		t.Fatal(err)
	}
	for k := range 64 {
		if c.Set(k, 51) {
			t.Fatalf("key %d (shard %d): a value of 51 stored under SetMaxWeight(101) over 2 shards", k, c.ShardOf(k))
		}
	}
}

// Concurrent SetMaxWeight calls are applied one at a time: once both
// return, every shard has the bound of the call MaxWeight reports, and a
// full cache holds that bound. A shrink's OnEvict, run between shards,
// lets the other call start meanwhile. (Mutant: no c.resizing lock, which
// let a grow pass the shrink and left the shards with a mix of both
// calls' shares, survived every test.)
func TestAdvConcurrentSetMaxWeightCallsLeaveOneBound(t *testing.T) {
	var once sync.Once
	var armed atomic.Bool
	other := make(chan struct{})
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1 << 15, Shards: 64, OnEvict: func(_, _ int, r ufocache.EvictReason) {
		if r == ufocache.EvictCapacity && armed.Load() {
			once.Do(func() {
				close(other)
				time.Sleep(50 * time.Millisecond)
			})
		}
	}})
	for k := range 1 << 15 {
		c.Set(k, k)
	}
	armed.Store(true)
	var wg sync.WaitGroup
	wg.Go(func() { c.SetMaxWeight(1 << 10) })
	wg.Go(func() {
		<-other
		c.SetMaxWeight(1 << 15)
	})
	wg.Wait()
	for k := range 1 << 16 {
		c.Set(k, k)
	}
	if w := c.MaxWeight(); c.Weight() > w || c.Weight() < w-64 {
		t.Fatalf("full cache weighs %d with MaxWeight %d: its shards' bounds disagree", c.Weight(), w)
	}
}

// A Set that read the old limit before it took the shard's lock, and got
// the lock only after a SetMaxWeight lowered the limit, is declined: the
// limit is checked again under the lock. (Mutant: store without that
// check kept a value heavier than its shard, Weight 60 above a bound of
// 50.)
func TestAdvSetDeclinesAValueThatWaitedOutAResize(t *testing.T) {
	for round := range 10 {
		c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, Shards: 1, Weigher: func(_ string, v int) uint32 { return uint32(v) }})
		c.Set("a", 10)
		unlock := c.LockShard(0)
		var wg sync.WaitGroup
		wg.Go(func() { c.SetMaxWeight(50) }) // waits for the shard's lock first
		time.Sleep(20 * time.Millisecond)
		wg.Go(func() { c.Set("h", 60) }) // reads the limit of 100, then waits
		time.Sleep(20 * time.Millisecond)
		unlock()
		wg.Wait()
		if _, ok := c.Peek("h"); ok || c.Weight() > 50 {
			t.Fatalf("round %d: a value of 60 kept under a bound of 50 (Weight %d)", round, c.Weight())
		}
		if err := ufocache.CheckInvariantsOf(c); err != nil {
			t.Fatal(err)
		}
	}
}

// SetMaxWeight's doc: "A smaller bound rebuilds an index with more than
// twice the room it needs at once ..., which returns that memory". A
// weighted cache presized by InitialCapacity keeps, after a shrink to 100
// (at most 100 entries, each weighing at least 1), and after Clear, the
// index New made for 40,000, a hint New would now refuse (above
// MaxWeight). A unit cache's shrinks (index.bound lowers its minSlot; a
// weighted one's keeps New's).
func TestAdvSetMaxWeightShrinksAPresizedWeightedIndex(t *testing.T) {
	for _, weighted := range []bool{false, true} {
		opts := ufocache.Options[int, int]{MaxWeight: 40_000, Shards: 1, InitialCapacity: 40_000}
		if weighted {
			opts.Weigher = func(int, int) uint32 { return 1 }
		}
		c := ufocache.Must(opts)
		for k := range 40_000 {
			c.Set(k, k)
		}
		if err := c.SetMaxWeight(100); err != nil {
			t.Fatal(err)
		}
		opts.MaxWeight, opts.InitialCapacity = 100, 100
		want := ufocache.IndexSlotsOf(ufocache.Must(opts), 0)
		if got := ufocache.IndexSlotsOf(c, 0); got > 2*want {
			t.Errorf("weighted %v: after SetMaxWeight(100), %d index slots for at most 100 entries (a cache made at 100 has %d)", weighted, got, want)
		}
		c.Clear()
		if got := ufocache.IndexSlotsOf(c, 0); got > 2*want {
			t.Errorf("weighted %v: Clear after SetMaxWeight(100): %d index slots (a cache made at 100 has %d)", weighted, got, want)
		}
	}
}

// Clear after a shrink restores the new sizes: a cache presized by
// InitialCapacity and shrunk keeps, through a Clear, an index sized for
// its new bound, not New's hint. (Mutant: bound not lowering minSlot.)
func TestAdvClearAfterAShrinkKeepsTheSmallIndex(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 40_000, Shards: 1, InitialCapacity: 40_000})
	for k := range 40_000 {
		c.Set(k, k)
	}
	if err := c.SetMaxWeight(100); err != nil {
		t.Fatal(err)
	}
	fresh := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100, Shards: 1, InitialCapacity: 100})
	want := ufocache.IndexSlotsOf(fresh, 0)
	if got := ufocache.IndexSlotsOf(c, 0); got > 2*want {
		t.Errorf("after SetMaxWeight(100): %d index slots, a cache made at 100 has %d", got, want)
	}
	c.Clear()
	if got := ufocache.IndexSlotsOf(c, 0); got > 2*want {
		t.Errorf("Clear after SetMaxWeight(100): %d index slots, a cache made at 100 has %d", got, want)
	}
}

// A unit cache's sketches, resized, are sized as New sizes them for the
// new bound, and Clear keeps that size. (Mutant: Resize leaving the
// sketch at its old size.)
func TestAdvSetMaxWeightSizesTheSketchAsNew(t *testing.T) {
	for _, tc := range []struct{ from, to int64 }{{40_000, 1000}, {1000, 40_000}, {64, 2}} {
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: tc.from, Shards: 2})
		for k := range int(tc.from) {
			c.Set(k, k)
		}
		if err := c.SetMaxWeight(tc.to); err != nil {
			t.Fatal(err)
		}
		fresh := ufocache.Must(ufocache.Options[int, int]{MaxWeight: tc.to, Shards: 2})
		for i := range 2 {
			if got, want := ufocache.SketchKeysOf(c, i), ufocache.SketchKeysOf(fresh, i); got != want {
				t.Errorf("%d -> %d: shard %d's sketch has room for %d keys, a cache made at %d %d", tc.from, tc.to, i, got, tc.to, want)
			}
		}
		c.Clear()
		for i := range 2 {
			if got, want := ufocache.SketchKeysOf(c, i), ufocache.SketchKeysOf(fresh, i); got != want {
				t.Errorf("%d -> %d, then Clear: shard %d's sketch has room for %d keys, a cache made at %d %d", tc.from, tc.to, i, got, tc.to, want)
			}
		}
	}
}

// An index four times larger than its new bound needs is rebuilt at once
// (more than twice the room it needs). (Mutant: the threshold at 8x.)
func TestAdvSetMaxWeightShrinksAQuarterFullIndex(t *testing.T) {
	for _, weighted := range []bool{false, true} {
		opts := ufocache.Options[int, int]{MaxWeight: 16_000, Shards: 1}
		if weighted {
			opts.Weigher = func(int, int) uint32 { return 1 }
		}
		c := ufocache.Must(opts)
		for k := range 16_000 {
			c.Set(k, k)
		}
		opts.MaxWeight = 4000
		fresh := ufocache.Must(opts)
		for k := range 4000 {
			fresh.Set(k, k)
		}
		if err := c.SetMaxWeight(4000); err != nil {
			t.Fatal(err)
		}
		if got, want := ufocache.IndexSlotsOf(c, 0), ufocache.IndexSlotsOf(fresh, 0); got > 2*want {
			t.Errorf("weighted %v: 16,000 -> 4000: %d index slots, a cache filled at 4000 has %d", weighted, got, want)
		}
	}
}

// consistent checks Len/Weight against All and the shard invariants.
func advConsistent(t *testing.T, c *ufocache.Cache[int, int], bound int64) {
	t.Helper()
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
	n := 0
	for range c.All() {
		n++
	}
	if n != c.Len() {
		t.Errorf("All yields %d, Len %d", n, c.Len())
	}
	if c.Weight() > bound {
		t.Errorf("Weight %d > bound %d", c.Weight(), bound)
	}
}

func TestAdvSetMaxWeightEdges(t *testing.T) {
	for _, weighted := range []bool{false, true} {
		for _, shards := range []int{1, 4} {
			for _, ic := range []int{0, 15_000} {
				var evicted, capEv atomic.Int64
				opts := ufocache.Options[int, int]{MaxWeight: 20_000, Shards: shards, InitialCapacity: ic,
					OnEvict: func(_, _ int, r ufocache.EvictReason) {
						evicted.Add(1)
						if r == ufocache.EvictCapacity {
							capEv.Add(1)
						}
					}}
				if weighted {
					opts.Weigher = func(k, _ int) uint32 { return uint32(k%7 + 1) }
				}
				c := ufocache.Must(opts)
				fill := func() {
					for k := range 30_000 {
						c.Set(k, k)
					}
				}
				fill()
				for _, w := range []int64{int64(shards), 1, math.MaxInt64, 3, int64(shards) * 7, math.MaxInt64 - 1, 100, int64(shards) + 1, 20_000} {
					before := c.Len()
					evicted.Store(0)
					err := c.SetMaxWeight(w)
					if w < int64(shards) {
						if err == nil {
							t.Fatalf("SetMaxWeight(%d) with %d shards: no error", w, shards)
						}
						continue
					}
					if err != nil {
						t.Fatalf("SetMaxWeight(%d): %v", w, err)
					}
					if got := int64(before - c.Len()); got != evicted.Load() {
						t.Errorf("w=%d weighted=%v shards=%d ic=%d: %d entries left, %d reported", w, weighted, shards, ic, got, evicted.Load())
					}
					advConsistent(t, c, w)
					fill()
					advConsistent(t, c, w)
					c.Clear()
					advConsistent(t, c, w)
					fill()
					advConsistent(t, c, w)
				}
			}
		}
	}
}

// SetMaxWeight concurrent with itself, All, DeleteExpired and writers.
func TestAdvSetMaxWeightConcurrentMix(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 8192, Shards: 4, Weigher: func(k, _ int) uint32 { return uint32(k%5 + 1) }})
	var wg sync.WaitGroup
	var stop atomic.Bool
	for g := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := (i*7919 + g) % 30000
				if k%3 == 0 {
					c.SetWithTTL(k, k, time.Millisecond)
				} else {
					c.Set(k, k)
				}
				if i%5000 == 0 {
					c.DeleteExpired()
					for kk, v := range c.All() {
						if kk != v {
							t.Errorf("All: %d=%d", kk, v)
						}
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			c.SetMaxWeight(int64(4 + i%9000))
		}
	})
	for i := range 300 {
		c.SetMaxWeight(int64([]int{4, 8192, 100, 50_000}[i%4]))
	}
	stop.Store(true)
	wg.Wait()
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
	if c.Weight() > c.MaxWeight() {
		t.Errorf("Weight %d > MaxWeight %d", c.Weight(), c.MaxWeight())
	}
}
