package ufocache_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// A Compute while a refresh of k runs in the background (Refresh,
// RefreshAhead, GetStaleWhileUpdate) detaches the refresh if f stores: the
// refresh's value is not stored over what f decided; a ComputeKeep leaves
// it to store (TestRTWritesWinOverLoadsInFlight has a miss's load).
func TestRTComputeWinsOverRefreshes(t *testing.T) {
	for _, tc := range []struct {
		name string
		// start leaves k's refresh in flight, held by o's gate.
		start func(t *testing.T, o *origin) *ufocache.RTCache[string, string]
		// found is what f finds: old live, or nothing (an expired value).
		found bool
	}{
		{"Refresh", func(t *testing.T, o *origin) *ufocache.RTCache[string, string] {
			rt := newRT(t, o, ufocache.RTOptions[string, string]{})
			rt.Set("k", "old", time.Hour)
			if !rt.Refresh(context.Background(), "k") {
				t.Fatal("Refresh of a live value started no load")
			}
			return rt
		}, true},
		{"RefreshAhead", func(t *testing.T, o *origin) *ufocache.RTCache[string, string] {
			rt := newRT(t, o, ufocache.RTOptions[string, string]{RefreshAhead: 2 * time.Hour})
			rt.Set("k", "old", time.Hour)
			if v, st, _ := rt.Get(context.Background(), "k"); v != "old" || st != ufocache.Hit {
				t.Fatalf("Get inside RefreshAhead = %q, %v; want old, Hit", v, st)
			}
			return rt
		}, true},
		{"GetStaleWhileUpdate", func(t *testing.T, o *origin) *ufocache.RTCache[string, string] {
			rt := newRT(t, o, ufocache.RTOptions[string, string]{})
			rt.Set("k", "old", time.Second)
			time.Sleep(2 * time.Second)
			if v, st, _ := rt.GetStaleWhileUpdate(context.Background(), "k", time.Hour); v != "old" || st.Status != ufocache.Stale {
				t.Fatalf("GetStaleWhileUpdate = %q, %+v; want old, stale", v, st)
			}
			return rt
		}, false},
	} {
		for name, op := range map[string]ufocache.ComputeOp{"Store": ufocache.ComputeStore, "Keep": ufocache.ComputeKeep} {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					o := &origin{gate: make(chan struct{})}
					defer func() {
						select {
						case <-o.gate:
						default:
							close(o.gate) // a failure before the gate opened: let the refresh end
						}
					}()
					rt := tc.start(t, o)
					synctest.Wait() // the refresh waits for the gate
					if n := rt.InFlight(); n != 1 {
						t.Fatalf("InFlight = %d before Compute, want 1 (the refresh)", n)
					}
					want, wantOK := "computed", true
					if tc.found {
						want = "found old"
					}
					if op == ufocache.ComputeKeep {
						want, wantOK = "", tc.found
						if tc.found {
							want = "old"
						}
					}
					if v, ok := rt.Compute("k", computeIn(op)); v != want || ok != wantOK {
						t.Fatalf("Compute = %q, %v; want %q, %v", v, ok, want, wantOK)
					}
					// A ComputeKeep changes nothing: the refresh stays, and
					// stores as if f had run just before it.
					keep := op == ufocache.ComputeKeep
					if n, wantN := rt.InFlight(), map[bool]int{false: 0, true: 1}[keep]; n != wantN {
						t.Fatalf("InFlight after Compute = %d, want %d", n, wantN)
					}
					close(o.gate)
					synctest.Wait()
					if n := o.loads.Load(); n != 1 {
						t.Fatalf("%d loads, want 1 (the refresh ran)", n)
					}
					v, st, err := rt.Get(context.Background(), "k")
					switch {
					case keep:
						if v != "k#1" || st != ufocache.Hit || err != nil {
							t.Errorf("Get after = (%q, %v, %v), want the refresh's k#1, Hit: a ComputeKeep detached it", v, st, err)
						}
					case want != "" && (v != want || st != ufocache.Hit || err != nil):
						t.Errorf("Get after = (%q, %v, %v), want (%q, Hit): the refresh was stored over the Compute", v, st, err, want)
					case want == "" && (v != "k#2" || st != ufocache.Expired):
						t.Errorf("Get after = (%q, %v, %v), want a fresh load k#2 of the expired value: the refresh was stored", v, st, err)
					}
				})
			})
		}
	}
}

// A cached load error is no value to Compute's f (found false), and
// Compute clears it whatever f returns, or if f panics, as every RTCache
// write does: after a ComputeKeep or ComputeRemove the next Get loads
// afresh, not getting the error.
func TestRTComputeClearsACachedError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		op     ufocache.ComputeOp
		panics bool
		want   string // what the next Get returns: a Hit, or k#2 loaded
	}{
		{"Store", ufocache.ComputeStore, false, "computed"},
		{"Keep", ufocache.ComputeKeep, false, "k#2"},
		{"Remove", ufocache.ComputeRemove, false, "k#2"},
		{"panic", 0, true, "k#2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := &origin{}
				rt := newRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
				ctx := context.Background()
				errDown := errors.New("origin down")
				o.set(func(o *origin) { o.err = errDown })
				if _, _, err := rt.Get(ctx, "k"); err != errDown {
					t.Fatalf("Get = %v, want %v", err, errDown)
				}
				o.set(func(o *origin) { o.err = nil })
				var found, called bool
				func() {
					defer func() {
						if r := recover(); r != nil && !tc.panics {
							panic(r)
						}
					}()
					v, ok := rt.Compute("k", func(old string, live bool) (string, time.Duration, ufocache.ComputeOp) {
						called, found = true, live
						if tc.panics {
							panic("f")
						}
						return "computed", 0, tc.op
					})
					if want := tc.op == ufocache.ComputeStore; ok != want || (v == "computed") != want {
						t.Errorf("Compute = %q, %v; want stored %v", v, ok, want)
					}
				}()
				if !called || found {
					t.Fatalf("f called %v, found %v; want called with found false", called, found)
				}
				v, st, err := rt.Get(ctx, "k")
				wantSt := ufocache.Miss
				if tc.want == "computed" {
					wantSt = ufocache.Hit
				}
				if v != tc.want || st != wantSt || err != nil {
					t.Errorf("Get after Compute = (%q, %v, %v), want (%q, %v, nil): the cached error outlived it", v, st, err, tc.want, wantSt)
				}
			})
		})
	}
}

// If f panics, the panic reaches Compute's caller, the Cache is not
// changed, and k's lock in the wait map is released: a following Compute,
// and a Get that loads k, do not hang.
func TestRTComputePanicReleasesTheKey(t *testing.T) {
	o := &origin{}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{})
	rt.Set("k", "v", 0)
	withDeadlockGuard(t, "calls of k after a Compute whose f panicked", func() {
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recovered %v, want boom", r)
				}
			}()
			rt.Compute("k", func(string, bool) (string, time.Duration, ufocache.ComputeOp) { panic("boom") })
			t.Error("Compute returned after f panicked")
		}()
		if v, ok := rt.Cache().Get("k"); v != "v" || !ok {
			t.Errorf("after the panic k holds %q, %v; want v", v, ok)
		}
		if v, ok := rt.Compute("k", computeIn(ufocache.ComputeStore)); v != "found v" || !ok {
			t.Errorf("the next Compute = %q, %v; want found v", v, ok)
		}
		rt.Cache().Delete("k")
		if v, st, err := rt.Get(context.Background(), "k"); v != "k#1" || st != ufocache.Miss || err != nil {
			t.Errorf("a Get that loads k = (%q, %v, %v), want (k#1, Miss, nil)", v, st, err)
		}
	})
}

// Increments by Compute lose none to the loads that run beside them: the
// origin counts each increment too (f adds to it, as a write-through
// would), so a load whose Loader was called after a Compute returns the
// count that Compute left, and one called before it is detached; Gets,
// Refreshes, Invalidates and Deletes keep loads going all along. Each f
// that finds a value finds the origin's count, and the last Get returns
// it. (With Cache.Compute, not ordered with loads, a load that read the
// origin before an increment is stored over it: f then finds a count
// behind the origin's.)
func TestRTComputeLosesNoIncrementToLoads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const keys, workers, steps = 4, 6, 200
		var origin [keys]atomic.Int64
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			i, _ := strconv.Atoi(k)
			n := origin[i].Load()
			time.Sleep(time.Duration(n%3) * time.Millisecond) // Computes run meanwhile
			return strconv.FormatInt(n, 10), 0, nil
		}
		rt := newRTLoading(t, load, ufocache.RTOptions[string, string]{})
		ctx := context.Background()
		var behind atomic.Int64
		incr := func(i int) func(string, bool) (string, time.Duration, ufocache.ComputeOp) {
			return func(old string, found bool) (string, time.Duration, ufocache.ComputeOp) {
				n := origin[i].Add(1)
				if m, _ := strconv.ParseInt(old, 10, 64); found && m != n-1 {
					behind.Add(1) // a load stored an older count over an increment
				}
				return strconv.FormatInt(n, 10), 0, ufocache.ComputeStore
			}
		}
		done := make(chan struct{})
		for w := range workers {
			go func() {
				defer func() { done <- struct{}{} }()
				for s := range steps {
					i := (s*7 + w) % keys
					k := strconv.Itoa(i)
					switch (s + w) % 7 {
					case 0, 1, 2:
						rt.Compute(k, incr(i))
					case 3, 4:
						rt.Get(ctx, k)
					case 5:
						rt.Refresh(ctx, k)
					default:
						if s%2 == 0 {
							rt.Invalidate(k)
						} else {
							rt.Delete(k)
						}
					}
					if s%5 == w%5 {
						time.Sleep(time.Millisecond) // let loads end meanwhile
					}
				}
			}()
		}
		for range workers {
			<-done
		}
		time.Sleep(time.Second) // every load has ended (the longest sleeps 2ms)
		if n := behind.Load(); n > 0 {
			t.Errorf("%d Computes found a count behind the origin's: a load stored over an increment", n)
		}
		for i := range keys {
			v, _, err := rt.Get(ctx, strconv.Itoa(i))
			if want := strconv.FormatInt(origin[i].Load(), 10); v != want || err != nil {
				t.Errorf("key %d = %q, %v; want the origin's %s", i, v, err, want)
			}
		}
		if rt.Stats().Loads == 0 {
			t.Fatal("no load ran: the test did not test")
		}
	})
}

// Compute is a write: it goes on after Close, and a Get hits its value.
func TestRTComputeAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		ctx := context.Background()
		if err := rt.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if v, ok := rt.Compute("k", computeIn(ufocache.ComputeStore)); v != "computed" || !ok {
			t.Fatalf("Compute after Close = %q, %v; want computed, true", v, ok)
		}
		if v, ok := rt.Compute("k", computeIn(ufocache.ComputeStore)); v != "found computed" || !ok {
			t.Fatalf("second Compute after Close = %q, %v; want found computed, true", v, ok)
		}
		if v, st, err := rt.Get(ctx, "k"); v != "found computed" || st != ufocache.Hit || err != nil {
			t.Errorf("Get after Close = (%q, %v, %v), want the Compute's value, Hit", v, st, err)
		}
		if n := o.loads.Load(); n != 0 {
			t.Errorf("%d loads, want 0", n)
		}
	})
}

// A ComputeStore counts in the Cache's Stats as a Set does; Compute
// counts no Hits or Misses, in the Cache's Stats or in RTStats.
func TestRTComputeStats(t *testing.T) {
	rt := newRT(t, &origin{}, ufocache.RTOptions[string, string]{},
		ufocache.Options[string, string]{MaxWeight: 100, RecordStats: true})
	rt.Compute("k", computeIn(ufocache.ComputeStore))
	rt.Compute("k", computeIn(ufocache.ComputeKeep))
	rt.Compute("j", computeIn(ufocache.ComputeKeep))
	if s := rt.Cache().Stats(); s.Sets != 1 || s.Hits != 0 || s.Misses != 0 {
		t.Errorf("Cache Stats = %+v, want 1 Set, no Hits or Misses", s)
	}
	if s := rt.Stats(); s != (ufocache.RTStats{}) {
		t.Errorf("RTStats = %+v, want zero", s)
	}
}

// A spend-or-load loop, a quota loaded from the origin and spent with
// Compute: f keeps where it finds no quota yet, the caller joins the load
// with Get and tries again. A ComputeKeep leaves the load in flight to
// store, so 64 callers of one cold key make one origin call; when it
// detached the load, a rate limiter's port made up to 8,960.
func TestRTComputeKeepLeavesTheLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var loads atomic.Int32
		rt := newRTLoading(t, func(context.Context, string) (string, time.Duration, error) {
			loads.Add(1)
			time.Sleep(2 * time.Millisecond)
			return "100", time.Hour, nil
		}, ufocache.RTOptions[string, string]{})
		var spent atomic.Int32
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for tries := 0; ; tries++ {
					done := false
					rt.Compute("quota", func(old string, found bool) (string, time.Duration, ufocache.ComputeOp) {
						if !found {
							return "", 0, ufocache.ComputeKeep
						}
						n, _ := strconv.Atoi(old)
						done = true
						return strconv.Itoa(n - 1), 0, ufocache.ComputeUpdate
					})
					if done {
						spent.Add(1)
						return
					}
					if tries == 100 {
						t.Error("a caller found no quota after 100 tries")
						return
					}
					rt.Get(context.Background(), "quota")
				}
			})
		}
		wg.Wait()
		if n := loads.Load(); n != 1 {
			t.Errorf("%d origin calls for 64 callers of one key, want 1", n)
		}
		if v, _ := rt.Cache().Peek("quota"); spent.Load() != 64 || v != "36" {
			t.Errorf("spent %d, quota left %q; want 64 spent and 36 left", spent.Load(), v)
		}
	})
}
