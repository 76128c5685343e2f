package ufocache_test

// Documented claims that no other test checked, one test each; the
// comment above each names the claim. Four of them failed when written
// and were fixed with them: RefreshAhead strictly below, MultiGet hits
// refreshed ahead, a nil func-typed Clock, and the Weigher under
// RTCache's lock.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// goroutineID returns the current goroutine's id, from its stack header.
func goroutineID() string {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	return strings.Fields(string(b))[1]
}

// Claim (NoExpiration doc): NoExpiration is the largest Duration.
func TestDocNoExpirationIsLargestDuration(t *testing.T) {
	if ufocache.NoExpiration != time.Duration(math.MaxInt64) {
		t.Fatalf("NoExpiration = %d", ufocache.NoExpiration)
	}
}

// Claim (Cache.MultiGet): results in the order of keys, with each key's
// status; GetWithStatus's "On Expired the zero value is returned".
func TestDocCacheMultiGetOrderAndStatus(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, Clock: clk})
	c.Set("a", 1)
	c.SetWithTTL("e", 2, time.Second)
	c.Set("b", 3)
	clk.Advance(2 * time.Second)
	got := c.MultiGet([]string{"b", "absent", "e", "a", "b"})
	want := []ufocache.Result[int]{
		{3, ufocache.Hit}, {0, ufocache.Miss}, {0, ufocache.Expired}, {1, ufocache.Hit}, {3, ufocache.Hit},
	}
	if len(got) != len(want) {
		t.Fatalf("MultiGet returned %d results", len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// Claim (Stats.Hits/Misses): zero unless Options.RecordStats.
func TestDocHitsMissesZeroWithoutRecordStats(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 10})
	c.Set(1, 1)
	for range 10 {
		c.Get(1)
		c.Get(2)
		c.GetWithStatus(1)
		c.MultiGet([]int{1, 2})
	}
	if st := c.Stats(); st.Hits != 0 || st.Misses != 0 {
		t.Fatalf("Stats without RecordStats: %+v", st)
	}
}

// Claim (package doc, TTL): ttl == 0 in ForceSet uses Options.DefaultTTL.
func TestDocForceSetZeroTTLUsesDefaultTTL(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 10, Clock: clk, DefaultTTL: time.Second})
	c.ForceSet("k", 1, 0)
	clk.Advance(time.Second - 1)
	if _, st := c.GetWithStatus("k"); st != ufocache.Hit {
		t.Fatalf("before DefaultTTL: %v", st)
	}
	clk.Advance(1)
	if _, st := c.GetWithStatus("k"); st != ufocache.Expired {
		t.Fatalf("at DefaultTTL: %v, want Expired", st)
	}
}

// Claim (Options.Weigher): called once per Set (Set, SetWithTTL, ForceSet,
// RTCache.Set, a load's store), and not by reads or deletes.
func TestDocWeigherCalledOncePerSet(t *testing.T) {
	var calls atomic.Int32
	c := ufocache.Must(ufocache.Options[string, int]{
		MaxWeight: 100, Shards: 1,
		Weigher: func(string, int) uint32 { calls.Add(1); return 1 },
	})
	check := func(what string, want int32) {
		t.Helper()
		if n := calls.Swap(0); n != want {
			t.Errorf("%s: Weigher called %d times, want %d", what, n, want)
		}
	}
	c.Set("a", 1)
	check("Set", 1)
	c.SetWithTTL("a", 2, time.Hour)
	check("SetWithTTL", 1)
	c.ForceSet("b", 3, 0)
	check("ForceSet", 1)
	c.SetWithTTL("c", 3, -1)
	check("SetWithTTL negative", 1)
	c.Get("a")
	c.GetWithStatus("a")
	c.GetStale("a")
	c.Delete("a")
	c.MultiGet([]string{"a", "b"})
	check("reads and Delete", 0)
	rt, err := ufocache.NewRTCache(c, func(context.Context, string) (int, time.Duration, error) { return 7, 0, nil }, ufocache.RTOptions[string, int]{})
	if err != nil {
		t.Fatal(err)
	}
	rt.Set("d", 4, 0)
	check("RTCache.Set", 1)
	rt.Get(context.Background(), "e")
	check("a load's store", 1)
}

// Claim (Options.OnEvict): called after the entry leaves, on the goroutine
// whose call removed it (before that call returns).
func TestDocOnEvictOnCallersGoroutine(t *testing.T) {
	clk := &fakeClock{}
	var mu sync.Mutex
	var seen []string
	c := ufocache.Must(ufocache.Options[int, int]{
		MaxWeight: 2, Shards: 1, Clock: clk,
		OnEvict: func(k, _ int, r ufocache.EvictReason) {
			mu.Lock()
			seen = append(seen, fmt.Sprint(r, "@", goroutineID()))
			mu.Unlock()
		},
	})
	me := goroutineID()
	take := func(what string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			t.Errorf("%s: OnEvict not called before the call returned", what)
		}
		for _, s := range seen {
			if !strings.HasSuffix(s, "@"+me) {
				t.Errorf("%s: OnEvict ran as %s, caller is goroutine %s", what, s, me)
			}
		}
		seen = nil
	}
	c.Set(1, 1)
	c.Set(1, 2)
	take("Set (replace)")
	c.Set(2, 2)
	c.Set(3, 3)
	c.Set(4, 4)
	take("Set (evict)")
	c.Delete(4)
	take("Delete")
	c.SetWithTTL(5, 5, time.Second)
	clk.Advance(2 * time.Second)
	c.DeleteExpired()
	take("DeleteExpired")
	c.Set(6, 6)
	seen = nil
	c.Clear()
	take("Clear")
}

// Claim (Cache.All): no lock is held while yield runs, so yield may write
// to the cache, even to the shard being iterated.
func TestDocAllYieldsWithoutLock(t *testing.T) {
	c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100, Shards: 1})
	for i := range 10 {
		c.Set(i, i)
	}
	n := 0
	withDeadlockGuard(t, "writes inside All's yield", func() {
		for k, v := range c.All() {
			c.Set(k+100, v)
			c.Delete(k)
			c.Clear()
			n++
		}
	})
	if n == 0 {
		t.Fatal("All yielded nothing")
	}
}

// Claim (Guarantees: reads never allocate): GetStale and GetWithStatus of
// an expired entry do not allocate either.
func TestDocExpiredReadsDoNotAllocate(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[string, int]{MaxWeight: 100, Clock: clk})
	c.SetWithTTL("e", 1, time.Second)
	clk.Advance(time.Hour)
	for name, f := range map[string]func(){
		"Get":           func() { c.Get("e") },
		"GetWithStatus": func() { c.GetWithStatus("e") },
		"GetStale":      func() { c.GetStale("e") },
	} {
		if a := testing.AllocsPerRun(1000, f); a != 0 {
			t.Errorf("%s of an expired entry: %v allocs", name, a)
		}
	}
}

// Claim (Loader doc): TTL 0 means the Cache's DefaultTTL; NoExpiration is
// forever; a negative TTL returns the value to the callers and stores
// nothing (the next Get loads again).
func TestDocLoaderTTLConventions(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk, DefaultTTL: time.Second})
	var loads atomic.Int32
	ttls := map[string]time.Duration{"zero": 0, "never": ufocache.NoExpiration, "neg": -time.Second}
	rt, err := ufocache.NewRTCache(c, func(_ context.Context, k string) (string, time.Duration, error) {
		loads.Add(1)
		return "v:" + k, ttls[k], nil
	}, ufocache.RTOptions[string, string]{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for k := range ttls {
		if v, st, err := rt.Get(ctx, k); v != "v:"+k || st != ufocache.Miss || err != nil {
			t.Fatalf("Get(%s) = %q %v %v", k, v, st, err)
		}
	}
	if _, ok := c.Get("neg"); ok || c.Len() != 2 {
		t.Fatalf("a negative loader TTL stored the value (Len %d)", c.Len())
	}
	if v, _, _ := rt.Get(ctx, "neg"); v != "v:neg" || loads.Load() != 4 {
		t.Fatalf("Get(neg) again: %q after %d loads, want a fresh load", v, loads.Load())
	}
	clk.Advance(time.Second)
	if _, st := c.GetWithStatus("zero"); st != ufocache.Expired {
		t.Errorf("loader TTL 0 after DefaultTTL: %v, want Expired", st)
	}
	clk.Advance(1000 * time.Hour)
	if _, st := c.GetWithStatus("never"); st != ufocache.Hit {
		t.Errorf("loader TTL NoExpiration: %v, want Hit", st)
	}
}

type docCtxKey struct{}

// Claim (Loader doc / README): ctx keeps the values of the caller that
// started the load, not its cancellation; it ends after LoadTimeout.
func TestDocLoaderContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		type seen struct {
			val      any
			errAfter error
			endedAt  time.Duration
		}
		got := make(chan seen, 1)
		release := make(chan struct{})
		start := time.Now()
		load := func(ctx context.Context, k string) (string, time.Duration, error) {
			s := seen{val: ctx.Value(docCtxKey{})}
			<-release
			s.errAfter = ctx.Err()
			if k == "timeout" {
				<-ctx.Done()
				s.endedAt = time.Since(start)
			}
			got <- s
			return "v", 0, nil
		}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10, Clock: newBubbleClock()})
		rt, _ := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{})
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), docCtxKey{}, "trace-1"))
		done := make(chan error, 1)
		go func() { _, _, err := rt.Get(ctx, "k"); done <- err }()
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("caller got %v, want Canceled", err)
		}
		close(release)
		s := <-got
		if s.val != "trace-1" || s.errAfter != nil {
			t.Fatalf("loader saw value %v and ctx.Err %v after the caller left; want trace-1 and nil", s.val, s.errAfter)
		}

		rt2, _ := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{LoadTimeout: 3 * time.Second})
		start = time.Now()
		go rt2.Get(context.Background(), "timeout")
		s = <-got
		if s.endedAt != 3*time.Second {
			t.Fatalf("the load's ctx ended at %v, want LoadTimeout 3s", s.endedAt)
		}
		synctest.Wait()
	})
}

// Claim (Loader doc): a caller whose ctx cannot end (Done() nil), with no
// LoadTimeout, runs the Loader on its own goroutine; otherwise the load
// runs on a goroutine of its own.
func TestDocLoaderGoroutine(t *testing.T) {
	var loaderG atomic.Value
	load := func(context.Context, string) (string, time.Duration, error) {
		loaderG.Store(goroutineID())
		return "v", 0, nil
	}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10})
	rt, _ := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{})
	me := goroutineID()
	rt.Get(context.Background(), "a")
	if g := loaderG.Load(); g != me {
		t.Errorf("Background ctx, no LoadTimeout: loader on goroutine %v, caller %s; want the caller's", g, me)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt.Get(ctx, "b")
	if g := loaderG.Load(); g == me {
		t.Errorf("cancellable ctx: loader ran on the caller's goroutine")
	}
	rt2, _ := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{LoadTimeout: time.Hour})
	rt2.Get(context.Background(), "c")
	if g := loaderG.Load(); g == me {
		t.Errorf("with LoadTimeout: loader ran on the caller's goroutine")
	}
}

// Claim (RTCache doc): a load that succeeds is stored before any waiter
// wakes. The store evicts an entry, and OnEvict (which runs after the
// store, before the waiters wake) blocks: while it does, the value is in
// the cache and no caller has returned.
func TestDocStoredBeforeWaitersWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		evicting := make(chan struct{})
		c := ufocache.Must(ufocache.Options[string, string]{
			MaxWeight: 1, Shards: 1, Clock: newBubbleClock(),
			OnEvict: func(k, _ string, _ ufocache.EvictReason) {
				if k == "x" {
					<-evicting
				}
			},
		})
		o := &origin{}
		gate := make(chan struct{})
		o.set(func(o *origin) { o.gate = gate })
		rt, err := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{})
		if err != nil {
			t.Fatal(err)
		}
		rt.Set("x", "x", 0) // the entry the load's store will evict
		var returned atomic.Int32
		for range 10 {
			go func() {
				if _, _, err := rt.Get(context.Background(), "cold"); err != nil {
					t.Error(err)
				}
				returned.Add(1)
			}()
		}
		synctest.Wait()
		close(gate)
		synctest.Wait() // the load returned; its store evicted x, whose OnEvict waits
		if n := returned.Load(); n != 0 {
			t.Fatalf("%d callers returned before the store's OnEvict ran", n)
		}
		if v, ok := c.Get("cold"); !ok || v != "cold#1" {
			t.Fatalf("while the callers wait, the cache holds (%q, %v), want the loaded value", v, ok)
		}
		close(evicting)
		synctest.Wait()
		if n := returned.Load(); n != 10 {
			t.Fatalf("%d callers returned, want 10", n)
		}
	})
}

// Claim (Time doc): the TTL of cached errors is measured with the Cache's
// clock (here an injected clock that only moves when told).
func TestDocErrorTTLUsesCacheClock(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10, Clock: clk})
	o := &origin{err: errors.New("down")}
	rt, _ := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{ErrorTTL: time.Second})
	ctx := context.Background()
	rt.Get(ctx, "k")
	clk.Advance(time.Second - 1)
	if _, st, err := rt.Get(ctx, "k"); err == nil || st != ufocache.Hit || o.loads.Load() != 1 {
		t.Fatalf("within ErrorTTL: %v %v after %d loads", st, err, o.loads.Load())
	}
	clk.Advance(1)
	rt.Get(ctx, "k")
	if n := o.loads.Load(); n != 2 {
		t.Fatalf("%d loads after the injected clock passed ErrorTTL, want 2", n)
	}
}

// Claim (RTOptions.MaxErrors): bounds how many errors are kept; 0 means 1024.
func TestDocMaxErrorsBound(t *testing.T) {
	run := func(maxErrors, keys int) (reloads int32) {
		clk := &fakeClock{}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10, Clock: clk})
		o := &origin{err: errors.New("down")}
		rt, _ := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour, MaxErrors: maxErrors})
		for i := range keys {
			rt.Get(context.Background(), fmt.Sprint("k", i))
		}
		before := o.loads.Load()
		for i := range keys {
			rt.Get(context.Background(), fmt.Sprint("k", i))
		}
		return o.loads.Load() - before
	}
	if n := run(3, 3); n != 0 {
		t.Errorf("MaxErrors 3, 3 failed keys: %d reloads, want 0", n)
	}
	if n := run(3, 4); n == 0 {
		t.Errorf("MaxErrors 3, 4 failed keys: no reload, the bound did not hold")
	}
	if n := run(0, 1024); n != 0 {
		t.Errorf("MaxErrors 0 (1024), 1024 failed keys: %d reloads, want 0", n)
	}
	if n := run(0, 1025); n == 0 {
		t.Errorf("MaxErrors 0 (1024), 1025 failed keys: no reload, more than 1024 kept")
	}
}

// expiredAndFailing returns an RTCache, caching errors for an hour, whose
// key k (loaded as k#1 with a 1s TTL) expired a second ago and whose
// origin now fails. Call it inside a synctest bubble.
func expiredAndFailing(t *testing.T) (*origin, *ufocache.RTCache[string, string]) {
	o := &origin{ttl: time.Second}
	rt := newRT(t, o, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
	rt.Get(context.Background(), "k")
	time.Sleep(2 * time.Second)
	o.set(func(o *origin) { o.err = errors.New("down") })
	return o, rt
}

// Claim (GetStale): a cached error counts as a failed load, and a timeout
// (LoadTimeout) or ctx ending first also serve the stale value.
func TestDocGetStaleOnCachedErrorTimeoutAndCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, rt := expiredAndFailing(t)
		ctx := context.Background()
		rt.Get(ctx, "k") // fails: the error is cached
		n := o.loads.Load()
		v, st, err := rt.GetStale(ctx, "k", time.Hour)
		if v != "k#1" || st.Status != ufocache.Stale || st.StaleFor != time.Second || err != nil || o.loads.Load() != n {
			t.Fatalf("GetStale with a cached error = %q %+v %v (%d new loads), want stale k#1", v, st, err, o.loads.Load()-n)
		}

		o2 := &origin{ttl: time.Second}
		rt2 := newRT(t, o2, ufocache.RTOptions[string, string]{LoadTimeout: time.Second})
		rt2.Get(ctx, "k")
		time.Sleep(2 * time.Second)
		hang := make(chan struct{})
		defer close(hang)
		o2.set(func(o *origin) { o.gate = hang })
		start := time.Now()
		v, st, err = rt2.GetStale(ctx, "k", time.Hour)
		if v != "k#1" || st.Status != ufocache.Stale || err != nil || time.Since(start) != time.Second {
			t.Fatalf("GetStale with a load timeout = %q %+v %v after %v, want stale after 1s", v, st, err, time.Since(start))
		}
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		start = time.Now()
		v, st, err = rt2.GetStale(cctx, "k", time.Hour)
		if v != "k#1" || st.Status != ufocache.Stale || err != nil || time.Since(start) != 200*time.Millisecond {
			t.Fatalf("GetStale with ctx ending first = %q %+v %v after %v, want stale after 200ms", v, st, err, time.Since(start))
		}
	})
}

// Claim (GetStaleWhileUpdate): no background load while a load error is
// cached; the stale value is still served at once.
func TestDocGSWUNoRefreshWhileErrorCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o, rt := expiredAndFailing(t)
		ctx := context.Background()
		if _, st, _ := rt.GetStaleWhileUpdate(ctx, "k", time.Hour); st.Status != ufocache.Stale {
			t.Fatalf("first stale read: %+v", st)
		}
		synctest.Wait() // its refresh fails; the error is cached
		if n := o.loads.Load(); n != 2 {
			t.Fatalf("%d loads, want 2", n)
		}
		for range 5 {
			v, st, err := rt.GetStaleWhileUpdate(ctx, "k", time.Hour)
			if v != "k#1" || st.Status != ufocache.Stale || err != nil {
				t.Fatalf("stale read with an error cached = %q %+v %v", v, st, err)
			}
		}
		synctest.Wait()
		if n := o.loads.Load(); n != 2 {
			t.Fatalf("%d loads while an error was cached, want 2", n)
		}
	})
}

// Claim (GetStaleWhileUpdate): "Otherwise it is Get": a value expired longer
// ago than staleTTL is loaded, and the caller waits for it.
func TestDocGSWUBeyondStaleTTLIsGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		ctx := context.Background()
		rt.Get(ctx, "k")
		time.Sleep(3 * time.Second)
		o.set(func(o *origin) { o.delay = 100 * time.Millisecond })
		start := time.Now()
		v, st, err := rt.GetStaleWhileUpdate(ctx, "k", time.Second)
		if v != "k#2" || st.Status != ufocache.Expired || err != nil || time.Since(start) != 100*time.Millisecond {
			t.Fatalf("GSWU past staleTTL = %q %+v %v after %v; want a load of k#2, status Expired", v, st, err, time.Since(start))
		}
	})
}

// Claim (GSWU / refresh): the background load runs detached from the
// caller's cancellation: an already-cancelled ctx still refreshes.
func TestDocGSWURefreshIgnoresCallerCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		rt.Get(context.Background(), "k")
		time.Sleep(2 * time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, st, err := rt.GetStaleWhileUpdate(ctx, "k", time.Hour); st.Status != ufocache.Stale || err != nil {
			t.Fatalf("stale read = %+v %v", st, err)
		}
		synctest.Wait()
		if v, ok := rt.Cache().Get("k"); !ok || v != "k#2" {
			t.Fatalf("after the refresh: %q %v, want k#2 stored", v, ok)
		}
	})
}

// Claim (RTOptions.MaxRefreshes): 0 means 64.
func TestDocMaxRefreshesDefault64(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{})
		for i := range 100 {
			rt.Get(context.Background(), fmt.Sprint("k", i))
		}
		time.Sleep(2 * time.Second)
		gate := make(chan struct{})
		o.set(func(o *origin) { o.gate = gate })
		for i := range 100 {
			rt.GetStaleWhileUpdate(context.Background(), fmt.Sprint("k", i), time.Hour)
		}
		synctest.Wait()
		if n := o.inFlight.Load(); n != 64 {
			t.Errorf("%d refreshes in flight, want 64", n)
		}
		close(gate)
		synctest.Wait()
	})
}

// Claim (MaxRefreshes): when the bound is reached a stale value is still
// served and a later read tries again.
func TestDocMaxRefreshesLaterReadTriesAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{MaxRefreshes: 1})
		ctx := context.Background()
		rt.Get(ctx, "a")
		rt.Get(ctx, "b")
		time.Sleep(2 * time.Second)
		gate := make(chan struct{})
		o.set(func(o *origin) { o.gate = gate })
		rt.GetStaleWhileUpdate(ctx, "a", time.Hour)
		synctest.Wait()
		if _, st, _ := rt.GetStaleWhileUpdate(ctx, "b", time.Hour); st.Status != ufocache.Stale {
			t.Fatalf("read at the bound: %+v, want stale", st)
		}
		synctest.Wait()
		if n := o.loads.Load(); n != 3 {
			t.Fatalf("%d loads, want 3 (b's refresh refused at the bound)", n)
		}
		close(gate)
		synctest.Wait()
		o.set(func(o *origin) { o.gate = nil })
		rt.GetStaleWhileUpdate(ctx, "b", time.Hour)
		synctest.Wait()
		if v, _ := rt.Cache().Get("b"); v != "b#4" {
			t.Fatalf("b = %q after a later read, want its refresh b#4", v)
		}
	})
}

// Claim (RTOptions.RefreshAhead): "a lookup that hits a value with less
// than this left" starts a refresh: exactly RefreshAhead left is not less,
// and MultiGet's hits are lookups too (Status Hit, counted in RTStats.Hits).
func TestDocRefreshAheadBoundAndMultiGet(t *testing.T) {
	for _, c := range []struct {
		name  string
		after time.Duration // since the load, of a 100ms TTL; RefreshAhead is 30ms
		multi bool
		loads int32
	}{
		{"Get with exactly RefreshAhead left", 70 * time.Millisecond, false, 1},
		{"MultiGet with less left", 80 * time.Millisecond, true, 2},
	} {
		synctest.Test(t, func(t *testing.T) {
			o := &origin{ttl: 100 * time.Millisecond}
			rt := newRT(t, o, ufocache.RTOptions[string, string]{RefreshAhead: 30 * time.Millisecond})
			rt.Get(context.Background(), "k")
			time.Sleep(c.after)
			st := ufocache.Miss
			if c.multi {
				res, _ := rt.MultiGet(context.Background(), []string{"k"})
				st = res[0].Status
			} else {
				_, st, _ = rt.Get(context.Background(), "k")
			}
			synctest.Wait()
			if n := o.loads.Load(); st != ufocache.Hit || n != c.loads {
				t.Fatalf("%s: %v, %d loads; want a hit and %d loads", c.name, st, n, c.loads)
			}
		})
	}
}

// Claim (ErrorTTL / RTCache.Delete / Invalidate): Delete and Invalidate
// clear a key's cached error.
func TestDocDeleteInvalidateClearCachedError(t *testing.T) {
	for _, name := range []string{"Delete", "Invalidate"} {
		t.Run(name, func(t *testing.T) {
			clk := &fakeClock{}
			c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10, Clock: clk})
			o := &origin{err: errors.New("down")}
			rt, _ := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
			ctx := context.Background()
			rt.Get(ctx, "k")
			rt.Get(ctx, "k")
			if n := o.loads.Load(); n != 1 {
				t.Fatalf("%d loads, want the error cached", n)
			}
			if name == "Delete" {
				rt.Delete("k")
			} else {
				rt.Invalidate("k")
			}
			o.set(func(o *origin) { o.err = nil })
			if v, st, err := rt.Get(ctx, "k"); v != "k#2" || st != ufocache.Miss || err != nil {
				t.Fatalf("Get after %s = %q %v %v, want a fresh load", name, v, st, err)
			}
		})
	}
}

// Claim (RTCache.Delete / Invalidate): Delete returns the value only if it
// had not expired; Invalidate reports whether k had a value that had not
// expired, and the next Get loads afresh (status Expired) while GetStale
// may still serve the old value.
func TestDocRTDeleteInvalidateReturns(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10, Clock: clk, KeepExpired: time.Hour})
	o := &origin{}
	rt, _ := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{})
	ctx := context.Background()
	rt.Set("e", "old", time.Second)
	clk.Advance(2 * time.Second)
	if v, ok := rt.Delete("e"); ok || v != "" {
		t.Errorf("Delete of an expired value = %q %v, want not found", v, ok)
	}
	if c.Len() != 0 {
		t.Errorf("Delete of an expired value left it (Len %d)", c.Len())
	}
	if rt.Invalidate("absent") {
		t.Error("Invalidate of an absent key reported true")
	}
	rt.Set("x", "old", time.Second)
	clk.Advance(2 * time.Second)
	if rt.Invalidate("x") {
		t.Error("Invalidate of an expired value reported true")
	}
	rt.Set("live", "old", 0)
	if !rt.Invalidate("live") {
		t.Error("Invalidate of a live value reported false")
	}
	if v, st, err := rt.GetStale(ctx, "live", time.Hour); v != "live#1" || st.Status != ufocache.Expired || err != nil {
		t.Errorf("GetStale after Invalidate = %q %+v %v, want a fresh load (Expired)", v, st, err)
	}
	rt.Set("live2", "old", 0)
	rt.Invalidate("live2")
	o.set(func(o *origin) { o.err = errors.New("down") })
	if v, st, err := rt.GetStale(ctx, "live2", time.Hour); v != "old" || st.Status != ufocache.Stale || err != nil {
		t.Errorf("GetStale after Invalidate with the origin down = %q %+v %v, want the old value as stale", v, st, err)
	}
}

// Claim (RTCache.Set): reports whether it stored, as Cache.SetWithTTL does
// (false for too heavy or a negative TTL, which removes the old value).
func TestDocRTSetReportsLikeSetWithTTL(t *testing.T) {
	c := ufocache.Must(ufocache.Options[string, string]{
		MaxWeight: 10, Shards: 1,
		Weigher: func(_ string, v string) uint32 { return uint32(len(v)) },
	})
	rt, _ := ufocache.NewRTCache(c, (&origin{}).load, ufocache.RTOptions[string, string]{})
	if !rt.Set("k", "v", 0) {
		t.Fatal("Set of a fitting value returned false")
	}
	if rt.Set("big", strings.Repeat("x", 11), 0) {
		t.Error("Set of a too-heavy value returned true")
	}
	if rt.Set("k", "w", -1) {
		t.Error("Set with a negative TTL returned true")
	}
	if _, ok := c.Get("k"); ok {
		t.Error("Set with a negative TTL left the old value")
	}
}

// Claim (RTCache.write doc): OnEvict runs after the wait map's lock is
// released, for Set, Delete, Invalidate and Compute too (not only loads): it may
// call the RTCache on the same key.
func TestDocRTWriteOnEvictMayCallRTCache(t *testing.T) {
	var rt *ufocache.RTCache[string, string]
	var calls atomic.Int32
	c := ufocache.Must(ufocache.Options[string, string]{
		MaxWeight: 100,
		OnEvict: func(k, v string, r ufocache.EvictReason) {
			if calls.Add(1) > 20 {
				return
			}
			switch r {
			case ufocache.EvictReplaced:
				rt.Delete(k)
			case ufocache.EvictDeleted:
				rt.Set(k+"!", v, 0)
				rt.Invalidate(k + "!")
			}
		},
	})
	rt, _ = ufocache.NewRTCache(c, (&origin{}).load, ufocache.RTOptions[string, string]{})
	withDeadlockGuard(t, "RTCache writes whose OnEvict calls the RTCache", func() {
		rt.Set("k", "1", 0)
		rt.Set("k", "2", 0)
		rt.Set("j", "1", 0)
		rt.Delete("j")
		rt.Set("i", "1", 0)
		rt.Invalidate("i")
		rt.Set("h", "1", 0)
		rt.Compute("h", computeIn(ufocache.ComputeStore)) // EvictReplaced
		rt.Set("g", "1", 0)
		rt.Compute("g", computeIn(ufocache.ComputeRemove)) // EvictDeleted
	})
	if calls.Load() < 5 {
		t.Fatalf("OnEvict ran %d times: the test did not test", calls.Load())
	}
}

// Claim (RTStats): Hits counted only with RecordStats; Stale counts stale
// values served (GetStale and GetStaleWhileUpdate); ErrorHits counts
// lookups that found a cached error; Batches counts BatchLoader calls;
// Refreshes counts background loads; MultiGet hits count as Hits.
func TestDocRTStatsFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			return make([]ufocache.Loaded[string], len(keys)), nil
		}
		o := &origin{ttl: time.Second}
		rt := newRT(t, o, ufocache.RTOptions[string, string]{BatchLoader: batch, ErrorTTL: time.Hour})
		ctx := context.Background()
		rt.Get(ctx, "k")
		rt.Get(ctx, "k")
		rt.MultiGet(ctx, []string{"k"})
		if s := rt.Stats(); s.Hits != 0 {
			t.Errorf("Hits = %d without RecordStats, want 0", s.Hits)
		}
		rt.MultiGet(ctx, []string{"x", "y"})
		rt.MultiGet(ctx, []string{"z"})
		time.Sleep(2 * time.Second)
		o.set(func(o *origin) { o.err = errors.New("down") })
		rt.GetStale(ctx, "k", time.Hour)            // load fails: stale 1
		rt.GetStaleWhileUpdate(ctx, "k", time.Hour) // error cached: stale 2, error hit
		rt.Get(ctx, "k")                            // error hit
		synctest.Wait()
		s := rt.Stats()
		if s.Stale != 2 || s.ErrorHits != 2 || s.Batches != 2 || s.Refreshes != 0 {
			t.Errorf("stats %+v: want Stale 2, ErrorHits 2, Batches 2, Refreshes 0", s)
		}

		o2 := &origin{}
		rt2 := newRT(t, o2, ufocache.RTOptions[string, string]{}, ufocache.Options[string, string]{
			MaxWeight: 100, Clock: newBubbleClock(), RecordStats: true,
		})
		rt2.Set("a", "1", 0)
		rt2.MultiGet(ctx, []string{"a", "a", "b"})
		if s := rt2.Stats(); s.Hits != 2 || s.Misses != 1 {
			t.Errorf("MultiGet stats %+v: want 2 hits, 1 miss", s)
		}
	})
}

// Claim (RTCache.Get): a hit does not allocate, also on the path with
// RecordStats and RefreshAhead.
func TestDocRTGetHitDoesNotAllocateWithStatsOrRefreshAhead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stats bool
		ahead time.Duration
	}{{"RecordStats", true, 0}, {"RefreshAhead", false, time.Second}} {
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, RecordStats: tc.stats})
		rt, _ := ufocache.NewRTCache(c, (&origin{}).load, ufocache.RTOptions[string, string]{RefreshAhead: tc.ahead})
		rt.Set("k", "v", 0)
		ctx := context.Background()
		if n := testing.AllocsPerRun(100, func() { rt.Get(ctx, "k") }); n != 0 {
			t.Errorf("%s: RTCache.Get hit %v allocs, want 0", tc.name, n)
		}
	}
}

// Claim (RTOptions.BatchLoader / loadEach): without a BatchLoader, MultiGet
// loads each missing key with the Loader concurrently; a Goexit in one load
// fails that key only.
func TestDocMultiGetWithoutBatchLoaderConcurrentAndGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			if k == "exit" {
				runtime.Goexit()
			}
			time.Sleep(time.Second)
			return "v:" + k, 0, nil
		}
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
		rt, _ := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{})
		start := time.Now()
		res, err := rt.MultiGet(context.Background(), []string{"a", "b", "exit", "c"})
		if d := time.Since(start); d != time.Second {
			t.Errorf("3 loads of 1s took %v: not concurrent", d)
		}
		if err != ufocache.ErrGoexit || res[2].Err != ufocache.ErrGoexit {
			t.Errorf("err %v, exit's %v; want ErrGoexit", err, res[2].Err)
		}
		for _, i := range []int{0, 1, 3} {
			if res[i].Err != nil || res[i].Value == "" {
				t.Errorf("result %d = %+v, want loaded", i, res[i])
			}
		}
	})
}

// loadCounter counts a Loader's calls, and the most that ran at once.
type loadCounter struct{ n, running, most atomic.Int32 }

// start counts a call that starts and returns the function that ends it.
func (c *loadCounter) start() (end func()) {
	c.n.Add(1)
	n := c.running.Add(1)
	for m := c.most.Load(); n > m && !c.most.CompareAndSwap(m, n); m = c.most.Load() {
	}
	return func() { c.running.Add(-1) }
}

// Claim (RTOptions.MaxMultiLoads): a MultiGet without a BatchLoader loads
// at most that many of its missing keys at once (64 by default), each of
// them once, and a Loader's Goexit costs only its own key: the keys after
// it still load. Each key's load takes a second of bubble time, so the
// MultiGet takes ceil(keys / bound) seconds.
func TestDocMaxMultiLoadsBoundsTheLoadsAtOnce(t *testing.T) {
	for _, c := range []struct{ opt, bound, keys int }{{0, 64, 300}, {5, 5, 23}, {1, 1, 4}} {
		synctest.Test(t, func(t *testing.T) {
			var loads loadCounter
			load := func(_ context.Context, k int) (int, time.Duration, error) {
				defer loads.start()()
				time.Sleep(time.Second)
				if k == 1 {
					runtime.Goexit()
				}
				return 2 * k, 0, nil
			}
			cache := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1000, Clock: newBubbleClock()})
			rt, err := ufocache.NewRTCache(cache, load, ufocache.RTOptions[int, int]{MaxMultiLoads: c.opt})
			if err != nil {
				t.Fatal(err)
			}
			keys := make([]int, c.keys)
			for i := range keys {
				keys[i] = i
			}
			start := time.Now()
			res, _ := rt.MultiGet(context.Background(), keys)
			if d, want := time.Since(start), time.Duration((c.keys+c.bound-1)/c.bound)*time.Second; d != want {
				t.Errorf("MaxMultiLoads %d, %d keys: MultiGet took %v, want %v", c.opt, c.keys, d, want)
			}
			if loads.most.Load() != int32(c.bound) || loads.n.Load() != int32(c.keys) {
				t.Errorf("MaxMultiLoads %d, %d keys: %d loads, at most %d at once; want %d, %d", c.opt, c.keys, loads.n.Load(), loads.most.Load(), c.keys, c.bound)
			}
			for i, r := range res {
				if i == 1 && r.Err != ufocache.ErrGoexit || i != 1 && (r.Err != nil || r.Value != 2*i) {
					t.Errorf("MaxMultiLoads %d: key %d got %+v", c.opt, i, r)
				}
			}
		})
	}
	if _, err := ufocache.NewRTCache(ufocache.Must(ufocache.Options[int, int]{MaxWeight: 1}), func(context.Context, int) (int, time.Duration, error) { return 0, 0, nil }, ufocache.RTOptions[int, int]{MaxMultiLoads: -1}); err == nil || !strings.Contains(err.Error(), "MaxMultiLoads") {
		t.Errorf("MaxMultiLoads -1: %v, want an error naming it", err)
	}
}

// Claim (RTOptions.MaxMultiLoads): keys not yet taken when the
// MultiGet's ctx ends fail with its error and start no load. Each worker
// used to go on to the next key, whose Do started a load detached from the
// ctx and returned at once: a thousand keys got 998 loads at once at a
// bound of 2 (found in review).
func TestDocMaxMultiLoadsHoldsWhenTheCallerLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var loads loadCounter
		load := func(_ context.Context, k int) (int, time.Duration, error) {
			defer loads.start()()
			time.Sleep(time.Second)
			return k, 0, nil
		}
		cache := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 10000, Clock: newBubbleClock()})
		rt, err := ufocache.NewRTCache(cache, load, ufocache.RTOptions[int, int]{MaxMultiLoads: 2})
		if err != nil {
			t.Fatal(err)
		}
		keys := make([]int, 1000)
		for i := range keys {
			keys[i] = i
		}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		res, err := rt.MultiGet(ctx, keys)
		time.Sleep(time.Second) // the loads the MultiGet left end
		synctest.Wait()
		if err == nil || loads.most.Load() > 2 || loads.n.Load() > 4 {
			t.Errorf("MultiGet past its ctx: err %v, %d loads, at most %d at once; want an error, at most 4 loads, 2 at once", err, loads.n.Load(), loads.most.Load())
		}
		if r := res[len(res)-1]; r.Err != context.DeadlineExceeded {
			t.Errorf("the last key: %+v, want the ctx's error", r)
		}
	})
}

// Claim (Loaded.TTL "as in Loader"; ErrBatchSize "wrapped, with the counts").
func TestDocLoadedTTLAndBatchSizeCounts(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk, DefaultTTL: time.Second})
	ttls := map[string]time.Duration{"zero": 0, "never": ufocache.NoExpiration, "neg": -1}
	batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
		out := make([]ufocache.Loaded[string], len(keys))
		for i, k := range keys {
			out[i] = ufocache.Loaded[string]{Value: "v:" + k, TTL: ttls[k]}
		}
		return out, nil
	}
	rt, _ := ufocache.NewRTCache(c, (&origin{}).load, ufocache.RTOptions[string, string]{BatchLoader: batch})
	res, err := rt.MultiGet(context.Background(), []string{"zero", "never", "neg"})
	if err != nil || res[2].Value != "v:neg" {
		t.Fatalf("MultiGet = %+v %v", res, err)
	}
	if _, ok := c.Get("neg"); ok {
		t.Error("a negative Loaded.TTL stored the value")
	}
	clk.Advance(time.Second)
	if _, st := c.GetWithStatus("zero"); st != ufocache.Expired {
		t.Errorf("Loaded.TTL 0 after DefaultTTL: %v", st)
	}
	if _, st := c.GetWithStatus("never"); st != ufocache.Hit {
		t.Errorf("Loaded.TTL NoExpiration: %v", st)
	}

	short := func(context.Context, []string) ([]ufocache.Loaded[string], error) {
		return make([]ufocache.Loaded[string], 1), nil
	}
	rt2, _ := ufocache.NewRTCache(c, (&origin{}).load, ufocache.RTOptions[string, string]{BatchLoader: short})
	_, err = rt2.MultiGet(context.Background(), []string{"p", "q"})
	if !errors.Is(err, ufocache.ErrBatchSize) || !strings.Contains(err.Error(), "1") || !strings.Contains(err.Error(), "2") {
		t.Errorf("err = %v, want ErrBatchSize wrapped with 1 and 2", err)
	}
}

// Claim (MultiGet / ErrorTTL): a key with a cached error is answered with
// Status Hit and the error, without a load.
func TestDocMultiGetCachedError(t *testing.T) {
	clk := &fakeClock{}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10, Clock: clk})
	errDown := errors.New("down")
	o := &origin{err: errDown}
	rt, _ := ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{ErrorTTL: time.Hour})
	rt.Get(context.Background(), "bad")
	res, err := rt.MultiGet(context.Background(), []string{"bad"})
	if err != errDown || res[0].Status != ufocache.Hit || res[0].Err != errDown || o.loads.Load() != 1 {
		t.Fatalf("MultiGet of a key with a cached error = %+v %v after %d loads", res, err, o.loads.Load())
	}
}

// Claim (README TTL conventions): one coarse-clock goroutine for the whole
// process, however many caches use it.
func TestDocOneClockGoroutineForManyCaches(t *testing.T) {
	var caches []*ufocache.Cache[int, int]
	for range 8 {
		caches = append(caches, ufocache.Must(ufocache.Options[int, int]{MaxWeight: 10}))
	}
	count := func() int {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		return strings.Count(string(buf), "ufocache/internal/clock.run(")
	}
	n := count()
	for i := 0; i < 10000 && n != 1; i++ { // a ticker stopped by an earlier test may still be returning
		runtime.Gosched()
		n = count()
	}
	if n != 1 {
		t.Fatalf("%d clock goroutines for %d caches, want 1", n, len(caches))
	}
	runtime.KeepAlive(caches)
}

type funcClock func() int64

func (f funcClock) Nanotime() int64 { return f() }

// Claim (README Guarantees): "Bad options are errors naming the field;
// nothing panics on user input" (a nil Clock of func type; a nil pointer
// Clock is already an error).
func TestDocNilFuncClockIsAnError(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("New with a nil func-typed Clock panicked: %v", r)
		}
	}()
	if _, err := ufocache.New(ufocache.Options[string, int]{MaxWeight: 10, Clock: funcClock(nil)}); err == nil || !strings.Contains(err.Error(), "Clock") {
		t.Fatalf("New with a nil func-typed Clock: err = %v, want an error naming Clock", err)
	}
}

// Claim (Options.Weigher): "Called once per Set, before any lock is taken"
// — also for RTCache.Set ("as Cache.SetWithTTL does"): a Weigher that
// calls the RTCache must not deadlock.
func TestDocWeigherRunsBeforeAnyLockInRTCacheSet(t *testing.T) {
	var rt *ufocache.RTCache[string, string]
	var reentered atomic.Bool
	c := ufocache.Must(ufocache.Options[string, string]{
		MaxWeight: 100,
		Weigher: func(k, v string) uint32 {
			if v == "reenter" && reentered.CompareAndSwap(false, true) {
				rt.Delete(k) // would deadlock if the Weigher ran under k's lock
			}
			return 1
		},
	})
	o := &origin{val: func(string, int32) string { return "reenter" }}
	rt, _ = ufocache.NewRTCache(c, o.load, ufocache.RTOptions[string, string]{})
	// Under the wait map's lock for k, either would deadlock (the test
	// then times out).
	rt.Set("k", "reenter", 0)
	reentered.Store(false)
	rt.Get(context.Background(), "k2") // a load's store
	if !reentered.Load() {
		t.Fatal("the Weigher was not called for the load's store")
	}
}
