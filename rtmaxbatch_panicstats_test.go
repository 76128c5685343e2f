package ufocache

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// A part's panic under MaxBatch: every part still runs, and the stats
// count each key once: the six misses given to the BatchLoader as
// Misses and Loads, the repeat as a LockHit, one Batch per part.
func TestRTMaxBatchPanicStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(Options[int, int]{MaxWeight: 1000})
		rt, err := NewRTCache(c, func(context.Context, int) (int, time.Duration, error) { return 0, 0, nil }, RTOptions[int, int]{
			MaxBatch: 2, MaxMultiLoads: 1,
			BatchLoader: func(_ context.Context, keys []int) ([]Loaded[int], error) {
				if keys[0] == 2 {
					panic("part")
				}
				return make([]Loaded[int], len(keys)), nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() { recover() }()
			rt.MultiGet(context.Background(), []int{0, 1, 2, 3, 4, 5, 0})
			t.Error("MultiGet did not panic")
		}()
		synctest.Wait()
		if st := rt.Stats(); st.Misses != 6 || st.LockHits != 1 || st.Batches != 3 || st.Loads != 6 || st.LoadErrors != 2 {
			t.Errorf("stats %+v", st)
		}
		if rt.InFlight() != 0 {
			t.Errorf("%d keys held", rt.InFlight())
		}
	})
}
