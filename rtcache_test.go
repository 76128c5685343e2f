package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// bubbleClock reads package time, which testing/synctest fakes, so that
// entry TTLs and the read-through timeouts move together in a bubble. It
// starts at one hour, not 0.
type bubbleClock struct{ origin time.Time }

func newBubbleClock() bubbleClock { return bubbleClock{time.Now().Add(-time.Hour)} }

func (c bubbleClock) Nanotime() int64 { return int64(time.Since(c.origin)) }

// checkGoroutines fails t if there are more goroutines than before and
// some of them run library code. The count is the process's, and the
// runtime or the testing package may hold a goroutine of their own for a
// moment, so a higher count alone is not a leak.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	after := runtime.NumGoroutine()
	if after <= before {
		return
	}
	if n := libraryGoroutines(); n > 0 {
		t.Errorf("%d goroutines before, %d after, %d of them in library code", before, after, n)
	}
}

// libraryGoroutines counts the goroutines whose stack has a frame of the
// library (not of its tests).
func libraryGoroutines() int {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "runtime.runCleanups") || strings.Contains(g, "runtime.runFinalizers") {
			continue // the runtime's goroutine running a dropped cache's cleanup, not a load
		}
		if strings.Contains(g, "github.com/ufocache/ufocache.") || strings.Contains(g, "github.com/ufocache/ufocache/coalesce.") {
			count++
		}
	}
	return count
}

// origin is a fake origin server: it counts loads and can be told to
// block, fail, panic or take time.
type origin struct {
	loads    atomic.Int32
	inFlight atomic.Int32
	maxIn    atomic.Int32
	mu       sync.Mutex
	gate     chan struct{} // if not nil, each load waits for it
	delay    time.Duration
	err      error
	panics   any // if not nil, each load panics with it
	ttl      time.Duration
	val      func(key string, n int32) string
}

func (o *origin) load(ctx context.Context, key string) (string, time.Duration, error) {
	n := o.loads.Add(1)
	in := o.inFlight.Add(1)
	defer o.inFlight.Add(-1)
	for {
		m := o.maxIn.Load()
		if in <= m || o.maxIn.CompareAndSwap(m, in) {
			break
		}
	}
	o.mu.Lock()
	gate, delay, err, panics, ttl, val := o.gate, o.delay, o.err, o.panics, o.ttl, o.val
	o.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if panics != nil {
		panic(panics)
	}
	if err != nil {
		return "", 0, err
	}
	if val != nil {
		return val(key, n), ttl, nil
	}
	return fmt.Sprintf("%s#%d", key, n), ttl, nil
}

func (o *origin) set(f func(o *origin)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f(o)
}

func newRT(t testing.TB, o *origin, opts ufocache.RTOptions[string, string], copts ...ufocache.Options[string, string]) *ufocache.RTCache[string, string] {
	t.Helper()
	return newRTLoading(t, o.load, opts, copts...)
}

// newRTLoading is newRT with any Loader.
func newRTLoading(t testing.TB, load ufocache.Loader[string, string], opts ufocache.RTOptions[string, string], copts ...ufocache.Options[string, string]) *ufocache.RTCache[string, string] {
	t.Helper()
	co := ufocache.Options[string, string]{MaxWeight: 1000, Clock: newBubbleClock()}
	if len(copts) > 0 {
		co = copts[0]
	}
	c, err := ufocache.New(co)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := ufocache.NewRTCache(c, load, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// newRecordingRT is newRT over a Cache of 100 whose OnEvict records each
// entry that leaves, as "key=value:reason"; evictions returns them so far.
func newRecordingRT(t testing.TB, o *origin, opts ufocache.RTOptions[string, string]) (rt *ufocache.RTCache[string, string], evictions func() []string) {
	var mu sync.Mutex
	var evicted []string
	rt = newRT(t, o, opts, ufocache.Options[string, string]{
		MaxWeight: 100,
		Clock:     newBubbleClock(),
		OnEvict: func(k, v string, r ufocache.EvictReason) {
			mu.Lock()
			evicted = append(evicted, fmt.Sprint(k, "=", v, ":", r))
			mu.Unlock()
		},
	})
	return rt, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(evicted)
	}
}

type answer struct {
	v   string
	st  ufocache.Status
	err error
	at  time.Duration // when it came, in a synctest bubble
}

// stampedeRT runs n concurrent Gets of one cold key while the origin is
// blocked, and returns their answers once the origin is released.
func stampedeRT(t *testing.T, rt *ufocache.RTCache[string, string], o *origin, n int) []answer {
	t.Helper()
	gate := make(chan struct{})
	o.set(func(o *origin) { o.gate = gate })
	out := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			a := &out[i]
			a.v, a.st, a.err = rt.Get(context.Background(), "cold")
		})
	}
	synctest.Wait()
	if got := rt.InFlight(); got != 1 {
		t.Errorf("InFlight during the stampede = %d, want 1", got)
	}
	close(gate)
	wg.Wait()
	return out
}

func TestRTStampedeOneLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		answers := stampedeRT(t, rt, o, 1000)
		if n := o.loads.Load(); n != 1 {
			t.Fatalf("%d loads, want 1", n)
		}
		misses := 0
		for i, a := range answers {
			if a.v != "cold#1" || a.err != nil {
				t.Fatalf("caller %d got %+v, want cold#1", i, a)
			}
			switch a.st {
			case ufocache.Miss:
				misses++
			case ufocache.LockHit:
			default:
				t.Fatalf("caller %d got status %v", i, a.st)
			}
		}
		if misses != 1 {
			t.Errorf("%d callers saw Miss, want 1 (the rest LockHit)", misses)
		}
		if n := rt.InFlight(); n != 0 {
			t.Errorf("InFlight after = %d, want 0", n)
		}
		if v, st, err := rt.Get(context.Background(), "cold"); v != "cold#1" || st != ufocache.Hit || err != nil {
			t.Errorf("Get after = (%q, %v, %v), want a hit", v, st, err)
		}
		s := rt.Stats()
		if s.Loads != 1 || s.Misses != 1 || s.LockHits != 999 {
			t.Errorf("stats %+v: want 1 load, 1 miss, 999 lock hits", s)
		}
	})
}

func TestRTStampedeSharedError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errDown := errors.New("origin down")
		o := &origin{err: errDown}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		for i, a := range stampedeRT(t, rt, o, 1000) {
			if a.err != errDown {
				t.Fatalf("caller %d got %v, want %v", i, a.err, errDown)
			}
		}
		if n := o.loads.Load(); n != 1 {
			t.Fatalf("%d loads, want 1: waiters share the leader's error", n)
		}
		if n := rt.InFlight(); n != 0 {
			t.Errorf("InFlight after = %d, want 0", n)
		}
		if s := rt.Stats(); s.LoadErrors != 1 {
			t.Errorf("LoadErrors = %d, want 1", s.LoadErrors)
		}
	})
}

// failureCase is a way for a load to go wrong, with what the callers see.
type failureCase struct {
	name string
	opts ufocache.RTOptions[string, string]
	// load replaces the origin; release unblocks it.
	load func(release <-chan struct{}) ufocache.Loader[string, string]
	// leaderCtx, if set, is the first caller's context; cancel is called
	// once every caller waits.
	leaderCancels bool
	// check judges one caller's outcome; leader is the first caller.
	check func(t *testing.T, leader bool, a answer, panicked any)
	// bound is when each caller must have its answer: the callers wait
	// from 0, and the loader is let go at 2s.
	bound func(leader bool) time.Duration
}

func always(d time.Duration) func(bool) time.Duration { return func(bool) time.Duration { return d } }

var failureCases = []failureCase{
	{
		name: "leader cancels",
		load: func(release <-chan struct{}) ufocache.Loader[string, string] {
			return func(ctx context.Context, k string) (string, time.Duration, error) {
				<-release
				return "v", 0, ctx.Err() // ctx is detached: nil
			}
		},
		leaderCancels: true,
		bound: func(leader bool) time.Duration {
			if leader {
				return 0 // it leaves when its ctx is cancelled
			}
			return 2 * time.Second
		},
		check: func(t *testing.T, leader bool, a answer, _ any) {
			if leader && (!errors.Is(a.err, context.Canceled) || a.st != ufocache.Miss) {
				t.Errorf("leader got %+v, want context.Canceled with status miss", a)
			}
			if !leader && (a.v != "v" || a.err != nil) {
				t.Errorf("waiter got %+v, want v", a)
			}
		},
	},
	{
		name: "loader panics",
		load: func(release <-chan struct{}) ufocache.Loader[string, string] {
			return func(context.Context, string) (string, time.Duration, error) {
				<-release
				panic("loader bug")
			}
		},
		bound: always(2 * time.Second),
		check: func(t *testing.T, leader bool, a answer, panicked any) {
			if leader {
				if p, ok := panicked.(*ufocache.PanicError); !ok || p.Value != "loader bug" {
					t.Errorf("leader panicked with %v, want *PanicError{loader bug}", panicked)
				}
				return
			}
			var pe *ufocache.PanicError
			if !errors.As(a.err, &pe) || pe.Value != "loader bug" || !strings.Contains(string(pe.Stack), "rtcache_test.go") {
				t.Errorf("waiter got %v, want *PanicError{loader bug} with its stack", a.err)
			}
		},
	},
	{
		name: "loader hangs past the lock timeout",
		opts: ufocache.RTOptions[string, string]{LockTimeout: time.Second},
		load: func(release <-chan struct{}) ufocache.Loader[string, string] {
			return func(context.Context, string) (string, time.Duration, error) {
				<-release
				return "late", 0, nil
			}
		},
		bound: func(leader bool) time.Duration {
			if leader {
				return 2 * time.Second
			}
			return time.Second
		},
		check: func(t *testing.T, leader bool, a answer, _ any) {
			if leader && (a.v != "late" || a.err != nil) {
				t.Errorf("leader got %+v, want late", a)
			}
			if !leader && a.err != ufocache.ErrLockTimeout {
				t.Errorf("waiter got %v, want ErrLockTimeout", a.err)
			}
		},
	},
	{
		name: "loader hangs past the load timeout",
		opts: ufocache.RTOptions[string, string]{LoadTimeout: time.Second},
		load: func(release <-chan struct{}) ufocache.Loader[string, string] {
			return func(context.Context, string) (string, time.Duration, error) {
				<-release // ignores ctx
				return "too late", 0, nil
			}
		},
		bound: always(time.Second),
		check: func(t *testing.T, _ bool, a answer, _ any) {
			if a.err != ufocache.ErrLoadTimeout {
				t.Errorf("caller got %+v, want ErrLoadTimeout", a)
			}
		},
	},
	{
		name: "loader calls Goexit",
		load: func(release <-chan struct{}) ufocache.Loader[string, string] {
			return func(context.Context, string) (string, time.Duration, error) {
				<-release
				runtime.Goexit()
				return "", 0, nil
			}
		},
		bound: always(2 * time.Second),
		check: func(t *testing.T, _ bool, a answer, _ any) {
			if a.err != ufocache.ErrGoexit {
				t.Errorf("caller got %v, want ErrGoexit", a.err)
			}
		},
	},
}

// TestRTFailuresReleaseKey: whatever happens to a load, no caller waits
// past its bound, the key loads again at once, and no goroutine is left.
func TestRTFailuresReleaseKey(t *testing.T) {
	for _, tc := range failureCases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				before := runtime.NumGoroutine()
				release := make(chan struct{})
				bad := tc.load(release)
				var useBad atomic.Bool
				useBad.Store(true)
				var loads atomic.Int32
				loader := func(ctx context.Context, k string) (string, time.Duration, error) {
					loads.Add(1)
					if useBad.Load() {
						return bad(ctx, k)
					}
					return "good", 0, nil
				}
				c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
				rt, err := ufocache.NewRTCache(c, loader, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				const waiters = 20
				answers := make([]answer, waiters+1)
				panics := make([]any, waiters+1)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var wg sync.WaitGroup
				start := time.Now()
				get := func(i int, ctx context.Context) {
					a := &answers[i]
					defer func() {
						a.at = time.Since(start)
						panics[i] = recover()
					}()
					a.v, a.st, a.err = rt.Get(ctx, "k")
				}
				wg.Go(func() { get(0, ctx) })
				synctest.Wait()
				for i := 1; i <= waiters; i++ {
					wg.Go(func() { get(i, context.Background()) })
				}
				synctest.Wait()
				if tc.leaderCancels {
					cancel()
					synctest.Wait()
				}
				// Give the timeouts their due, then let the loader go.
				time.Sleep(2 * time.Second)
				useBad.Store(false)
				close(release)
				wg.Wait()
				if n := loads.Load(); n != 1 {
					t.Errorf("%d loads for %d callers, want 1", n, waiters+1)
				}
				for i, a := range answers {
					tc.check(t, i == 0, a, panics[i])
					if want := tc.bound(i == 0); a.at != want {
						t.Errorf("caller %d answered at %v, want %v", i, a.at, want)
					}
				}
				synctest.Wait()
				if n := rt.InFlight(); n != 0 {
					t.Fatalf("InFlight after = %d, want 0", n)
				}
				// The key is usable at once.
				n0 := loads.Load()
				v, _, err := rt.Get(context.Background(), "k")
				if tc.name == "leader cancels" || tc.name == "loader hangs past the lock timeout" {
					// Those loads succeeded and stored their value.
					if err != nil || loads.Load() != n0 {
						t.Errorf("Get after = (%q, %v) with %d more loads, want the stored value", v, err, loads.Load()-n0)
					}
				} else if v != "good" || err != nil || loads.Load() != n0+1 {
					t.Errorf("Get after = (%q, %v), want a fresh load of good", v, err)
				}
				synctest.Wait()
				checkGoroutines(t, before)
			})
		})
	}
}

// TestRTRechecksBeforeLoading plays a caller that missed the cache just
// before another caller's load stored the key and finished: it must find
// the value, not load it again (pingora issue #110). The same for a
// cached error.
func TestRTRechecksBeforeLoading(t *testing.T) {
	o := &origin{err: errors.New("down")}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100})
	rt, _ := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
	rt.Set("k", "stored", 0)
	if v, st, err := rt.JoinAfterMiss(context.Background(), "k"); v != "stored" || st != ufocache.LockHit || err != nil {
		t.Errorf("late caller got (%q, %v, %v), want (stored, lock-hit, nil)", v, st, err)
	}
	rt.Get(context.Background(), "bad") // fails; the error is cached
	if _, st, err := rt.JoinAfterMiss(context.Background(), "bad"); err == nil || st != ufocache.LockHit {
		t.Errorf("late caller of a failed key got (%v, %v), want the cached error", st, err)
	}
	if n := o.loads.Load(); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
}

func TestRTBoundsAreExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		hang := make(chan struct{})
		o.set(func(o *origin) { o.gate = hang })
		rt := newRT(t, o, ufocache.RTOptions[string, string]{LockTimeout: time.Second, LoadTimeout: 3 * time.Second})
		go rt.Get(context.Background(), "k")
		synctest.Wait()
		start := time.Now()
		// A waiter that stops waiting is a LockHit with its reason as the
		// error (Status's doc): it waited for another caller's load.
		if _, st, err := rt.Get(context.Background(), "k"); err != ufocache.ErrLockTimeout || st != ufocache.LockHit || time.Since(start) != time.Second {
			t.Errorf("waiter: %v, %v after %v, want ErrLockTimeout, LockHit after 1s", err, st, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start = time.Now()
		if _, st, err := rt.Get(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) || st != ufocache.LockHit || time.Since(start) != 500*time.Millisecond {
			t.Errorf("waiter with a shorter ctx: %v, %v after %v, want DeadlineExceeded, LockHit after 500ms", err, st, time.Since(start))
		}
		close(hang)
	})
}

func TestRTLockAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		hang := make(chan struct{})
		o.set(func(o *origin) { o.gate = hang })
		rt := newRT(t, o, ufocache.RTOptions[string, string]{LockAge: time.Second})
		first := make(chan answer, 1)
		go func() {
			var a answer
			a.v, a.st, a.err = rt.Get(context.Background(), "k")
			first <- a
		}()
		synctest.Wait()
		time.Sleep(time.Second)
		o.set(func(o *origin) { o.gate = nil })
		v, st, err := rt.Get(context.Background(), "k")
		if v != "k#2" || st != ufocache.Miss || err != nil {
			t.Fatalf("Get after LockAge = (%q, %v, %v), want (k#2, miss, nil)", v, st, err)
		}
		close(hang)
		if a := <-first; a.v != "k#1" {
			t.Fatalf("the old load's caller got %+v, want k#1", a)
		}
		synctest.Wait()
		if v, st, _ := rt.Get(context.Background(), "k"); v != "k#2" || st != ufocache.Hit {
			t.Errorf("stored value = (%q, %v), want k#2: the superseded load must not store", v, st)
		}
	})
}

// An origin slower than LockAge still gets its answers kept: loads of 50ms
// with a LockAge of 20ms, a caller every 5ms for a second. Each load
// older than LockAge is superseded by the next caller's, but the first to
// finish is stored (nothing younger was yet), and from then on callers
// hit: three loads in all (at 0, 20 and 40ms), where storing only the
// load that holds the key stored nothing, and the origin got a load every
// 20ms (50 in the second).
func TestRTOriginSlowerThanLockAgeGetsItsAnswersKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		o.set(func(o *origin) { o.delay = 50 * time.Millisecond })
		rt := newRT(t, o, ufocache.RTOptions[string, string]{LockAge: 20 * time.Millisecond})
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				if v, _, err := rt.Get(context.Background(), "k"); err != nil || !strings.HasPrefix(v, "k#") {
					t.Errorf("Get = (%q, %v), want a loaded value", v, err)
				}
			})
			time.Sleep(5 * time.Millisecond)
		}
		wg.Wait()
		if n := o.loads.Load(); n != 3 {
			t.Errorf("%d loads in a second, want 3 (LockAge 20ms, loads of 50ms)", n)
		}
		if v, st, _ := rt.Get(context.Background(), "k"); v != "k#3" || st != ufocache.Hit {
			t.Errorf("stored value = (%q, %v), want (k#3, Hit): the youngest load's, committed over the older ones", v, st)
		}
	})
}

func TestRTStaleWhileRevalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl = 100 * time.Millisecond
		const loadTime = 20 * time.Millisecond
		// One RTCache per key: the Cache's sweep reclaims expired entries
		// when other keys are written, and this test is about refreshes.
		keys := []string{"a", "b", "c"}
		origins := map[string]*origin{}
		rts := map[string]*ufocache.RTCache[string, string]{}
		var mu sync.Mutex
		starts := map[string][]time.Time{}
		for _, k := range keys {
			o := &origin{delay: loadTime, ttl: ttl}
			o.val = func(k string, n int32) string {
				mu.Lock()
				starts[k] = append(starts[k], time.Now().Add(-loadTime))
				mu.Unlock()
				return fmt.Sprint(k, n)
			}
			origins[k], rts[k] = o, newRT(t, o, ufocache.RTOptions[string, string]{})
			if _, _, err := rts[k].Get(context.Background(), k); err != nil { // warm up
				t.Fatal(err)
			}
		}
		var blocked, stale atomic.Int32
		var wg sync.WaitGroup
		for r := range 8 {
			wg.Go(func() {
				for i := range 200 {
					k := keys[(r+i)%len(keys)]
					start := time.Now()
					v, st, err := rts[k].GetStaleWhileUpdate(context.Background(), k, time.Hour)
					if d := time.Since(start); d != 0 {
						blocked.Add(1)
						t.Errorf("GetStaleWhileUpdate(%s) = (%q, %+v) took %v", k, v, st, d)
					}
					if err != nil || v == "" {
						t.Errorf("GetStaleWhileUpdate(%s) = (%q, %v, %v)", k, v, st, err)
					}
					if st.Status == ufocache.Stale {
						stale.Add(1)
						if st.StaleFor < 0 || st.StaleFor > loadTime {
							t.Errorf("StaleFor = %v, want at most the load time", st.StaleFor)
						}
					}
					time.Sleep(5 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		time.Sleep(time.Second) // let the last refreshes finish
		if n := blocked.Load(); n != 0 {
			t.Errorf("%d reads waited for a load", n)
		}
		if stale.Load() == 0 {
			t.Fatal("no stale value was served: the test did not test")
		}
		mu.Lock()
		defer mu.Unlock()
		for _, k := range keys {
			if m := origins[k].maxIn.Load(); m != 1 {
				t.Errorf("key %s: %d loads ran at once, want 1", k, m)
			}
			s := starts[k]
			if len(s) < 5 {
				t.Errorf("key %s loaded %d times in 1s with a 100ms TTL: refreshes did not happen", k, len(s))
			}
			for i := 1; i < len(s); i++ {
				// One refresh per expiry: each refresh starts after the
				// value the previous load stored has expired.
				if gap := s[i].Sub(s[i-1]); gap < ttl+loadTime {
					t.Errorf("key %s: loads %d and %d started %v apart, within one TTL", k, i-1, i, gap)
				}
			}
			if st := rts[k].Stats(); st.Refreshes != uint64(len(s)-1) {
				t.Errorf("key %s: %d refreshes counted, %d made", k, st.Refreshes, len(s)-1)
			}
		}
	})
}

func TestRTStaleFloodIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{MaxRefreshes: 2})
		keys := make([]string, 10)
		for i := range keys {
			keys[i] = fmt.Sprint("k", i)
			rt.Get(context.Background(), keys[i])
		}
		time.Sleep(2 * time.Second) // all expired
		gate := make(chan struct{})
		o.set(func(o *origin) { o.gate = gate })
		before := runtime.NumGoroutine()
		for i := range 10_000 {
			v, st, err := rt.GetStaleWhileUpdate(context.Background(), keys[i%len(keys)], time.Hour)
			if st.Status != ufocache.Stale || err != nil || v == "" {
				t.Fatalf("read %d = (%q, %v, %v), want stale", i, v, st, err)
			}
		}
		synctest.Wait()
		if n := libraryGoroutines(); n > 2 {
			t.Errorf("10,000 stale reads left %d goroutines running library code (%d more in all), want at most MaxRefreshes = 2",
				n, runtime.NumGoroutine()-before)
		}
		if n := o.inFlight.Load(); n != 2 {
			t.Errorf("%d refreshes in flight, want 2", n)
		}
		close(gate)
		synctest.Wait()
		if n := o.loads.Load(); n != 10+2 {
			t.Errorf("%d loads, want 12 (10 warm-ups and 2 refreshes)", n)
		}
	})
}

func TestRTGetStaleIfError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		rt.Get(context.Background(), "k")
		errDown := errors.New("down")
		o.set(func(o *origin) { o.err = errDown })
		time.Sleep(1500 * time.Millisecond) // expired 500ms ago
		v, st, err := rt.GetStale(context.Background(), "k", time.Second)
		if v != "k#1" || st.Status != ufocache.Stale || st.StaleFor != 500*time.Millisecond || err != nil {
			t.Fatalf("GetStale within the allowance = (%q, %+v, %v), want (k#1, stale 500ms, nil)", v, st, err)
		}
		v, st, err = rt.GetStale(context.Background(), "k", 400*time.Millisecond)
		if err != errDown || st.Status != ufocache.Expired {
			t.Fatalf("GetStale past the allowance = (%q, %+v, %v), want the load error", v, st, err)
		}
		o.set(func(o *origin) { o.err = nil })
		v, st, err = rt.GetStale(context.Background(), "k", time.Second)
		if v != "k#4" || st.Status != ufocache.Expired || err != nil {
			t.Fatalf("GetStale with the origin back = (%q, %+v, %v), want (k#4, expired, nil)", v, st, err)
		}
	})
}

// A panic in the Loader is a failed load too: GetStale serves the stale
// value (Get, with nothing to fall back on, panics in the leader).
func TestRTGetStaleIfPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		rt.Get(context.Background(), "k")
		o.set(func(o *origin) { o.panics = "origin bug" })
		time.Sleep(1500 * time.Millisecond)
		var v string
		var st ufocache.StaleStatus
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("GetStale panicked with %v", r)
				}
			}()
			v, st, err = rt.GetStale(context.Background(), "k", time.Second)
		}()
		if v != "k#1" || st.Status != ufocache.Stale || err != nil {
			t.Fatalf("GetStale with a panicking Loader = (%q, %+v, %v), want (k#1, stale, nil)", v, st, err)
		}
		defer func() {
			var p *ufocache.PanicError
			if r := recover(); !(errors.As(asError(r), &p) && p.Value == "origin bug") {
				t.Fatalf("Get with a panicking Loader recovered %v, want its *PanicError", r)
			}
		}()
		rt.Get(context.Background(), "k")
	})
}

// warmStaleRT returns an RTCache over o whose Cache keeps expired entries
// an hour (for stale reads) on the bubble's clock, with k loaded once.
func warmStaleRT(t *testing.T, o *origin, opts ufocache.RTOptions[string, string]) *ufocache.RTCache[string, string] {
	t.Helper()
	rt := newRT(t, o, opts, ufocache.Options[string, string]{MaxWeight: 1000, Clock: newBubbleClock(), KeepExpired: time.Hour})
	if _, _, err := rt.Get(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	return rt
}

// GetStale judges its fallback when the load has failed, from the cache as
// it is then: a load that fails at its LoadTimeout, 5s after a value went
// stale 500ms ago, does not serve it under a 1s allowance (it used to,
// with StaleFor 500ms, judged before the load), and serves it under a
// longer one with StaleFor 10.5s (a second load that timed out too).
func TestRTGetStaleJudgesTheAllowanceAfterTheLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := warmStaleRT(t, o, ufocache.RTOptions[string, string]{LoadTimeout: 5 * time.Second})
		gate := make(chan struct{})
		defer close(gate)
		o.set(func(o *origin) { o.gate = gate }) // the origin hangs
		time.Sleep(1500 * time.Millisecond)      // expired 500ms ago
		v, st, err := rt.GetStale(context.Background(), "k", time.Second)
		if !errors.Is(err, ufocache.ErrLoadTimeout) || st.Status == ufocache.Stale {
			t.Fatalf("GetStale(1s) whose load failed 5.5s after the expiry = (%q, %+v, %v), want ErrLoadTimeout", v, st, err)
		}
		v, st, err = rt.GetStale(context.Background(), "k", time.Minute)
		if v != "k#1" || st.Status != ufocache.Stale || st.StaleFor != 10500*time.Millisecond || err != nil {
			t.Fatalf("GetStale(1m) whose load failed 10.5s after the expiry = (%q, %v, StaleFor %v, %v), want (k#1, stale, 10.5s, nil)", v, st.Status, st.StaleFor, err)
		}
		if s := rt.Stats(); s.Stale != 1 {
			t.Errorf("Stats().Stale = %d, want 1 (the second call)", s.Stale)
		}
	})
}

// A GetStale whose load fails returns the fresh value a Set stored while
// the load ran, not the stale value its lookup saw before.
func TestRTGetStaleReturnsAValueStoredDuringTheLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := getStaleAcrossAFailedLoad(t, func(rt *ufocache.RTCache[string, string]) {
			rt.Set("k", "fresh", time.Hour)
		})
		if r.v != "fresh" || r.st.Status != ufocache.Hit || r.err != nil {
			t.Fatalf("GetStale whose load failed after a Set of a fresh value = (%q, %+v, %v), want (fresh, hit, nil)", r.v, r.st, r.err)
		}
	})
}

// staleResult is what a GetStale returned.
type staleResult struct {
	v   string
	st  ufocache.StaleStatus
	err error
}

// getStaleAcrossAFailedLoad (in a synctest bubble) makes k#1 stale by
// 500ms, starts a GetStale of k whose load waits at a gate, calls
// meanwhile, then lets the load fail, and returns what GetStale returned.
func getStaleAcrossAFailedLoad(t *testing.T, meanwhile func(*ufocache.RTCache[string, string])) staleResult {
	o := &origin{ttl: time.Second}
	rt := warmStaleRT(t, o, ufocache.RTOptions[string, string]{})
	gate := make(chan struct{})
	o.set(func(o *origin) { o.gate = gate; o.err = errors.New("down") })
	time.Sleep(1500 * time.Millisecond) // k#1 expired 500ms ago
	done := make(chan staleResult)
	go func() {
		v, st, err := rt.GetStale(context.Background(), "k", time.Hour)
		done <- staleResult{v, st, err}
	}()
	synctest.Wait() // GetStale's load waits at the gate
	meanwhile(rt)
	close(gate) // the load fails
	return <-done
}

// A GetStale whose Loader panics, with no stale value left to serve when
// the load ends (it took longer than the allowance), panics as Get does.
func TestRTGetStaleRaisesAPanicWithNothingToServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := warmStaleRT(t, o, ufocache.RTOptions[string, string]{})
		o.set(func(o *origin) { o.delay, o.panics = 2*time.Second, "origin bug" })
		time.Sleep(1500 * time.Millisecond) // expired 500ms ago
		defer func() {
			var p *ufocache.PanicError
			if r := recover(); !(errors.As(asError(r), &p) && p.Value == "origin bug") {
				t.Fatalf("GetStale(1s) whose load panicked 2.5s after the expiry recovered %v, want its *PanicError", r)
			}
		}()
		v, st, err := rt.GetStale(context.Background(), "k", time.Second)
		t.Fatalf("GetStale(1s) whose load panicked 2.5s after the expiry = (%q, %+v, %v), want a panic", v, st, err)
	})
}

// The BatchLoader's keys are its own: a BatchLoader that reuses the slice
// does not change the keys the values are weighed with (they were weighed
// with what it wrote there: Weight 62 instead of 8).
func TestRTBatchLoaderMayChangeItsKeys(t *testing.T) {
	var mu sync.Mutex
	weighed := map[string]string{} // value -> the key it was weighed with
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 1000,
		Weigher: func(k, v string) uint32 {
			mu.Lock()
			defer mu.Unlock()
			weighed[v] = k
			return uint32(len(k) + len(v))
		}})
	rt, err := ufocache.NewRTCache(c, func(ctx context.Context, k string) (string, time.Duration, error) {
		return "v-" + k, 0, nil
	}, ufocache.RTOptions[string, string]{
		BatchLoader: func(ctx context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			out := make([]ufocache.Loaded[string], len(keys))
			for i, k := range keys {
				out[i].Value = "v-" + k
				keys[i] = "a-much-longer-scratch-string"
			}
			return out, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.MultiGet(context.Background(), []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if got := weighed["v-"+k]; got != k {
			t.Errorf("value v-%s was weighed with key %q, want %q", k, got, k)
		}
	}
	if w := c.Weight(); w != 2*(1+3) {
		t.Errorf("Weight() = %d after storing a=v-a and b=v-b, want 8 (len(k)+len(v) each)", w)
	}
}

// A lookup whose load panics started that load: it counts as a Miss like
// one whose load returned an error, both in GetStale (which serves the
// stale value) and in Get (whose leader panics again).
func TestRTPanickingLoadCountsItsMiss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		rt.Get(context.Background(), "k")
		o.set(func(o *origin) { o.err = errors.New("down") })
		time.Sleep(1500 * time.Millisecond)
		rt.GetStale(context.Background(), "k", time.Hour) // the load fails: stale
		if s := rt.Stats(); s.Misses != 2 || s.Loads != 2 || s.Stale != 1 {
			t.Fatalf("after a GetStale whose load failed: %+v, want Misses 2, Loads 2, Stale 1", s)
		}
		o.set(func(o *origin) { o.err, o.panics = nil, "origin bug" })
		rt.GetStale(context.Background(), "k", time.Hour) // the load panics: stale
		if s := rt.Stats(); s.Misses != 3 || s.Loads != 3 || s.LoadErrors != 2 || s.Stale != 2 {
			t.Errorf("after a GetStale whose load panicked: %+v, want Misses 3, Loads 3, LoadErrors 2, Stale 2", s)
		}
		func() {
			defer func() { recover() }()
			rt.Get(context.Background(), "k")
		}()
		if s := rt.Stats(); s.Misses != 4 || s.Loads != 4 || s.LoadErrors != 3 {
			t.Errorf("after a Get whose load panicked: %+v, want Misses 4, Loads 4, LoadErrors 3", s)
		}
	})
}

// A MultiGet whose BatchLoader panics panics too, and still counts a Miss
// for each key it loaded (and a LockHit for each it joined), as Get does.
func TestRTPanickingBatchCountsItsMisses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			<-release
			return k, 0, nil
		}
		batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			panic("batch bug")
		}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
		rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{BatchLoader: batch})
		if err != nil {
			t.Fatal(err)
		}
		go rt.Get(context.Background(), "joined") // its load waits on release
		synctest.Wait()
		var got any
		go func() {
			synctest.Wait() // MultiGet waits on "joined"
			close(release)
		}()
		func() {
			defer func() { got = recover() }()
			rt.MultiGet(context.Background(), []string{"a", "b", "joined"})
		}()
		if got == nil {
			t.Fatal("MultiGet did not panic with its BatchLoader")
		}
		synctest.Wait()
		if s := rt.Stats(); s.Misses != 3 || s.LockHits != 1 || s.Loads != 3 || s.LoadErrors != 2 {
			t.Errorf("after a MultiGet of 2 keys whose BatchLoader panicked and 1 joined: %+v; want Misses 3 (its 2 and the Get's), LockHits 1, Loads 3, LoadErrors 2", s)
		}
	})
}

func asError(r any) error {
	err, _ := r.(error)
	return err
}

// A *PanicError that the Loader returns (from a layer below) is its error:
// Get returns it and does not panic.
func TestRTReturnedPanicErrorIsAnError(t *testing.T) {
	below := &ufocache.PanicError{Value: "a layer below"}
	o := &origin{err: below}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{MaxWeight: 100})
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Get panicked with %v", r)
		}
	}()
	if _, _, err := rt.Get(context.Background(), "k"); err != below {
		t.Fatalf("Get = %v, want the Loader's error", err)
	}
}

// Stats.LoadErrors counts the loads that timed out, whether they return
// later (their result dropped) or hang, once each, single and batched.
func TestRTLoadErrorsCountTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := make(chan struct{})
		load := func(ctx context.Context, k string) (string, time.Duration, error) {
			if k == "hangs" {
				<-hang
			}
			time.Sleep(2 * time.Second)
			return "late", 0, nil
		}
		batch := func(ctx context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			time.Sleep(2 * time.Second)
			return make([]ufocache.Loaded[string], len(keys)), nil
		}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
		rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{LoadTimeout: time.Second, BatchLoader: batch})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"late", "hangs"} {
			if _, _, err := rt.Get(context.Background(), k); err != ufocache.ErrLoadTimeout {
				t.Fatalf("Get(%s) = %v, want ErrLoadTimeout", k, err)
			}
		}
		rt.MultiGet(context.Background(), []string{"a", "b", "c"})
		time.Sleep(5 * time.Second) // the late ones return
		synctest.Wait()
		if s := rt.Stats(); s.Loads != 5 || s.LoadErrors != 5 {
			t.Errorf("after 5 loads that timed out, one still hung: Loads %d, LoadErrors %d; want 5 and 5", s.Loads, s.LoadErrors)
		}
		close(hang)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if s := rt.Stats(); s.LoadErrors != 5 {
			t.Errorf("once the hung load returned too: LoadErrors %d, want 5", s.LoadErrors)
		}
	})
}

// A load that returns right at its LoadTimeout reaches its caller either
// as a value or as ErrLoadTimeout; LoadErrors counts it the way the caller
// saw it, so it equals the callers' errors exactly (single and batched).
// A third of the loads return at once, a third when their ctx ends (past
// the deadline: ErrLoadTimeout), a third after sleeping the LoadTimeout
// (either way), so that both ways are taken.
func TestRTLoadErrorsAgreeWithCallersAtTheLoadTimeout(t *testing.T) {
	const timeout = 5 * time.Millisecond
	atDeadline := func(ctx context.Context, k int) {
		switch k % 3 {
		case 1:
			<-ctx.Done()
		case 2:
			time.Sleep(timeout) // returns about at the deadline, racing the load timer
		}
	}
	load := func(ctx context.Context, k int) (int, time.Duration, error) {
		atDeadline(ctx, k)
		return k, 0, nil
	}
	batch := func(ctx context.Context, keys []int) ([]ufocache.Loaded[int], error) {
		atDeadline(ctx, keys[0])
		return make([]ufocache.Loaded[int], len(keys)), nil
	}
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 10000})
	rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[int, int]{LoadTimeout: timeout, BatchLoader: batch})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, _, err := rt.Get(context.Background(), 3*n+i); err != nil {
				failed.Add(1)
			}
		})
		wg.Go(func() {
			res, _ := rt.MultiGet(context.Background(), []int{6*n + 2*i, 6*n + 2*i + 1}) // the first key's third decides
			for _, r := range res {
				if r.Err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	s := rt.Stats()
	if s.Loads != 3*n || s.LoadErrors != uint64(failed.Load()) {
		t.Errorf("Loads %d, LoadErrors %d; the callers got %d errors in %d loads", s.Loads, s.LoadErrors, failed.Load(), 3*n)
	}
	if f := failed.Load(); f < n || f == 3*n { // the ctx.Done third (n of the loads) always times out
		t.Errorf("%d of %d loads timed out: want at least the %d that wait for their ctx, and not all", f, 3*n, n)
	}
	t.Logf("%d of %d loads timed out", failed.Load(), 3*n)
}

// Nor does a snapshot taken by another goroutine while failing loads
// finish: finished counts Loads first, Stats reads LoadErrors first.
func TestRTStatsTakenDuringFailingLoads(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs a second P for the reader")
	}
	errLoad := errors.New("load failed")
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100})
	rt, err := ufocache.NewRTCache(c, func(context.Context, int) (int, time.Duration, error) {
		return 0, 0, errLoad
	}, ufocache.RTOptions[int, int]{})
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var snapshots, bad atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			snapshots.Add(1)
			if s := rt.Stats(); s.LoadErrors > s.Loads {
				bad.Add(1)
			}
		}
	}()
	const n = 50_000
	for k := range n {
		if _, _, err := rt.Get(context.Background(), k); !errors.Is(err, errLoad) {
			t.Fatalf("Get(%d): %v, want the Loader's error", k, err)
		}
	}
	stop.Store(true)
	<-done
	if bad.Load() > 0 {
		t.Errorf("%d of %d snapshots taken during %d failing loads show LoadErrors > Loads", bad.Load(), snapshots.Load(), n)
	}
}

// A load is counted in Loads before its failure can be counted in
// LoadErrors: a caller that got ErrLoadTimeout never sees LoadErrors above
// Loads, even when the load timer fires before the Loader's goroutine has
// run (a LoadTimeout of 1ns has passed before the load is started; one P
// runs the timer's goroutine first), single and batched.
func TestRTLoadErrorsNeverExceedLoads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	load := func(_ context.Context, k int) (int, time.Duration, error) { return k, 0, nil }
	batch := func(_ context.Context, keys []int) ([]ufocache.Loaded[int], error) {
		return make([]ufocache.Loaded[int], len(keys)), nil
	}
	const n = 2000
	for _, batched := range []bool{false, true} {
		bad := 0
		var worst ufocache.RTStats
		for i := range n {
			c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100})
			rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[int, int]{LoadTimeout: time.Nanosecond, BatchLoader: batch})
			if err != nil {
				t.Fatal(err)
			}
			if batched {
				_, err = rt.MultiGet(context.Background(), []int{i, i + 1})
			} else {
				_, _, err = rt.Get(context.Background(), i)
			}
			if s := rt.Stats(); err != nil && s.LoadErrors > s.Loads {
				bad++
				worst = s
			}
		}
		if bad > 0 {
			t.Errorf("batched %v: %d of %d callers that got an error then saw LoadErrors > Loads, e.g. %+v", batched, bad, n, worst)
		}
	}
}

// With LockAge, a hung load no longer holds its key: a stale read after it
// starts a new refresh rather than waiting on the hung one forever.
func TestRTStaleWhileRevalidateReplacesAHungLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{LockAge: time.Second})
		rt.Get(context.Background(), "k")
		hang := make(chan struct{})
		defer close(hang)
		o.set(func(o *origin) { o.gate = hang })
		time.Sleep(1100 * time.Millisecond)
		rt.GetStaleWhileUpdate(context.Background(), "k", time.Hour) // its refresh hangs
		synctest.Wait()
		o.set(func(o *origin) { o.gate = nil })
		time.Sleep(2 * time.Second) // past LockAge
		if rt.InFlight() != 0 {
			t.Errorf("InFlight = %d with the only load past LockAge, want 0", rt.InFlight())
		}
		rt.GetStaleWhileUpdate(context.Background(), "k", time.Hour)
		synctest.Wait()
		if n := o.loads.Load(); n != 3 {
			t.Errorf("%d loads, want 3: the stale read past LockAge did not start a refresh", n)
		}
		if v, _ := rt.Cache().Get("k"); v != "k#3" {
			t.Errorf("cache holds %q, want the new refresh's k#3", v)
		}
	})
}

func TestRTNegativeCaching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errNX := errors.New("no such name")
		o := &origin{err: errNX}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Second})
		if _, st, err := rt.Get(context.Background(), "k"); err != errNX || st != ufocache.Miss {
			t.Fatalf("first Get = (%v, %v), want (miss, errNX)", st, err)
		}
		for range 100 {
			if _, st, err := rt.Get(context.Background(), "k"); err != errNX || st != ufocache.Hit {
				t.Fatalf("Get within ErrorTTL = (%v, %v), want (hit, errNX)", st, err)
			}
		}
		if n := o.loads.Load(); n != 1 {
			t.Fatalf("%d loads within ErrorTTL, want 1", n)
		}
		time.Sleep(time.Second)
		rt.Get(context.Background(), "k")
		if n := o.loads.Load(); n != 2 {
			t.Fatalf("%d loads after ErrorTTL, want 2", n)
		}
		// Set clears the cached error.
		rt.Set("k", "set", 0)
		if v, st, err := rt.Get(context.Background(), "k"); v != "set" || st != ufocache.Hit || err != nil {
			t.Fatalf("Get after Set = (%q, %v, %v), want the set value", v, st, err)
		}
		if s := rt.Stats(); s.ErrorHits != 100 || s.LoadErrors != 2 {
			t.Errorf("stats %+v: want 100 error hits, 2 load errors", s)
		}
	})
}

// A stale read that a cached load error keeps from refreshing is served
// stale, starts no load, and counts in both Stale and ErrorHits (RTStats).
func TestRTStaleReadWithACachedErrorCountsBoth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Millisecond}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour},
			ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour})
		ctx := context.Background()
		rt.Get(ctx, "k")
		time.Sleep(2 * time.Millisecond)
		o.set(func(o *origin) { o.err = errors.New("down") })
		rt.GetStaleWhileUpdate(ctx, "k", time.Hour) // its refresh fails: the error is cached
		synctest.Wait()
		before := rt.Stats()
		if _, st, err := rt.GetStaleWhileUpdate(ctx, "k", time.Hour); st.Status != ufocache.Stale || err != nil {
			t.Fatalf("GetStaleWhileUpdate with a cached error = %+v, %v; want stale, nil", st, err)
		}
		synctest.Wait()
		after := rt.Stats()
		if after.Stale != before.Stale+1 || after.ErrorHits != before.ErrorHits+1 || o.loads.Load() != 2 {
			t.Errorf("Stale %d -> %d, ErrorHits %d -> %d, loads %d; want each +1 and 2 loads",
				before.Stale, after.Stale, before.ErrorHits, after.ErrorHits, o.loads.Load())
		}
	})
}

// Any ErrorTTL > 0 caches errors, 1ns too: the error is a hit at the
// instant it was cached and gone 1ns later.
func TestRTErrorTTLOfOneNanosecond(t *testing.T) {
	clk := &stepClock{}
	errNX := errors.New("no such name")
	o := &origin{err: errNX}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Nanosecond},
		ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
	ctx := context.Background()
	rt.Get(ctx, "k")
	if _, st, err := rt.Get(ctx, "k"); st != ufocache.Hit || err != errNX {
		t.Fatalf("Get at the instant the error was cached = (%v, %v), want (hit, errNX)", st, err)
	}
	clk.ns.Add(int64(time.Nanosecond))
	if _, st, err := rt.Get(ctx, "k"); st != ufocache.Miss || err != errNX {
		t.Fatalf("Get 1ns later = (%v, %v), want (miss, errNX)", st, err)
	}
	if n := o.loads.Load(); n != 2 {
		t.Errorf("%d loads, want 2", n)
	}
}

func TestRTRefreshAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: 100 * time.Millisecond}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{RefreshAhead: 30 * time.Millisecond})
		rt.Get(context.Background(), "k")
		time.Sleep(60 * time.Millisecond) // 40ms left
		if v, st, _ := rt.Get(context.Background(), "k"); v != "k#1" || st != ufocache.Hit {
			t.Fatalf("Get at 60ms = (%q, %v)", v, st)
		}
		synctest.Wait()
		if n := o.loads.Load(); n != 1 {
			t.Fatalf("%d loads at 60ms, want 1", n)
		}
		time.Sleep(20 * time.Millisecond) // 20ms left
		if v, st, _ := rt.Get(context.Background(), "k"); v != "k#1" || st != ufocache.Hit {
			t.Fatalf("Get at 80ms = (%q, %v), want the old value at once", v, st)
		}
		synctest.Wait()
		if n := o.loads.Load(); n != 2 {
			t.Fatalf("%d loads after a hit 20ms before expiry, want 2", n)
		}
		time.Sleep(50 * time.Millisecond) // past the old expiry
		if v, st, _ := rt.Get(context.Background(), "k"); v != "k#2" || st != ufocache.Hit {
			t.Fatalf("Get at 130ms = (%q, %v), want the refreshed k#2 as a hit", v, st)
		}
	})
}

// RefreshAhead's bound is exclusive: a value with exactly RefreshAhead
// left to live is not refreshed by a hit, and a caller's recheck takes it
// (it would have been a hit) instead of loading. Also where time moves on
// (by a nanosecond a read) between the hit's lookup and the recheck a
// refresh would run: a frozen clock let that recheck answer a refresh the
// hit should not have started.
func TestRTRefreshAheadBoundIsExclusive(t *testing.T) {
	for _, step := range []int64{0, 1} {
		t.Run(fmt.Sprintf("step=%dns", step), func(t *testing.T) {
			clk := &stepClock{}
			o := &origin{ttl: 100 * time.Millisecond}
			rt := newRT(t, o, ufocache.RTOptions[string, string]{RefreshAhead: 30 * time.Millisecond},
				ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
			ctx := context.Background()
			rt.Get(ctx, "k")
			clk.ns.Add(int64(70 * time.Millisecond)) // the next read: 30ms left
			clk.step.Store(step)
			if v, st, err := rt.Get(ctx, "k"); v != "k#1" || st != ufocache.Hit || err != nil {
				t.Fatalf("Get with 30ms left = (%q, %v, %v), want a hit", v, st, err)
			}
			for range 100 { // let a refresh, if one started, finish
				if rt.InFlight() == 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if n := rt.Stats().Refreshes; n != 0 {
				t.Fatalf("a hit with exactly RefreshAhead left started %d refreshes, want 0", n)
			}
			if v, st, err := rt.JoinAfterMiss(ctx, "k"); v != "k#1" || st != ufocache.LockHit || err != nil {
				t.Errorf("recheck with about RefreshAhead left = (%q, %v, %v), want (k#1, lock-hit, nil)", v, st, err)
			}
			if n := o.loads.Load(); n != 1 {
				t.Errorf("%d loads, want 1", n)
			}
		})
	}
}

// A caller that found nothing and rechecks takes any live value, even one
// with less than RefreshAhead left (a Loader's TTL may be that short): it
// does not load it twice. A refresh ahead, whose recheck finds the value
// it was started for, loads (with RecheckGo; it used to be one Recheck,
// which loaded again for the late caller too).
func TestRTRecheckTakesAValueAboutToExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := &stepClock{}
		o := &origin{ttl: 100 * time.Millisecond}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{RefreshAhead: 300 * time.Millisecond},
			ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
		ctx := context.Background()
		if v, st, err := rt.Get(ctx, "k"); v != "k#1" || st != ufocache.Miss || err != nil {
			t.Fatalf("first Get = (%q, %v, %v), want (k#1, miss, nil)", v, st, err)
		}
		if v, st, err := rt.JoinAfterMiss(ctx, "k"); v != "k#1" || st != ufocache.LockHit || err != nil {
			t.Errorf("a late caller, 100ms left of a TTL under RefreshAhead = (%q, %v, %v), want (k#1, lock-hit, nil)", v, st, err)
		}
		if n := o.loads.Load(); n != 1 {
			t.Errorf("%d loads after the late caller, want 1", n)
		}
		if v, st, err := rt.Get(ctx, "k"); v != "k#1" || st != ufocache.Hit || err != nil {
			t.Fatalf("a hit = (%q, %v, %v), want (k#1, hit, nil)", v, st, err)
		}
		synctest.Wait()
		if n := o.loads.Load(); n != 2 {
			t.Errorf("%d loads after a hit within RefreshAhead of expiry, want 2 (its refresh)", n)
		}
		// The refreshed value is within RefreshAhead from the start, so
		// the next hit refreshes it again (RefreshAhead's doc).
		if v, st, err := rt.Get(ctx, "k"); v != "k#2" || st != ufocache.Hit || err != nil {
			t.Fatalf("a hit after the refresh = (%q, %v, %v), want (k#2, hit, nil)", v, st, err)
		}
		synctest.Wait()
		if n := o.loads.Load(); n != 3 {
			t.Errorf("%d loads after a hit on the refreshed value, want 3", n)
		}
	})
}

func TestRTWritesWinOverLoadsInFlight(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(rt *ufocache.RTCache[string, string])
		want  string // what a Get returns after the load finished ("" = it loads again)
		keeps bool   // the write changed nothing: the load stays and stores
	}{
		{"Set", func(rt *ufocache.RTCache[string, string]) { rt.Set("k", "written", 0) }, "written", false},
		{"Delete", func(rt *ufocache.RTCache[string, string]) { rt.Delete("k") }, "", false},
		{"Invalidate", func(rt *ufocache.RTCache[string, string]) { rt.Invalidate("k") }, "", false},
		{"Clear", func(rt *ufocache.RTCache[string, string]) { rt.Clear() }, "", false},
		// RTCache.Compute: f finds no value (the load has stored none).
		// A store or a removal detaches the load; a ComputeKeep changes
		// nothing and leaves it to store, as if f had run just before
		// (a rate limiter's spend-or-load loop, Compute then Get, made
		// up to 8,960 origin calls for 64 callers of one key while it
		// detached the load).
		{"ComputeStore", func(rt *ufocache.RTCache[string, string]) { rt.Compute("k", computeIn(ufocache.ComputeStore)) }, "computed", false},
		{"ComputeKeep", func(rt *ufocache.RTCache[string, string]) { rt.Compute("k", computeIn(ufocache.ComputeKeep)) }, "k#1", true},
		{"ComputeRemove", func(rt *ufocache.RTCache[string, string]) { rt.Compute("k", computeIn(ufocache.ComputeRemove)) }, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := &origin{}
				gate := make(chan struct{})
				o.set(func(o *origin) { o.gate = gate })
				rt := newRT(t, o, ufocache.RTOptions[string, string]{})
				first := make(chan string, 1)
				go func() { v, _, _ := rt.Get(context.Background(), "k"); first <- v }()
				synctest.Wait()
				tc.write(rt)
				if n, want := rt.InFlight(), map[bool]int{false: 0, true: 1}[tc.keeps]; n != want {
					t.Fatalf("InFlight after %s = %d, want %d", tc.name, n, want)
				}
				close(gate)
				if v := <-first; v != "k#1" {
					t.Fatalf("the load's caller got %q, want k#1", v)
				}
				synctest.Wait()
				o.set(func(o *origin) { o.gate = nil })
				v, _, _ := rt.Get(context.Background(), "k")
				switch {
				case tc.want != "" && v != tc.want:
					t.Errorf("Get after = %q, want %q: the older load overwrote the write", v, tc.want)
				case tc.want == "" && v != "k#2":
					t.Errorf("Get after = %q, want a fresh load k#2", v)
				}
			})
		})
	}
}

// computeIn returns a Compute function that asks for op with the value
// "computed" if it found no value, and "found " and the old value if it
// found one, so that what it found shows in what is stored.
func computeIn(op ufocache.ComputeOp) func(old string, found bool) (string, time.Duration, ufocache.ComputeOp) {
	return func(old string, found bool) (string, time.Duration, ufocache.ComputeOp) {
		if found {
			return "found " + old, 0, op
		}
		return "computed", 0, op
	}
}

// A Get whose ctx has already ended still starts the load and returns
// that ctx's error at once; the load goes on and stores its value, which
// the next caller gets without a second Loader call (the Loader doc).
func TestRTGetWithAnEndedCtxStillLoads(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{}, 2)
	var calls atomic.Int32
	rt, err := ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100}),
		func(ctx context.Context, k string) (string, time.Duration, error) {
			calls.Add(1)
			started <- struct{}{}
			<-release
			return "v:" + k, 0, ctx.Err() // ctx is detached from the caller's: nil
		}, ufocache.RTOptions[string, string]{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if v, st, err := rt.Get(ctx, "k"); err != context.Canceled || st != ufocache.Miss || v != "" {
		t.Fatalf("Get with its ctx ended: %q, %v, %v; want \"\", Miss, context.Canceled", v, st, err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the Get with its ctx ended started no load")
	}
	close(release)
	if v, _, err := rt.Get(context.Background(), "k"); err != nil || v != "v:k" || calls.Load() != 1 {
		t.Errorf("next Get: %q, %v after %d Loader calls; want v:k from the one load", v, err, calls.Load())
	}
}

// errorValueAndLoad readies rt (with an ErrorTTL) for a Clear: "bad"'s
// load error cached, "good" loaded and stored, and the load of "slow" in
// flight, held by the returned gate; its caller's value arrives on slow.
// Called inside a synctest bubble.
func errorValueAndLoad(t *testing.T, rt *ufocache.RTCache[string, string], o *origin) (gate chan struct{}, slow chan string, errDown error) {
	t.Helper()
	ctx := context.Background()
	errDown = errors.New("origin down")
	o.set(func(o *origin) { o.err = errDown })
	if _, _, err := rt.Get(ctx, "bad"); err != errDown {
		t.Fatalf("first load of bad: %v, want %v", err, errDown)
	}
	o.set(func(o *origin) { o.err = nil })
	if _, _, err := rt.Get(ctx, "bad"); err != errDown {
		t.Fatalf("bad within ErrorTTL: %v, want the cached %v", err, errDown)
	}
	if v, _, err := rt.Get(ctx, "good"); v != "good#2" || err != nil {
		t.Fatalf("good: (%q, %v), want good#2", v, err)
	}
	gate = make(chan struct{})
	o.set(func(o *origin) { o.gate = gate })
	slow = make(chan string, 1)
	go func() { v, _, _ := rt.Get(ctx, "slow"); slow <- v }()
	synctest.Wait()
	return gate, slow, errDown
}

// Clear takes every value (OnEvict hears of each) and every cached error,
// and detaches every load in flight (TestRTWritesWinOverLoadsInFlight):
// afterwards each key loads afresh. Cache.Clear alone left the errors, so
// a key whose load had failed kept failing from the cache for ErrorTTL.
func TestRTClearDropsValuesErrorsAndLoads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		rt, evictions := newRecordingRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
		ctx := context.Background()
		gate, slow, _ := errorValueAndLoad(t, rt, o)
		rt.Clear()
		if n, l := rt.InFlight(), rt.Cache().Len(); n != 0 || l != 0 {
			t.Fatalf("after Clear: %d loads hold their keys, %d values; want 0 and 0", n, l)
		}
		close(gate)
		if v := <-slow; v != "slow#3" {
			t.Fatalf("the detached load's caller got %q, want slow#3", v)
		}
		synctest.Wait()
		o.set(func(o *origin) { o.gate = nil })
		for _, k := range []string{"bad", "good", "slow"} {
			v, st, err := rt.Get(ctx, k)
			if err != nil || st != ufocache.Miss || !strings.HasPrefix(v, k+"#") {
				t.Errorf("Get(%q) after Clear = (%q, %v, %v), want a fresh load", k, v, st, err)
			}
		}
		if n := o.loads.Load(); n != 6 {
			t.Errorf("%d loads, want 6: 3 before Clear, one for each key after", n)
		}
		// The detached load's value was never stored: OnEvict hears of
		// it as rejected (TestRTDroppedLoadsReachOnEvict).
		if evicted, want := evictions(), []string{"good=good#2:deleted", "slow=slow#3:rejected"}; !slices.Equal(evicted, want) {
			t.Errorf("OnEvict saw %v, want %v", evicted, want)
		}
	})
}

// The Cache's own Clear drops the values only: a cached load error is
// still served, and a load in flight still holds its key and stores its
// value when it returns (RTCache.Clear drops and detaches both).
func TestCacheClearKeepsRTErrorsAndLoads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
		ctx := context.Background()
		gate, slow, errDown := errorValueAndLoad(t, rt, o)
		rt.Cache().Clear()
		if n, l := rt.InFlight(), rt.Cache().Len(); n != 1 || l != 0 {
			t.Fatalf("after the Cache's Clear: %d loads hold their keys, %d values; want 1 and 0", n, l)
		}
		if _, st, err := rt.Get(ctx, "bad"); err != errDown || st != ufocache.Hit {
			t.Errorf("bad after the Cache's Clear: (%v, %v), want the cached %v as a Hit", st, err, errDown)
		}
		close(gate)
		if v := <-slow; v != "slow#3" {
			t.Fatalf("the load's caller got %q, want slow#3", v)
		}
		synctest.Wait()
		if v, ok := rt.Cache().Get("slow"); !ok || v != "slow#3" {
			t.Errorf("the Cache holds slow = (%q, %v) after the load, want slow#3: the load was not detached", v, ok)
		}
		if n := o.loads.Load(); n != 3 {
			t.Errorf("%d loads, want 3", n)
		}
	})
}

// Clear detaches the loads in flight before it clears the Cache: a load
// that finishes while the Cache's Clear runs (here, released from the
// OnEvict that Clear calls) is not stored. In the other order it was.
func TestRTClearDetachesBeforeItClears(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		gate := make(chan struct{})
		rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{
			MaxWeight: 100,
			Shards:    1,
			Clock:     newBubbleClock(),
			OnEvict: func(k, _ string, r ufocache.EvictReason) {
				if k == "x" && r == ufocache.EvictDeleted {
					close(gate)
					synctest.Wait() // the load finishes and tries to store
				}
			},
		})
		rt.Set("x", "x", 0)
		o.set(func(o *origin) { o.gate = gate })
		done := make(chan struct{})
		go func() { rt.Get(context.Background(), "slow"); close(done) }()
		synctest.Wait()
		rt.Clear()
		<-done
		if n := rt.Cache().Len(); n != 0 {
			t.Fatalf("after Clear: %d values; a load started before it was stored", n)
		}
	})
}

func TestRTSetDeleteInvalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		rt, evictions := newRecordingRT(t, o, ufocache.RTOptions[string, string]{})
		if !rt.Set("k", "v1", time.Minute) {
			t.Fatal("Set declined")
		}
		if v, st, _ := rt.Get(context.Background(), "k"); v != "v1" || st != ufocache.Hit {
			t.Fatalf("Get after Set = (%q, %v)", v, st)
		}
		if !rt.Invalidate("k") {
			t.Fatal("Invalidate found nothing")
		}
		if v, st, _ := rt.GetStaleWhileUpdate(context.Background(), "k", time.Minute); v != "v1" || st.Status != ufocache.Stale {
			t.Fatalf("GetStaleWhileUpdate after Invalidate = (%q, %+v), want the old value as stale", v, st)
		}
		synctest.Wait() // the refresh stores k#1
		if v, st, _ := rt.Get(context.Background(), "k"); v != "k#1" || st != ufocache.Hit {
			t.Fatalf("Get after the refresh = (%q, %v), want k#1", v, st)
		}
		if v, ok := rt.Delete("k"); !ok || v != "k#1" {
			t.Fatalf("Delete = (%q, %v)", v, ok)
		}
		if _, ok := rt.Delete("k"); ok {
			t.Fatal("second Delete found a value")
		}
		if v, st, _ := rt.Get(context.Background(), "k"); v != "k#2" || st != ufocache.Miss {
			t.Fatalf("Get after Delete = (%q, %v), want a fresh load", v, st)
		}
		if evicted := evictions(); len(evicted) == 0 || !strings.HasPrefix(evicted[len(evicted)-1], "k=k#1:") {
			t.Errorf("OnEvict saw %v, want the deletion of k=k#1 last", evicted)
		}
	})
}

// TestRTOnEvictMayCallRTCache: OnEvict runs outside the wait map's locks,
// so a callback that uses the RTCache does not deadlock.
func TestRTOnEvictMayCallRTCache(t *testing.T) {
	var rt *ufocache.RTCache[int, int]
	var calls atomic.Int32
	c := ufocache.Must(ufocache.Options[int, int]{
		MaxWeight: 4,
		Shards:    1,
		OnEvict: func(k, v int, r ufocache.EvictReason) {
			if r != ufocache.EvictCapacity {
				return
			}
			calls.Add(1)
			rt.Delete(k + 1000)
			rt.Get(context.Background(), -k-1) // a load that stores nothing, so evicts nothing
		},
	})
	load := func(_ context.Context, k int) (int, time.Duration, error) {
		if k < 0 {
			return k, -1, nil
		}
		return k, 0, nil
	}
	rt, _ = ufocache.NewRTCache(c, load, ufocache.RTOptions[int, int]{})
	for i := range 200 {
		rt.Get(context.Background(), i)
	}
	if calls.Load() == 0 {
		t.Fatal("no eviction happened: the test did not test")
	}
}

func TestRTMultiGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		var batches [][]string
		errGone := errors.New("gone")
		batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			batches = append(batches, keys)
			out := make([]ufocache.Loaded[string], len(keys))
			for i, k := range keys {
				if k == "bad" {
					out[i].Err = errGone
				} else {
					out[i].Value = "batch:" + k
				}
			}
			return out, nil
		}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{BatchLoader: batch})
		rt.Set("hit", "cached", 0)
		// "joined" is loading for a single Get.
		gate := make(chan struct{})
		o.set(func(o *origin) { o.gate = gate })
		go rt.Get(context.Background(), "joined")
		synctest.Wait()
		done := make(chan struct{})
		var res []ufocache.RTResult[string]
		var err error
		go func() {
			res, err = rt.MultiGet(context.Background(), []string{"hit", "a", "joined", "bad", "b"})
			close(done)
		}()
		synctest.Wait()
		close(gate)
		<-done
		if len(batches) != 1 || strings.Join(batches[0], ",") != "a,bad,b" {
			t.Fatalf("batches = %v, want one of [a bad b]", batches)
		}
		// TTL: every value here has none (no TTL given, no DefaultTTL),
		// and bad's error is kept nowhere (no ErrorTTL).
		forever := ufocache.NoExpiration
		want := []ufocache.RTResult[string]{
			{Value: "cached", Status: ufocache.Hit, TTL: forever},
			{Value: "batch:a", Status: ufocache.Miss, TTL: forever},
			{Value: "joined#1", Status: ufocache.LockHit, TTL: forever},
			{Status: ufocache.Miss, Err: errGone},
			{Value: "batch:b", Status: ufocache.Miss, TTL: forever},
		}
		for i := range want {
			if res[i] != want[i] {
				t.Errorf("result %d = %+v, want %+v", i, res[i], want[i])
			}
		}
		if err != errGone {
			t.Errorf("err = %v, want %v", err, errGone)
		}
		if v, st, _ := rt.Get(context.Background(), "b"); v != "batch:b" || st != ufocache.Hit {
			t.Errorf("Get(b) after MultiGet = (%q, %v), want the stored batch value", v, st)
		}
		if n := o.loads.Load(); n != 1 {
			t.Errorf("%d single loads, want 1 (joined)", n)
		}
	})
}

func TestRTMultiGetJoinedBySingleGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		gate := make(chan struct{})
		calls := 0
		batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			calls++
			<-gate
			return []ufocache.Loaded[string]{{Value: "x!"}, {Value: "y!"}}, nil
		}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{BatchLoader: batch})
		go rt.MultiGet(context.Background(), []string{"x", "y"})
		synctest.Wait()
		got := make(chan answer, 1)
		go func() {
			var a answer
			a.v, a.st, a.err = rt.Get(context.Background(), "y")
			got <- a
		}()
		synctest.Wait()
		close(gate)
		if a := <-got; a.v != "y!" || a.st != ufocache.LockHit {
			t.Fatalf("Get(y) during the batch = %+v, want (y!, lock-hit)", a)
		}
		if calls != 1 || o.loads.Load() != 0 {
			t.Errorf("%d batch calls and %d single loads, want 1 and 0", calls, o.loads.Load())
		}
	})
}

func TestRTMultiGetShortBatch(t *testing.T) {
	for _, n := range []int{0, 1, 3} {
		o := &origin{}
		batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			return make([]ufocache.Loaded[string], n), nil
		}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100})
		rt, err := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{BatchLoader: batch})
		if err != nil {
			t.Fatal(err)
		}
		rt.Set("hit", "kept", 0)
		res, err := rt.MultiGet(context.Background(), []string{"a", "hit", "b"})
		if !errors.Is(err, ufocache.ErrBatchSize) || !strings.HasPrefix(err.Error(), "ufocache: ") {
			t.Errorf("%d results for 2 keys: err = %v, want ErrBatchSize", n, err)
		}
		if res[1].Value != "kept" || res[1].Status != ufocache.Hit || res[1].Err != nil {
			t.Errorf("the hit was not kept: %+v", res[1])
		}
		if !errors.Is(res[0].Err, ufocache.ErrBatchSize) || !errors.Is(res[2].Err, ufocache.ErrBatchSize) {
			t.Errorf("missing keys: %+v, %+v", res[0], res[2])
		}
		if rt.InFlight() != 0 {
			t.Errorf("InFlight after = %d", rt.InFlight())
		}
	}
}

// MultiGet stores what it loads with the Weigher's weight, with or
// without a BatchLoader: the origin's values "k#1" and "longer#2" (a
// weight of len) weigh 3 and 8; a key whose load failed is not weighed.
func TestRTMultiGetStoresWithTheWeigherWeight(t *testing.T) {
	failed := errors.New("no such key")
	batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
		out := make([]ufocache.Loaded[string], len(keys))
		for i, k := range keys {
			out[i].Value = fmt.Sprintf("%s#%d", k, i+1)
			if k == "bad" {
				out[i].Err = failed
			}
		}
		return out, nil
	}
	for _, withBatch := range []bool{false, true} {
		var weighed atomic.Int32
		weigh := func(_, v string) uint32 { weighed.Add(1); return uint32(len(v)) }
		o := &origin{val: func(k string, _ int32) string {
			if k == "k" {
				return "k#1"
			}
			return "longer#2"
		}}
		opts := ufocache.RTOptions[string, string]{}
		if withBatch {
			opts.BatchLoader = batch
		}
		rt := newRT(t, o, opts, ufocache.Options[string, string]{MaxWeight: 100, Weigher: weigh})
		if withBatch {
			rt.MultiGet(context.Background(), []string{"k", "longer", "bad"})
		} else {
			rt.MultiGet(context.Background(), []string{"k", "longer"})
		}
		if w := rt.Cache().Weight(); w != 3+8 {
			t.Errorf("BatchLoader %v: Weight %d after loading k#1 and longer#2, want 11", withBatch, w)
		}
		if n := weighed.Load(); n != 2 {
			t.Errorf("BatchLoader %v: the Weigher ran %d times, want 2 (once per value loaded)", withBatch, n)
		}
	}
}

func TestRTMultiGetWithoutBatchLoader(t *testing.T) {
	errBad := errors.New("bad key")
	loader := func(_ context.Context, k string) (string, time.Duration, error) {
		switch k {
		case "bad":
			return "", 0, errBad
		case "panic":
			panic("per-key panic")
		}
		return "one:" + k, 0, nil
	}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100})
	rt, err := ufocache.NewRTCache(c, loader, ufocache.RTOptions[string, string]{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rt.MultiGet(context.Background(), []string{"a", "bad", "panic", "a"})
	if err != errBad {
		t.Errorf("err = %v, want %v", err, errBad)
	}
	var pe *ufocache.PanicError
	if res[0].Value != "one:a" || res[3].Value != "one:a" || res[1].Err != errBad || !errors.As(res[2].Err, &pe) {
		t.Errorf("results = %+v", res)
	}
	if s := rt.Stats(); s.Loads != 3 || s.LoadErrors != 2 || s.Batches != 0 {
		t.Errorf("stats %+v: want 3 loads, 2 errors, 0 batches", s)
	}
}

// OnEvict may call the RTCache, even for a key of the MultiGet whose store
// evicted the entry: the keys of a batch are all stored and free before
// OnEvict runs for any of them. It used to join the other key's load, which
// only the goroutine running OnEvict could finish: MultiGet and every
// caller of those keys hung (the bubble deadlocked).
func TestRTMultiGetOnEvictMayReadAKeyOfTheSameBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rt *ufocache.RTCache[string, string]
		var mu sync.Mutex // without a BatchLoader, the keys store (and evict) concurrently
		var inner []string
		c := ufocache.Must(ufocache.Options[string, string]{
			MaxWeight: 2, Shards: 1, Clock: newBubbleClock(),
			OnEvict: func(k, v string, r ufocache.EvictReason) {
				if r == ufocache.EvictCapacity {
					v, _, err := rt.Get(context.Background(), "z")
					mu.Lock()
					inner = append(inner, fmt.Sprintf("%s %v", v, err))
					mu.Unlock()
				}
			},
		})
		loader := func(_ context.Context, k string) (string, time.Duration, error) { return "v" + k, 0, nil }
		for _, batch := range []bool{false, true} {
			o := ufocache.RTOptions[string, string]{}
			if batch {
				o.BatchLoader = func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
					out := make([]ufocache.Loaded[string], len(keys))
					for i, k := range keys {
						out[i].Value = "v" + k
					}
					return out, nil
				}
			}
			var err error
			if rt, err = ufocache.NewRTCache(c, loader, o); err != nil {
				t.Fatal(err)
			}
			c.Clear()
			inner = inner[:0]
			rt.Set("x", "vx", 0)
			rt.Set("y", "vy", 0)
			res, err := rt.MultiGet(context.Background(), []string{"a", "b", "z"})
			if err != nil || res[0].Value != "va" || res[1].Value != "vb" || res[2].Value != "vz" {
				t.Fatalf("BatchLoader %v: MultiGet = %+v, %v", batch, res, err)
			}
			if len(inner) == 0 {
				t.Fatalf("BatchLoader %v: the MultiGet's stores evicted nothing (OnEvict never read z)", batch)
			}
			for _, got := range inner {
				if got != "vz <nil>" {
					t.Errorf("BatchLoader %v: OnEvict's Get(z) = %s, want vz", batch, got)
				}
			}
			if n := rt.InFlight(); n != 0 {
				t.Errorf("BatchLoader %v: InFlight after = %d, want 0", batch, n)
			}
		}
	})
}

// LoadTime is the total time spent in Loader calls: MultiGet's per-key
// Loader calls (no BatchLoader) each add theirs, as the same loads done by
// Gets do, while one BatchLoader call adds its own once.
func TestRTMultiGetLoadTimeSumsItsLoaderCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			time.Sleep(time.Second)
			return k, 0, nil
		}
		batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			time.Sleep(time.Second)
			return make([]ufocache.Loaded[string], len(keys)), nil
		}
		for _, tc := range []struct {
			name  string
			batch ufocache.BatchLoader[string, string]
			want  time.Duration
		}{{"Loader", nil, 3 * time.Second}, {"BatchLoader", batch, time.Second}} {
			c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
			rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{BatchLoader: tc.batch})
			if err != nil {
				t.Fatal(err)
			}
			rt.MultiGet(context.Background(), []string{"a", "b", "c"})
			if s := rt.Stats(); s.Loads != 3 || s.LoadTime != tc.want {
				t.Errorf("%s: three keys loaded in 1s each: Loads %d, LoadTime %v; want 3, %v", tc.name, s.Loads, s.LoadTime, tc.want)
			}
		}
	})
}

func TestRTMultiGetBatchPanics(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100})
	batch := func(context.Context, []string) ([]ufocache.Loaded[string], error) { panic("batch bug") }
	rt, _ := ufocache.NewRTCache(c, (&origin{}).load, ufocache.RTOptions[string, string]{BatchLoader: batch})
	func() {
		defer func() {
			if p, ok := recover().(*ufocache.PanicError); !ok || p.Value != "batch bug" {
				t.Errorf("MultiGet panicked with %v, want *PanicError{batch bug}", p)
			}
		}()
		rt.MultiGet(context.Background(), []string{"a", "b", "a"})
	}()
	if rt.InFlight() != 0 {
		t.Fatalf("InFlight after the panic = %d", rt.InFlight())
	}
	// Counted as if the batch had returned: a and b missed, the second a
	// waited on the first (a panicking load counts, as Get's does).
	if s := rt.Stats(); s.Misses != 2 || s.LockHits != 1 {
		t.Errorf("after the panic: Misses %d, LockHits %d; want 2 and 1", s.Misses, s.LockHits)
	}
}

func TestRTStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{delay: 30 * time.Millisecond}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{
			MaxWeight: 100, Clock: newBubbleClock(), RecordStats: true,
		})
		rt.Get(context.Background(), "a")
		rt.Get(context.Background(), "a")
		rt.Get(context.Background(), "a")
		rt.Get(context.Background(), "b")
		want := ufocache.RTStats{Hits: 2, Misses: 2, Loads: 2, LoadTime: 60 * time.Millisecond}
		if s := rt.Stats(); s != want {
			t.Errorf("stats = %+v, want %+v", s, want)
		}
	})
}

func TestNewRTCacheValidates(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10})
	load := (&origin{}).load
	cases := []struct {
		c     *ufocache.Cache[string, string]
		load  ufocache.Loader[string, string]
		opts  ufocache.RTOptions[string, string]
		field string
	}{
		{nil, load, ufocache.RTOptions[string, string]{}, "Cache"},
		{c, nil, ufocache.RTOptions[string, string]{}, "Loader"},
		{c, load, ufocache.RTOptions[string, string]{LockAge: -1}, "LockAge"},
		{c, load, ufocache.RTOptions[string, string]{LockTimeout: -1}, "LockTimeout"},
		{c, load, ufocache.RTOptions[string, string]{LoadTimeout: -1}, "LoadTimeout"},
		{c, load, ufocache.RTOptions[string, string]{ErrorTTL: -1}, "ErrorTTL"},
		{c, load, ufocache.RTOptions[string, string]{MaxErrors: -1}, "MaxErrors"},
		{c, load, ufocache.RTOptions[string, string]{RefreshAhead: -1}, "RefreshAhead"},
		{c, load, ufocache.RTOptions[string, string]{MaxRefreshes: -1}, "MaxRefreshes"},
		{c, load, ufocache.RTOptions[string, string]{MaxMultiLoads: -1}, "MaxMultiLoads"},
	}
	for _, tc := range cases {
		rt, err := ufocache.NewRTCache(tc.c, tc.load, tc.opts)
		if rt != nil || err == nil || !strings.HasPrefix(err.Error(), "ufocache: ") || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("NewRTCache with a bad %s: (%v, %v), want a ufocache: error naming it", tc.field, rt, err)
		}
	}
}

func TestRTGetHitDoesNotAllocate(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100})
	rt, _ := ufocache.NewRTCache(c, (&origin{}).load, ufocache.RTOptions[string, string]{})
	rt.Set("k", "v", 0)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() {
		if _, st, _ := rt.Get(ctx, "k"); st != ufocache.Hit {
			t.Fatal("not a hit")
		}
	}); n != 0 {
		t.Errorf("RTCache.Get on a hit: %v allocs, want 0", n)
	}
}

// A hit in the RefreshAhead window while the error of the key's last
// refresh is cached starts no refresh (ErrorTTL holds it off), and so
// takes no lock and does not allocate, as Get promises: it used to claim
// the key in the wait map on every such hit (5 allocations), for the
// recheck to find the error and give the claim up.
func TestRTRefreshAheadHitOverCachedErrorDoesNotAllocate(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
	var fail atomic.Bool
	done := make(chan struct{}, 1)
	load := func(context.Context, string) (string, time.Duration, error) {
		defer func() { done <- struct{}{} }()
		if fail.Load() {
			return "", 0, errors.New("origin down")
		}
		return "v", time.Hour, nil
	}
	rt, _ := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{RefreshAhead: time.Hour, ErrorTTL: time.Minute})
	rt.Set("k", "v", 30*time.Minute) // within the RefreshAhead window
	fail.Store(true)
	ctx := context.Background()
	if _, st, err := rt.Get(ctx, "k"); st != ufocache.Hit || err != nil {
		t.Fatalf("Get: %v, %v; want a hit", st, err)
	}
	<-done
	waitLoads(rt, 1) // the refresh failed: its error is cached
	before := rt.Stats()
	if n := testing.AllocsPerRun(100, func() {
		if _, st, err := rt.Get(ctx, "k"); st != ufocache.Hit || err != nil {
			t.Fatalf("Get: %v, %v; want a hit", st, err)
		}
	}); n != 0 {
		t.Errorf("a hit in the RefreshAhead window over a cached error: %v allocs, want 0", n)
	}
	if after := rt.Stats(); after.Refreshes != before.Refreshes || after.Loads != before.Loads || after.ErrorHits != before.ErrorHits {
		t.Errorf("refreshes %d -> %d, loads %d -> %d, error hits %d -> %d: want none", before.Refreshes, after.Refreshes, before.Loads, after.Loads, before.ErrorHits, after.ErrorHits)
	}
	// Once the error expires, the next hit refreshes again.
	clk.Advance(time.Minute + time.Second)
	fail.Store(false)
	if _, st, err := rt.Get(ctx, "k"); st != ufocache.Hit || err != nil {
		t.Fatalf("Get after the error expired: %v, %v; want a hit", st, err)
	}
	<-done
	waitLoads(rt, 2)
	if got := rt.Stats().Refreshes; got != before.Refreshes+1 {
		t.Errorf("refreshes %d after the error expired, want %d", got, before.Refreshes+1)
	}
}

// A hit in the RefreshAhead window while the key's refresh is still in
// flight starts no other, and takes no lock and does not allocate.
func TestRTRefreshAheadHitDuringItsRefreshDoesNotAllocate(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: &fakeClock{}})
	release, called := make(chan struct{}), make(chan struct{}, 1)
	load := func(ctx context.Context, k string) (string, time.Duration, error) {
		called <- struct{}{}
		<-release
		return "v2", time.Hour, nil
	}
	rt, _ := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{RefreshAhead: time.Hour})
	rt.Set("k", "v", 30*time.Minute) // within the RefreshAhead window
	ctx := context.Background()
	rt.Get(ctx, "k")
	<-called // the refresh runs, and holds the key
	if n := testing.AllocsPerRun(100, func() {
		if v, st, err := rt.Get(ctx, "k"); v != "v" || st != ufocache.Hit || err != nil {
			t.Fatalf("Get: %q, %v, %v; want the value held", v, st, err)
		}
	}); n != 0 {
		t.Errorf("a hit in the RefreshAhead window during its refresh: %v allocs, want 0", n)
	}
	if got := rt.Stats().Refreshes; got != 1 {
		t.Errorf("%d refreshes started, want 1", got)
	}
	close(release)
	waitLoads(rt, 1)
}

// waitLoads waits until no load of rt is in flight and n have finished: a
// load leaves the wait map (its outcome stored) before Finished counts it.
func waitLoads[K comparable, V any](rt *ufocache.RTCache[K, V], n uint64) {
	for rt.InFlight() > 0 || rt.Stats().Loads < n {
		runtime.Gosched()
	}
}

// stepClock is a Clock that moves when told, and by step after each
// reading (0: not at all): with a step, time passes between two reads, as
// it does between a hit's lookup and its refresh's recheck.
type stepClock struct{ ns, step atomic.Int64 }

func (c *stepClock) Nanotime() int64 {
	step := c.step.Load()
	return c.ns.Add(step) - step
}

// TestRTGetHitPathMatchesCache: RTCache.Get's inlined hit path answers as
// Cache.Get does, for integer and string keys, fresh and expired.
func TestRTGetHitPathMatchesCache(t *testing.T) {
	testHitPath(t, func(i int) uint64 { return uint64(i) })
	testHitPath(t, func(i int) string { return fmt.Sprint("key-", i) })
}

func testHitPath[K comparable](t *testing.T, key func(int) K) {
	t.Helper()
	clk := &stepClock{}
	clk.ns.Store(int64(time.Hour))
	c := ufocache.Must(ufocache.Options[K, int]{MaxWeight: 1 << 12, Clock: clk})
	rt, err := ufocache.NewRTCache(c, func(context.Context, K) (int, time.Duration, error) { return -1, -1, nil }, ufocache.RTOptions[K, int]{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		ttl := ufocache.NoExpiration
		if i%3 != 0 {
			ttl = time.Duration(i) * time.Millisecond
		}
		c.SetWithTTL(key(i), i, ttl)
	}
	clk.ns.Add(int64(500 * time.Millisecond))
	for i := range 1200 {
		k := key(i)
		want, ok := c.Get(k)
		got, st, err := rt.Get(context.Background(), k)
		if ok != (st == ufocache.Hit) || (ok && got != want) || err != nil {
			t.Fatalf("key %v: Cache.Get = (%d, %v), RTCache.Get = (%d, %v, %v)", k, want, ok, got, st, err)
		}
	}
}

// Get's plain hit path (no RecordStats, no RefreshAhead) touches what it
// hits, as Cache.Get does, so that eviction sees the read.
func TestRTPlainGetHitTouches(t *testing.T) {
	rt := newRT(t, &origin{}, ufocache.RTOptions[string, string]{},
		ufocache.Options[string, string]{MaxWeight: 100, Clock: &stepClock{}})
	rt.Set("k", "v", 0)
	f0 := rt.Cache().FreqOf("k")
	if v, st, err := rt.Get(context.Background(), "k"); v != "v" || st != ufocache.Hit || err != nil {
		t.Fatalf("Get = (%q, %v, %v), want a hit", v, st, err)
	}
	if f := rt.Cache().FreqOf("k"); f <= f0 {
		t.Errorf("a plain Get hit left the entry's frequency at %d, want it touched", f)
	}
}

// Get's plain hit path answers a hit itself, as Cache.Get does: a value
// without a TTL is served without reading the clock, not passed on to the
// general lookup.
func TestRTPlainGetHitOfNoTTLReadsNoClock(t *testing.T) {
	var reads atomic.Int64
	clk := funcClock(func() int64 { reads.Add(1); return int64(time.Hour) })
	rt := newRT(t, &origin{}, ufocache.RTOptions[string, string]{},
		ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
	rt.Set("k", "v", ufocache.NoExpiration)
	reads.Store(0)
	if v, st, err := rt.Get(context.Background(), "k"); v != "v" || st != ufocache.Hit || err != nil {
		t.Fatalf("Get = (%q, %v, %v), want a hit", v, st, err)
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("a plain Get hit of a value without a TTL read the clock %d times, want 0", n)
	}
}

// Invalidate reports whether k had a value that had not expired: at the
// instant of its expiry it had none (Get misses then too).
func TestRTInvalidateAtTheExpiryInstant(t *testing.T) {
	clk := &stepClock{}
	clk.ns.Store(int64(time.Hour))
	rt := newRT(t, &origin{}, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
	rt.Set("k", "v", time.Second)
	clk.ns.Add(int64(time.Second))
	if rt.Invalidate("k") {
		t.Error("Invalidate at the instant the value expired reported a value that had not expired")
	}
}

// Invalidate keeps the old value for stale reads, even in a cache so small
// that every write sweeps the group that holds it: its own write must not
// reclaim the entry it has just expired, nor the writes after it while
// KeepExpired holds it, once the sweep's grace (about a second) has
// passed.
func TestRTInvalidateKeepsTheValueForStaleReads(t *testing.T) {
	clk := &stepClock{}
	clk.ns.Store(int64(time.Hour))
	o := &origin{err: errors.New("down")}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{MaxWeight: 4, Shards: 1, Clock: clk, KeepExpired: time.Hour})
	rt.Set("k", "v", 0)
	if !rt.Invalidate("k") {
		t.Fatal("Invalidate found nothing")
	}
	check := func(when string) {
		t.Helper()
		if v, st, err := rt.GetStale(context.Background(), "k", time.Hour); v != "v" || st.Status != ufocache.Stale || err != nil {
			t.Errorf("GetStale %s = (%q, %+v, %v), want the old value, stale", when, v, st, err)
		}
	}
	check("after Invalidate")
	clk.ns.Add(int64(2 * time.Second))
	rt.Set("a", "1", 0)
	rt.Set("b", "2", 0)
	check("after two more writes, two seconds on")
	if rt.Cache().Len() != 3 {
		t.Errorf("Len %d, want 3 (the invalidated entry kept)", rt.Cache().Len())
	}
}

// Invalidate keeps the value, so OnEvict hears nothing of it then: it
// hears of the value once, when it leaves (here by Delete). It used to
// hear EvictReplaced at Invalidate while GetStale still served the value,
// and again at the Delete: a callback that recycles values would have
// recycled one still being served, and twice.
func TestRTInvalidateTellsOnEvictOnlyWhenTheValueLeaves(t *testing.T) {
	clk := &stepClock{}
	clk.ns.Store(int64(time.Hour))
	var heard []string
	o := &origin{err: errors.New("down")}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{
		MaxWeight: 100, Clock: clk, KeepExpired: time.Hour,
		OnEvict: func(k, v string, r ufocache.EvictReason) { heard = append(heard, fmt.Sprintf("%s=%s %v", k, v, r)) },
	})
	rt.Set("k", "v", time.Minute)
	if !rt.Invalidate("k") {
		t.Fatal("Invalidate found nothing")
	}
	if len(heard) != 0 {
		t.Fatalf("OnEvict heard %v at Invalidate, want nothing: the value stays for stale reads", heard)
	}
	if v, st, err := rt.GetStale(context.Background(), "k", time.Hour); v != "v" || st.Status != ufocache.Stale || err != nil {
		t.Fatalf("GetStale after Invalidate = (%q, %+v, %v), want the old value, stale", v, st, err)
	}
	rt.Delete("k")
	if want := fmt.Sprintf("k=v %v", ufocache.EvictDeleted); len(heard) != 1 || heard[0] != want {
		t.Fatalf("OnEvict heard %v, want once %q", heard, want)
	}
}

// A value that expires this very nanosecond (Invalidate's, or a TTL's
// end) is stale for at least 1ns in RTCache's answers, as in
// Cache.GetStale's: a caller testing StaleFor > 0 must not take it for
// fresh. Both used to say 0.
func TestRTStaleForAtTheExpiryInstant(t *testing.T) {
	clk := &stepClock{}
	clk.ns.Store(int64(time.Hour))
	o := &origin{err: errors.New("down")}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{MaxWeight: 100, Clock: clk, KeepExpired: time.Hour})
	rt.Set("a", "v", time.Second)
	rt.Set("b", "v", time.Hour)
	clk.ns.Add(int64(time.Second)) // a expires now
	rt.Invalidate("b")             // and so does b
	for _, k := range []string{"a", "b"} {
		_, cacheStale, _ := rt.Cache().GetStale(k)
		_, st, err := rt.GetStale(context.Background(), k, time.Minute)
		_, st2, err2 := rt.GetStaleWhileUpdate(context.Background(), k, time.Minute)
		if cacheStale <= 0 || st.Status != ufocache.Stale || st.StaleFor != cacheStale || st2.Status != ufocache.Stale || st2.StaleFor != cacheStale || err != nil || err2 != nil {
			t.Errorf("%s: Cache.GetStale stale for %v; GetStale %v for %v (%v), GetStaleWhileUpdate %v for %v (%v)", k, cacheStale, st.Status, st.StaleFor, err, st2.Status, st2.StaleFor, err2)
		}
	}
}

// RTCache's lookups (all but the plain Get's hit path) count in the
// Cache's Stats as its own reads do, touch what they hit, and take a
// value with 1ns left to live for a hit.
func TestRTLookupsCountAndTouchLikeCacheReads(t *testing.T) {
	clk := &stepClock{}
	clk.ns.Store(int64(time.Hour))
	o := &origin{ttl: time.Second}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{MaxWeight: 100, Clock: clk, RecordStats: true})
	c := rt.Cache()
	ctx := context.Background()
	rt.Get(ctx, "k") // a miss: loads k
	f0 := c.FreqOf("k")
	clk.ns.Add(int64(time.Second - time.Nanosecond))
	if v, st, err := rt.GetStale(ctx, "k", time.Hour); v != "k#1" || st.Status != ufocache.Hit || err != nil {
		t.Fatalf("GetStale 1ns before expiry = (%q, %+v, %v), want a hit", v, st, err)
	}
	if f := c.FreqOf("k"); f <= f0 {
		t.Errorf("a hit through RTCache left the entry's frequency at %d, want it touched", f)
	}
	clk.ns.Add(int64(time.Nanosecond))
	rt.Get(ctx, "k") // expired: loads again
	if s := c.Stats(); s.Hits != 1 || s.Misses != 2 {
		t.Errorf("Cache stats after a miss, a hit and an expired read through RTCache: %d hits, %d misses; want 1, 2", s.Hits, s.Misses)
	}
	if n := o.loads.Load(); n != 2 {
		t.Errorf("%d loads, want 2", n)
	}
}

// GetStale and GetStaleWhileUpdate answer a fresh value as Get does: Status
// Hit, counted in RTStats.Hits, without a load.
func TestRTStaleReadsOfAFreshValueAreHits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{
			MaxWeight: 100, Clock: newBubbleClock(), RecordStats: true,
		})
		rt.Set("k", "v", time.Hour)
		if v, st, err := rt.GetStale(context.Background(), "k", time.Hour); v != "v" || st != (ufocache.StaleStatus{Status: ufocache.Hit, TTL: time.Hour}) || err != nil {
			t.Errorf("GetStale of a fresh value = (%q, %+v, %v), want a hit", v, st, err)
		}
		if v, st, err := rt.GetStaleWhileUpdate(context.Background(), "k", time.Hour); v != "v" || st != (ufocache.StaleStatus{Status: ufocache.Hit, TTL: time.Hour}) || err != nil {
			t.Errorf("GetStaleWhileUpdate of a fresh value = (%q, %+v, %v), want a hit", v, st, err)
		}
		synctest.Wait()
		if s := rt.Stats(); s != (ufocache.RTStats{Hits: 2}) {
			t.Errorf("stats after two hits = %+v, want Hits 2 and nothing else", s)
		}
	})
}

// A value that expired exactly staleTTL ago is within the allowance ("no
// more than staleTTL ago"), for GetStale and GetStaleWhileUpdate.
func TestRTStaleAllowanceIsInclusive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		rt.Get(context.Background(), "k")
		o.set(func(o *origin) { o.err = errors.New("down") })
		time.Sleep(1500 * time.Millisecond) // expired 500ms ago
		want := ufocache.StaleStatus{Status: ufocache.Stale, StaleFor: 500 * time.Millisecond}
		if v, st, err := rt.GetStale(context.Background(), "k", 500*time.Millisecond); v != "k#1" || st != want || err != nil {
			t.Errorf("GetStale with staleTTL = 500ms = (%q, %+v, %v), want (k#1, %+v, nil)", v, st, err, want)
		}
		if v, st, err := rt.GetStaleWhileUpdate(context.Background(), "k", 500*time.Millisecond); v != "k#1" || st != want || err != nil {
			t.Errorf("GetStaleWhileUpdate with staleTTL = 500ms = (%q, %+v, %v), want (k#1, %+v, nil)", v, st, err, want)
		}
		synctest.Wait()
	})
}

// MultiGet reports an expired key it loaded as Expired, a key whose load
// another caller had in flight as LockHit, and counts them in RTStats as
// Get does: one Miss per key it loaded, one LockHit per key it joined.
func TestRTMultiGetStatusesAndCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			out := make([]ufocache.Loaded[string], len(keys))
			for i, k := range keys {
				out[i] = ufocache.Loaded[string]{Value: "batch:" + k, TTL: time.Hour}
			}
			return out, nil
		}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{BatchLoader: batch})
		rt.Get(context.Background(), "old") // Miss 1
		time.Sleep(2 * time.Second)         // old expired
		gate := make(chan struct{})
		o.set(func(o *origin) { o.gate = gate })
		go rt.Get(context.Background(), "joined") // Miss 2, its load waits
		synctest.Wait()
		done := make(chan []ufocache.RTResult[string])
		go func() {
			res, _ := rt.MultiGet(context.Background(), []string{"old", "joined", "new"})
			done <- res
		}()
		synctest.Wait()
		close(gate)
		res := <-done
		want := []ufocache.RTResult[string]{ // TTL: the BatchLoader's hour, the origin's second
			{Value: "batch:old", Status: ufocache.Expired, TTL: time.Hour},
			{Value: "joined#2", Status: ufocache.LockHit, TTL: time.Second},
			{Value: "batch:new", Status: ufocache.Miss, TTL: time.Hour},
		}
		for i := range want {
			if res[i] != want[i] {
				t.Errorf("result %d = %+v, want %+v", i, res[i], want[i])
			}
		}
		synctest.Wait() // the joined Get counts its Miss as it returns, after the MultiGet may have
		if s := rt.Stats(); s.Misses != 4 || s.LockHits != 1 {
			t.Errorf("stats %+v: want Misses 4 (two Gets, two batch keys), LockHits 1", s)
		}
	})
}

// A MultiGet whose BatchLoader panics, with no key joined to another
// caller's load, counts a Miss per key and no LockHit.
func TestRTPanickingBatchWithoutJoinedKeysCountsNoLockHit(t *testing.T) {
	batch := func(context.Context, []string) ([]ufocache.Loaded[string], error) { panic("batch bug") }
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100})
	rt, err := ufocache.NewRTCache(c, (&origin{}).load, ufocache.RTOptions[string, string]{BatchLoader: batch})
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { recover() }()
		rt.MultiGet(context.Background(), []string{"a", "b"})
	}()
	if s := rt.Stats(); s.Misses != 2 || s.LockHits != 0 {
		t.Errorf("stats %+v: want Misses 2, LockHits 0", s)
	}
}

// GetStale turns only a Loader's panic (a *PanicError) into a stale read:
// any other panic on the load's path, here an OnEvict callback that panics
// when the load's value replaces the expired one, still reaches the caller.
func TestRTGetStaleRaisesOtherPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var armed atomic.Bool
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{
			MaxWeight: 100,
			Clock:     newBubbleClock(),
			OnEvict: func(string, string, ufocache.EvictReason) {
				if armed.Load() {
					panic("OnEvict bug")
				}
			},
		})
		rt.Get(context.Background(), "k")
		time.Sleep(2 * time.Second)
		armed.Store(true)
		var recovered any
		var v string
		var st ufocache.StaleStatus
		func() {
			defer func() { recovered = recover() }()
			v, st, _ = rt.GetStale(context.Background(), "k", time.Hour)
		}()
		if recovered != "OnEvict bug" {
			t.Errorf("GetStale whose load's store ran a panicking OnEvict = (%q, %+v), recovered %v; want the panic", v, st, recovered)
		}
	})
}

// MaxRefreshes bounds the refreshes in flight also after earlier ones
// have finished: a finished refresh gives back exactly its one slot.
func TestRTMaxRefreshesHoldsAfterRefreshesFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		// KeepExpired: a's refresh, a write, must not sweep b and c away.
		rt := newRT(t, o, ufocache.RTOptions[string, string]{MaxRefreshes: 1}, ufocache.Options[string, string]{
			MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour,
		})
		for _, k := range []string{"a", "b", "c"} {
			rt.Get(context.Background(), k)
		}
		time.Sleep(2 * time.Second) // all expired
		rt.GetStaleWhileUpdate(context.Background(), "a", time.Hour)
		synctest.Wait() // a's refresh finished
		gate := make(chan struct{})
		o.set(func(o *origin) { o.gate = gate })
		for _, k := range []string{"b", "c"} {
			if _, st, _ := rt.GetStaleWhileUpdate(context.Background(), k, time.Hour); st.Status != ufocache.Stale {
				t.Fatalf("GetStaleWhileUpdate(%s) = %+v, want stale", k, st)
			}
		}
		synctest.Wait()
		if n := o.inFlight.Load(); n != 1 {
			t.Errorf("%d refreshes in flight with MaxRefreshes 1, want 1", n)
		}
		close(gate)
		synctest.Wait()
	})
}

// A refresh whose Loader ignores its ctx holds its MaxRefreshes place past
// LoadTimeout, as RTOptions.MaxRefreshes says: its key is free at once
// (InFlight 0), but no other key's refresh starts until that Loader
// returns, so a hung origin costs no more goroutines than MaxRefreshes.
// Once it returns, refreshes go on.
func TestRTHungRefreshHoldsItsPlacePastLoadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Millisecond}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{LoadTimeout: time.Second, MaxRefreshes: 1},
			ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour})
		ctx := context.Background()
		rt.Get(ctx, "a")
		rt.Get(ctx, "b")
		time.Sleep(2 * time.Millisecond) // both expired
		gate := make(chan struct{})
		o.set(func(o *origin) { o.gate, o.ttl = gate, time.Hour })
		rt.GetStaleWhileUpdate(ctx, "a", time.Hour) // a's refresh hangs
		time.Sleep(2 * time.Second)                 // past LoadTimeout
		synctest.Wait()
		if n := rt.InFlight(); n != 0 {
			t.Fatalf("InFlight %d after LoadTimeout, want 0: the key is free", n)
		}
		o.set(func(o *origin) { o.gate = nil })
		if _, st, _ := rt.GetStaleWhileUpdate(ctx, "b", time.Hour); st.Status != ufocache.Stale {
			t.Fatalf("b: %+v, want stale", st)
		}
		synctest.Wait()
		if loads := o.loads.Load(); loads != 3 {
			t.Errorf("%d loads with a's Loader hung past LoadTimeout, want 3 (no refresh of b while it holds the one place)", loads)
		}
		close(gate) // a's Loader returns; its late result is dropped
		synctest.Wait()
		rt.GetStaleWhileUpdate(ctx, "b", time.Hour)
		synctest.Wait()
		if v, st, err := rt.Get(ctx, "b"); st != ufocache.Hit || err != nil || v != "b#4" {
			t.Errorf("b after the hung Loader returned: (%q, %v, %v), want (b#4, hit, nil): refreshed", v, st, err)
		}
	})
}

// A refresh ahead that Recheck answers (a load error is cached for the
// key) starts no load: it is not counted in Refreshes and gives its
// MaxRefreshes slot back, so refreshes go on once the error has expired,
// and the bound still holds.
func TestRTRefreshAnsweredByACachedErrorGivesItsSlotBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: 100 * time.Millisecond}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{
			RefreshAhead: 50 * time.Millisecond, MaxRefreshes: 1, ErrorTTL: 5 * time.Millisecond,
		}, ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour})
		ctx := context.Background()
		rt.Get(ctx, "k")
		rt.Get(ctx, "j")
		time.Sleep(60 * time.Millisecond) // 40ms left: in the refresh window
		o.set(func(o *origin) { o.err = errors.New("down") })
		rt.Get(ctx, "k") // its refresh fails: the error is cached for 5ms
		synctest.Wait()
		rt.Get(ctx, "k") // its refresh is answered by the cached error
		synctest.Wait()
		if s := rt.Stats(); s.Refreshes != 1 || o.loads.Load() != 3 {
			t.Fatalf("after a refresh that failed and one answered by its cached error: Refreshes %d, loads %d; want 1, 3", s.Refreshes, o.loads.Load())
		}
		time.Sleep(5 * time.Millisecond) // the error expired; 35ms left
		gate := make(chan struct{})
		o.set(func(o *origin) { o.err, o.gate = nil, gate })
		rt.Get(ctx, "k") // refreshes k: one slot of one
		rt.Get(ctx, "j") // no slot left
		synctest.Wait()
		if n := o.inFlight.Load(); n != 1 {
			t.Errorf("%d refreshes in flight, want 1 (MaxRefreshes 1)", n)
		}
		close(gate)
		synctest.Wait()
		if s := rt.Stats(); s.Refreshes != 2 {
			t.Errorf("Refreshes %d, want 2", s.Refreshes)
		}
	})
}

// A refresh whose recheck panics (here a custom Hasher that panics on
// its second call) gives its MaxRefreshes place back as the panic goes
// on; it kept it, and with MaxRefreshes 1 no refresh started again (found
// in review).
func TestRTRefreshGivesItsPlaceBackWhenItsRecheckPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var armed atomic.Bool
		c := ufocache.Must(ufocache.Options[string, string]{
			MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour,
			Hasher: func(k string) uint64 {
				if armed.Load() && calls.Add(1) == 2 { // the lookup hashes first, then the refresh's recheck
					panic(errCallback)
				}
				return uint64(len(k))
			},
		})
		o := &origin{ttl: time.Second}
		rt, err := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{MaxRefreshes: 1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		rt.Get(ctx, "k")
		rt.Get(ctx, "jj")
		time.Sleep(2 * time.Second) // both expired, kept for stale reads
		armed.Store(true)
		mustPanicWithCallback(t, "a stale read whose refresh's recheck panics", func() { rt.GetStaleWhileUpdate(ctx, "k", time.Hour) })
		armed.Store(false)
		if _, st, err := rt.GetStaleWhileUpdate(ctx, "jj", time.Hour); err != nil || st.Status != ufocache.Stale {
			t.Fatalf("GetStaleWhileUpdate(jj) = %v, %v", st, err)
		}
		synctest.Wait()
		if s := rt.Stats(); s.Refreshes != 1 {
			t.Errorf("Refreshes %d after a stale read of another key, want 1: the panicked refresh kept its place", s.Refreshes)
		}
	})
}

// Without a BatchLoader each key of a MultiGet loads on its own, as Get's
// would: a key whose Loader hangs past the load timeout fails alone, and a
// key whose Loader returned is stored at once, so a Get of it does not
// wait for the slow one. As one batch, the slow key failed every key with
// ErrLoadTimeout, stored none of them, and held such a Get until it ended.
func TestRTMultiGetWithoutBatchLoaderKeysDoNotWaitForEachOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			if k == "slow" {
				<-release // past the load timeout: the key fails with ErrLoadTimeout
			}
			return "v:" + k, 0, nil
		}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
		rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{LoadTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan []ufocache.RTResult[string])
		go func() {
			res, _ := rt.MultiGet(context.Background(), []string{"fast", "slow"})
			done <- res
		}()
		synctest.Wait() // fast has loaded; slow's Loader waits
		if v, ok := c.Get("fast"); !ok || v != "v:fast" {
			t.Errorf("while slow loads, the cache holds fast: %q %v; want v:fast", v, ok)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		v, st, err := rt.Get(ctx, "fast")
		cancel()
		if err != nil || v != "v:fast" || st != ufocache.Hit {
			t.Errorf("Get(fast) while slow loads = %q %v %v; want v:fast, Hit", v, st, err)
		}
		res := <-done // slow's load times out after a minute
		if res[0].Err != nil || res[0].Value != "v:fast" || res[0].Status != ufocache.Miss {
			t.Errorf("fast's result = %+v; want v:fast, Miss", res[0])
		}
		if !errors.Is(res[1].Err, ufocache.ErrLoadTimeout) {
			t.Errorf("slow's result = %+v; want ErrLoadTimeout", res[1])
		}
		if s := rt.Stats(); s.Loads != 2 || s.LoadErrors != 1 {
			t.Errorf("stats %+v: want 2 loads, 1 error", s)
		}
		close(release)
	})
}

// A key given twice to one MultiGet is loaded once and counted once as a
// miss: the other occurrence is a LockHit, as a second Get's would be.
// Through DoBatch both occurrences used to say Miss (Misses 2, Loads 1).
func TestRTMultiGetRepeatedKeyCountsOneMiss(t *testing.T) {
	batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
		out := make([]ufocache.Loaded[string], len(keys))
		for i, k := range keys {
			out[i] = ufocache.Loaded[string]{Value: "batch:" + k}
		}
		return out, nil
	}
	for _, tc := range []struct {
		name  string
		batch ufocache.BatchLoader[string, string]
	}{{"Loader", nil}, {"BatchLoader", batch}} {
		o := &origin{}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100})
		rt, err := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{BatchLoader: tc.batch})
		if err != nil {
			t.Fatal(err)
		}
		res, err := rt.MultiGet(context.Background(), []string{"a", "b", "a"})
		if err != nil || res[0].Value == "" || res[0].Value != res[2].Value {
			t.Fatalf("%s: MultiGet = %+v %v", tc.name, res, err)
		}
		var miss, lock int
		for _, i := range []int{0, 2} {
			switch res[i].Status {
			case ufocache.Miss:
				miss++
			case ufocache.LockHit:
				lock++
			}
		}
		if s := rt.Stats(); miss != 1 || lock != 1 || s.Misses != 2 || s.LockHits != 1 || s.Loads != 2 {
			t.Errorf("%s: a twice, b once: statuses %v/%v, stats %+v; want one Miss and one LockHit for a, Misses 2, LockHits 1, Loads 2",
				tc.name, res[0].Status, res[2].Status, s)
		}
	}
}

// Without a BatchLoader each key loads on a goroutine of its own; a panic
// there that is not its Loader's (an OnEvict's, run by a store made on
// that goroutine: the ctx cannot end) would end the process. MultiGet
// raises it on its caller's goroutine, as Get does, once every key has its
// answer.
func TestRTMultiGetWithoutBatchLoaderRaisesAnOnEvictPanic(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 1, OnEvict: func(string, string, ufocache.EvictReason) {
		panic("OnEvict bug")
	}})
	c.Set("x", "x")
	o := &origin{}
	rt, err := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != "OnEvict bug" {
			t.Errorf("MultiGet recovered %v, want OnEvict's panic", r)
		}
	}()
	rt.MultiGet(context.Background(), []string{"a"})
	t.Error("MultiGet returned")
}

// An RTCache's cached errors expire on its Cache's clock. Made in a
// testing/synctest bubble over a Cache made outside (real time), its error
// cache used to read the bubble's time: an hour of bubble time expired an
// error cached for a minute, while the Cache's values, on real time, stayed.
func TestRTErrorTTLKeepsTheCachesClock(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10}) // real time
	synctest.Test(t, func(t *testing.T) {
		o := &origin{err: errors.New("origin down")}
		rt, err := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{ErrorTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		c.SetWithTTL("v", "v", time.Minute)
		rt.Get(context.Background(), "k")
		time.Sleep(time.Hour) // bubble time; real time has hardly moved
		if _, ok := c.Get("v"); !ok {
			t.Fatal("the Cache's value expired on the bubble's clock")
		}
		if _, _, err := rt.Get(context.Background(), "k"); err == nil || o.loads.Load() != 1 {
			t.Errorf("after an hour of bubble time: err %v, %d loads; want the cached error and 1 load", err, o.loads.Load())
		}
	})
}

// A key given twice to a MultiGet without a BatchLoader loads once, for
// both occurrences, whatever becomes of the load: the second occurrence
// does not wait for the first as another caller would (LockTimeout
// failed it while its own load went on), nor load again when the first
// load's answer is not stored (a failed load, a negative TTL).
func TestRTMultiGetRepeatedKeyWithoutBatchLoaderLoadsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			calls.Add(1)
			time.Sleep(2 * time.Second)
			switch k {
			case "down":
				return "", 0, errors.New("down")
			case "neg":
				return "v:neg", -1, nil
			}
			return "v:" + k, 0, nil
		}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
		rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{LockTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		res, _ := rt.MultiGet(context.Background(), []string{"a", "down", "neg", "a", "down", "neg"})
		for i := range 3 {
			first, again := res[i], res[i+3]
			if first.Status != ufocache.Miss || again.Status != ufocache.LockHit || first.Value != again.Value || first.Err != again.Err {
				t.Errorf("occurrences of key %d: %+v and %+v; want the same answer, Miss then LockHit", i, first, again)
			}
		}
		if res[0].Err != nil || res[0].Value != "v:a" || res[1].Err == nil || res[2].Value != "v:neg" {
			t.Errorf("results %+v", res)
		}
		if s := rt.Stats(); calls.Load() != 3 || s.Loads != 3 || s.Misses != 3 || s.LockHits != 3 {
			t.Errorf("%d Loader calls, stats %+v; want 3 calls, Loads 3, Misses 3, LockHits 3", calls.Load(), s)
		}
		// With its ctx ended, no occurrence starts a load or waits for
		// one: the repeat has what its lookup found too, and counts in
		// no LockHits (it took LockHit, and counted one).
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, _ = rt.MultiGet(ctx, []string{"b", "b", "c"})
		for i, r := range res {
			if r.Status != ufocache.Miss || r.Err != context.Canceled {
				t.Errorf("occurrence %d with its ctx ended: %+v; want Miss and context.Canceled", i, r)
			}
		}
		if s := rt.Stats(); calls.Load() != 3 || s.Misses != 3 || s.LockHits != 3 {
			t.Errorf("after a MultiGet with its ctx ended: %d Loader calls, stats %+v; want 3 calls, Misses 3, LockHits 3 as before", calls.Load(), s)
		}
		// A ctx that ends while the keys load: one at a time, the first
		// key's Loader ends it, so the first key loads (its caller has
		// left: ctx's error) and its repeat shares that answer, while
		// the second key, not yet taken, and its repeat start none.
		mctx, mcancel := context.WithCancel(context.Background())
		one, err := ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()}),
			func(_ context.Context, k string) (string, time.Duration, error) {
				if k == "a" {
					mcancel()
				}
				return "v:" + k, 0, nil
			}, ufocache.RTOptions[string, string]{MaxMultiLoads: 1})
		if err != nil {
			t.Fatal(err)
		}
		res, _ = one.MultiGet(mctx, []string{"a", "b", "a", "b"})
		want := []ufocache.RTResult[string]{{Status: ufocache.Miss, Err: context.Canceled}, {Status: ufocache.Miss, Err: context.Canceled},
			{Status: ufocache.LockHit, Err: context.Canceled}, {Status: ufocache.Miss, Err: context.Canceled}}
		if !slices.Equal(res, want) {
			t.Errorf("MultiGet whose ctx ends after its first load: %+v, want %+v", res, want)
		}
		// MultiGet returned as its ctx ended, maybe before key a's load
		// (on a goroutine of its own) finished: Loads counts a load once
		// it has ended. A CI run read 0 here.
		for deadline := time.Now().Add(10 * time.Second); one.Stats().Loads == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if s := one.Stats(); s.Misses != 1 || s.LockHits != 1 || s.Loads != 1 {
			t.Errorf("its stats %+v: want Misses 1, LockHits 1, Loads 1", s)
		}
	})
}

// A *PanicError the Loader returns is its error in GetStale too: with no
// stale value left to serve, GetStale returns it and does not panic.
func TestRTGetStaleReturnsAPanicErrorTheLoaderReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		below := &ufocache.PanicError{Value: "a layer below"}
		o := &origin{ttl: time.Second}
		rt := warmStaleRT(t, o, ufocache.RTOptions[string, string]{})
		o.set(func(o *origin) { o.delay, o.err = 2*time.Second, below })
		time.Sleep(1500 * time.Millisecond) // expired 500ms ago; 2.5s when the load fails
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("GetStale panicked with %v", r)
			}
		}()
		_, st, err := rt.GetStale(context.Background(), "k", time.Second)
		if err != below {
			t.Fatalf("GetStale = (%+v, %v), want the returned *PanicError", st, err)
		}
	})
}

// A BatchLoader that returns an error fails every key it was called for
// with that error, stores nothing (the next Get loads again), and keeps
// the hits; the counts say one batch of two failed loads.
func TestRTMultiGetBatchLoaderErrorFailsItsKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errDown := errors.New("origin down")
		var calls [][]string
		batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			calls = append(calls, slices.Clone(keys))
			return nil, errDown
		}
		o := &origin{}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{BatchLoader: batch})
		rt.Set("hit", "cached", 0)
		res, err := rt.MultiGet(context.Background(), []string{"a", "hit", "b"})
		if !errors.Is(err, errDown) {
			t.Fatalf("MultiGet's error = %v, want %v", err, errDown)
		}
		if len(calls) != 1 || !slices.Equal(calls[0], []string{"a", "b"}) {
			t.Fatalf("BatchLoader calls %v, want one of [a b]", calls)
		}
		for _, i := range []int{0, 2} {
			if r := res[i]; !errors.Is(r.Err, errDown) || r.Status != ufocache.Miss || r.Value != "" {
				t.Errorf("key %d: %+v, want a Miss failed with %v", i, r, errDown)
			}
		}
		if r := res[1]; r.Err != nil || r.Status != ufocache.Hit || r.Value != "cached" {
			t.Errorf("the hit: %+v, want (cached, Hit)", r)
		}
		if s := rt.Stats(); s.Batches != 1 || s.Loads != 2 || s.LoadErrors != 2 || s.Misses != 2 {
			t.Errorf("stats %+v, want Batches 1, Loads 2, LoadErrors 2, Misses 2", s)
		}
		if v, st, err := rt.Get(context.Background(), "a"); st != ufocache.Miss || err != nil || v == "" {
			t.Errorf("Get(a) after the failed batch = (%q, %v, %v), want a fresh load", v, st, err)
		}
	})
}

// A load is counted in RTStats before its value is stored and its key
// freed: a reader that sees the value, or InFlight drop to 0, sees the
// load in Loads. A background refresh has no waiter to wake after the
// count, and a snapshot taken once its value was served used to miss it.
// OnEvict, told that the load replaced the old value, runs after both the
// store and the key's release, where the count must already be.
func TestRTStatsCountALoadBeforeItsKeyIsFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type seen struct {
			inFlight    int
			loads, errs uint64
		}
		var rt *ufocache.RTCache[string, int]
		var got []seen
		c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 10, Clock: newBubbleClock(), KeepExpired: time.Hour,
			OnEvict: func(_ string, _ int, r ufocache.EvictReason) {
				if r == ufocache.EvictReplaced {
					s := rt.Stats()
					got = append(got, seen{rt.InFlight(), s.Loads, s.LoadErrors})
				}
			}})
		var n int
		rt, _ = ufocache.NewRTCache(c, func(context.Context, string) (int, time.Duration, error) {
			n++
			return n, time.Second, nil
		}, ufocache.RTOptions[string, int]{})
		ctx := context.Background()
		rt.Get(ctx, "k")
		time.Sleep(2 * time.Second)
		rt.GetStaleWhileUpdate(ctx, "k", time.Hour) // a refresh: no caller waits for it
		synctest.Wait()
		time.Sleep(2 * time.Second)
		rt.Get(ctx, "k") // a leader's load of the expired value
		if want := []seen{{0, 2, 0}, {0, 3, 0}}; !slices.Equal(got, want) {
			t.Fatalf("OnEvict of the replaced values saw (InFlight, Loads, LoadErrors) %v, want %v", got, want)
		}
	})
}
