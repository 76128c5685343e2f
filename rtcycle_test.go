package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// chaser is a resolver's Loader: a name in cname is an alias whose answer
// is its target's, asked of rt with the Loader's ctx; any other name
// answers "A name". Each load is counted, and a failed chase says which
// alias it came through.
type chaser struct {
	rt    *ufocache.RTCache[string, string]
	cname map[string]string
	loads atomic.Int32
	// meet, if set, runs in every alias's Loader before it asks for its
	// target.
	meet func()
}

func (ch *chaser) load(ctx context.Context, k string) (string, time.Duration, error) {
	ch.loads.Add(1)
	target, ok := ch.cname[k]
	if !ok {
		return "A " + k, 0, nil
	}
	if ch.meet != nil {
		ch.meet()
	}
	v, _, err := ch.rt.Get(ctx, target)
	if err != nil {
		return "", 0, fmt.Errorf("%s -> %w", k, err)
	}
	return v, 0, nil
}

func newChaser(t *testing.T, cname map[string]string, opts ufocache.RTOptions[string, string]) *chaser {
	t.Helper()
	ch := &chaser{cname: cname}
	c := ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock()})
	rt, err := ufocache.NewRTCache(c, ch.load, opts)
	if err != nil {
		t.Fatal(err)
	}
	ch.rt = rt
	return ch
}

// cyclePaths returns the errors a lookup of loop[0] may get from a CNAME
// loop whose Loaders ask for the next key in loop (the last for the
// first): ErrLoadCycle, wrapped by each Loader of the keys up to the one
// whose wait closed the loop. Which wait that is depends on the order in
// which the loads' goroutines add their waits: the one added last sees
// the loop (loads that run on goroutines of their own race to it).
func cyclePaths(loop ...string) []string {
	var paths []string
	for i := 1; i <= len(loop); i++ {
		paths = append(paths, strings.Join(loop[:i], " -> ")+" -> "+ufocache.ErrLoadCycle.Error())
	}
	return paths
}

// A CNAME loop (a's Loader asks for b, b's for a; or x, y and z) ends at once with
// ErrLoadCycle, whether the first load runs on its caller's goroutine (a
// ctx that cannot end, no LoadTimeout) or on its own, with or without
// LockTimeout; it used to hold both keys for ever under the default
// RTOptions. A chain without a loop still resolves.
func TestRTLoadCycleOfTwoKeys(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     ufocache.RTOptions[string, string]
		canceled bool // the caller's ctx can end
	}{
		{"defaults, loads on the callers' goroutines", ufocache.RTOptions[string, string]{}, false},
		{"defaults, loads on their own goroutines", ufocache.RTOptions[string, string]{}, true},
		{"LoadTimeout", ufocache.RTOptions[string, string]{LoadTimeout: time.Minute}, false},
		{"LockTimeout", ufocache.RTOptions[string, string]{LockTimeout: time.Minute}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ch := newChaser(t, map[string]string{"a": "b", "b": "a", "x": "y", "y": "z", "z": "x", "www": "cdn", "cdn": "edge"}, tc.opts)
				ctx := context.Background()
				if tc.canceled {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
				}
				if v, st, err := ch.rt.Get(ctx, "www"); v != "A edge" || st != ufocache.Miss || err != nil {
					t.Errorf("a chain of aliases: %q, %v, %v", v, st, err)
				}
				ch.loads.Store(0)
				start := time.Now()
				_, st, err := ch.rt.Get(ctx, "a")
				if want := cyclePaths("a", "b"); err == nil || !slices.Contains(want, err.Error()) || !errors.Is(err, ufocache.ErrLoadCycle) || st != ufocache.Miss {
					t.Errorf("the loop gave %v, %v; want Miss and one of %q", st, err, want)
				}
				if waited := time.Since(start); waited != 0 {
					t.Errorf("the loop took %v, want no wait", waited)
				}
				if n := ch.loads.Load(); n != 2 {
					t.Errorf("%d loads, want 2 (a, then b)", n)
				}
				if n := ch.rt.InFlight(); n != 0 {
					t.Errorf("%d loads in flight after the loop", n)
				}
				// A loop of three: the wait that closes it sees it, through
				// y and z or fewer.
				_, _, err = ch.rt.Get(ctx, "x")
				if want := cyclePaths("x", "y", "z"); err == nil || !slices.Contains(want, err.Error()) {
					t.Errorf("the loop of three gave %v, want one of %q", err, want)
				}
				if waited := time.Since(start); waited != 0 {
					t.Errorf("the loops took %v, want no wait", waited)
				}
			})
		})
	}
}

// The loop closes across two callers: a's load and b's load are both
// under way, started by different callers, before either Loader asks for
// the other's key. Neither waits for ever: the Loader whose wait would
// close the loop gets ErrLoadCycle, and the other gets that load's
// failure. synctest fails the test if the bubble deadlocks.
func TestRTLoadCycleAcrossCallers(t *testing.T) {
	for _, canceled := range []bool{false, true} {
		t.Run(fmt.Sprint("ctx can end: ", canceled), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var both sync.WaitGroup
				both.Add(2)
				ch := newChaser(t, map[string]string{"a": "b", "b": "a"}, ufocache.RTOptions[string, string]{})
				ch.meet = func() { both.Done(); both.Wait() }
				ctx := context.Background()
				if canceled {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					defer cancel()
				}
				errs := make([]error, 2)
				var callers sync.WaitGroup
				for i, k := range []string{"a", "b"} {
					callers.Go(func() { _, _, errs[i] = ch.rt.Get(ctx, k) })
				}
				callers.Wait()
				for i, err := range errs {
					if !errors.Is(err, ufocache.ErrLoadCycle) {
						t.Errorf("caller %d got %v, want an error wrapping ErrLoadCycle", i, err)
					}
				}
				if n := ch.loads.Load(); n != 2 {
					t.Errorf("%d loads, want 2", n)
				}
				if n := ch.rt.InFlight(); n != 0 {
					t.Errorf("%d loads in flight after the loop", n)
				}
			})
		})
	}
}

// The loop may run through two RTCaches of different types: a name's
// Loader asks a counter cache, whose Loader asks for the name.
func TestRTLoadCycleAcrossCaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var names *ufocache.RTCache[string, string]
		var counts *ufocache.RTCache[string, int]
		names, _ = ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10}),
			func(ctx context.Context, k string) (string, time.Duration, error) {
				n, _, err := counts.Get(ctx, k)
				return fmt.Sprint(n), 0, err
			}, ufocache.RTOptions[string, string]{})
		counts, _ = ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, int]{MaxWeight: 10}),
			func(ctx context.Context, k string) (int, time.Duration, error) {
				s, _, err := names.Get(ctx, k)
				return len(s), 0, err
			}, ufocache.RTOptions[string, int]{})
		if _, st, err := names.Get(context.Background(), "x"); err != ufocache.ErrLoadCycle || st != ufocache.Miss {
			t.Errorf("a loop through two caches: %v, %v; want Miss, ErrLoadCycle", st, err)
		}
		if n := names.InFlight() + counts.InFlight(); n != 0 {
			t.Errorf("%d loads in flight after the loop", n)
		}
	})
}

// A BatchLoader that asks for a key of its own batch, or a Loader that
// asks MultiGet for its own key, gets ErrLoadCycle for that key; the
// batch's other keys load.
func TestRTLoadCycleThroughMultiGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rt *ufocache.RTCache[string, string]
		var inner []error
		load := func(ctx context.Context, k string) (string, time.Duration, error) {
			res, err := rt.MultiGet(ctx, []string{"other", k})
			inner = []error{res[0].Err, res[1].Err}
			return res[0].Value, 0, err // the first key's error
		}
		batch := func(ctx context.Context, keys []string) ([]ufocache.Loaded[string], error) {
			out := make([]ufocache.Loaded[string], len(keys))
			for i, k := range keys {
				out[i].Value = "v " + k
			}
			if keys[0] == "mine" {
				_, _, err := rt.Get(ctx, "also mine")
				out[0].Err = err
			}
			return out, nil
		}
		rt, _ = ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10}), load,
			ufocache.RTOptions[string, string]{BatchLoader: batch})
		res, err := rt.MultiGet(context.Background(), []string{"mine", "also mine"})
		if err != ufocache.ErrLoadCycle || res[0].Err != ufocache.ErrLoadCycle || res[1].Err != nil || res[1].Value != "v also mine" {
			t.Errorf("a BatchLoader asking for a key of its batch: %+v, %v; want ErrLoadCycle for the key it failed, the other loaded", res, err)
		}
		if _, _, err := rt.Get(context.Background(), "self"); err != ufocache.ErrLoadCycle || inner[0] != nil || inner[1] != ufocache.ErrLoadCycle {
			t.Errorf("a Loader asking MultiGet for its own key: %v (MultiGet's results %v); want ErrLoadCycle for that key only", err, inner)
		}
		if n := rt.InFlight(); n != 0 {
			t.Errorf("%d loads in flight", n)
		}
	})
}

// No false alarm: keys that share a dependency (a diamond: top asks left
// and right, both ask bottom), asked for by many callers at once, wait for
// each other's loads and all resolve, each key loaded once.
func TestRTLoadsSharingADependencyAreNoCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rt *ufocache.RTCache[string, string]
		deps := map[string][]string{"top": {"left", "right"}, "left": {"bottom"}, "right": {"bottom"}}
		var loads sync.Map
		var gate sync.WaitGroup
		gate.Add(1)
		rt, _ = ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, string]{MaxWeight: 100}),
			func(ctx context.Context, k string) (string, time.Duration, error) {
				if _, again := loads.LoadOrStore(k, true); again {
					return "", 0, fmt.Errorf("%s loaded twice", k)
				}
				gate.Wait()
				v := k
				for _, d := range deps[k] {
					dv, _, err := rt.Get(ctx, d)
					if err != nil {
						return "", 0, fmt.Errorf("%s -> %w", k, err)
					}
					v += "(" + dv + ")"
				}
				return v, 0, nil
			}, ufocache.RTOptions[string, string]{})
		want := map[string]string{"bottom": "bottom", "left": "left(bottom)", "right": "right(bottom)", "top": "top(left(bottom))(right(bottom))"}
		var callers sync.WaitGroup
		for i := range 40 {
			k := []string{"top", "left", "right", "bottom"}[i%4]
			callers.Go(func() {
				if v, _, err := rt.Get(context.Background(), k); v != want[k] || err != nil {
					t.Errorf("%s: %q, %v; want %q", k, v, err, want[k])
				}
			})
		}
		synctest.Wait()
		gate.Done()
		callers.Wait()
	})
}

type traceKey struct{}

// A Loader that prefetches another key on a goroutine it does not wait
// for (warming the cache, with its ctx's trace values) is not waiting for
// that key's load: a's Loader returns on its own, so b's Loader, asking
// for a, would get a's value. With the Loader's own ctx the prefetch's
// wait counts as a's Loader's, and b's lookup of a gets ErrLoadCycle (as
// the Loader doc now says); with OutsideLoad(ctx), which keeps the trace
// value, there is no false alarm.
func TestRTPrefetchGoroutineIsNoCycle(t *testing.T) {
	for _, outside := range []bool{false, true} {
		for _, canEnd := range []bool{false, true} {
			t.Run(fmt.Sprintf("OutsideLoad %v, ctx can end %v", outside, canEnd), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					var rt *ufocache.RTCache[string, string]
					release := make(chan struct{})
					var prefetch sync.WaitGroup
					var bGot string
					var bErr error
					var trace any
					rt, _ = ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10}),
						func(ctx context.Context, k string) (string, time.Duration, error) {
							switch k {
							case "a":
								pctx := ctx
								if outside {
									pctx = ufocache.OutsideLoad(ctx)
								}
								prefetch.Go(func() { rt.Get(pctx, "b") }) // fire and forget
								<-release                                 // a's own work, not waiting for b
								return "A", 0, nil
							case "b":
								trace = ctx.Value(traceKey{})
								bGot, _, bErr = rt.Get(ctx, "a")
								return "B(" + bGot + ")", 0, bErr
							}
							return "", 0, nil
						}, ufocache.RTOptions[string, string]{})
					ctx := context.WithValue(context.Background(), traceKey{}, "trace")
					if canEnd {
						var cancel context.CancelFunc
						ctx, cancel = context.WithCancel(ctx)
						defer cancel()
					}
					var got string
					var err error
					done := make(chan struct{})
					go func() { defer close(done); got, _, err = rt.Get(ctx, "a") }()
					synctest.Wait() // b's Loader has asked for a
					close(release)
					<-done
					prefetch.Wait()
					if got != "A" || err != nil {
						t.Errorf("Get(a) = %q, %v", got, err)
					}
					if trace != "trace" {
						t.Errorf("b's Loader saw the trace value %v", trace)
					}
					if outside && (bGot != "A" || bErr != nil) {
						t.Errorf("b's Loader got %q, %v from a, whose Loader never waited for b; want \"A\", nil", bGot, bErr)
					}
					if !outside && !errors.Is(bErr, ufocache.ErrLoadCycle) {
						t.Errorf("with a's own ctx, b's Loader got %q, %v from a; want ErrLoadCycle, as the Loader doc says", bGot, bErr)
					}
				})
			})
		}
	}
}

// OutsideLoad outside any load is ctx itself; inside one, a loop closed
// through it is not seen, as its doc says (here it ends at LockTimeout).
func TestRTOutsideLoad(t *testing.T) {
	ctx := context.Background()
	if ufocache.OutsideLoad(ctx) != ctx {
		t.Error("OutsideLoad of a ctx outside any load is not that ctx")
	}
	synctest.Test(t, func(t *testing.T) {
		var rt *ufocache.RTCache[string, string]
		rt, _ = ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10}),
			func(ctx context.Context, k string) (string, time.Duration, error) {
				_, _, err := rt.Get(ufocache.OutsideLoad(ctx), k)
				return "", 0, err
			}, ufocache.RTOptions[string, string]{LockTimeout: time.Second})
		start := time.Now()
		if _, _, err := rt.Get(ctx, "self"); err != ufocache.ErrLockTimeout || time.Since(start) != time.Second {
			t.Errorf("a Loader asking for its own key with OutsideLoad: %v after %v; want ErrLockTimeout after LockTimeout", err, time.Since(start))
		}
	})
}
