package ufocache

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// batchOrigin is a Loader and a BatchLoader over one origin whose values
// are their keys, kept a minute, and which records each call's keys.
type batchOrigin struct {
	mu      sync.Mutex
	singles []int
	batches [][]int
	gate    chan struct{} // if not nil, each call waits for it
	fail    map[int]bool  // keys the origin fails, kept for a minute
}

func (o *batchOrigin) load(_ context.Context, k int) (int, time.Duration, error) {
	o.mu.Lock()
	o.singles = append(o.singles, k)
	gate, fail := o.gate, o.fail[k]
	o.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail {
		return 0, 0, ErrorWithTTL(errors.New("down"), time.Minute)
	}
	return k, time.Minute, nil
}

func (o *batchOrigin) loadBatch(_ context.Context, keys []int) ([]Loaded[int], error) {
	o.mu.Lock()
	o.batches = append(o.batches, slices.Clone(keys))
	gate := o.gate
	o.mu.Unlock()
	if gate != nil {
		<-gate
	}
	out := make([]Loaded[int], len(keys))
	for i, k := range keys {
		out[i] = Loaded[int]{Value: k, TTL: time.Minute}
	}
	return out, nil
}

func (o *batchOrigin) calls() (singles []int, batches [][]int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.singles), slices.Clone(o.batches)
}

func newBatchRT(t *testing.T, o *batchOrigin, maxRefreshes int) *RTCache[int, int] {
	t.Helper()
	c := Must(Options[int, int]{MaxWeight: 1000, RecordStats: true})
	rt, err := NewRTCache(c, o.load, RTOptions[int, int]{RefreshAhead: 10 * time.Second,
		MaxRefreshes: maxRefreshes, BatchLoader: o.loadBatch})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func keysUpTo(n int) []int {
	keys := make([]int, n)
	for i := range keys {
		keys[i] = i
	}
	return keys
}

// MultiGet's hits inside the RefreshAhead window are refreshed with one
// BatchLoader call in the background, not one Loader call each: 100 hot
// keys loaded in one batch cost one more batch when they near their
// expiry together (they cost 100 single loads), and the values it stores
// are good for another minute.
func TestRTMultiGetRefreshesItsHitsInOneBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &batchOrigin{}
		rt := newBatchRT(t, o, 2)
		keys := keysUpTo(100)
		rt.MultiGet(context.Background(), keys)
		time.Sleep(55 * time.Second)
		asked := append(slices.Clone(keys), 7) // a repeat is refreshed once
		res, err := rt.MultiGet(context.Background(), asked)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Status != Hit || r.Value != asked[i] {
				t.Fatalf("key %d: %+v, want a hit", i, r)
			}
		}
		synctest.Wait()
		singles, batches := o.calls()
		if len(singles) != 0 || len(batches) != 2 || !slices.Equal(batches[1], keys) {
			t.Fatalf("%d single loads, batches of %v keys; want none, and two of 100 (the second the refresh, in order)", len(singles), lens(batches))
		}
		if st := rt.Stats(); st.Refreshes != 100 || st.Batches != 2 || st.Hits != 101 || st.Loads != 200 {
			t.Errorf("stats %+v: want 100 refreshes, 2 batches, 101 hits, 200 loads", st)
		}
		if _, left, ok := rt.Cache().GetWithTTL(42); !ok || left != time.Minute {
			t.Errorf("a refreshed key has %v left (%v), want a minute", left, ok)
		}
	})
}

func lens(b [][]int) []int {
	n := make([]int, len(b))
	for i := range b {
		n[i] = len(b[i])
	}
	return n
}

// setGate makes the origin's calls from now on wait for gate (nil: none);
// a call already waiting keeps its gate.
func (o *batchOrigin) setGate(gate chan struct{}) {
	o.mu.Lock()
	o.gate = gate
	o.mu.Unlock()
}

// The refresh batch leaves out the keys whose last refresh failed (their
// error is cached) and those a load has in flight.
func TestRTMultiGetRefreshBatchLeavesOutKeysInFlightOrFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &batchOrigin{fail: map[int]bool{4: true}}
		rt := newBatchRT(t, o, 2)
		rt.MultiGet(context.Background(), keysUpTo(6))
		time.Sleep(55 * time.Second)
		rt.Get(context.Background(), 4) // its refresh fails: the error is kept, the value stays
		synctest.Wait()
		gate := make(chan struct{})
		o.setGate(gate)
		rt.Get(context.Background(), 3) // its refresh waits
		synctest.Wait()
		o.setGate(nil)
		rt.MultiGet(context.Background(), keysUpTo(6))
		synctest.Wait()
		singles, batches := o.calls()
		if !slices.Equal(singles, []int{4, 3}) || len(batches) != 2 || !slices.Equal(batches[1], []int{0, 1, 2, 5}) {
			t.Errorf("single loads %v, batches %v; want [4 3], and the refresh of [0 1 2 5]", singles, batches)
		}
		close(gate)
	})
}

// The refresh batch holds one place of MaxRefreshes: while every place is
// taken it does not start, and a later MultiGet refreshes the keys.
func TestRTMultiGetRefreshBatchHoldsAPlaceOfMaxRefreshes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &batchOrigin{}
		rt := newBatchRT(t, o, 1)
		rt.MultiGet(context.Background(), keysUpTo(6))
		time.Sleep(55 * time.Second)
		gate := make(chan struct{})
		o.setGate(gate)
		rt.Get(context.Background(), 3) // its refresh takes the only place
		synctest.Wait()
		o.setGate(nil)
		rt.MultiGet(context.Background(), keysUpTo(6))
		synctest.Wait()
		if _, batches := o.calls(); len(batches) != 1 {
			t.Fatalf("batches %v: want none started while the place is taken", batches)
		}
		close(gate)
		synctest.Wait()
		rt.MultiGet(context.Background(), keysUpTo(6))
		synctest.Wait()
		if _, batches := o.calls(); len(batches) != 2 || !slices.Equal(batches[1], []int{0, 1, 2, 4, 5}) {
			t.Errorf("batches %v, want the refresh of [0 1 2 4 5] once the place is free (3 was refreshed)", batches)
		}
		if n := rt.refreshing.Load(); n != 0 {
			t.Errorf("%d places of MaxRefreshes held after every refresh ended", n)
		}
	})
}

// A single key in the window is refreshed with the Loader, as Get's hit
// would be.
func TestRTMultiGetRefreshesASingleKeyWithTheLoader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &batchOrigin{}
		rt := newBatchRT(t, o, 2)
		rt.MultiGet(context.Background(), keysUpTo(2))
		rt.Set(1, 1, 3*time.Second) // in the window; 0 is not
		rt.MultiGet(context.Background(), keysUpTo(2))
		synctest.Wait()
		if singles, batches := o.calls(); !slices.Equal(singles, []int{1}) || len(batches) != 1 {
			t.Errorf("single loads %v, batches %v; want [1], and only the first batch", singles, batches)
		}
	})
}
