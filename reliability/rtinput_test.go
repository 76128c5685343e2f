package reliability

// Bad input to RTCache that the library's own tests (rtcache_test.go:
// TestNewRTCacheValidates, TestRTMultiGetShortBatch, ...) do not cover.

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// countingLoader loads "v:" + key and counts its calls.
type countingLoader struct{ calls atomic.Int32 }

func (l *countingLoader) load(_ context.Context, k any) (string, time.Duration, error) {
	l.calls.Add(1)
	return "v", 0, nil
}

func newAnyRT(t *testing.T, batch ufocache.BatchLoader[any, string]) (*ufocache.RTCache[any, string], *countingLoader) {
	t.Helper()
	l := &countingLoader{}
	c := ufocache.Must(ufocache.Options[any, string]{MaxWeight: 100, Clock: frozenClock{}})
	rt, err := ufocache.NewRTCache(c, l.load, ufocache.RTOptions[any, string]{BatchLoader: batch})
	if err != nil {
		t.Fatal(err)
	}
	return rt, l
}

// TestRTMultiGetNoKeys: a nil or empty key slice is answered at once,
// with no load.
func TestRTMultiGetNoKeys(t *testing.T) {
	batches := 0
	rt, l := newAnyRT(t, func(context.Context, []any) ([]ufocache.Loaded[string], error) {
		batches++
		return nil, nil
	})
	for _, keys := range [][]any{nil, {}} {
		res, err := rt.MultiGet(context.Background(), keys)
		if len(res) != 0 || err != nil {
			t.Errorf("MultiGet(%#v) = %v, %v; want no results, no error", keys, res, err)
		}
	}
	if batches != 0 || l.calls.Load() != 0 {
		t.Errorf("%d batch calls, %d loads for no keys", batches, l.calls.Load())
	}
}

// noPanic runs f and turns a panic into a test failure, so that one
// crashing case does not take the other tests down with it.
func noPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s panicked: %v", what, p)
		}
	}()
	f()
}

// TestRTInterfaceKeys: with an interface key type, the nil interface and
// nil pointers are keys like any other, in Get and in MultiGet, repeated
// or not (the Cache alone handles them: see TestCacheInterfaceKeys).
func TestRTInterfaceKeys(t *testing.T) {
	for _, key := range []struct {
		name string
		k    any
	}{{"nil interface", nil}, {"nil pointer", (*int)(nil)}, {"string", "s"}} {
		t.Run(key.name, func(t *testing.T) {
			var batchKeys [][]any
			rt, _ := newAnyRT(t, func(_ context.Context, keys []any) ([]ufocache.Loaded[string], error) {
				batchKeys = append(batchKeys, slices.Clone(keys))
				out := make([]ufocache.Loaded[string], len(keys))
				for i, k := range keys {
					if k == key.k {
						out[i].Value = "mine"
					} else {
						out[i].Value = "other"
					}
				}
				return out, nil
			})
			func() {
				defer func() {
					if p := recover(); p != nil {
						// A panic after "a" was claimed leaves a call for
						// "a" that nobody runs: every Get of "a" would
						// wait for it forever.
						t.Fatalf("MultiGet panicked: %v; %d keys left held", p, rt.InFlight())
					}
				}()
				res, err := rt.MultiGet(context.Background(), []any{"a", key.k, key.k})
				if err != nil {
					t.Fatal(err)
				}
				if len(batchKeys) != 1 || len(batchKeys[0]) != 2 {
					t.Fatalf("batches %v, want one of 2 distinct keys", batchKeys)
				}
				if res[1].Value != "mine" || res[2].Value != "mine" || res[0].Value != "other" {
					t.Fatalf("results %+v", res)
				}
			}()
			noPanic(t, "Get", func() {
				if v, st, err := rt.Get(context.Background(), key.k); v != "mine" || st != ufocache.Hit || err != nil {
					t.Fatalf("Get(%v) after MultiGet = %q, %v, %v; want the stored value as a hit", key.k, v, st, err)
				}
				rt.Delete(key.k)
				if v, st, err := rt.Get(context.Background(), key.k); v != "v" || st != ufocache.Miss || err != nil {
					t.Fatalf("Get(%v) after Delete = %q, %v, %v; want a load", key.k, v, st, err)
				}
			})
		})
	}
}

// TestCacheInterfaceKeys: the Cache alone takes nil interface and nil
// pointer keys.
func TestCacheInterfaceKeys(t *testing.T) {
	c := ufocache.Must(ufocache.Options[any, int]{MaxWeight: 10, Clock: frozenClock{}})
	c.Set(nil, 1)
	c.Set((*int)(nil), 2)
	if v, ok := c.Get(nil); !ok || v != 1 {
		t.Fatalf("Get(nil) = %d, %v", v, ok)
	}
	if v, ok := c.Get((*int)(nil)); !ok || v != 2 {
		t.Fatalf("Get((*int)(nil)) = %d, %v", v, ok)
	}
}

// TestRTMultiGetDuplicatesAndBatchMisuse: duplicate keys are loaded once;
// a BatchLoader that changes or keeps the slice it was given does not
// disturb the results; one that returns nil, too few or too many results,
// an error, or calls runtime.Goexit fails its keys only, keeps the hits,
// and leaves no key held.
func TestRTMultiGetDuplicatesAndBatchMisuse(t *testing.T) {
	errBatch := errors.New("batch down")
	for _, tc := range []struct {
		name  string
		batch ufocache.BatchLoader[any, string]
		want  func(err error) bool
	}{
		{"scribbles on its keys", func(_ context.Context, keys []any) ([]ufocache.Loaded[string], error) {
			out := make([]ufocache.Loaded[string], len(keys))
			for i, k := range keys {
				out[i].Value = "b:" + k.(string)
				keys[i] = "garbage"
			}
			return out, nil
		}, func(err error) bool { return err == nil }},
		{"nil results", func(context.Context, []any) ([]ufocache.Loaded[string], error) {
			return nil, nil
		}, func(err error) bool { return errors.Is(err, ufocache.ErrBatchSize) }},
		{"one too few", func(_ context.Context, keys []any) ([]ufocache.Loaded[string], error) {
			return make([]ufocache.Loaded[string], len(keys)-1), nil
		}, func(err error) bool { return errors.Is(err, ufocache.ErrBatchSize) }},
		{"one too many", func(_ context.Context, keys []any) ([]ufocache.Loaded[string], error) {
			return make([]ufocache.Loaded[string], len(keys)+1), nil
		}, func(err error) bool { return errors.Is(err, ufocache.ErrBatchSize) }},
		{"error", func(context.Context, []any) ([]ufocache.Loaded[string], error) {
			return make([]ufocache.Loaded[string], 2), errBatch
		}, func(err error) bool { return err == errBatch }},
		{"Goexit", func(context.Context, []any) ([]ufocache.Loaded[string], error) {
			runtime.Goexit()
			return nil, nil
		}, func(err error) bool { return err == ufocache.ErrGoexit }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			batch := func(ctx context.Context, keys []any) ([]ufocache.Loaded[string], error) {
				calls++
				if got := len(keys); got != 2 {
					t.Errorf("the batch got %d keys %v, want the 2 distinct misses", got, keys)
				}
				return tc.batch(ctx, keys)
			}
			rt, l := newAnyRT(t, batch)
			rt.Set("hit", "cached", 0)
			keys := []any{"a", "hit", "b", "a", "b", "hit"}
			res, err := rt.MultiGet(context.Background(), keys)
			if !tc.want(err) {
				t.Fatalf("MultiGet err = %v", err)
			}
			if calls != 1 || l.calls.Load() != 0 {
				t.Fatalf("%d batch calls and %d single loads, want 1 and 0", calls, l.calls.Load())
			}
			for i, k := range keys {
				r := res[i]
				switch {
				case k == "hit":
					if r.Value != "cached" || r.Status != ufocache.Hit || r.Err != nil {
						t.Errorf("result %d (the hit) = %+v", i, r)
					}
				case err == nil:
					if r.Value != "b:"+k.(string) || r.Err != nil {
						t.Errorf("result %d (%v) = %+v", i, k, r)
					}
				case !tc.want(r.Err):
					t.Errorf("result %d (%v) = %+v, want the batch's failure", i, k, r)
				}
			}
			if n := rt.InFlight(); n != 0 {
				t.Fatalf("InFlight %d after MultiGet", n)
			}
			if slices.Contains(keys, any("garbage")) {
				t.Fatal("the BatchLoader's writes reached the caller's keys")
			}
		})
	}
}

// TestRTMultiGetCancelledCaller: a caller that has already left gets its
// hits and ctx's error for the rest; the batch still runs, detached, and
// stores what it loaded for the next caller.
func TestRTMultiGetCancelledCaller(t *testing.T) {
	var calls atomic.Int32
	var wg sync.WaitGroup
	wg.Add(1)
	rt, _ := newAnyRT(t, func(_ context.Context, keys []any) ([]ufocache.Loaded[string], error) {
		defer wg.Done()
		calls.Add(1)
		return []ufocache.Loaded[string]{{Value: "late"}}, nil
	})
	rt.Set("hit", "cached", 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := rt.MultiGet(ctx, []any{"hit", "miss"})
	if !errors.Is(err, context.Canceled) || res[0].Value != "cached" || !errors.Is(res[1].Err, context.Canceled) {
		t.Fatalf("MultiGet with a cancelled ctx = %+v, %v", res, err)
	}
	wg.Wait()
	for i := 0; rt.InFlight() > 0; i++ { // the commit follows the batch's return
		if i == 3000 {
			t.Fatal("the detached batch never released its key")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v, st, err := rt.Get(context.Background(), "miss"); v != "late" || st != ufocache.Hit || err != nil || calls.Load() != 1 {
		t.Fatalf("Get after = %q, %v, %v with %d batch calls; want the detached batch's value, stored", v, st, err, calls.Load())
	}
}

// TestRTLoadTooHeavy: a loaded value that can never be stored reaches its
// callers, is not stored (nothing else is evicted for it), and the next
// Get loads again.
func TestRTLoadTooHeavy(t *testing.T) {
	var rejected, other atomic.Int32
	c := ufocache.Must(ufocache.Options[string, int]{
		MaxWeight: 10, Shards: 1, Clock: frozenClock{},
		Weigher: func(_ string, v int) uint32 { return uint32(v) },
		OnEvict: func(_ string, _ int, r ufocache.EvictReason) {
			if r == ufocache.EvictRejected {
				rejected.Add(1)
			} else {
				other.Add(1)
			}
		},
	})
	var loads atomic.Int32
	rt, err := ufocache.NewRTCache(c, func(context.Context, string) (int, time.Duration, error) {
		loads.Add(1)
		return 11, 0, nil
	}, ufocache.RTOptions[string, int]{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		c.Set(string(rune('a'+i)), 2)
	}
	for i := range 3 {
		if v, st, err := rt.Get(context.Background(), "heavy"); v != 11 || st != ufocache.Miss || err != nil {
			t.Fatalf("Get %d = %d, %v, %v; want the loaded 11 as a miss", i, v, st, err)
		}
	}
	if loads.Load() != 3 || rejected.Load() != 3 || other.Load() != 0 || c.Len() != 5 || c.Weight() != 10 {
		t.Fatalf("%d loads, %d rejections, %d other evictions; Len %d, Weight %d", loads.Load(), rejected.Load(), other.Load(), c.Len(), c.Weight())
	}
}

// TestRTSelfUnequalKeysDoNotLeak: a key not equal to itself (a NaN) can
// never be found in the wait map again, so the load it starts must not be
// left there: InFlight would grow by one per request, without bound, with
// keys a client chooses.
func TestRTSelfUnequalKeysDoNotLeak(t *testing.T) {
	c := ufocache.Must(ufocache.Options[float64, int]{MaxWeight: 10, Clock: frozenClock{}})
	var loads atomic.Int32
	rt, err := ufocache.NewRTCache(c, func(context.Context, float64) (int, time.Duration, error) {
		loads.Add(1)
		return 1, 0, nil
	}, ufocache.RTOptions[float64, int]{})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if v, _, err := rt.Get(context.Background(), math.NaN()); v != 1 || err != nil {
			t.Fatalf("Get(NaN) = %d, %v", v, err)
		}
	}
	if _, err := rt.MultiGet(context.Background(), []float64{math.NaN(), math.NaN(), 1}); err != nil {
		t.Fatal(err)
	}
	if n := rt.InFlight(); n != 0 {
		t.Fatalf("InFlight = %d after every call returned (%d loads): the wait map keeps an entry per NaN key", n, loads.Load())
	}
}
