package ufocache_test

import (
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

type evictRec struct {
	k      string
	v      int
	reason ufocache.EvictReason
}

// A Weigher that panics for the value Compute's function stores panics
// out of Compute with the shard's lock released and nothing changed.
func TestComputeWeigherPanicLeavesTheCacheAsItWas(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, Shards: 1,
		Weigher: func(_ string, v int) uint32 {
			if v < 0 {
				panic("bad weight")
			}
			return uint32(v)
		}})
	c.Set("k", 3)
	func() {
		defer func() {
			if r := recover(); r != "bad weight" {
				t.Errorf("recovered %v, want the Weigher's panic", r)
			}
		}()
		c.Compute("k", func(int, bool) (int, time.Duration, ufocache.ComputeOp) {
			return -1, 0, ufocache.ComputeStore
		})
	}()
	if v, ok := c.Get("k"); v != 3 || !ok {
		t.Errorf("Get after the panic = %d, %v; want 3, true", v, ok)
	}
	if w := c.Weight(); w != 3 {
		t.Errorf("Weight %d, want 3", w)
	}
	done := make(chan struct{})
	go func() { defer close(done); c.Set("k", 4) }()
	<-done // a lock left held would hang here
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Error(err)
	}
}

// A store changes the key's weight; one too heavy for a shard is declined
// and removes the old value, which OnEvict hears of as replaced, and the
// declined one as rejected; Stats count a Set and a Rejection.
func TestComputeStoreReweighsAndDeclines(t *testing.T) {
	var mu sync.Mutex
	var evs []evictRec
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 10, Shards: 1,
		Weigher: func(_ string, v int) uint32 { return uint32(v) },
		OnEvict: func(k string, v int, r ufocache.EvictReason) {
			mu.Lock()
			defer mu.Unlock()
			evs = append(evs, evictRec{k, v, r})
		}})
	store := func(v int) func(int, bool) (int, time.Duration, ufocache.ComputeOp) {
		return func(int, bool) (int, time.Duration, ufocache.ComputeOp) { return v, 0, ufocache.ComputeStore }
	}
	c.Compute("k", store(2))
	c.Compute("k", store(7))
	if w := c.Weight(); w != 7 {
		t.Errorf("Weight %d after restoring heavier, want 7", w)
	}
	if v, ok := c.Compute("k", store(11)); v != 0 || ok {
		t.Errorf("Compute storing too heavy = %d, %v; want 0, false", v, ok)
	}
	if _, ok := c.Get("k"); ok || c.Weight() != 0 || c.Len() != 0 {
		t.Errorf("the old value stayed after a declined store (weight %d, len %d)", c.Weight(), c.Len())
	}
	want := []evictRec{{"k", 2, ufocache.EvictReplaced}, {"k", 7, ufocache.EvictReplaced}, {"k", 11, ufocache.EvictRejected}}
	if len(evs) != len(want) {
		t.Fatalf("OnEvict heard %v, want %v", evs, want)
	}
	for i := range want {
		if evs[i] != want[i] {
			t.Errorf("OnEvict heard %v, want %v", evs, want)
			break
		}
	}
	st := c.Stats()
	if st.Sets != 2 || st.Rejections != 1 {
		t.Errorf("stats %+v, want 2 Sets, 1 Rejection", st)
	}
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Error(err)
	}
}

// An OnEvict that calls Compute (of the key whose value Compute just
// replaced) runs after the lock is released: no deadlock.
func TestComputeOnEvictMayCallCompute(t *testing.T) {
	var c *ufocache.Cache[string, int]
	calls := 0
	c = ufocache.Must(ufocache.Options[string, int]{MaxWeight: 10, Shards: 1,
		OnEvict: func(k string, v int, r ufocache.EvictReason) {
			if r == ufocache.EvictReplaced && k == "k" {
				calls++
				c.Compute("seen", func(old int, _ bool) (int, time.Duration, ufocache.ComputeOp) {
					return old + v, 0, ufocache.ComputeStore
				})
				c.Compute("k", func(old int, _ bool) (int, time.Duration, ufocache.ComputeOp) {
					return 0, 0, ufocache.ComputeKeep
				})
			}
		}})
	c.Set("k", 1)
	c.Compute("k", incr2)
	c.Compute("k", incr2)
	if v, _ := c.Get("seen"); v != 1+2 || calls != 2 {
		t.Errorf("seen %d after %d calls, want 3 after 2", v, calls)
	}
}

func incr2(old int, _ bool) (int, time.Duration, ufocache.ComputeOp) {
	return old + 1, 0, ufocache.ComputeStore
}

// A key not equal to itself is never found: Compute's function sees
// nothing, a store is declined, and the cache stays consistent.
func TestComputeOfANaNKey(t *testing.T) {
	var evs []ufocache.EvictReason
	c := ufocache.Must(ufocache.Options[float64, int]{MaxWeight: 10, Shards: 1,
		OnEvict: func(_ float64, _ int, r ufocache.EvictReason) { evs = append(evs, r) }})
	nan := math.NaN()
	for _, op := range []ufocache.ComputeOp{ufocache.ComputeStore, ufocache.ComputeKeep, ufocache.ComputeRemove} {
		v, ok := c.Compute(nan, func(old int, found bool) (int, time.Duration, ufocache.ComputeOp) {
			if found {
				t.Errorf("found %d for NaN", old)
			}
			return 5, 0, op
		})
		if v != 0 || ok {
			t.Errorf("Compute(NaN, op %d) = %d, %v; want 0, false", op, v, ok)
		}
	}
	if c.Len() != 0 || c.Stats().Rejections != 1 || len(evs) != 1 || evs[0] != ufocache.EvictRejected {
		t.Errorf("len %d, stats %+v, OnEvict %v", c.Len(), c.Stats(), evs)
	}
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Error(err)
	}
}

// On an injected clock: an expired value counts as absent, Keep leaves it
// for GetStale (KeepExpired), Remove removes it (EvictDeleted), and a
// store's TTL is counted from the store.
func TestComputeOfAnExpiredValue(t *testing.T) {
	clk := &fakeClock{}
	clk.Advance(time.Second)
	var evs []evictRec
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 10, Shards: 1, Clock: clk, KeepExpired: time.Hour,
		OnEvict: func(k string, v int, r ufocache.EvictReason) { evs = append(evs, evictRec{k, v, r}) }})
	c.SetWithTTL("k", 1, time.Minute)
	clk.Advance(time.Minute)
	seen := false
	v, ok := c.Compute("k", func(old int, found bool) (int, time.Duration, ufocache.ComputeOp) {
		seen = found
		return 9, 0, ufocache.ComputeKeep
	})
	if seen || v != 0 || ok {
		t.Errorf("Compute of a value expired at this instant: found %v, returned %d, %v", seen, v, ok)
	}
	if v, stale, ok := c.GetStale("k"); v != 1 || !ok || stale != 1 {
		t.Errorf("GetStale after Keep = %d, %v, %v; want 1 stale 1ns", v, stale, ok)
	}
	v, ok = c.Compute("k", func(old int, found bool) (int, time.Duration, ufocache.ComputeOp) {
		return old + 1, time.Minute, ufocache.ComputeStore
	})
	if v != 1 || !ok {
		t.Errorf("store over an expired value = %d, %v; want 1, true (old counted as 0)", v, ok)
	}
	clk.Advance(time.Minute - 1)
	if _, ttl, ok := c.GetWithTTL("k"); !ok || ttl != 1 {
		t.Errorf("GetWithTTL = %v, %v; want 1ns left", ttl, ok)
	}
	clk.Advance(1)
	c.Compute("k", func(int, bool) (int, time.Duration, ufocache.ComputeOp) { return 0, 0, ufocache.ComputeRemove })
	if _, _, ok := c.GetStale("k"); ok {
		t.Error("GetStale found the value Remove removed")
	}
	want := []evictRec{{"k", 1, ufocache.EvictReplaced}, {"k", 1, ufocache.EvictDeleted}}
	if len(evs) != 2 || evs[0] != want[0] || evs[1] != want[1] {
		t.Errorf("OnEvict heard %v, want %v", evs, want)
	}
}

// Computes run concurrently with SetMaxWeight, Clear and DeleteExpired
// keep the cache's invariants and its bound.
func TestComputeConcurrentWithResizeClearAndDeleteExpired(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 400, Shards: 4, Clock: clk,
		Weigher: func(_ int, v int) uint32 { return uint32(v%13 + 1) }})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				op := ufocache.ComputeOp(i % 4) // Keep, Store, Remove, Update
				c.Compute((g*7+i)%97, func(old int, _ bool) (int, time.Duration, ufocache.ComputeOp) {
					return old + i, time.Duration(i%5) * time.Millisecond, op
				})
			}
		})
	}
	for i := range 300 {
		switch i % 4 {
		case 0:
			c.SetMaxWeight(int64(40 + i%400))
		case 1:
			c.Clear()
		case 2:
			clk.Advance(time.Millisecond)
			c.DeleteExpired()
		case 3:
			if err := ufocache.CheckInvariantsOf(c); err != nil {
				t.Error(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Error(err)
	}
	if c.Weight() > c.MaxWeight() {
		t.Errorf("weight %d above %d", c.Weight(), c.MaxWeight())
	}
}

// A function that calls runtime.Goexit ends Compute's goroutine with the
// shard's lock released and nothing changed, as a panic does.
func TestComputeGoexitLeavesTheCacheAsItWas(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 10, Shards: 1})
	c.Set("k", 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Compute("k", func(int, bool) (int, time.Duration, ufocache.ComputeOp) {
			runtime.Goexit()
			return 2, 0, ufocache.ComputeStore
		})
	}()
	<-done
	if v, ok := c.Compute("k", incr2); v != 2 || !ok {
		t.Errorf("Compute after a Goexit = %d, %v; want 2, true", v, ok)
	}
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Error(err)
	}
}
