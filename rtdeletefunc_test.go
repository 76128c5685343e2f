package ufocache_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// A purge through RTCache.DeleteFunc is not undone by a refresh that
// asked the origin before it, whether the refresh lands after the purge
// (it is detached: its value is not stored) or while del runs, after del
// judged the old value (the value it stored goes too; a gateway port found
// it kept, as "a value set meanwhile", 4 stress runs in 4). The Cache's
// own DeleteFunc, the control, keeps the refresh's value either way.
func TestRTDeleteFuncDetachesLoadsInFlight(t *testing.T) {
	for _, direct := range []bool{false, true} {
		for _, during := range []bool{false, true} {
			name := map[bool]string{false: "RTCache", true: "Cache"}[direct] + map[bool]string{false: "/lands-after", true: "/lands-during"}[during]
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					o := &origin{gate: make(chan struct{})}
					rt := newRT(t, o, ufocache.RTOptions[string, string]{})
					rt.Set("tenant1/a", "old", time.Hour)
					rt.Set("tenant2/b", "kept", time.Hour)
					if !rt.Refresh(context.Background(), "tenant1/a") {
						t.Fatal("Refresh of a live value started no load")
					}
					synctest.Wait() // the refresh waits for the gate
					inTenant1 := func(k, _ string) bool {
						if during && k == "tenant1/a" {
							close(o.gate)
							synctest.Wait() // the refresh stores its value
							if v, _ := rt.Cache().Peek(k); v != "tenant1/a#1" {
								t.Errorf("during del, tenant1/a = %q; want the refresh's value stored", v)
							}
						}
						return strings.HasPrefix(k, "tenant1/")
					}
					var n int
					if direct {
						n = rt.Cache().DeleteFunc(inTenant1)
					} else {
						n = rt.DeleteFunc(inTenant1)
					}
					if want := map[bool]int{false: 1, true: 0}[direct && during]; n != want {
						t.Errorf("DeleteFunc = %d, want %d", n, want)
					}
					if !during {
						close(o.gate)
					}
					synctest.Wait()
					v, ok := rt.Cache().Peek("tenant1/a")
					if direct != ok {
						t.Errorf("after the refresh ended, tenant1/a holds %q, %v; want a value only when purged by the Cache's DeleteFunc", v, ok)
					}
					if v, ok := rt.Cache().Peek("tenant2/b"); v != "kept" || !ok {
						t.Errorf("tenant2/b = %q, %v; want kept", v, ok)
					}
					if n := rt.InFlight(); n != 0 {
						t.Errorf("InFlight = %d once the refresh ended", n)
					}
				})
			})
		}
	}
}

// What RTCache.DeleteFunc removes, counts and reports, with what del
// does meanwhile, and its panics.
func TestRTDeleteFuncEdges(t *testing.T) {
	all := func(string, string) bool { return true }
	t.Run("ExpiredKeptForStaleReads", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, &origin{}, ufocache.RTOptions[string, string]{},
				ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour})
			rt.Set("k", "v", time.Hour)
			if !rt.Invalidate("k") {
				t.Fatal("Invalidate of a live value said false")
			}
			if _, _, ok := rt.Cache().GetStale("k"); !ok {
				t.Fatal("no stale value after Invalidate")
			}
			if n := rt.DeleteFunc(all); n != 1 {
				t.Errorf("DeleteFunc = %d, want 1 (the expired value)", n)
			}
			if v, _, ok := rt.Cache().GetStale("k"); ok {
				t.Errorf("GetStale after DeleteFunc = %q; want nothing", v)
			}
		})
	})
	t.Run("ValueSetDuringDelGoesToo", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, &origin{}, ufocache.RTOptions[string, string]{})
			rt.Set("a", "1", 0)
			rt.Set("b", "1", 0)
			rt.Set("c", "2", 0)
			rt.Set("d", "1", 0)
			// del may call the RTCache: it runs with no lock held.
			n := rt.DeleteFunc(func(k, v string) bool {
				switch k {
				case "a":
					rt.Set("a", "2", 0)
				case "d":
					rt.Delete("d") // gone before its turn: not counted
				}
				return v == "1"
			})
			if n != 2 {
				t.Errorf("DeleteFunc = %d, want 2 (a, set again after del judged it, and b; d was gone)", n)
			}
			for _, k := range []string{"a", "b", "d"} {
				if v, ok := rt.Cache().Peek(k); ok {
					t.Errorf("%s = %q after DeleteFunc chose it", k, v)
				}
			}
			if v, ok := rt.Cache().Peek("c"); v != "2" || !ok {
				t.Errorf("c = %q, %v; del did not choose it", v, ok)
			}
		})
	})
	t.Run("CachedErrorCleared", func(t *testing.T) {
		for _, direct := range []bool{false, true} {
			synctest.Test(t, func(t *testing.T) {
				o := &origin{err: errOriginDown}
				rt := newRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
				rt.Set("k", "v", time.Hour)
				rt.Refresh(context.Background(), "k") // fails: the error is kept beside the value
				synctest.Wait()
				o.set(func(o *origin) { o.err = nil })
				if direct {
					rt.Cache().DeleteFunc(all)
				} else {
					rt.DeleteFunc(all)
				}
				v, _, err := rt.Get(context.Background(), "k")
				if gotErr := errors.Is(err, errOriginDown); gotErr != direct {
					t.Errorf("direct %v: Get after DeleteFunc = %q, %v; want the refresh's error only from the Cache's DeleteFunc", direct, v, err)
				}
			})
		}
	})
	t.Run("OnEvictPanics", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var told []string
			co := ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(),
				OnEvict: func(k, _ string, r ufocache.EvictReason) {
					if r != ufocache.EvictDeleted {
						t.Errorf("OnEvict(%s) reason %v, want EvictDeleted", k, r)
					}
					told = append(told, k)
					panic("onevict " + k)
				}}
			rt := newRT(t, &origin{}, ufocache.RTOptions[string, string]{}, co)
			for _, k := range []string{"a", "b", "c"} {
				rt.Set(k, k, 0)
			}
			func() {
				defer func() {
					if r := recover(); r == nil || !strings.HasPrefix(r.(string), "onevict ") {
						t.Errorf("DeleteFunc recovered %v, want OnEvict's panic", r)
					}
				}()
				rt.DeleteFunc(all)
			}()
			if len(told) != 3 || rt.Cache().Len() != 0 {
				t.Errorf("OnEvict told of %v, Len %d; want all 3 removed and told", told, rt.Cache().Len())
			}
		})
	})
	t.Run("DelPanics", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			o := &origin{}
			rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{MaxWeight: 100, Shards: 1, Clock: newBubbleClock()})
			for _, k := range []string{"a", "b", "c", "d"} {
				rt.Set(k, k, 0)
			}
			seen := 0
			func() {
				defer func() {
					if r := recover(); r != "del" {
						t.Errorf("DeleteFunc recovered %v, want del's panic", r)
					}
				}()
				rt.DeleteFunc(func(string, string) bool {
					if seen++; seen == 3 {
						panic("del")
					}
					return true
				})
			}()
			if n := rt.Cache().Len(); n != 2 {
				t.Errorf("Len = %d after del panicked at its third entry, want 2 (the first two removed)", n)
			}
			if n := rt.InFlight(); n != 0 {
				t.Errorf("InFlight = %d: a key's lock kept", n)
			}
			if n := rt.DeleteFunc(all); n != 2 {
				t.Errorf("DeleteFunc after the panic = %d, want 2", n)
			}
			if _, _, err := rt.Get(context.Background(), "a"); err != nil || o.loads.Load() != 1 {
				t.Errorf("Get after the purge: %v, %d loads; want one load", err, o.loads.Load())
			}
		})
	})
}
