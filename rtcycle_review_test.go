package ufocache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// A Loader that prefetches another key on a goroutine it does not wait
// for (warming the cache with its ctx, for the trace values it carries)
// is not waiting for that key's load: a's Loader returns on its own, so
// b's Loader, asking for a, would get a's value. There is no loop among
// the waits, yet b's lookup of a gets ErrLoadCycle, and b's load fails.
func TestRTPrefetchGoroutineIsNoCycle(t *testing.T) {
	for _, canEnd := range []bool{false, true} {
		t.Run(fmt.Sprint("ctx can end: ", canEnd), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rt *ufocache.RTCache[string, string]
				release := make(chan struct{})
				var prefetch sync.WaitGroup
				var bGot string
				var bErr error
				rt, _ = ufocache.NewRTCache(ufocache.Must(ufocache.Options[string, string]{MaxWeight: 10}),
					func(ctx context.Context, k string) (string, time.Duration, error) {
						switch k {
						case "a":
							prefetch.Go(func() { rt.Get(ctx, "b") }) // fire and forget
							<-release                                // a's own work, not waiting for b
							return "A", 0, nil
						case "b":
							bGot, _, bErr = rt.Get(ctx, "a")
							return "B(" + bGot + ")", 0, bErr
						}
						return "", 0, nil
					}, ufocache.RTOptions[string, string]{})
				ctx := context.Background()
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
				if bGot != "A" || bErr != nil {
					t.Errorf("b's Loader got %q, %v from a, whose Loader never waited for b; want \"A\", nil", bGot, bErr)
				}
			})
		})
	}
}
