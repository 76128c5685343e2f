package ufocache_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// LoadTimeoutTTL decides how long ErrLoadTimeout is kept, as ErrorWithTTL's
// ttl does for a Loader's error: 0 is ErrorTTL, a negative one keeps it
// nowhere (the next lookup loads again), a positive one keeps it that long
// even without ErrorTTL, and NoExpiration until a write. A Loader's own
// ErrorWithTTL of an ErrLoadTimeout it got from elsewhere (a nested
// RTCache) keeps its own time.
func TestRTLoadTimeoutTTL(t *testing.T) {
	for _, tc := range []struct {
		name             string
		errorTTL, optTTL time.Duration
		wantLoads        int32
		wantLeft         time.Duration // of the kept error, at the second lookup
		nested           bool
	}{
		{"0 is ErrorTTL", time.Minute, 0, 1, time.Minute, false},
		{"negative keeps it nowhere", time.Minute, -1, 2, 0, false},
		{"its own time, without ErrorTTL", 0, 5 * time.Second, 1, 5 * time.Second, false},
		{"its own time, over ErrorTTL", time.Minute, 5 * time.Second, 1, 5 * time.Second, false},
		{"until a write", 0, ufocache.NoExpiration, 1, ufocache.NoExpiration, false},
		{"a Loader's own ErrLoadTimeout keeps its time", time.Minute, -1, 1, 7 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var loads atomic.Int32
				rt := newRTLoading(t, func(ctx context.Context, k string) (string, time.Duration, error) {
					loads.Add(1)
					if tc.nested {
						return "", 0, ufocache.ErrorWithTTL(ufocache.ErrLoadTimeout, 7*time.Second)
					}
					<-ctx.Done() // a slow origin
					return "", 0, ufocache.ErrorWithTTL(ctx.Err(), -1)
				}, ufocache.RTOptions[string, string]{LoadTimeout: time.Second, ErrorTTL: tc.errorTTL, LoadTimeoutTTL: tc.optTTL})
				ctx := context.Background()
				if _, _, err := rt.Get(ctx, "a"); !errors.Is(err, ufocache.ErrLoadTimeout) {
					t.Fatalf("first lookup: %v", err)
				}
				synctest.Wait()
				_, left, st, err := rt.GetWithTTL(ctx, "a")
				if !errors.Is(err, ufocache.ErrLoadTimeout) || loads.Load() != tc.wantLoads || left != tc.wantLeft {
					t.Fatalf("second lookup: %v, %v left (Status %v), %d loads; want %v left, %d loads", err, left, st, loads.Load(), tc.wantLeft, tc.wantLoads)
				}
				if tc.optTTL == ufocache.NoExpiration {
					time.Sleep(24 * time.Hour)
					if _, _, err := rt.Get(ctx, "a"); !errors.Is(err, ufocache.ErrLoadTimeout) || loads.Load() != 1 {
						t.Fatalf("a day on: %v, %d loads", err, loads.Load())
					}
					rt.Set("a", "v", 0)
					if v, _, err := rt.Get(ctx, "a"); err != nil || v != "v" {
						t.Fatalf("after a write: %q, %v", v, err)
					}
				}
			})
		})
	}
}
