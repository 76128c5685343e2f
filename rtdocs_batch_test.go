package ufocache

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A load that LoadTimeout ends fails with ErrLoadTimeout, which ErrorTTL
// keeps, also when the Loader returns its ctx's error at the deadline
// wrapped in ErrorWithTTL with a negative TTL (keep it nowhere), as
// ErrorWithTTL's doc suggested for a timeout. The Loader's own shorter
// deadline is what keeps a timeout from being held against the key.
func TestRTLoadTimeoutIsKeptWhateverTheLoaderSays(t *testing.T) {
	for _, own := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var loads atomic.Int32
			c := Must(Options[int, int]{MaxWeight: 10})
			opts := RTOptions[int, int]{ErrorTTL: time.Minute}
			if !own {
				opts.LoadTimeout = time.Second
			}
			rt, err := NewRTCache(c, func(ctx context.Context, k int) (int, time.Duration, error) {
				loads.Add(1)
				if own {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, time.Second)
					defer cancel()
				}
				<-ctx.Done() // a slow origin that honours ctx
				return 0, 0, ErrorWithTTL(ctx.Err(), -1)
			}, opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, _, err1 := rt.Get(ctx, 1)
			_, st, err2 := rt.Get(ctx, 1)
			synctest.Wait()
			switch {
			case !own && (!errors.Is(err1, ErrLoadTimeout) || st != Hit || !errors.Is(err2, ErrLoadTimeout) || loads.Load() != 1):
				t.Fatalf("LoadTimeout: %v, then %v %v, %d loads; want ErrLoadTimeout kept", err1, st, err2, loads.Load())
			case own && (!errors.Is(err1, context.DeadlineExceeded) || loads.Load() != 2):
				t.Fatalf("own deadline: %v, then %v %v, %d loads; want nothing kept", err1, st, err2, loads.Load())
			}
		})
	}
}
