package ufocache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// A tenant purge must reach the keys that hold no value yet: a load in
// flight that read the origin before the purge, and a cached error. An
// authorization port found RTCache.DeleteFunc, which judges values, undone
// by such a load 60 runs in 60, and the error kept; DeleteKeysFunc judges
// keys. DeleteFunc is the control, keeping both as documented.
func TestRTDeleteKeysFuncPurgesWhatNoValueShows(t *testing.T) {
	inT1 := func(k string) bool { return strings.HasPrefix(k, "t1/") }
	purges := map[string]func(rt *ufocache.RTCache[string, string]) int{
		"DeleteKeysFunc": func(rt *ufocache.RTCache[string, string]) int { return rt.DeleteKeysFunc(inT1) },
		"DeleteFunc": func(rt *ufocache.RTCache[string, string]) int {
			return rt.DeleteFunc(func(k, _ string) bool { return inT1(k) })
		},
	}
	for name, purge := range purges {
		keys := name == "DeleteKeysFunc"
		t.Run(name+"/LoadInFlight", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := &origin{gate: make(chan struct{})}
				rt := newRT(t, o, ufocache.RTOptions[string, string]{})
				got := make(map[string]string)
				var mu sync.Mutex
				for _, k := range []string{"t1/a", "t2/b"} {
					go func() {
						v, _, err := rt.Get(context.Background(), k)
						if err != nil {
							t.Errorf("Get(%s): %v", k, err)
						}
						mu.Lock()
						got[k] = v
						mu.Unlock()
					}()
				}
				synctest.Wait() // both loads wait for the gate
				if n := purge(rt); n != 0 {
					t.Errorf("purge = %d, want 0: no key had a value", n)
				}
				close(o.gate)
				synctest.Wait()
				if got["t1/a"] != "t1/a#1" && got["t1/a"] != "t1/a#2" {
					t.Errorf("the caller of the detached load got %q", got["t1/a"])
				}
				if v, ok := rt.Cache().Peek("t1/a"); ok == keys {
					t.Errorf("after the load ended, t1/a = %q, %v; want a value only after DeleteFunc", v, ok)
				}
				if _, ok := rt.Cache().Peek("t2/b"); !ok {
					t.Error("t2/b, outside the purge, was not stored")
				}
				if n := rt.InFlight(); n != 0 {
					t.Errorf("InFlight = %d once the loads ended", n)
				}
			})
		})
		t.Run(name+"/CachedError", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := &origin{err: errOriginDown}
				rt := newRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
				for _, k := range []string{"t1/a", "t2/b"} {
					if _, _, err := rt.Get(context.Background(), k); !errors.Is(err, errOriginDown) {
						t.Fatalf("Get(%s) = %v, want the origin's error", k, err)
					}
				}
				o.set(func(o *origin) { o.err = nil })
				purge(rt)
				_, _, err := rt.Get(context.Background(), "t1/a")
				if errors.Is(err, errOriginDown) == keys {
					t.Errorf("Get(t1/a) after the purge: %v; want the cached error only after DeleteFunc", err)
				}
				if _, _, err := rt.Get(context.Background(), "t2/b"); !errors.Is(err, errOriginDown) {
					t.Errorf("Get(t2/b) = %v: its cached error, outside the purge, went", err)
				}
			})
		})
	}
}

// A load in flight when the purge began that lands while del runs, before
// the in-flight pass reaches its key (the wait map may or may not show it
// by then), is found by a later pass: its value, or its error, goes.
func TestRTDeleteKeysFuncLoadLandsDuringPurge(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(map[bool]string{false: "value", true: "error"}[fail], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				gates := map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{})}
				var loads sync.Map // key -> loads so far
				load := func(_ context.Context, k string) (string, time.Duration, error) {
					n, _ := loads.LoadOrStore(k, new(int))
					*n.(*int)++
					if *n.(*int) == 1 {
						<-gates[k]
						if fail {
							return "", 0, errOriginDown
						}
						return "old " + k, 0, nil
					}
					return "new " + k, 0, nil
				}
				rt := newRTLoading(t, load, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
				for k := range gates {
					go rt.Get(context.Background(), k)
				}
				synctest.Wait()
				var first string
				asked := 0
				n := rt.DeleteKeysFunc(func(k string) bool {
					if asked++; asked == 1 {
						// The other key's load lands now.
						first = k
						other := map[string]string{"a": "b", "b": "a"}[k]
						close(gates[other])
						synctest.Wait()
					}
					return true
				})
				if want := map[bool]int{false: 1, true: 0}[fail]; n != want {
					t.Errorf("DeleteKeysFunc = %d, want %d (the value that landed)", n, want)
				}
				close(gates[first]) // its load was detached: stores nothing
				synctest.Wait()
				for k := range gates {
					v, _, err := rt.Get(context.Background(), k)
					if v != "new "+k || err != nil {
						t.Errorf("Get(%s) after the purge = %q, %v; want a new load", k, v, err)
					}
				}
			})
		})
	}
}

// del's panic reaches the caller, with no key's lock kept; del may call
// the RTCache; a key with a load and a value is asked about twice unless
// the first answer removes both.
func TestRTDeleteKeysFuncEdges(t *testing.T) {
	t.Run("DelPanics", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := &origin{gate: make(chan struct{})}
			rt := newRT(t, o, ufocache.RTOptions[string, string]{})
			go rt.Get(context.Background(), "a")
			synctest.Wait()
			func() {
				defer func() {
					if r := recover(); r != "del" {
						t.Errorf("DeleteKeysFunc recovered %v, want del's panic", r)
					}
				}()
				rt.DeleteKeysFunc(func(string) bool { panic("del") })
			}()
			close(o.gate)
			synctest.Wait()
			if n := rt.InFlight(); n != 0 {
				t.Errorf("InFlight = %d after the load ended", n)
			}
			if _, ok := rt.Cache().Peek("a"); !ok {
				t.Error("the load, which del's panic kept from being detached, stored nothing")
			}
		})
	})
	t.Run("AskedTwiceRemovedOnce", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := &origin{gate: make(chan struct{})}
			rt := newRT(t, o, ufocache.RTOptions[string, string]{})
			for _, k := range []string{"k", "kept", "third"} {
				rt.Set(k, "v", time.Hour)
			}
			rt.Refresh(context.Background(), "k")
			rt.Refresh(context.Background(), "kept")
			synctest.Wait()
			asked := map[string]int{}
			n := rt.DeleteKeysFunc(func(k string) bool {
				asked[k]++
				if k == "third" {
					rt.Set("third", "w", time.Hour) // del may call the RTCache
				}
				return k == "k"
			})
			// k's refresh's turn removes its value too; kept, not chosen,
			// is asked for its refresh and for its value.
			if n != 1 || asked["k"] != 1 || asked["kept"] != 2 || asked["third"] != 1 {
				t.Errorf("DeleteKeysFunc = %d, asked %v; want 1, k once, kept twice, third once", n, asked)
			}
			close(o.gate)
			synctest.Wait()
			if v, ok := rt.Cache().Peek("k"); ok {
				t.Errorf("k = %q after the purge and its refresh's end", v)
			}
			if v, _ := rt.Cache().Peek("kept"); !strings.HasPrefix(v, "kept#") {
				t.Errorf("kept = %q, want its refresh's value", v)
			}
			if v, _ := rt.Cache().Peek("third"); v != "w" {
				t.Errorf("third = %q, want w", v)
			}
		})
	})
}
