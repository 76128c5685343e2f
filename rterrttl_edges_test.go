package ufocache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ufocache/ufocache"
)

// The error cache ErrorWithTTL makes without ErrorTTL keeps RTCache's
// promises: a write of the key (Set, Delete, Invalidate) and Clear drop
// its error, so the next Get loads; MaxErrors bounds the errors kept.
func TestAdvErrorWithTTLWithoutErrorTTLKeepsThePromises(t *testing.T) {
	errDown := errors.New("down")
	for _, errorTTL := range []time.Duration{0, time.Minute} {
		loads := map[int]int{}
		c := ufocache.Must(ufocache.Options[int, int]{MaxWeight: 100})
		rt, err := ufocache.NewRTCache(c, func(_ context.Context, k int) (int, time.Duration, error) {
			loads[k]++
			return 0, 0, ufocache.ErrorWithTTL(errDown, time.Hour)
		}, ufocache.RTOptions[int, int]{ErrorTTL: errorTTL, MaxErrors: 4})
		if err != nil {
			t.Fatal(err)
		}
		get := func(k int) {
			t.Helper()
			if _, _, err := rt.Get(context.Background(), k); err != errDown {
				t.Fatalf("ErrorTTL %v: Get(%d): %v", errorTTL, k, err)
			}
		}
		for k := range 4 {
			get(k)
		}
		rt.Set(0, 0, 0)
		rt.Delete(0) // a value deleted: the old error must not come back
		rt.Delete(1)
		rt.Invalidate(2)
		rt.Set(3, 3, time.Nanosecond)
		time.Sleep(time.Millisecond) // 3's value expires
		for k := range 4 {
			get(k)
		}
		for k := range 4 {
			if loads[k] != 2 {
				t.Errorf("ErrorTTL %v: key %d loaded %d times, want 2 (its write dropped its error)", errorTTL, k, loads[k])
			}
		}
		rt.Clear()
		get(0)
		if loads[0] != 3 {
			t.Errorf("ErrorTTL %v: key 0 loaded %d times after Clear, want 3", errorTTL, loads[0])
		}
		// MaxErrors 4: of 64 keys failing, at most 4 errors kept.
		clear(loads)
		for k := 100; k < 164; k++ {
			get(k)
		}
		for k := 100; k < 164; k++ {
			get(k)
		}
		kept := 0
		for _, n := range loads {
			if n == 1 {
				kept++
			}
		}
		if kept > 4 {
			t.Errorf("ErrorTTL %v: %d errors answered from the cache, MaxErrors is 4", errorTTL, kept)
		}
	}
}
