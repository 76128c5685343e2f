package ufocache

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func newMaxBatchRT(t *testing.T, o *batchOrigin, opts RTOptions[int, int]) *RTCache[int, int] {
	t.Helper()
	c := Must(Options[int, int]{MaxWeight: 1000})
	opts.BatchLoader = o.loadBatch
	rt, err := NewRTCache(c, o.load, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// MaxBatch splits a MultiGet's misses into BatchLoader calls of at most
// that many keys, in order, every key once, each part stored as it
// returns.
func TestRTMaxBatchSplitsTheMisses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &batchOrigin{}
		rt := newMaxBatchRT(t, o, RTOptions[int, int]{MaxBatch: 100})
		keys := keysUpTo(250)
		res, err := rt.MultiGet(context.Background(), keys)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Value != i || r.Status != Miss {
				t.Fatalf("key %d: %+v, want a miss loaded", i, r)
			}
		}
		_, batches := o.calls()
		slices.SortFunc(batches, func(a, b []int) int { return a[0] - b[0] })
		if len(batches) != 3 || !slices.Equal(batches[0], keys[:100]) || !slices.Equal(batches[1], keys[100:200]) || !slices.Equal(batches[2], keys[200:]) {
			t.Fatalf("batches of %v keys, want parts [0,100) [100,200) [200,250)", lens(batches))
		}
		if st := rt.Stats(); st.Batches != 3 || st.Loads != 250 || st.Misses != 250 {
			t.Errorf("stats %+v, want 3 batches, 250 loads, 250 misses", st)
		}
		if v, ok := rt.Cache().Get(249); !ok || v != 249 {
			t.Errorf("key 249 not stored: %d, %v", v, ok)
		}
	})
}

// The parts run at most MaxMultiLoads at once.
func TestRTMaxBatchPartsRunMaxMultiLoadsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &batchOrigin{}
		gate := make(chan struct{})
		o.setGate(gate)
		rt := newMaxBatchRT(t, o, RTOptions[int, int]{MaxBatch: 10, MaxMultiLoads: 2})
		done := make(chan struct{})
		go func() {
			rt.MultiGet(context.Background(), keysUpTo(50))
			close(done)
		}()
		synctest.Wait()
		if _, batches := o.calls(); len(batches) != 2 {
			t.Fatalf("%d BatchLoader calls at once, want MaxMultiLoads = 2", len(batches))
		}
		o.setGate(nil)
		close(gate)
		<-done
		if _, batches := o.calls(); len(batches) != 5 {
			t.Errorf("%d BatchLoader calls in all, want 5", len(batches))
		}
	})
}

// A part whose BatchLoader call panics makes MultiGet panic with the
// *PanicError, once every part has ended: the other parts' keys are
// stored, and no key stays held.
func TestRTMaxBatchPanicOfOnePart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(Options[int, int]{MaxWeight: 1000})
		rt, err := NewRTCache(c, func(context.Context, int) (int, time.Duration, error) { return 0, 0, nil }, RTOptions[int, int]{
			MaxBatch: 10,
			BatchLoader: func(_ context.Context, keys []int) ([]Loaded[int], error) {
				if keys[0] == 10 {
					panic("part [10,20) panicked")
				}
				out := make([]Loaded[int], len(keys))
				for i, k := range keys {
					out[i].Value = k
				}
				return out, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				var pe *PanicError
				if err, _ := recover().(error); !errors.As(err, &pe) || pe.Value != "part [10,20) panicked" {
					t.Errorf("MultiGet panicked with %v, want the part's *PanicError", err)
				}
			}()
			rt.MultiGet(context.Background(), keysUpTo(30))
		}()
		synctest.Wait()
		for _, k := range []int{0, 9, 20, 29} {
			if v, ok := c.Get(k); !ok || v != k {
				t.Errorf("key %d of a part that returned: %d, %v; want stored", k, v, ok)
			}
		}
		if _, ok := c.Get(15); ok || rt.InFlight() != 0 {
			t.Errorf("key 15 stored %v, %d keys held; want neither", ok, rt.InFlight())
		}
	})
}

// MultiGet's refresh of its hits goes in parts of MaxBatch keys, each
// holding a place of MaxRefreshes: with two places, two parts start.
func TestRTMaxBatchRefreshesInParts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &batchOrigin{}
		rt := newMaxBatchRT(t, o, RTOptions[int, int]{MaxBatch: 100, RefreshAhead: 10 * time.Second, MaxRefreshes: 2})
		rt.MultiGet(context.Background(), keysUpTo(250))
		time.Sleep(55 * time.Second)
		gate := make(chan struct{})
		o.setGate(gate)
		rt.MultiGet(context.Background(), keysUpTo(250))
		synctest.Wait()
		_, batches := o.calls()
		if len(batches) == 5 { // the refreshes run on goroutines of their own, in either order
			slices.SortFunc(batches[3:], func(a, b []int) int { return a[0] - b[0] })
		}
		if len(batches) != 5 || !slices.Equal(batches[3], keysUpTo(100)) || !slices.Equal(batches[4], keysUpTo(200)[100:]) {
			t.Errorf("batches of %v keys, want 3 loads, then refreshes of [0,100) and [100,200) (no third place)", lens(batches))
		}
		close(gate)
	})
}

func TestNewRTCacheRejectsNegativeMaxBatch(t *testing.T) {
	c := Must(Options[int, int]{MaxWeight: 10})
	_, err := NewRTCache(c, func(context.Context, int) (int, time.Duration, error) { return 0, 0, nil }, RTOptions[int, int]{MaxBatch: -1})
	if err == nil || err.Error() != "ufocache: MaxBatch must be >= 0 (0 means no bound)" {
		t.Errorf("NewRTCache with MaxBatch -1: %v", err)
	}
}
