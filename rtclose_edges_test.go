package ufocache_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache"
)

// A MultiGet whose misses go to the BatchLoader in MaxBatch parts, one
// of which panics while Close turns a later part away, counts the
// turned-away keys nowhere, as Close's doc says ("counted in no Misses")
// and as MultiGet does without the panic. MultiGet's panic path counts
// every miss the BatchLoader was not given as a LockHit (its misses +
// repeats - skipped - led), and refused keys are not in skipped: here the
// refused key "b" counted one LockHit.
func TestRTCloseMultiGetPanicCountsNoRefusedKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		rt := newRTLoading(t, func(context.Context, string) (string, time.Duration, error) {
			return "", 0, errors.New("the Loader is not used")
		}, ufocache.RTOptions[string, string]{
			MaxBatch:      1,
			MaxMultiLoads: 1, // the parts one after another
			BatchLoader: func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
				<-release
				panic("batch " + keys[0])
			},
		}, ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), RecordStats: true})
		panicked := make(chan any, 1)
		go func() {
			defer func() { panicked <- recover() }()
			rt.MultiGet(context.Background(), []string{"a", "b"})
		}()
		synctest.Wait() // the first part's BatchLoader runs
		wait, _ := closeRT(rt, context.Background())
		synctest.Wait()
		close(release) // it panics; the second part is turned away
		if err := wait(); err != nil {
			t.Fatal(err)
		}
		if p, ok := (<-panicked).(*ufocache.PanicError); !ok || p.Value != "batch a" {
			t.Fatalf("MultiGet panicked with %v, want the first part's *PanicError", p)
		}
		if s := rt.Stats(); s.Loads != 1 || s.Misses != 1 || s.LockHits != 0 {
			t.Errorf("stats: Loads %d, Misses %d, LockHits %d; want 1, 1, 0 (the key Close turned away counts nowhere)", s.Loads, s.Misses, s.LockHits)
		}
	})
}

// A kept error is a cached error whatever it is: a Loader's own ErrClosed
// (from another RTCache, closed), kept for ErrorTTL, that a lookup's
// recheck finds (it was stored after the lookup's own look at the kept
// errors) answers the lookup as any recheck's error does: a LockHit,
// counted in LockHits ("cached errors ... go on as before"). refused took
// it for Close's refusal (ErrClosed, not from a Loader): Status Miss,
// counted nowhere, though this RTCache is not even closed. Here the
// MultiGet's second part finds "b"'s error, which the first part's
// BatchLoader caused.
func TestRTAKeptErrClosedFoundByRecheckIsNoRefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rt *ufocache.RTCache[string, string]
		rt = newRTLoading(t, func(context.Context, string) (string, time.Duration, error) {
			return "", 0, ufocache.ErrClosed // as a closed inner RTCache answers
		}, ufocache.RTOptions[string, string]{
			ErrorTTL:      time.Minute,
			MaxBatch:      1,
			MaxMultiLoads: 1, // the parts one after another
			BatchLoader: func(ctx context.Context, keys []string) ([]ufocache.Loaded[string], error) {
				if keys[0] == "a" {
					rt.Get(ctx, "b") // fails with ErrClosed, kept
				}
				return []ufocache.Loaded[string]{{Value: "v" + keys[0], TTL: time.Hour}}, nil
			},
		}, ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), RecordStats: true})
		res, _ := rt.MultiGet(context.Background(), []string{"a", "b"})
		if res[1].Status != ufocache.LockHit || res[1].Err != ufocache.ErrClosed {
			t.Errorf("b, whose kept error the recheck found: %v, %v; want LockHit, ErrClosed", res[1].Status, res[1].Err)
		}
		if s := rt.Stats(); s.LockHits != 1 {
			t.Errorf("stats: %+v; want the recheck's answer in LockHits", s)
		}
	})
}
