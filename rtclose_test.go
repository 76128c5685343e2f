package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// closeRT runs rt.Close(ctx) on a goroutine of its own; wait returns its
// error, returned reports whether it has returned.
func closeRT(rt *ufocache.RTCache[string, string], ctx context.Context) (wait func() error, returned *atomic.Bool) {
	done := make(chan error, 1)
	returned = new(atomic.Bool)
	go func() {
		err := rt.Close(ctx)
		returned.Store(true)
		done <- err
	}()
	return func() error { return <-done }, returned
}

// Close waits for the loads in flight, a caller's and a refresh's, until
// their values are stored and OnEvict has returned for what they
// displaced; callers of those keys still get them, and a load turned
// away meanwhile starts nothing.
func TestRTCloseWaitsForTheLoadsAndTheirStores(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var loads atomic.Int32
		load := func(_ context.Context, k string) (string, time.Duration, error) {
			loads.Add(1)
			<-release
			return "v" + k, time.Hour, nil
		}
		var evicted atomic.Int32
		rt := newRTLoading(t, load, ufocache.RTOptions[string, string]{RefreshAhead: time.Minute},
			ufocache.Options[string, string]{MaxWeight: 1, Shards: 1, Clock: newBubbleClock(), OnEvict: func(k, v string, r ufocache.EvictReason) {
				if r == ufocache.EvictCapacity {
					time.Sleep(time.Second) // a slow OnEvict, past the Loader's return
					evicted.Add(1)
				}
			}})
		rt.Cache().SetWithTTL("old", "x", 30*time.Second) // inside RefreshAhead: its next hit refreshes it
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		got := make(chan string, 2)
		go func() { v, _, _ := rt.Get(ctx, "a"); got <- v }()
		if _, st, _ := rt.Get(ctx, "old"); st != ufocache.Hit {
			t.Fatalf("old: %v", st)
		}
		synctest.Wait()
		if n := loads.Load(); n != 2 {
			t.Fatalf("%d loads started, want a's and old's refresh", n)
		}
		wait, returned := closeRT(rt, context.Background())
		synctest.Wait()
		go func() { v, _, _ := rt.Get(ctx, "a"); got <- v }() // joins a's load
		if _, st, err := rt.Get(ctx, "b"); !errors.Is(err, ufocache.ErrClosed) || st != ufocache.Miss {
			t.Fatalf("Get of a new key while Close waits: %v, %v", st, err)
		}
		synctest.Wait()
		if returned.Load() {
			t.Fatal("Close returned while loads ran")
		}
		close(release)
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if n := evicted.Load(); n < 1 {
			t.Fatalf("Close returned before OnEvict: %d evictions", n)
		}
		if a, b := <-got, <-got; a != "va" || b != "va" {
			t.Fatalf("a's callers got %q and %q", a, b)
		}
		if n := loads.Load(); n != 2 {
			t.Fatalf("%d loads, want 2", n)
		}
		if rt.InFlight() != 0 {
			t.Fatal("loads in flight after Close")
		}
	})
}

// After Close every path that would load answers without the origin:
// ErrClosed with the Status the lookup found, counted in no Misses; a
// stale value where GetStale has one; no refresh. Hits, cached errors
// and writes go on.
func TestRTCloseAnswersWithoutTheOrigin(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts ufocache.RTOptions[string, string]
	}{
		{"loader", ufocache.RTOptions[string, string]{}},
		{"batch", ufocache.RTOptions[string, string]{}},
		{"batch in parts", ufocache.RTOptions[string, string]{MaxBatch: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls atomic.Int32
				opts := tc.opts
				opts.RefreshAhead = time.Minute
				opts.ErrorTTL = time.Hour
				if tc.name != "loader" {
					opts.BatchLoader = func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
						calls.Add(1)
						return make([]ufocache.Loaded[string], len(keys)), nil
					}
				}
				load := func(_ context.Context, k string) (string, time.Duration, error) {
					calls.Add(1)
					if k == "bad" {
						return "", 0, errors.New("bad key")
					}
					return "v" + k, time.Hour, nil
				}
				rt := newRTLoading(t, load, opts, ufocache.Options[string, string]{
					MaxWeight: 100, Clock: newBubbleClock(), KeepExpired: time.Hour, RecordStats: true,
				})
				ctx := context.Background()
				if _, _, err := rt.Get(ctx, "bad"); err == nil {
					t.Fatal("want bad's error")
				}
				rt.Set("hot", "h", time.Hour)
				rt.Set("soon", "s", 30*time.Second) // inside RefreshAhead
				rt.Set("old", "o", time.Second)
				time.Sleep(2 * time.Second) // old has expired
				before, callsBefore := rt.Stats(), calls.Load()
				if err := rt.Close(ctx); err != nil {
					t.Fatal(err)
				}
				check := func(what string, v string, st ufocache.Status, err error, wantV string, wantSt ufocache.Status, wantErr error) {
					t.Helper()
					if v != wantV || st != wantSt || !errors.Is(err, wantErr) || wantErr == nil && err != nil {
						t.Errorf("%s: %q, %v, %v; want %q, %v, %v", what, v, st, err, wantV, wantSt, wantErr)
					}
				}
				v, st, err := rt.Get(ctx, "new")
				check("Get of a new key", v, st, err, "", ufocache.Miss, ufocache.ErrClosed)
				v, st, err = rt.Get(ctx, "old")
				check("Get of an expired key", v, st, err, "", ufocache.Expired, ufocache.ErrClosed)
				v, st, err = rt.Get(ctx, "hot")
				check("Get of a hit", v, st, err, "h", ufocache.Hit, nil)
				v, st, err = rt.Get(ctx, "soon")
				check("Get of a hit to refresh", v, st, err, "s", ufocache.Hit, nil)
				_, st, err = rt.Get(ctx, "bad")
				if st != ufocache.Hit || err == nil || errors.Is(err, ufocache.ErrClosed) {
					t.Errorf("Get of a cached error: %v, %v", st, err)
				}
				if v, ss, err := rt.GetStale(ctx, "old", time.Hour); v != "o" || ss.Status != ufocache.Stale || err != nil {
					t.Errorf("GetStale: %q, %+v, %v", v, ss, err)
				}
				if v, ss, err := rt.GetStaleWhileUpdate(ctx, "old", time.Hour); v != "o" || ss.Status != ufocache.Stale || err != nil {
					t.Errorf("GetStaleWhileUpdate: %q, %+v, %v", v, ss, err)
				}
				res, err := rt.MultiGet(ctx, []string{"hot", "new", "soon", "old", "new", "x"})
				if !errors.Is(err, ufocache.ErrClosed) {
					t.Errorf("MultiGet: %v", err)
				}
				want := []ufocache.RTResult[string]{
					{Value: "h", Status: ufocache.Hit, TTL: time.Hour - 2*time.Second}, {Status: ufocache.Miss, Err: ufocache.ErrClosed},
					{Value: "s", Status: ufocache.Hit, TTL: 28 * time.Second}, {Status: ufocache.Expired, Err: ufocache.ErrClosed},
					{Status: ufocache.Miss, Err: ufocache.ErrClosed}, {Status: ufocache.Miss, Err: ufocache.ErrClosed},
				}
				if fmt.Sprint(res) != fmt.Sprint(want) {
					t.Errorf("MultiGet:\n got %v\nwant %v", res, want)
				}
				synctest.Wait()
				if n := calls.Load(); n != callsBefore {
					t.Errorf("%d origin calls after Close", n-callsBefore)
				}
				after := rt.Stats()
				if after.Misses != before.Misses || after.LockHits != before.LockHits || after.Refreshes != before.Refreshes || after.Loads != before.Loads {
					t.Errorf("stats after Close moved: before %+v, after %+v", before, after)
				}
				if after.Stale != before.Stale+2 || after.ErrorHits != before.ErrorHits+1 {
					t.Errorf("stats: Stale %d → %d, ErrorHits %d → %d", before.Stale, after.Stale, before.ErrorHits, after.ErrorHits)
				}
				rt.Set("new", "n", time.Hour)
				v, st, err = rt.Get(ctx, "new")
				check("Get after a Set", v, st, err, "n", ufocache.Hit, nil)
			})
		})
	}
}

// When Close's ctx ends first, the Loaders' contexts end (with ErrClosed
// as the cause) and what they return is their callers' answer; a second
// Close waits for them to return.
func TestRTCloseEndsTheLoadsWhenItsCtxEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hold := make(chan struct{})
		var cause atomic.Value
		load := func(ctx context.Context, k string) (string, time.Duration, error) {
			<-ctx.Done()
			cause.Store(context.Cause(ctx))
			<-hold
			return "", 0, fmt.Errorf("origin call for %s: %w", k, ctx.Err())
		}
		rt := newRTLoading(t, load, ufocache.RTOptions[string, string]{LoadTimeout: time.Hour})
		got := make(chan error, 1)
		go func() { _, _, err := rt.Get(context.Background(), "a"); got <- err }()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rt.Close(ctx); err != context.DeadlineExceeded {
			t.Fatalf("Close: %v", err)
		}
		synctest.Wait()
		if c, _ := cause.Load().(error); c != ufocache.ErrClosed {
			t.Fatalf("the Loader's ctx ended with cause %v", c)
		}
		wait, returned := closeRT(rt, context.Background())
		synctest.Wait()
		if returned.Load() {
			t.Fatal("the second Close returned before the Loader")
		}
		close(hold)
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if err := <-got; !errors.Is(err, context.Canceled) || errors.Is(err, ufocache.ErrLoadTimeout) {
			t.Fatalf("the caller got %v, want the Loader's error", err)
		}
	})
}
