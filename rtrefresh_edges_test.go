package ufocache_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// A Refresh whose Loader panics, calls runtime.Goexit, hangs past its
// LoadTimeout, or is cut short by Close gives its MaxRefreshes place back
// once the Loader returns: with one place, the next Refresh starts.
func TestRTRefreshGivesItsPlaceBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		load := func(ctx context.Context, k string) (string, time.Duration, error) {
			switch k {
			case "panic":
				panic("boom")
			case "goexit":
				runtime.Goexit()
			case "hang":
				<-release
			case "ctx":
				<-ctx.Done()
				return "", 0, ctx.Err()
			}
			return k + "!", time.Hour, nil
		}
		rt := newRTLoading(t, load, ufocache.RTOptions[string, string]{MaxRefreshes: 1, LoadTimeout: time.Second})
		ctx := context.Background()
		for _, k := range []string{"panic", "goexit", "ok", "ctx"} {
			if !rt.Refresh(ctx, k) {
				t.Fatalf("Refresh(%q) started no load: a place was not given back", k)
			}
			synctest.Wait()
			time.Sleep(2 * time.Second) // past LoadTimeout
			synctest.Wait()
		}
		if !rt.Refresh(ctx, "hang") {
			t.Fatal("Refresh(hang) started no load")
		}
		time.Sleep(2 * time.Second)
		if rt.Refresh(ctx, "other") {
			t.Error("a Refresh started while a Loader past its LoadTimeout holds the only place")
		}
		close(release)
		synctest.Wait()
		if !rt.Refresh(ctx, "other") {
			t.Error("the hung Loader's place did not come back once it returned")
		}
		synctest.Wait()
		if st := rt.Stats(); st.Refreshes != 6 || st.Loads != 6 || st.LoadErrors != 4 {
			t.Errorf("stats %+v, want 6 Refreshes, 6 Loads, 4 LoadErrors", st)
		}
		// Close while a refresh runs: its ctx ends, its place comes back,
		// and nothing starts after.
		if !rt.Refresh(ctx, "ctx") {
			t.Fatal("Refresh(ctx) started no load")
		}
		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if rt.Refresh(ctx, "x") {
			t.Error("Refresh after Close started a load")
		}
	})
}

// A Loader may call Refresh: of its own key it starts nothing (the load
// is in flight); of another key it starts that key's load, which is no
// wait of this one's, so a lookup of the first key from it waits, with
// no ErrLoadCycle.
func TestRTRefreshFromALoader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rt *ufocache.RTCache[string, string]
		var ownStarted, otherStarted atomic.Bool
		var bErr atomic.Value
		load := func(ctx context.Context, k string) (string, time.Duration, error) {
			switch k {
			case "a":
				ownStarted.Store(rt.Refresh(ctx, "a"))
				otherStarted.Store(rt.Refresh(ctx, "b"))
				time.Sleep(time.Second)
				return "a!", time.Hour, nil
			case "b":
				v, _, err := rt.Get(ctx, "a")
				if err != nil {
					bErr.Store(err)
				}
				return "b:" + v, time.Hour, nil
			}
			return "", 0, errors.New("unknown key")
		}
		rt = newRTLoading(t, load, ufocache.RTOptions[string, string]{})
		ctx := context.Background()
		if v, _, err := rt.Get(ctx, "a"); v != "a!" || err != nil {
			t.Fatalf("Get(a) = %q, %v", v, err)
		}
		synctest.Wait()
		if ownStarted.Load() || !otherStarted.Load() {
			t.Errorf("Refresh from a's Loader: of a started %v (want false), of b %v (want true)", ownStarted.Load(), otherStarted.Load())
		}
		if err := bErr.Load(); err != nil {
			t.Errorf("b's Loader's Get(a) failed: %v", err)
		}
		if v, st, _ := rt.Get(ctx, "b"); v != "b:a!" || st != ufocache.Hit {
			t.Errorf("Get(b) = %q, %v; want b:a!, Hit", v, st)
		}
	})
}

// A load older than LockAge no longer holds its key: Refresh starts
// another, and the old one's late value does not replace the newer one's.
func TestRTRefreshPastLockAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := make(chan struct{})
		var n atomic.Int32
		load := func(ctx context.Context, k string) (string, time.Duration, error) {
			i := n.Add(1)
			if i == 1 {
				<-slow
				return "first", time.Hour, nil
			}
			return "second", time.Hour, nil
		}
		rt := newRTLoading(t, load, ufocache.RTOptions[string, string]{LockAge: time.Second})
		ctx := context.Background()
		if !rt.Refresh(ctx, "k") {
			t.Fatal("Refresh started no load")
		}
		if rt.Refresh(ctx, "k") {
			t.Error("a second Refresh started beside a load that holds the key")
		}
		time.Sleep(2 * time.Second)
		if !rt.Refresh(ctx, "k") {
			t.Fatal("Refresh started no load past LockAge")
		}
		synctest.Wait()
		close(slow)
		synctest.Wait()
		if v, _, _ := rt.Get(ctx, "k"); v != "second" {
			t.Errorf("Get = %q, want the later load's value", v)
		}
	})
}

// Lookups of every kind during a refresh of a live value get it as a hit;
// Invalidate detaches it (as Delete would): the next Get loads afresh,
// and the refresh's value is not stored.
func TestRTRefreshWithLookupsAndWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, rt, ctx := refreshing(t)
		if v, st, err := rt.GetStale(ctx, "k", time.Hour); v != "old" || err != nil || st.Status != ufocache.Hit {
			t.Errorf("GetStale = %q, %+v, %v", v, st, err)
		}
		if v, st, err := rt.GetStaleWhileUpdate(ctx, "k", time.Hour); v != "old" || err != nil || st.Status != ufocache.Hit {
			t.Errorf("GetStaleWhileUpdate = %q, %+v, %v", v, st, err)
		}
		res, err := rt.MultiGet(ctx, []string{"k"})
		if err != nil || res[0].Value != "old" || res[0].Status != ufocache.Hit {
			t.Errorf("MultiGet = %+v, %v", res, err)
		}
		rt.Invalidate("k")
		var v string
		done := make(chan struct{})
		go func() { defer close(done); v, _, _ = rt.Get(ctx, "k") }()
		synctest.Wait()
		close(o.gate)
		<-done
		synctest.Wait()
		if n := o.loads.Load(); n != 2 {
			t.Errorf("%d loads, want 2 (the refresh's, detached, and the Get's)", n)
		}
		if got, st, _ := rt.Get(ctx, "k"); got != v || st != ufocache.Hit {
			t.Errorf("Get = %q, %v; want the Get's own load's %q, not the detached refresh's", got, st, v)
		}
	})
}

// Refreshes of a few keys from many goroutines, beside Gets, Sets,
// Deletes, Invalidates and Clears, leave every place of MaxRefreshes free
// once their loads have ended: as many Refreshes of new keys as there are
// places then all start.
func TestRTRefreshPlacesAllComeBackUnderConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const places = 4
		var n atomic.Int64
		load := func(ctx context.Context, k string) (string, time.Duration, error) {
			i := n.Add(1)
			time.Sleep(time.Duration(i%3) * time.Millisecond)
			switch i % 7 {
			case 0:
				panic("boom")
			case 1:
				runtime.Goexit()
			case 2:
				return "", 0, errors.New("fail")
			}
			return k, time.Duration(i%5) * time.Millisecond, nil
		}
		rt := newRTLoading(t, load, ufocache.RTOptions[string, string]{MaxRefreshes: places, ErrorTTL: time.Millisecond})
		ctx := context.Background()
		keys := []string{"a", "b", "c", "d", "e", "f"}
		var started atomic.Int64
		done := make(chan struct{})
		for g := range 8 {
			go func() {
				defer func() { done <- struct{}{} }()
				for i := range 300 {
					k := keys[(g+i)%len(keys)]
					switch (g + i) % 9 {
					case 0, 1, 2, 3:
						if rt.Refresh(ctx, k) {
							started.Add(1)
						}
					case 4:
						func() {
							defer func() { recover() }()
							rt.Get(ctx, k)
						}()
					case 5:
						rt.Set(k, "set", time.Millisecond)
					case 6:
						rt.Delete(k)
					case 7:
						rt.Invalidate(k)
					case 8:
						if i%50 == 0 {
							rt.Clear()
						}
					}
					if i%10 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
		}
		for range 8 {
			<-done
		}
		time.Sleep(time.Second) // every load has ended
		synctest.Wait()
		if st := rt.Stats(); int64(st.Refreshes) != started.Load() {
			t.Errorf("Refreshes %d, want the %d Refresh calls that started a load", st.Refreshes, started.Load())
		}
		if started.Load() == 0 {
			t.Fatal("no Refresh started")
		}
		for i := range places {
			if !rt.Refresh(ctx, "new"+string(rune('0'+i))) {
				t.Fatalf("Refresh %d of %d new keys started no load: a place was lost", i+1, places)
			}
		}
		time.Sleep(time.Second)
	})
}

// A load of k that fails while Refresh(k) runs, after Refresh looked for
// a kept error and before it claimed k, holds Refresh off all the same:
// Refresh looks for the error again once it holds k, as a refresh's
// recheck does, and starts no load.
func TestRTRefreshHeldOffByAnErrorKeptAfterItsLook(t *testing.T) {
	clk := &hookClock{}
	clk.ns.Store(int64(time.Hour))
	gate := make(chan struct{})
	var loads atomic.Int32
	load := func(ctx context.Context, k string) (string, time.Duration, error) {
		switch loads.Add(1) {
		case 1:
			return "", 0, errors.New("first failure")
		case 2:
			<-gate
			return "", 0, errors.New("second failure")
		}
		return "v", time.Hour, nil
	}
	rt := newRTLoading(t, load, ufocache.RTOptions[string, string]{ErrorTTL: time.Second},
		ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
	ctx := context.Background()
	if _, _, err := rt.Get(ctx, "k"); err == nil {
		t.Fatal("first load did not fail")
	}
	clk.ns.Add(int64(2 * time.Second)) // the first error has expired, its entry still there
	getDone := make(chan struct{})
	go func() {
		defer close(getDone)
		rt.Get(ctx, "k") // its load waits at the gate
	}()
	for loads.Load() < 2 {
		runtime.Gosched()
	}
	// Refresh reads the clock to judge the expired error's entry: the
	// second load fails and keeps its error right then.
	hook := func() {
		close(gate)
		<-getDone
	}
	clk.hook.Store(&hook)
	if rt.Refresh(ctx, "k") {
		t.Error("Refresh started a load while a kept error holds k's loads off")
	}
	if clk.hook.Load() != nil {
		t.Fatal("the hook did not run")
	}
	if n := loads.Load(); n != 2 {
		t.Errorf("%d loads, want 2", n)
	}
	if _, _, err := rt.Get(ctx, "k"); err == nil || err.Error() != "second failure" {
		t.Errorf("Get = %v; want the kept error", err)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
