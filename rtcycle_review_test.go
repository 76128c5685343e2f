package ufocache_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

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
