package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// DeleteFunc removes every entry it chose that was present throughout the
// call, while other goroutines churn the same shards (inserts that grow
// the index, deletes that make it rebuild, replacements, SetIfAbsent,
// Compute, SetMaxWeight), and reports exactly the entries it removed:
// each one del was shown and chose, and as many as it returns.
func TestDeleteFuncUnderChurnRemovesWhatStayedAndReportsWhatItRemoved(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(ufocache.Options[int, int]) ufocache.Options[int, int]
	}{
		{"default", func(o ufocache.Options[int, int]) ufocache.Options[int, int] { return o }},
		{"colliding hasher", func(o ufocache.Options[int, int]) ufocache.Options[int, int] {
			o.Hasher = func(k int) uint64 { return uint64(k % 5) } // many keys per hash
			return o
		}},
		{"raw colliding hasher", func(o ufocache.Options[int, int]) ufocache.Options[int, int] {
			o.Hasher = func(k int) uint64 { return uint64(k%3) << 32 } // one home group, few tags
			return ufocache.WithRawHasher(o)
		}},
		{"weighted", func(o ufocache.Options[int, int]) ufocache.Options[int, int] {
			o.Weigher = func(_ int, v int) uint32 { return uint32(v%3 + 1) }
			return o
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const stable = 300   // keys [0, stable): set before, touched by no one else
			const churn = 300    // keys [10000, 10000+churn): churned
			var deleted sync.Map // key -> value reported EvictDeleted for a stable key
			var dups atomic.Int64
			c := ufocache.Must(tc.opts(ufocache.Options[int, int]{MaxWeight: 1 << 20, Shards: 2,
				OnEvict: func(k, v int, r ufocache.EvictReason) {
					if r == ufocache.EvictDeleted && k < stable {
						if _, loaded := deleted.LoadOrStore(k, v); loaded {
							dups.Add(1)
						}
					}
				}}))
			for k := range stable {
				c.Set(k, k)
			}
			var stop atomic.Bool
			var ops atomic.Int64 // the churn's progress, which del waits for
			var wg sync.WaitGroup
			defer func() { stop.Store(true); wg.Wait() }()
			for g := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; !stop.Load(); i++ {
						ops.Add(1)
						k := 10000 + (i*7+g)%churn
						switch i % 6 {
						case 0, 1:
							c.Set(k, i)
						case 2:
							c.Delete(k)
						case 3:
							c.SetIfAbsent(k, i, 0)
						case 4:
							c.Compute(k, func(old int, found bool) (int, time.Duration, ufocache.ComputeOp) {
								return old + 1, 0, ufocache.ComputeStore
							})
						case 5:
							if g == 0 && i%60 == 5 {
								c.SetMaxWeight(1<<20 - int64(i%2)) // rebuilds the index, evicts nothing
							} else {
								c.Set(20000+i%1500, i) // grows the index
								c.Delete(20000 + (i+750)%1500)
							}
						}
					}
				}()
			}
			for round := range 20 {
				if round > 0 {
					for k := range stable {
						c.Set(k, round*stable+k)
					}
				}
				deleted.Clear()
				var shown sync.Map
				n := c.DeleteFunc(func(k, v int) bool {
					if k%32 == 0 {
						for start := ops.Load(); ops.Load() < start+4; {
							runtime.Gosched() // let the churn run while DeleteFunc is under way
						}
					}
					if k < stable && k%2 == 0 {
						shown.Store(k, v)
						return true
					}
					return false
				})
				if dups.Load() != 0 {
					t.Fatalf("round %d: %d entries reported deleted twice", round, dups.Load())
				}
				heard := 0
				deleted.Range(func(k, v any) bool {
					heard++
					if sv, ok := shown.Load(k); !ok || sv != v {
						t.Errorf("round %d: OnEvict heard %v=%v deleted, which del did not choose", round, k, v)
					}
					return true
				})
				if n != heard || n != stable/2 {
					t.Fatalf("round %d: DeleteFunc returned %d, OnEvict heard %d; want %d", round, n, heard, stable/2)
				}
				for k := range stable {
					if _, ok := c.Get(k); ok == (k%2 == 0) {
						t.Fatalf("round %d: Get(%d) found %v after the purge", round, k, ok)
					}
				}
			}
			if err := ufocache.CheckInvariantsOf(c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// An OnEvict that panics costs no removal its report: DeleteFunc goes on
// over every shard, OnEvict hears of every entry it removed, and the
// first panic reaches the caller afterwards.
func TestDeleteFuncOnEvictPanicReportsEveryRemoval(t *testing.T) {
	heard := map[int]bool{}
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000, Shards: 4,
		OnEvict: func(k, _ int, r ufocache.EvictReason) {
			heard[k] = true
			if r == ufocache.EvictDeleted {
				panic(fmt.Sprint("evict ", len(heard)))
			}
		}})
	for k := range 300 {
		c.Set(k, k)
	}
	func() {
		defer func() {
			if r := recover(); r != "evict 1" {
				t.Errorf("DeleteFunc panicked with %v, want OnEvict's first panic", r)
			}
		}()
		c.DeleteFunc(func(k, _ int) bool { return k%3 != 0 })
		t.Error("DeleteFunc returned")
	}()
	if len(heard) != 200 || c.Len() != 100 {
		t.Errorf("OnEvict heard %d removals, Len %d; want 200 and 100", len(heard), c.Len())
	}
	for k := range 300 {
		if _, ok := c.Get(k); ok != (k%3 == 0) {
			t.Errorf("Get(%d) found %v", k, ok)
		}
	}
	if err := ufocache.CheckInvariantsOf(c); err != nil {
		t.Fatal(err)
	}
}

// del may call the cache: a DeleteFunc, a Clear or a SetMaxWeight of its
// own, nested in the call, removes entries that the outer call then finds
// gone and neither removes again nor counts, and the cache's accounting
// holds (Len and Weight of a weighted cache).
func TestDeleteFuncNestedCallsCountEachRemovalOnce(t *testing.T) {
	for _, nested := range []string{"DeleteFunc", "Clear", "SetMaxWeight"} {
		t.Run(nested, func(t *testing.T) {
			heard := 0
			c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1 << 16, Shards: 2,
				Weigher: func(_, v int) uint32 { return uint32(v%4 + 1) },
				OnEvict: func(_, _ int, r ufocache.EvictReason) {
					if r == ufocache.EvictDeleted {
						heard++
					}
				}})
			for k := range 400 {
				c.Set(k, k)
			}
			inner, calls := 0, 0
			n := c.DeleteFunc(func(k, _ int) bool {
				if calls++; calls == 50 {
					switch nested {
					case "DeleteFunc":
						inner = c.DeleteFunc(func(k, _ int) bool { return k%2 == 0 })
					case "Clear":
						c.Clear()
					case "SetMaxWeight":
						if err := c.SetMaxWeight(2); err != nil { // evicts all but at most a unit per shard
							t.Fatal(err)
						}
					}
				}
				return k%2 == 0
			})
			if nested == "DeleteFunc" && n+inner != 200 {
				t.Errorf("outer removed %d, inner %d; want 200 in all", n, inner)
			}
			if nested != "SetMaxWeight" && heard != n+inner && nested != "Clear" {
				t.Errorf("OnEvict heard %d deletions; DeleteFuncs returned %d", heard, n+inner)
			}
			for k := range 400 {
				if _, ok := c.Get(k); ok && k%2 == 0 {
					t.Errorf("Get(%d) found it after the purge", k)
				}
			}
			var w int64
			l := 0
			for _, v := range c.All() {
				w += int64(v%4 + 1)
				l++
			}
			if st := c.Stats(); st.Len != l || st.Weight != w || c.Len() != l {
				t.Errorf("Stats Len %d Weight %d, Len() %d; entries %d weighing %d", st.Len, st.Weight, c.Len(), l, w)
			}
			if err := ufocache.CheckInvariantsOf(c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A purge through DeleteFunc leaves no value of a removed key for an
// RTCache's GetStale to serve when the origin fails, the expired ones
// that Invalidate kept included.
func TestDeleteFuncLeavesNothingForGetStale(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, Shards: 1, Clock: clk, KeepExpired: time.Hour})
	down := errors.New("origin down")
	rt, err := ufocache.NewRTCache(c, func(context.Context, string) (int, time.Duration, error) { return 0, 0, down },
		ufocache.RTOptions[string, int]{})
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"a/1", "a/2", "b/1"} {
		rt.Set(k, i, 0)
	}
	rt.Invalidate("a/1")
	rt.Invalidate("b/1")
	clk.Advance(time.Second)
	if n := c.DeleteFunc(func(k string, _ int) bool { return k[0] == 'a' }); n != 2 {
		t.Errorf("DeleteFunc removed %d, want 2", n)
	}
	for _, k := range []string{"a/1", "a/2"} {
		if v, st, err := rt.GetStale(context.Background(), k, time.Hour); !errors.Is(err, down) {
			t.Errorf("GetStale(%s) = %v %v %v after the purge; want the origin's error", k, v, st, err)
		}
	}
	if v, st, err := rt.GetStale(context.Background(), "b/1", time.Hour); err != nil || v != 2 || st.Status != ufocache.Stale {
		t.Errorf("GetStale(b/1) = %v %v %v; want its stale value", v, st, err)
	}
}

// A panic in del goes on to the caller, in place of an OnEvict panic
// raised before it, as DeleteFunc's doc says; the removals before it were
// all reported.
func TestDeleteFuncDelPanicOutranksAnEarlierOnEvictPanic(t *testing.T) {
	heard := 0
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000, Shards: 2,
		OnEvict: func(int, int, ufocache.EvictReason) { heard++; panic("evict") }})
	k0, in0 := -1, 0 // a key of shard 0, and how many it holds
	for k := 0; k0 < 0 || in0 == k; k++ {
		c.Set(k, k)
		if c.ShardOf(k) == 0 {
			k0, in0 = k, in0+1
		}
	}
	defer func() {
		if r := recover(); r != "del" {
			t.Errorf("DeleteFunc panicked with %v, want del's", r)
		}
		if _, ok := c.Get(k0); ok || heard != in0 {
			t.Errorf("Get(%d) found %v, OnEvict heard %d; want shard 0's removal done and heard", k0, ok, heard)
		}
	}()
	c.DeleteFunc(func(k, _ int) bool {
		if c.ShardOf(k) == 1 {
			panic("del")
		}
		return true
	})
}

// DeleteFuncs running at once, with overlapping choices, while expiring
// entries come and DeleteExpired removes them, remove every chosen entry
// (those kept for stale reads included) once: their counts add up to the
// deletions OnEvict hears.
func TestDeleteFuncConcurrentCallsRemoveEachEntryOnce(t *testing.T) {
	for round := range 30 {
		clk := &fakeClock{}
		clk.t.Store(1)
		var deletedEv atomic.Int64
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1 << 16, Shards: 2, Clock: clk, KeepExpired: time.Hour,
			OnEvict: func(k, v int, r ufocache.EvictReason) {
				if r == ufocache.EvictDeleted {
					deletedEv.Add(1)
				}
			}})
		for k := range 2000 {
			if k%3 == 0 {
				c.SetWithTTL(k, k, time.Second)
			} else {
				c.Set(k, k)
			}
		}
		var wg sync.WaitGroup
		var total atomic.Int64
		var stop atomic.Bool
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				total.Add(int64(c.DeleteFunc(func(k, _ int) bool { return (k+g)%2 == 0 || k%5 == 0 })))
			}()
		}
		var wg2 sync.WaitGroup
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			for i := 0; !stop.Load(); i++ {
				k := 2000 + i%3000
				c.SetWithTTL(k, k, time.Second)
				clk.Advance(time.Millisecond)
				c.DeleteExpired()
				c.Set(i%2000+5000, 1)
			}
		}()
		wg.Wait()
		stop.Store(true)
		wg2.Wait()
		if total.Load() != deletedEv.Load() {
			t.Fatalf("round %d: DeleteFuncs returned %d, OnEvict heard %d deleted", round, total.Load(), deletedEv.Load())
		}
		for k := range 2000 {
			if _, _, ok := c.GetStale(k); ok {
				t.Fatalf("round %d: %d survived", round, k)
			}
		}
		if err := ufocache.CheckInvariantsOf(c); err != nil {
			t.Fatal(err)
		}
	}
}
