package ufocache_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
	"github.com/ufocache/ufocache/internal/clock"
)

// rtTTL is one RTCache.GetWithTTL answer.
type rtTTL struct {
	v   string
	ttl time.Duration
	st  ufocache.Status
	err error
}

func getTTL(rt *ufocache.RTCache[string, string], k string) rtTTL {
	var r rtTTL
	r.v, r.ttl, r.st, r.err = rt.GetWithTTL(context.Background(), k)
	return r
}

// RTCache.GetWithTTL reports, under every TTL convention of the Loader,
// the time a value has left, counted from the moment its Loader returned
// (not from the start of the load), to the nanosecond on an injected
// clock; and the stored entry agrees.
func TestRTGetWithTTL(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1000)
	ttls := map[string]time.Duration{
		"five":     5 * time.Second,
		"zero":     0, // the Cache's DefaultTTL
		"never":    ufocache.NoExpiration,
		"negative": -time.Second, // returned, not stored
	}
	errDown := errors.New("down")
	loads := map[string]int{}
	load := func(_ context.Context, k string) (string, time.Duration, error) {
		loads[k]++
		clk.Advance(time.Second) // the load takes a second
		if k == "fail" {
			return "", 0, errDown
		}
		return "v-" + k, ttls[k], nil
	}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk, DefaultTTL: time.Hour})
	rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{ErrorTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	expect := func(k string, want rtTTL) {
		t.Helper()
		if got := getTTL(rt, k); got != want {
			t.Errorf("GetWithTTL(%q) = %+v, want %+v", k, got, want)
		}
	}
	expect("five", rtTTL{"v-five", 5 * time.Second, ufocache.Miss, nil})
	expect("zero", rtTTL{"v-zero", time.Hour, ufocache.Miss, nil})
	expect("never", rtTTL{"v-never", ufocache.NoExpiration, ufocache.Miss, nil})
	expect("negative", rtTTL{"v-negative", 0, ufocache.Miss, nil})
	expect("fail", rtTTL{"", time.Minute, ufocache.Miss, errDown}) // the error is cached for ErrorTTL
	// The four loads after "five" took 4s of its 5.
	expect("five", rtTTL{"v-five", time.Second, ufocache.Hit, nil})
	clk.Advance(time.Second - 1)
	expect("five", rtTTL{"v-five", 1, ufocache.Hit, nil})
	clk.Advance(1)
	expect("five", rtTTL{"v-five", 5 * time.Second, ufocache.Expired, nil})
	if _, ttl, ok := c.GetWithTTL("five"); !ok || ttl != 5*time.Second {
		t.Errorf("Cache.GetWithTTL of the reloaded value = %v, %v; want 5s", ttl, ok)
	}
	// "zero" was stored 5s ago; the reload of "five" took a second.
	expect("zero", rtTTL{"v-zero", time.Hour - 5*time.Second, ufocache.Hit, nil})
	expect("never", rtTTL{"v-never", ufocache.NoExpiration, ufocache.Hit, nil})
	expect("negative", rtTTL{"v-negative", 0, ufocache.Miss, nil})                // loaded again: nothing was stored
	expect("fail", rtTTL{"", time.Minute - 3*time.Second, ufocache.Hit, errDown}) // the cached error, cached 3s ago
	if _, ttl, ok := c.GetWithTTL("zero"); !ok || ttl != time.Hour-6*time.Second {
		t.Errorf("Cache.GetWithTTL of the loaded value = %v, %v; want %v", ttl, ok, time.Hour-6*time.Second)
	}
	if _, _, ok := c.GetWithTTL("negative"); ok {
		t.Error("a value loaded with a negative TTL was stored")
	}
	if want := map[string]int{"five": 2, "zero": 1, "never": 1, "negative": 2, "fail": 1}; !mapsEqual(loads, want) {
		t.Errorf("loads %v, want %v", loads, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A value too heavy to store comes with the TTL its Loader gave all the
// same: it is the origin's word, not the cache's.
func TestRTGetWithTTLOfAValueNotStored(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk,
		Weigher: func(_, v string) uint32 { return uint32(len(v)) }})
	rt, err := ufocache.NewRTCache(c, func(_ context.Context, k string) (string, time.Duration, error) {
		return string(make([]byte, 1000)), 7 * time.Second, nil
	}, ufocache.RTOptions[string, string]{})
	if err != nil {
		t.Fatal(err)
	}
	if got := getTTL(rt, "heavy"); got.ttl != 7*time.Second || got.st != ufocache.Miss || got.err != nil || len(got.v) != 1000 {
		t.Fatalf("GetWithTTL of a value too heavy to store = %v, %v, %v (%d bytes)", got.ttl, got.st, got.err, len(got.v))
	}
	if c.Len() != 0 {
		t.Fatalf("a value heavier than the cache was stored")
	}
}

// A caller that waited for another's load gets the value with the time
// it has left, as its leader does: counted from the load's return, less
// the time since. The time since shows when the callers return later than
// the load: its OnEvict, told that the load replaced the old value, takes
// two seconds, and runs before the waiters wake.
func TestRTGetWithTTLOfAWaitedLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour,
			OnEvict: func(string, string, ufocache.EvictReason) { time.Sleep(2 * time.Second) }})
		rt, err := ufocache.NewRTCache(c, func(_ context.Context, k string) (string, time.Duration, error) {
			<-release
			time.Sleep(time.Second)
			return "new", 10 * time.Second, nil
		}, ufocache.RTOptions[string, string]{})
		if err != nil {
			t.Fatal(err)
		}
		c.SetWithTTL("k", "old", time.Second)
		time.Sleep(2 * time.Second) // "old" expired a second ago
		var lead, wait rtTTL
		var wg sync.WaitGroup
		wg.Go(func() { lead = getTTL(rt, "k") })
		synctest.Wait() // the leader's load waits for release
		wg.Go(func() { wait = getTTL(rt, "k") })
		synctest.Wait() // the other caller waits for the load
		close(release)
		wg.Wait()
		if want := (rtTTL{"new", 8 * time.Second, ufocache.LockHit, nil}); wait != want {
			t.Errorf("the waiter, woken 2s after the load, got %+v, want %+v", wait, want)
		}
		if want := (rtTTL{"new", 8 * time.Second, ufocache.Expired, nil}); lead != want {
			t.Errorf("the leader, back 2s after its load, got %+v, want %+v", lead, want)
		}
		if _, ttl, ok := c.GetWithTTL("k"); !ok || ttl != 8*time.Second {
			t.Errorf("Cache.GetWithTTL = %v, %v; want 8s", ttl, ok)
		}
	})
}

// A caller about to load that finds the value another caller just stored
// (its recheck) gets that value's time left, not the Loader's TTL.
func TestRTGetWithTTLOfAValueFoundOnRecheck(t *testing.T) {
	clk := &hookClock{}
	clk.ns.Store(int64(time.Hour))
	o := &origin{ttl: time.Second}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{MaxWeight: 100, Clock: clk, KeepExpired: time.Hour})
	if _, _, err := rt.Get(context.Background(), "k"); err != nil {
		t.Fatal(err)
	}
	clk.ns.Add(int64(2 * time.Second)) // expired a second ago
	set := func() { rt.Set("k", "fresh", 30*time.Second) }
	clk.hook.Store(&set) // lands as the lookup reads the clock
	got := getTTL(rt, "k")
	if want := (rtTTL{"fresh", 30 * time.Second, ufocache.LockHit, nil}); got != want {
		t.Fatalf("GetWithTTL after a Set landed behind its lookup = %+v, want %+v", got, want)
	}
	if n := o.loads.Load(); n != 1 {
		t.Fatalf("%d loads, want 1", n)
	}
}

// newBatchRT returns an RTCache, on a Cache with the bubble's clock, whose
// BatchLoader runs wait, then gives the i-th key "b-"+key for i+1 minutes;
// its Loader must not run.
func newBatchRT(t *testing.T, wait func()) (*ufocache.RTCache[string, string], *ufocache.Cache[string, string]) {
	t.Helper()
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
	rt, err := ufocache.NewRTCache(c, func(context.Context, string) (string, time.Duration, error) {
		t.Error("the Loader ran: MultiGet should batch")
		return "", 0, nil
	}, ufocache.RTOptions[string, string]{BatchLoader: func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
		wait()
		out := make([]ufocache.Loaded[string], len(keys))
		for i, k := range keys {
			out[i] = ufocache.Loaded[string]{Value: "b-" + k, TTL: time.Duration(i+1) * time.Minute}
		}
		return out, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return rt, c
}

// A caller that waits for a key of a MultiGet's batch gets the TTL the
// BatchLoader gave that key.
func TestRTGetWithTTLOfABatchLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		rt, _ := newBatchRT(t, func() { <-release })
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := rt.MultiGet(context.Background(), []string{"a", "b"}); err != nil {
				t.Error(err)
			}
		})
		synctest.Wait()
		var got rtTTL
		wg.Go(func() { got = getTTL(rt, "b") })
		synctest.Wait()
		close(release)
		wg.Wait()
		if want := (rtTTL{"b-b", 2 * time.Minute, ufocache.LockHit, nil}); got != want {
			t.Fatalf("GetWithTTL of a key in a batch = %+v, want %+v", got, want)
		}
	})
}

// Without an injected clock the time left of a loaded value is never
// reported shorter than it is, and for the load's own callers never more
// than the Loader gave (the Miss here: read on the coarse clock, lagging,
// it was up to a tick over, and a resolver rounding up sent 301 for 300).
func TestRTGetWithTTLOnTheCoarseClock(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100})
	const ttl = time.Hour
	rt, err := ufocache.NewRTCache(c, func(_ context.Context, k int) (int, time.Duration, error) {
		return k, ttl, nil
	}, ufocache.RTOptions[int, int]{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		start := time.Now() // before the load: both answers count from after it
		for _, want := range []ufocache.Status{ufocache.Miss, ufocache.Hit} {
			_, left, st, err := rt.GetWithTTL(context.Background(), i)
			if err != nil || st != want {
				t.Fatalf("GetWithTTL(%d) = %v, %v; want %v", i, st, err, want)
			}
			if least := ttl - time.Since(start); left < least || left >= ufocache.NoExpiration {
				t.Fatalf("GetWithTTL(%d), a %v, reported %v left; at least %v is left", i, st, left, least)
			}
			if st == ufocache.Miss && left > ttl {
				t.Fatalf("GetWithTTL(%d), a Miss, reported %v left, more than the Loader's %v", i, left, ttl)
			}
		}
	}
}

// The same for a load's error: the time its cached copy has left is read
// on the exact time, so that a lookup after it has passed asks the origin
// again (a Retry-After); read on the coarse clock it was over by the
// clock's lag (a port measured 66.8 ms left of an error kept for 60 ms,
// under -race). The lookup after the time reported, on the exact time,
// finds the error gone. GetWithTTL and MultiGet alike.
func TestRTGetWithTTLOfAnErrorOnTheCoarseClock(t *testing.T) {
	down := errors.New("down")
	const ttl = time.Hour
	var calls atomic.Int64
	loader := func(_ context.Context, k int) (int, time.Duration, error) {
		calls.Add(1)
		return 0, 0, ufocache.ErrorWithTTL(down, ttl)
	}
	batch := func(_ context.Context, keys []int) ([]ufocache.Loaded[int], error) {
		out := make([]ufocache.Loaded[int], len(keys))
		for i := range out {
			out[i].Err = ufocache.ErrorWithTTL(down, ttl)
		}
		return out, nil
	}
	rt, err := ufocache.NewRTCache(ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000}), loader,
		ufocache.RTOptions[int, int]{BatchLoader: batch})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		start := time.Now() // before the load
		var left time.Duration
		if i%2 == 0 {
			_, left, _, err = rt.GetWithTTL(context.Background(), i)
		} else {
			var res []ufocache.RTResult[int]
			res, err = rt.MultiGet(context.Background(), []int{i})
			left = res[0].TTL
		}
		if !errors.Is(err, down) {
			t.Fatalf("key %d: err %v, want down", i, err)
		}
		if least := ttl - time.Since(start); left < least || left > ttl {
			t.Fatalf("key %d: a load's error kept for %v was reported with %v left; between %v and %v is left", i, ttl, left, least, ttl)
		}
	}
	// Short: the lookup just after the time reported loads again.
	short := 30 * time.Millisecond
	var n atomic.Int64
	rt2, err := ufocache.NewRTCache(ufocache.Must(ufocache.Options[int, int]{MaxWeight: 10}), func(_ context.Context, k int) (int, time.Duration, error) {
		n.Add(1)
		return 0, 0, ufocache.ErrorWithTTL(down, short)
	}, ufocache.RTOptions[int, int]{})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 5 {
		before := n.Load()
		_, left, _, _ := rt2.GetWithTTL(context.Background(), k)
		time.Sleep(left + time.Millisecond)
		rt2.Get(context.Background(), k)
		if n.Load() != before+2 {
			t.Fatalf("a lookup %v after a load's error reported %v left did not ask the origin again (%d Loader calls, want %d)", left+time.Millisecond, left, n.Load()-before, 2)
		}
	}
}

// With an error, GetWithTTL reports the time the key's cached load error
// has left (how long lookups will fail without asking the origin: a
// Retry-After): the leader and a caller that waited for its failed load
// alike, and a later lookup that got the cached error, less the time
// since; 0 once a Set cleared it, without ErrorTTL, and for an error that
// is not a load's (ErrLockTimeout).
func TestRTGetWithTTLOfAnError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		errDown := errors.New("down")
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			<-release
			time.Sleep(time.Second)
			if k == "boom" {
				panic("boom")
			}
			return "", 0, errDown
		}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(),
			OnEvict: func(string, string, ufocache.EvictReason) {}})
		rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{ErrorTTL: time.Minute, LockTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		var lead, wait rtTTL
		var wg sync.WaitGroup
		wg.Go(func() { lead = getTTL(rt, "k") })
		synctest.Wait()
		time.Sleep(3 * time.Second) // the waiter comes 3s into the load, which it outlasts
		wg.Go(func() { wait = getTTL(rt, "k") })
		synctest.Wait()
		close(release)
		wg.Wait()
		if want := (rtTTL{"", time.Minute, ufocache.Miss, errDown}); lead != want {
			t.Errorf("the leader of a failed load got %+v, want %+v", lead, want)
		}
		if want := (rtTTL{"", time.Minute, ufocache.LockHit, errDown}); wait != want {
			t.Errorf("a caller that waited for it got %+v, want %+v", wait, want)
		}
		time.Sleep(20 * time.Second)
		if got, want := getTTL(rt, "k"), (rtTTL{"", 40 * time.Second, ufocache.Hit, errDown}); got != want {
			t.Errorf("the cached error 20s on: got %+v, want %+v", got, want)
		}
		if n := rt.Stats().ErrorHits; n != 1 { // reading the time left is no second hit
			t.Errorf("%d ErrorHits, want 1", n)
		}
		time.Sleep(40 * time.Second) // the error expired: the next lookup loads
		if late, want := getTTL(rt, "k"), (rtTTL{"", time.Minute, ufocache.Miss, errDown}); late != want {
			t.Errorf("a lookup after ErrorTTL got %+v, want %+v", late, want)
		}
		rt.Set("k", "v", time.Hour) // clears the cached error
		if want := (rtTTL{"v", time.Hour, ufocache.Hit, nil}); getTTL(rt, "k") != want {
			t.Errorf("after a Set: got %+v, want %+v", getTTL(rt, "k"), want)
		}

		// A panicking load: the caller that waited for it gets the
		// *PanicError with the time it stays cached.
		wg.Go(func() {
			defer func() {
				if recover() == nil {
					t.Error("the leader of a panicking load did not panic")
				}
			}()
			getTTL(rt, "boom")
		})
		synctest.Wait()
		wg.Go(func() { wait = getTTL(rt, "boom") })
		synctest.Wait()
		wg.Wait()
		var p *ufocache.PanicError
		if !errors.As(wait.err, &p) || wait.ttl != time.Minute || wait.st != ufocache.LockHit {
			t.Errorf("a caller that waited for a panicking load got %+v, want a *PanicError, 1m0s, LockHit", wait)
		}

		// ErrLockTimeout is not a load's error: nothing is cached for the
		// key while its load runs.
		blocked := make(chan struct{})
		rt2, err := ufocache.NewRTCache(c, func(context.Context, string) (string, time.Duration, error) {
			<-blocked
			return "", 0, errDown
		}, ufocache.RTOptions[string, string]{ErrorTTL: time.Minute, LockTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { getTTL(rt2, "q") })
		synctest.Wait()
		if got := getTTL(rt2, "q"); got.err != ufocache.ErrLockTimeout || got.ttl != 0 || got.st != ufocache.LockHit {
			t.Errorf("a caller that gave up waiting got %+v, want ErrLockTimeout with 0 left", got)
		}
		close(blocked)
		wg.Wait()

		// Without ErrorTTL no error is cached: 0 left.
		rt3, err := ufocache.NewRTCache(c, func(context.Context, string) (string, time.Duration, error) {
			return "", 0, errDown
		}, ufocache.RTOptions[string, string]{})
		if err != nil {
			t.Fatal(err)
		}
		if want := (rtTTL{"", 0, ufocache.Miss, errDown}); getTTL(rt3, "z") != want {
			t.Errorf("without ErrorTTL: got %+v, want %+v", getTTL(rt3, "z"), want)
		}
	})
}

// A loaded value whose TTL ran out before its caller got it back is
// answered with 0 left, as the doc says: not with a negative time, nor
// with a nanosecond. Here the load replaces an expired value, and OnEvict,
// told of the replacement before the leader returns, moves the clock 2s
// on, past the Loader's TTL of 1s. (Without the clamp in leftAt the
// answer was -1s; clamped at 1ns, it said the value was still live.)
func TestRTGetWithTTLOfALoadThatExpiredBeforeItsCallerReturned(t *testing.T) {
	clk := &fakeClock{}
	clk.t.Store(1)
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk, KeepExpired: time.Hour,
		OnEvict: func(string, string, ufocache.EvictReason) { clk.Advance(2 * time.Second) }})
	rt, err := ufocache.NewRTCache(c, func(context.Context, string) (string, time.Duration, error) {
		return "new", time.Second, nil
	}, ufocache.RTOptions[string, string]{})
	if err != nil {
		t.Fatal(err)
	}
	c.SetWithTTL("k", "old", time.Second)
	clk.Advance(2 * time.Second) // "old" expired a second ago; KeepExpired keeps it
	if got, want := getTTL(rt, "k"), (rtTTL{"new", 0, ufocache.Expired, nil}); got != want {
		t.Fatalf("GetWithTTL of a value that expired during its OnEvict = %+v, want %+v", got, want)
	}
	if _, ttl, ok := c.GetWithTTL("k"); ok {
		t.Errorf("Cache.GetWithTTL found the loaded value live with %v left; it expired a second ago", ttl)
	}
}

// A MultiGet's BatchLoader gives TTLs counted from its return, as a
// Loader's are: a batch that takes 3s stores values with their whole TTL
// left, and GetWithTTL answers it. (Counted from the batch's start they
// had 3s less; TestRTGetWithTTLOfABatchLoad's batch takes no time, so it
// cannot tell.)
func TestRTBatchTTLCountsFromTheBatchLoadersReturn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt, c := newBatchRT(t, func() { time.Sleep(3 * time.Second) }) // the origin takes its time
		if _, err := rt.MultiGet(context.Background(), []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		// The bubble's clock has not moved since the batch returned.
		for i, k := range []string{"a", "b"} {
			want := time.Duration(i+1) * time.Minute
			if _, ttl, ok := c.GetWithTTL(k); !ok || ttl != want {
				t.Errorf("Cache.GetWithTTL(%q) after a 3s batch = %v, %v; want %v", k, ttl, ok, want)
			}
			if got := getTTL(rt, k); got != (rtTTL{"b-" + k, want, ufocache.Hit, nil}) {
				t.Errorf("GetWithTTL(%q) after a 3s batch = %+v, want a hit with %v left", k, got, want)
			}
		}
	})
}

// holdCoarseClock stops the process's coarse clock once it has caught up
// with the time, and returns the function that lets it go again (see
// TestExpiryWhileTheCoarseClockLags).
// setPastItsTTL sets k=v in c with ttl and returns once the exact clock
// reads past that value's expiry by a tick of the coarse clock (a held
// coarse clock still reads before it).
func setPastItsTTL(c *ufocache.Cache[int, int], k, v int, ttl time.Duration) {
	c.SetWithTTL(k, v, ttl)
	from := clock.Precise() // after the Set's own reading: its expiry is at most from+ttl
	spinPast(from + int64(ttl+clock.Tick))
}

// spinPast returns once the exact clock reads at or past t.
func spinPast(t int64) {
	for clock.Precise() < t {
		runtime.Gosched()
	}
}

func holdCoarseClock(t *testing.T) (release func()) {
	t.Helper()
	clock.Hold(false)
	for start := time.Now(); clock.Precise()-clock.Now() > int64(2*clock.Tick); runtime.Gosched() {
		if time.Since(start) > 10*time.Second {
			t.Fatal("the coarse clock does not catch up")
		}
	}
	clock.Hold(true)
	return func() { clock.Hold(false) }
}

// Without an Options.Clock, a load judges time as reads near an expiry
// do, by the exact clock, while the coarse one lags behind (held here, as
// a ticker the scheduler does not run): the time left GetWithTTL reports
// for a value loaded with a TTL shorter than clock.NearExpiry is never
// more than that TTL (read on the lagging clock, it was the TTL plus the
// lag); and the store of a load judges the entry it evicts as SetWithTTL
// does, so one past its TTL by the exact clock is reported expired (on
// the lagging clock it was live, and reported evicted). The asserts hold
// whatever the scheduler does: the first is made only where the lag was
// small enough for the exact reading to be taken, and the held clock
// reads before the evicted entry's expiry by construction. Not parallel:
// the clock is the process's.
func TestRTLoadJudgesTimeOnTheExactClockWhileTheCoarseOneLags(t *testing.T) {
	const ttl = time.Millisecond
	t.Run("time left", func(t *testing.T) {
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100})
		rt, err := ufocache.NewRTCache(c, func(_ context.Context, k int) (int, time.Duration, error) {
			return k, ttl, nil
		}, ufocache.RTOptions[int, int]{})
		if err != nil {
			t.Fatal(err)
		}
		judged := 0
		for k := 0; judged < 20 && k < 1000; k++ {
			release := holdCoarseClock(t)
			for clock.Precise()-clock.Now() < int64(100*time.Microsecond) {
				runtime.Gosched() // the held clock lags
			}
			_, left, st, err := rt.GetWithTTL(context.Background(), k)
			lag := time.Duration(clock.Precise() - clock.Now()) // at least the lag at the call's reading
			release()
			if err != nil || st != ufocache.Miss {
				t.Fatalf("GetWithTTL(%d) = %v, %v; want a miss that loads", k, st, err)
			}
			if lag+ttl > clock.NearExpiry {
				continue // too far behind for the exact reading: the doc allows the lag
			}
			judged++
			if left > ttl {
				t.Fatalf("GetWithTTL(%d) of a value loaded with %v reported %v left (the coarse clock %v behind)", k, ttl, left, lag)
			}
		}
		if judged == 0 {
			t.Fatal("the coarse clock was never close enough behind to judge")
		}
	})
	t.Run("eviction", func(t *testing.T) {
		var reasons []ufocache.EvictReason
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1, Shards: 1,
			OnEvict: func(_, _ int, r ufocache.EvictReason) { reasons = append(reasons, r) }})
		rt, err := ufocache.NewRTCache(c, func(_ context.Context, k int) (int, time.Duration, error) {
			return k, time.Hour, nil
		}, ufocache.RTOptions[int, int]{})
		if err != nil {
			t.Fatal(err)
		}
		defer holdCoarseClock(t)()
		setPastItsTTL(c, 1, 1, ttl) // past its TTL by the exact clock; the held one reads before it
		if _, st, err := rt.Get(context.Background(), 2); err != nil || st != ufocache.Miss {
			t.Fatalf("Get(2) = %v, %v; want a miss that loads", st, err)
		}
		if len(reasons) != 1 || reasons[0] != ufocache.EvictExpired {
			t.Errorf("the load's store evicted an entry past its TTL for %v, want [expired]", reasons)
		}
	})
}

// A refresh ahead's recheck takes a value with exactly RefreshAhead left,
// as a hit with exactly that much left starts no refresh (the bound is
// exclusive: TestRTRefreshAheadBoundIsExclusive): here a Set lands behind
// the hit's lookup, which found 400ms of a RefreshAhead of 500ms left, and
// stores a value with 500ms to live on a clock that stands. The refresh
// its hit started finds it, and loads nothing.
func TestRTRefreshRecheckTakesAValueWithExactlyRefreshAheadLeft(t *testing.T) {
	const ahead = 500 * time.Millisecond
	clk := &hookClock{}
	clk.ns.Store(int64(time.Hour))
	o := &origin{ttl: time.Second}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{RefreshAhead: ahead},
		ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
	ctx := context.Background()
	if _, _, err := rt.Get(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	clk.ns.Add(int64(600 * time.Millisecond)) // 400ms left: in the window
	set := func() { rt.Set("k", "fresh", ahead) }
	clk.hook.Store(&set) // the lookup's reading of the clock
	if got := getTTL(rt, "k"); got != (rtTTL{"k#1", 400 * time.Millisecond, ufocache.Hit, nil}) {
		t.Fatalf("GetWithTTL in the window = %+v, want the hit it looked up, 400ms left", got)
	}
	if clk.hook.Load() != nil {
		t.Fatal("the lookup did not read the clock")
	}
	for rt.InFlight() > 0 { // a refresh, if one started, finishes
		runtime.Gosched()
	}
	if s := rt.Stats(); s.Refreshes != 0 || o.loads.Load() != 1 {
		t.Errorf("Refreshes %d, %d loads; want 0 and 1 (the refresh's recheck takes a value with exactly RefreshAhead left)", s.Refreshes, o.loads.Load())
	}
	if got := getTTL(rt, "k"); got != (rtTTL{"fresh", ahead, ufocache.Hit, nil}) {
		t.Errorf("GetWithTTL after = %+v, want the Set's value with %v left", got, ahead)
	}
}

// MultiGet's RTResult.TTL is what GetWithTTL reports for each key: a
// hit's time left, a loaded value's TTL (the Loader's or the
// BatchLoader's; its repeat in the same call gets the same), and with an
// error the time the key's cached error has left (ErrorTTL, ErrorWithTTL;
// 0 where none is kept): with and without a BatchLoader, on a load and
// then on the hits that follow.
func TestRTMultiGetTTL(t *testing.T) {
	errNotFound := errors.New("not found")
	for _, batched := range []bool{false, true} {
		t.Run(map[bool]string{false: "Loader", true: "BatchLoader"}[batched], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// a: 2 minutes; nf: not found, kept 30s; down: failing,
				// kept ErrorTTL (10s); once: kept nowhere.
				one := func(k string) (string, time.Duration, error) {
					switch k {
					case "nf":
						return "", 0, ufocache.ErrorWithTTL(errNotFound, 30*time.Second)
					case "down":
						return "", 0, errOriginDown
					case "once":
						return "", 0, ufocache.ErrorWithTTL(errOriginDown, -1)
					}
					return "v" + k, 2 * time.Minute, nil
				}
				opts := ufocache.RTOptions[string, string]{ErrorTTL: 10 * time.Second}
				if batched {
					opts.BatchLoader = func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
						out := make([]ufocache.Loaded[string], len(keys))
						for i, k := range keys {
							out[i].Value, out[i].TTL, out[i].Err = one(k)
						}
						return out, nil
					}
				}
				rt := newRTLoading(t, func(_ context.Context, k string) (string, time.Duration, error) { return one(k) }, opts)
				rt.Set("h", "hit", time.Hour)
				keys := []string{"h", "a", "nf", "down", "once", "a"}
				check := func(when string, want []ufocache.RTResult[string]) {
					t.Helper()
					res, _ := rt.MultiGet(context.Background(), keys)
					for i := range want {
						if res[i].Value != want[i].Value || res[i].Status != want[i].Status || res[i].TTL != want[i].TTL || !errors.Is(res[i].Err, want[i].Err) {
							t.Errorf("%s: %s = %+v, want %+v", when, keys[i], res[i], want[i])
						}
					}
				}
				check("loaded", []ufocache.RTResult[string]{
					{Value: "hit", Status: ufocache.Hit, TTL: time.Hour},
					{Value: "va", Status: ufocache.Miss, TTL: 2 * time.Minute},
					{Status: ufocache.Miss, Err: errNotFound, TTL: 30 * time.Second},
					{Status: ufocache.Miss, Err: errOriginDown, TTL: 10 * time.Second},
					{Status: ufocache.Miss, Err: errOriginDown},
					{Value: "va", Status: ufocache.LockHit, TTL: 2 * time.Minute},
				})
				time.Sleep(5 * time.Second)
				check("5s later", []ufocache.RTResult[string]{
					{Value: "hit", Status: ufocache.Hit, TTL: time.Hour - 5*time.Second},
					{Value: "va", Status: ufocache.Hit, TTL: 2*time.Minute - 5*time.Second},
					{Status: ufocache.Hit, Err: errNotFound, TTL: 25 * time.Second},
					{Status: ufocache.Hit, Err: errOriginDown, TTL: 5 * time.Second},
					{Status: ufocache.Miss, Err: errOriginDown},
					{Value: "va", Status: ufocache.Hit, TTL: 2*time.Minute - 5*time.Second},
				})
			})
		})
	}
}
