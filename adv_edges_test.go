package ufocache_test

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

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
