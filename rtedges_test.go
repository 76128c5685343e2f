package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// A GetStale whose load fails serves the stale value the cache holds when
// the load has failed, not the one its lookup saw before the load: here a
// Set (which detaches the load) and an Invalidate replaced k#1 by "newer",
// expired 200ms when the load fails. Serving k#1 would return an
// overwritten value (README, Guarantees: never a deleted, overwritten or
// never-written value), with the age of another.
// (TestRTGetStaleReturnsAValueStoredDuringTheLoad covers a fresh value
// stored meanwhile; this is the stale one.)
func TestRTGetStaleServesTheStaleValueOfTheCacheAfterTheLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := getStaleAcrossAFailedLoad(t, func(rt *ufocache.RTCache[string, string]) {
			rt.Set("k", "newer", time.Hour)
			rt.Invalidate("k")
			time.Sleep(200 * time.Millisecond)
		})
		if r.v != "newer" || r.st.Status != ufocache.Stale || r.st.StaleFor != 200*time.Millisecond || r.err != nil {
			t.Fatalf("GetStale whose load failed after k was set and invalidated = (%q, %v, StaleFor %v, %v), want (newer, stale, 200ms, nil)",
				r.v, r.st.Status, r.st.StaleFor, r.err)
		}
	})
}

// hookClock is a Clock that runs hook, once armed, at its next reading,
// before it returns: a write "lands" right after a lookup read the time.
type hookClock struct {
	ns   atomic.Int64
	hook atomic.Pointer[func()]
}

func (c *hookClock) Nanotime() int64 {
	if f := c.hook.Swap(nil); f != nil {
		(*f)()
	}
	return c.ns.Load()
}

// Refreshes counts background loads started, and only those: a stale read
// (GetStaleWhileUpdate) or a hit in the RefreshAhead window whose refresh
// is answered by its recheck, because a Set stored a fresh value between
// the read's lookup and the refresh's claim, starts no load and counts no
// refresh. (TestRTRefreshAnsweredByACachedErrorGivesItsSlotBack covers an
// error cached beforehand, which refresh turns away before the claim.)
func TestRTRefreshAnsweredByItsRecheckIsNotCounted(t *testing.T) {
	for _, ahead := range []bool{false, true} {
		clk := &hookClock{}
		clk.ns.Store(int64(time.Hour))
		o := &origin{ttl: time.Second}
		opts := ufocache.RTOptions[string, string]{}
		if ahead {
			opts.RefreshAhead = 500 * time.Millisecond
		}
		rt := newRT(t, o, opts, ufocache.Options[string, string]{MaxWeight: 100, Clock: clk, KeepExpired: time.Hour})
		ctx := context.Background()
		if _, _, err := rt.Get(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if ahead {
			clk.ns.Add(int64(600 * time.Millisecond)) // 400ms left: in the window
		} else {
			clk.ns.Add(int64(1500 * time.Millisecond)) // expired 500ms ago
		}
		set := func() { rt.Set("k", "fresh", time.Hour) }
		clk.hook.Store(&set) // the lookup's reading of the clock
		var v string
		var st ufocache.Status
		var err error
		if ahead {
			v, st, err = rt.Get(ctx, "k")
		} else {
			var sst ufocache.StaleStatus
			v, sst, err = rt.GetStaleWhileUpdate(ctx, "k", time.Hour)
			st = sst.Status
		}
		want := ufocache.Stale
		if ahead {
			want = ufocache.Hit
		}
		if v != "k#1" || st != want || err != nil {
			t.Fatalf("ahead %v: read = (%q, %v, %v), want (k#1, %v, nil)", ahead, v, st, err, want)
		}
		if clk.hook.Load() != nil {
			t.Fatalf("ahead %v: the read did not read the clock", ahead)
		}
		for rt.InFlight() > 0 { // a refresh, if one started, finishes
			runtime.Gosched()
		}
		if s := rt.Stats(); s.Refreshes != 0 || o.loads.Load() != 1 {
			t.Errorf("ahead %v: Refreshes %d, %d loads; want 0 and 1 (the refresh's recheck found the fresh value)", ahead, s.Refreshes, o.loads.Load())
		}
		if v, st, _ := rt.Get(ctx, "k"); v != "fresh" || st != ufocache.Hit {
			t.Errorf("ahead %v: Get after = (%q, %v), want (fresh, hit)", ahead, v, st)
		}
	}
}

// An RTGetBytes hit with exactly RefreshAhead left starts no refresh
// (the bound is exclusive: TestRTRefreshAheadBoundIsExclusive), and so,
// as RTGetBytes says, allocates nothing: it does not convert the key.
func TestRTGetBytesHitAtTheRefreshAheadBoundAllocatesNothing(t *testing.T) {
	clk := &fakeClock{}
	clk.Advance(time.Hour)
	c := ufocache.Must(ufocache.Options[hostKey, int]{MaxWeight: 100, Clock: clk, RecordStats: true})
	load := func(context.Context, hostKey) (int, time.Duration, error) { return 2, time.Hour, nil }
	rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[hostKey, int]{RefreshAhead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a-long-key/", 10)
	rt.Set(hostKey(long), 1, time.Second) // the clock stands: exactly RefreshAhead left
	b := []byte(long)
	ctx := context.Background()
	get := func() {
		if v, st, err := ufocache.RTGetBytes(ctx, rt, b); v != 1 || st != ufocache.Hit || err != nil {
			t.Fatalf("RTGetBytes = (%d, %v, %v), want (1, hit, nil)", v, st, err)
		}
	}
	if n := testing.AllocsPerRun(100, get); n != 0 {
		t.Errorf("a hit with exactly RefreshAhead left: %v allocs, want 0", n)
	}
	if s := rt.Stats(); s.Refreshes != 0 || s.Hits != 101 {
		t.Errorf("stats %+v: want no refresh and 101 hits", s)
	}
}

// RTCache.Clear drops the values before the cached errors: a load that
// fails once the values are gone (here, from OnEvict, which Clear's
// removal of key 1 calls) leaves no error behind when Clear returns. In
// the other order that error outlived Clear while the old values could
// still be read beside it, a state no single point of Clear explains
// (reliability's TestLinearizable found it).
func TestRTClearDropsTheErrorOfALoadThatFailedAfterTheValues(t *testing.T) {
	var rt *ufocache.RTCache[int, int]
	var loads, inside int
	errOrigin := errors.New("origin down")
	clearing := false
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 10, Shards: 1,
		OnEvict: func(k, _ int, r ufocache.EvictReason) {
			if clearing && k == 1 && r == ufocache.EvictDeleted {
				inside++
				if _, st, err := rt.Get(context.Background(), 2); st != ufocache.Miss || !errors.Is(err, errOrigin) {
					t.Errorf("the load during Clear: %v, %v; want a Miss whose load failed", st, err)
				}
			}
		}})
	var err error
	rt, err = ufocache.NewRTCache(c, func(context.Context, int) (int, time.Duration, error) {
		loads++
		return 0, 0, errOrigin
	}, ufocache.RTOptions[int, int]{ErrorTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.Set(1, 1)
	clearing = true
	rt.Clear()
	clearing = false
	if inside != 1 || loads != 1 {
		t.Fatalf("OnEvict ran %d times during Clear, %d loads; want 1 and 1", inside, loads)
	}
	if _, st, err := rt.Get(context.Background(), 2); st != ufocache.Miss || !errors.Is(err, errOrigin) || loads != 2 {
		t.Fatalf("after Clear: %v, %v after %d loads; want a new load (the error cached during Clear dropped)", st, err, loads)
	}
}

// What the Loader and ErrorTTL docs say of failed loads: a value returned
// with an error reaches the callers of that load with it and is not
// stored, and the cached error comes with V's zero value; a panic and a
// load timeout are cached as errors like any other (a later lookup gets
// the *PanicError as an error, without a panic); and a Loader's negative
// TTL counts as a Rejection in the Cache's Stats.
func TestRTFailedLoadsAsDocumented(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
		errPartial := errors.New("partial answer")
		release := make(chan struct{})
		rt, err := ufocache.NewRTCache(c, func(ctx context.Context, k string) (string, time.Duration, error) {
			switch k {
			case "partial":
				<-release
				return "half", time.Hour, errPartial
			case "panics":
				panic("malformed record")
			case "hangs":
				<-ctx.Done()
				return "late", time.Hour, nil
			}
			return "once", -1, nil
		}, ufocache.RTOptions[string, string]{ErrorTTL: time.Minute, LoadTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		type answer struct {
			v   string
			st  ufocache.Status
			err error
		}
		get := func(k string) answer {
			v, st, err := rt.Get(ctx, k)
			return answer{v, st, err}
		}
		var lead, wait answer
		var wg sync.WaitGroup
		wg.Go(func() { lead = get("partial") })
		synctest.Wait()
		wg.Go(func() { wait = get("partial") })
		synctest.Wait()
		close(release)
		wg.Wait()
		if want := (answer{"half", ufocache.Miss, errPartial}); lead != want {
			t.Errorf("leader of a load that gave a value and an error: %+v, want %+v", lead, want)
		}
		if want := (answer{"half", ufocache.LockHit, errPartial}); wait != want {
			t.Errorf("its waiter: %+v, want %+v", wait, want)
		}
		if want := (answer{"", ufocache.Hit, errPartial}); get("partial") != want {
			t.Errorf("the cached error: %+v, want %+v", get("partial"), want)
		}
		if _, ok := c.Get("partial"); ok {
			t.Error("a value returned with an error was stored")
		}

		func() {
			defer func() {
				if _, ok := recover().(*ufocache.PanicError); !ok {
					t.Error("the leader of a panicking load did not panic with a *PanicError")
				}
			}()
			get("panics")
		}()
		var pe *ufocache.PanicError
		if a := get("panics"); !errors.As(a.err, &pe) || a.st != ufocache.Hit {
			t.Errorf("after a panic: %+v, want the cached *PanicError, Hit", a)
		}
		if a := get("hangs"); a.err != ufocache.ErrLoadTimeout || a.st != ufocache.Miss {
			t.Errorf("a load past LoadTimeout: %+v, want ErrLoadTimeout, Miss", a)
		}
		if a := get("hangs"); a.err != ufocache.ErrLoadTimeout || a.st != ufocache.Hit {
			t.Errorf("after it: %+v, want the cached ErrLoadTimeout, Hit", a)
		}

		before := c.Stats().Rejections
		if a := get("once"); a != (answer{"once", ufocache.Miss, nil}) {
			t.Errorf("a load with a negative TTL: %+v", a)
		}
		if n := c.Stats().Rejections - before; n != 1 {
			t.Errorf("a Loader's negative TTL counted %d Rejections, want 1", n)
		}
	})
}

// A Loader may call its own RTCache: for another key (a resolver chasing
// a CNAME), on the caller's goroutine (a ctx that cannot end) and on one
// of its own, it loads that key as any caller would; for its own key it
// gets ErrLoadCycle at once, where it waited for itself until LockTimeout
// (rtcycle_test.go has the loops of several keys).
func TestRTLoaderCallsItsOwnCache(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
		var rt *ufocache.RTCache[string, string]
		var inner error
		rt, _ = ufocache.NewRTCache(c, func(ctx context.Context, k string) (string, time.Duration, error) {
			if target, ok := strings.CutPrefix(k, "alias."); ok {
				v, _, err := rt.Get(ctx, target)
				return "-> " + v, 0, err
			}
			if k == "self" {
				_, _, inner = rt.Get(ctx, k)
				return "", 0, inner
			}
			return "A " + k, 0, nil
		}, ufocache.RTOptions[string, string]{LockTimeout: time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for i, ctx := range []context.Context{context.Background(), ctx} {
			target := fmt.Sprint("www", i)
			if v, st, err := rt.Get(ctx, "alias."+target); v != "-> A "+target || st != ufocache.Miss || err != nil {
				t.Errorf("ctx %d: the alias loaded %q, %v, %v", i, v, st, err)
			}
			if v, ok := c.Get(target); !ok || v != "A "+target {
				t.Errorf("ctx %d: the chased key holds %q, %v", i, v, ok)
			}
		}
		for i, ctx := range []context.Context{context.Background(), ctx} {
			start := time.Now()
			if _, st, err := rt.Get(ctx, "self"); err != ufocache.ErrLoadCycle || st != ufocache.Miss || inner != ufocache.ErrLoadCycle {
				t.Errorf("ctx %d: a Loader asking for its own key: %v, %v (its inner call %v); want ErrLoadCycle from both", i, st, err, inner)
			}
			if waited := time.Since(start); waited != 0 {
				t.Errorf("ctx %d: it waited %v for itself, want no wait (LockTimeout is 1s)", i, waited)
			}
			if n := rt.InFlight(); n != 0 {
				t.Errorf("ctx %d: %d loads in flight after it", i, n)
			}
		}
	})
}

// RefreshAhead against an origin that fails: without ErrorTTL, every hit
// after a failed refresh starts another, one at a time; with it, the kept
// error holds the key's refreshes off until it expires. Each hit serves
// the value it found.
func TestRTRefreshAheadAfterAFailedRefresh(t *testing.T) {
	for _, errorTTL := range []time.Duration{0, 2 * time.Second} {
		synctest.Test(t, func(t *testing.T) {
			var calls atomic.Int32
			c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10, Clock: newBubbleClock()})
			rt, _ := ufocache.NewRTCache(c, func(ctx context.Context, k string) (string, time.Duration, error) {
				if calls.Add(1) == 1 {
					return "v", 10 * time.Second, nil
				}
				return "", 0, errors.New("origin down")
			}, ufocache.RTOptions[string, string]{RefreshAhead: 5 * time.Second, ErrorTTL: errorTTL})
			ctx := context.Background()
			rt.Get(ctx, "k")
			time.Sleep(6 * time.Second) // inside the RefreshAhead window
			hits := func() {
				for range 10 {
					if v, st, err := rt.Get(ctx, "k"); v != "v" || st != ufocache.Hit || err != nil {
						t.Errorf("ErrorTTL %v: a hit in the window gave %q, %v, %v", errorTTL, v, st, err)
					}
					synctest.Wait() // its refresh, if it started one, has failed
				}
			}
			hits()
			want := int32(11) // the load, and a refresh per hit
			if errorTTL > 0 {
				want = 2 // the load, and one refresh: its error holds the others off
			}
			if n := calls.Load(); n != want {
				t.Errorf("ErrorTTL %v: %d origin calls after 10 hits, want %d", errorTTL, n, want)
			}
			if errorTTL > 0 {
				time.Sleep(errorTTL)
				hits()
				if n := calls.Load(); n != 3 {
					t.Errorf("ErrorTTL %v: %d origin calls once the error expired, want 3", errorTTL, n)
				}
			}
		})
	}
}
