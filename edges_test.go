package ufocache_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// Edges that a mutation review of cache.go found untested: each test
// fails on the mutant named in its comment's promise.

// Expired entries never gain frequency from reads (package doc), and a
// stale read does not raise the entry's frequency (GetStale's doc): no
// read of an expired entry, whichever call makes it, touches it.
// TestFreshReadsCountAndTouch checks the other half: a fresh read does.
func TestExpiredReadsDoNotTouch(t *testing.T) {
	for name, read := range map[string]func(c *ufocache.Cache[int, int]) bool{
		"Get":           func(c *ufocache.Cache[int, int]) bool { _, ok := c.Get(1); return !ok },
		"GetWithStatus": func(c *ufocache.Cache[int, int]) bool { _, st := c.GetWithStatus(1); return st == ufocache.Expired },
		"GetStale": func(c *ufocache.Cache[int, int]) bool {
			_, stale, ok := c.GetStale(1)
			return ok && stale == time.Second
		},
		"MultiGet": func(c *ufocache.Cache[int, int]) bool { return c.MultiGet([]int{1})[0].Status == ufocache.Expired },
		"All": func(c *ufocache.Cache[int, int]) bool {
			for range c.All() {
				return false
			}
			return true
		},
	} {
		clk := &fakeClock{}
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 10, Clock: clk, KeepExpired: time.Hour})
		c.SetWithTTL(1, 1, time.Second)
		clk.Advance(2 * time.Second)
		for range 3 { // the 2-bit frequency saturates at 3
			if !read(c) {
				t.Fatalf("%s: the expired entry was not read as expired", name)
			}
		}
		if f := c.FreqOf(1); f != 0 {
			t.Errorf("%s: reads of an expired entry raised its frequency to %d, want 0", name, f)
		}
	}
}

// A panic in OnEvict reaches DeleteExpired's caller only once the call's
// work is done and every other entry it removed has been reported
// (Options.OnEvict): a panic in the first shard's report must not leave
// the other shards' expired entries in place, nor their reports unmade.
// TestPanickingOnEvictLosesNoReport checks the same of Clear and Set.
func TestDeleteExpiredWithAPanickingOnEvictFinishesEveryShard(t *testing.T) {
	const shards, n = 8, 400
	var calls atomic.Int64
	var panics atomic.Bool
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[int, int]{
		MaxWeight: 1024, Shards: shards, Clock: clk,
		OnEvict: func(_, _ int, r ufocache.EvictReason) {
			if r != ufocache.EvictExpired {
				t.Errorf("reason %v, want EvictExpired", r)
			}
			calls.Add(1)
			if panics.Load() {
				panic(errCallback)
			}
		},
	})
	used := map[int]bool{}
	for i := range n {
		c.SetWithTTL(i, i, time.Second)
		used[c.ShardOf(i)] = true
	}
	if len(used) != shards || c.Len() != n {
		t.Fatalf("%d entries over %d shards; want %d over %d", c.Len(), len(used), n, shards)
	}
	clk.Advance(time.Second)
	panics.Store(true)
	mustPanicWithCallback(t, "DeleteExpired", c.DeleteExpired)
	panics.Store(false)
	if c.Len() != 0 || calls.Load() != n {
		t.Errorf("DeleteExpired with a panicking OnEvict: Len %d, %d reports; want 0, %d", c.Len(), calls.Load(), n)
	}
	if st := c.Stats(); st.Expirations != n {
		t.Errorf("Expirations %d, want %d", st.Expirations, n)
	}
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
}

// A Clock must never go backwards (Clock's doc), but one that does must
// not wreck expiry: a reading before the cache's first one counts as that
// first one (Cache.now's doc), so a TTL set then still runs from there.
// Taken as an unsigned difference without that clamp, the reading wraps
// to the end of time, the expiry overflows to "never", and the entry
// outlives its TTL forever.
func TestClockGoingBackBeforeItsFirstReading(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(int64(time.Hour))
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 10, Clock: clk})
	clk.t.Store(int64(time.Hour) - 1) // one nanosecond before the first reading
	if !c.SetWithTTL("k", 1, time.Second) {
		t.Fatal("SetWithTTL declined")
	}
	if _, st := c.GetWithStatus("k"); st != ufocache.Hit {
		t.Fatalf("just set: %v, want hit", st)
	}
	clk.t.Store(int64(time.Hour) + int64(time.Second) + 1) // past any reading of the TTL
	if v, st := c.GetWithStatus("k"); st != ufocache.Expired {
		t.Fatalf("a second after a TTL of 1s: %v %v, want expired", v, st)
	}
}
