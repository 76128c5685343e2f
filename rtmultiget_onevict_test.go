package ufocache

import (
	"context"
	"testing"
	"time"
)

// An OnEvict panic that escapes MultiGet (here from the store of a load
// run on a MultiGet worker, without a BatchLoader) still leaves the stats
// counting every key once: the miss that loaded as a Miss, its repeat as
// a LockHit, as a BatchLoader's panic leaves them (TestRTMaxBatchPanicStats).
func TestRTMultiGetOnEvictPanicCountsTheRepeats(t *testing.T) {
	c := Must(Options[int, int]{MaxWeight: 1, OnEvict: func(k, _ int, r EvictReason) {
		if k == 100 {
			panic("OnEvict")
		}
	}})
	c.Set(100, 0)
	rt, err := NewRTCache(c, func(context.Context, int) (int, time.Duration, error) { return 1, 0, nil }, RTOptions[int, int]{MaxMultiLoads: 1})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if r := recover(); r != "OnEvict" {
				t.Errorf("MultiGet panicked with %v, want OnEvict's panic", r)
			}
		}()
		rt.MultiGet(context.Background(), []int{1, 1})
	}()
	if st := rt.Stats(); st.Misses != 1 || st.LockHits != 1 || st.Loads != 1 {
		t.Errorf("stats %+v, want 1 Miss, 1 LockHit, 1 Load", st)
	}
	if rt.InFlight() != 0 {
		t.Errorf("%d keys held", rt.InFlight())
	}
}
