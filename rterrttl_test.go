package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// ErrorWithTTL: a Loader's (or BatchLoader's) error kept for a TTL of its
// own: as long as it says, nowhere for a negative one, ErrorTTL for 0,
// until a write for NoExpiration; the callers get the error unwrapped
// (or the Loader's own wrapping of it), and GetWithTTL the time left.
// Without ErrorTTL, only an error with a time of its own is kept.
func TestRTErrorWithTTL(t *testing.T) {
	errDown := errors.New("down")
	clk := &fakeClock{}
	clk.t.Store(1)
	ttls := map[string]time.Duration{"short": 5 * time.Second, "none": -1, "default": 0, "forever": ufocache.NoExpiration}
	loads := map[string]int{}
	load := func(_ context.Context, k string) (string, time.Duration, error) {
		loads[k]++
		if k == "wrapped" {
			return "", 0, fmt.Errorf("resolving %s: %w", k, ufocache.ErrorWithTTL(errDown, 3*time.Second))
		}
		return "", time.Hour, ufocache.ErrorWithTTL(errDown, ttls[k]) // the hour is not the error's
	}
	batch := func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
		if keys[0] == "batch-all" {
			return nil, ufocache.ErrorWithTTL(errDown, 9*time.Second)
		}
		out := make([]ufocache.Loaded[string], len(keys))
		for i := range out {
			out[i].Err = ufocache.ErrorWithTTL(errDown, 7*time.Second)
		}
		return out, nil
	}
	newRT := func(errorTTL time.Duration) *ufocache.RTCache[string, string] {
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
		rt, err := ufocache.NewRTCache(c, load, ufocache.RTOptions[string, string]{ErrorTTL: errorTTL, BatchLoader: batch})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	rt := newRT(time.Minute)
	expect := func(k string, st ufocache.Status, left time.Duration) {
		t.Helper()
		_, got, gotSt, err := rt.GetWithTTL(context.Background(), k)
		if k == "wrapped" {
			if err == nil || err.Error() != "resolving wrapped: down" || !errors.Is(err, errDown) {
				t.Errorf("GetWithTTL(%q): %v, want the Loader's wrapping of %v", k, err, errDown)
			}
		} else if err != errDown {
			t.Errorf("GetWithTTL(%q): %#v, want %v itself, unwrapped", k, err, errDown)
		}
		if got != left || gotSt != st {
			t.Errorf("GetWithTTL(%q) = %v left, %v; want %v, %v", k, got, gotSt, left, st)
		}
	}
	for _, k := range []string{"short", "none", "default", "forever", "wrapped"} {
		left := map[string]time.Duration{"short": 5 * time.Second, "default": time.Minute, "forever": ufocache.NoExpiration, "wrapped": 3 * time.Second}[k]
		expect(k, ufocache.Miss, left)
	}
	if _, err := rt.MultiGet(context.Background(), []string{"batch-all", "b"}); err != errDown {
		t.Fatalf("MultiGet of a failing batch: %v, want %v", err, errDown)
	}
	if _, err := rt.MultiGet(context.Background(), []string{"each"}); err != errDown {
		t.Fatalf("MultiGet of a key that failed: %v, want %v", err, errDown)
	}
	clk.Advance(time.Second)
	expect("short", ufocache.Hit, 4*time.Second)
	expect("none", ufocache.Miss, 0) // kept nowhere: loaded again
	expect("default", ufocache.Hit, time.Minute-time.Second)
	expect("forever", ufocache.Hit, ufocache.NoExpiration)
	expect("wrapped", ufocache.Hit, 2*time.Second)
	expect("batch-all", ufocache.Hit, 8*time.Second)
	expect("b", ufocache.Hit, 8*time.Second)
	expect("each", ufocache.Hit, 6*time.Second)
	clk.Advance(4 * time.Second)
	expect("short", ufocache.Miss, 5*time.Second) // expired: loaded again
	clk.Advance(time.Hour)
	expect("forever", ufocache.Hit, ufocache.NoExpiration)
	rt.Set("forever", "v", 0)
	if v, _, err := rt.Get(context.Background(), "forever"); err != nil || v != "v" {
		t.Errorf("after a Set: %q, %v", v, err)
	}
	if want := map[string]int{"short": 2, "none": 2, "default": 1, "forever": 1, "wrapped": 1}; !mapsEqual(loads, want) {
		t.Errorf("loads %v, want %v", loads, want)
	}

	// Without ErrorTTL an error is kept for the time ErrorWithTTL gave
	// it, and nowhere for 0 (ErrorTTL's) or a negative one.
	rt = newRT(0)
	clear(loads)
	expect("default", ufocache.Miss, 0)
	expect("default", ufocache.Miss, 0) // kept nowhere: loaded again
	expect("none", ufocache.Miss, 0)
	expect("none", ufocache.Miss, 0)
	expect("short", ufocache.Miss, 5*time.Second)
	clk.Advance(time.Second)
	expect("short", ufocache.Hit, 4*time.Second)
	if _, err := rt.MultiGet(context.Background(), []string{"each"}); err != errDown {
		t.Fatalf("without ErrorTTL, MultiGet of a key that failed: %v, want %v", err, errDown)
	}
	expect("each", ufocache.Hit, 7*time.Second)
	clk.Advance(4 * time.Second)
	expect("short", ufocache.Miss, 5*time.Second) // expired: loaded again
	if want := map[string]int{"default": 2, "none": 2, "short": 2}; !mapsEqual(loads, want) {
		t.Errorf("without ErrorTTL: loads %v, want %v", loads, want)
	}
	if ufocache.ErrorWithTTL(nil, time.Second) != nil {
		t.Error("ErrorWithTTL(nil) is not nil")
	}
}

// A BatchLoader's ErrorWithTTL, on the whole batch or on each key's
// Loaded.Err, keeps to every convention a Loader's does: 0 is ErrorTTL,
// a negative TTL keeps the error nowhere (the next MultiGet asks the
// origin again), NoExpiration keeps it until a write; and the callers get
// the error itself, unwrapped, whatever the TTL. (Mutation review: a whole
// batch failed with ErrorWithTTL(err, 0) reached the callers still
// wrapped, and one with a negative TTL was kept for ErrorTTL, and the old
// tests passed; they only failed a whole batch for a positive TTL.)
func TestRTBatchErrorWithTTLConventions(t *testing.T) {
	errDown := errors.New("down")
	for _, tc := range []struct {
		name  string
		ttl   time.Duration
		whole bool          // the whole batch fails, rather than each key
		left  time.Duration // a second on; 0: kept nowhere
	}{
		{"whole/ErrorTTL", 0, true, time.Minute - time.Second},
		{"whole/none", -1, true, 0},
		{"whole/own", 9 * time.Second, true, 8 * time.Second},
		{"whole/forever", ufocache.NoExpiration, true, ufocache.NoExpiration},
		{"each/ErrorTTL", 0, false, time.Minute - time.Second},
		{"each/none", -1, false, 0},
		{"each/own", 7 * time.Second, false, 6 * time.Second},
		{"each/forever", ufocache.NoExpiration, false, ufocache.NoExpiration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{}
			clk.t.Store(1)
			asked := map[string]int{}
			c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
			rt, err := ufocache.NewRTCache(c, func(context.Context, string) (string, time.Duration, error) {
				t.Error("the Loader ran: MultiGet should batch, and GetWithTTL find the cached error")
				return "", 0, nil
			}, ufocache.RTOptions[string, string]{ErrorTTL: time.Minute, BatchLoader: func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
				for _, k := range keys {
					asked[k]++
				}
				if tc.whole {
					return nil, ufocache.ErrorWithTTL(errDown, tc.ttl)
				}
				out := make([]ufocache.Loaded[string], len(keys))
				for i := range out {
					out[i] = ufocache.Loaded[string]{Value: "ignored", TTL: time.Hour, Err: ufocache.ErrorWithTTL(errDown, tc.ttl)}
				}
				return out, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			keys := []string{"a", "b"}
			multiGet := func(st ufocache.Status) {
				t.Helper()
				res, err := rt.MultiGet(context.Background(), keys)
				if err != errDown {
					t.Errorf("MultiGet: %#v, want %v itself, unwrapped", err, errDown)
				}
				for i, r := range res {
					if r.Err != errDown || r.Status != st {
						t.Errorf("MultiGet's %s: %v, %#v; want %v, %v", keys[i], r.Status, r.Err, st, errDown)
					}
				}
			}
			multiGet(ufocache.Miss)
			clk.Advance(time.Second)
			if tc.left == 0 { // kept nowhere: the origin is asked again
				multiGet(ufocache.Miss)
				if want := map[string]int{"a": 2, "b": 2}; !mapsEqual(asked, want) {
					t.Errorf("the BatchLoader was asked for %v, want %v", asked, want)
				}
				return
			}
			multiGet(ufocache.Hit)
			for _, k := range keys {
				if _, left, st, err := rt.GetWithTTL(context.Background(), k); err != errDown || left != tc.left || st != ufocache.Hit {
					t.Errorf("GetWithTTL(%q) = %v left, %v, %#v; want %v, Hit, %v", k, left, st, err, tc.left, errDown)
				}
			}
			if want := map[string]int{"a": 1, "b": 1}; !mapsEqual(asked, want) {
				t.Errorf("the BatchLoader was asked for %v, want %v", asked, want)
			}
			if tc.ttl == ufocache.NoExpiration {
				clk.Advance(24 * time.Hour)
				multiGet(ufocache.Hit)
				rt.Set("a", "v", 0) // a write clears it
				if v, _, err := rt.Get(context.Background(), "a"); err != nil || v != "v" {
					t.Errorf("after a Set: %q, %v", v, err)
				}
			}
		})
	}
}

// steppingClock is a Clock that moves step on at every reading.
type steppingClock struct{ t, step atomic.Int64 }

func (c *steppingClock) Nanotime() int64 { return c.t.Add(c.step.Load()) }

// GetWithTTL's time left of a cached error (a Hit) is read with the error,
// as its doc says, so it is never 0: an error found live had time left
// then, even if it expires before the call returns. Here the clock moves
// 1ns at every reading, and a lookup comes d ns before the error expires,
// for each d up to 32. (Mutation review: reading the time left again after
// the error was found, or taking 0 from cachedError so that fetchTTL reads
// it again, passed the old tests, whose clocks stood still during a call;
// it answered a Hit with the error and 0 left when the error expired
// between the two readings.)
func TestRTGetWithTTLOfACachedErrorReadsItsTimeLeftWithIt(t *testing.T) {
	errDown := errors.New("down")
	hits := 0
	for d := int64(1); d <= 32; d++ {
		clk := &steppingClock{}
		clk.t.Store(1)
		c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: clk})
		rt, err := ufocache.NewRTCache(c, func(context.Context, string) (string, time.Duration, error) {
			return "", 0, errDown
		}, ufocache.RTOptions[string, string]{ErrorTTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		// The clock stands still here: the error expires at now + left.
		_, left, _, _ := rt.GetWithTTL(context.Background(), "k")
		if left <= 0 {
			t.Fatalf("a failed load's error has %v left, want ErrorTTL", left)
		}
		clk.t.Add(int64(left) - d)
		clk.step.Store(1)
		_, got, st, err := rt.GetWithTTL(context.Background(), "k")
		if st != ufocache.Hit {
			continue // it had expired: loaded again
		}
		hits++
		if err != errDown || got <= 0 || got > time.Duration(d) {
			t.Errorf("%dns before the error expires: GetWithTTL = %v left, Hit, %v; want (0, %dns] left with %v", d, got, err, d, errDown)
		}
	}
	if hits == 0 {
		t.Error("no lookup found the error live")
	}
}

// Without ErrorTTL, the error cache is made by the first error
// ErrorWithTTL keeps. Loads of many keys failing at once may race to make
// it: every error is kept all the same, in the one cache they share, and
// a write of a key clears its own.
func TestRTErrorWithTTLWithoutErrorTTLUnderConcurrentFailures(t *testing.T) {
	const n = 16
	errDown := errors.New("down")
	for round := range 20 {
		var loads atomic.Int64
		start := make(chan struct{})
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100})
		rt, err := ufocache.NewRTCache(c, func(_ context.Context, k int) (int, time.Duration, error) {
			loads.Add(1)
			<-start
			return 0, 0, ufocache.ErrorWithTTL(errDown, time.Hour)
		}, ufocache.RTOptions[int, int]{})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		for k := range n {
			go func() {
				defer func() { done <- struct{}{} }()
				if _, st, err := rt.Get(context.Background(), k); err != errDown || st != ufocache.Miss {
					t.Errorf("round %d, key %d: %v, %v; want a miss with %v", round, k, st, err, errDown)
				}
			}()
		}
		for loads.Load() < n {
			runtime.Gosched()
		}
		close(start)
		for range n {
			<-done
		}
		for k := range n {
			if _, st, err := rt.Get(context.Background(), k); err != errDown || st != ufocache.Hit {
				t.Fatalf("round %d, key %d after the failures: %v, %v; want its kept %v as a hit", round, k, st, err, errDown)
			}
		}
		rt.Set(3, 3, 0)
		if v, st, err := rt.Get(context.Background(), 3); err != nil || v != 3 || st != ufocache.Hit {
			t.Fatalf("round %d: after a Set, %v, %v, %v", round, v, st, err)
		}
		if got := loads.Load(); got != n {
			t.Fatalf("round %d: %d loads, want %d", round, got, n)
		}
	}
}
