package ufocache

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A load's goroutine outlives its Loader (the README's "Shutting down"
// once said it ended when the Loader returned, and had a server that
// waits for its loads count them in its Loader). A batch load's goroutine
// goes on after its BatchLoader returns: it stores the values and tells OnEvict what the stores
// displaced (and InFlight has dropped before that). A server that stops
// once its BatchLoader-counted WaitGroup is done may still see OnEvict
// called afterwards, on a goroutine of the cache.
func TestRTLoadGoroutineOutlivesItsLoader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		block := make(chan struct{})
		var inOnEvict, told atomic.Bool
		c := Must(Options[int, int]{MaxWeight: 1, OnEvict: func(k, v int, r EvictReason) {
			if r == EvictCapacity {
				inOnEvict.Store(true)
				<-block // a slow OnEvict (a metrics flush, a log write)
				told.Store(true)
			}
		}})
		var loads sync.WaitGroup // what the README had a server count
		batch := func(_ context.Context, keys []int) ([]Loaded[int], error) {
			defer loads.Done()
			return []Loaded[int]{{Value: keys[0]}}, nil
		}
		rt, err := NewRTCache(c, func(context.Context, int) (int, time.Duration, error) { return 0, 0, nil },
			RTOptions[int, int]{BatchLoader: batch})
		if err != nil {
			t.Fatal(err)
		}
		rt.Set(1, 1, 0)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the request left: nobody waits for the load
		loads.Add(1)
		if _, err := rt.MultiGet(ctx, []int{2}); err == nil {
			t.Fatal("want the ctx's error")
		}
		loads.Wait() // "shutdown": every BatchLoader call has returned
		synctest.Wait()
		if n := rt.InFlight(); n != 0 {
			t.Fatalf("InFlight %d", n)
		}
		// Every goroutine of the bubble is blocked: the load's goroutine is
		// still there, in OnEvict, after the server's wait is over.
		if !inOnEvict.Load() || told.Load() {
			t.Fatalf("OnEvict entered %v, returned %v: want it still running", inOnEvict.Load(), told.Load())
		}
		close(block)
		synctest.Wait()
		if !told.Load() {
			t.Fatal("OnEvict did not finish")
		}
	})
}
