package ufocache_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

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
