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

// A MultiGet whose BatchLoader panics, in the same BatchLoader call (one
// DoBatch: no MaxBatch) as a key it joined to another caller's claim that
// Close then turned away, counts that key nowhere, as Close's doc says
// ("counted in no Misses") and as MultiGet does without the panic or when
// the turned-away key is in a part of its own
// (TestRTCloseMultiGetPanicCountsNoRefusedKey). MultiGet's panic path
// counts every miss the BatchLoader was not given as a LockHit unless its
// refusal was seen, and it is seen only in results that doBatch returns:
// a DoBatch that panics returns none, so here the refused key "b" counted
// one LockHit (with MaxBatch, when it shares the panicking part, too).
func TestRTCloseMultiGetPanicCountsNoRefusedKeyInItsBatch(t *testing.T) {
	for _, maxBatch := range []int{0, 2} {
		t.Run(map[int]string{0: "one batch", 2: "in the panicking part"}[maxBatch], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// The Get of "b" stops in its recheck (the second hash of
				// "b": the first is its lookup), after its claim and before
				// Close's refusal, until recheck is closed.
				var bHashes atomic.Int32
				recheck := make(chan struct{})
				release := make(chan struct{})
				c, err := ufocache.New(ufocache.Options[string, string]{MaxWeight: 100, Clock: newBubbleClock(), RecordStats: true,
					Hasher: func(k string) uint64 {
						if k == "b" && bHashes.Add(1) == 2 {
							<-recheck
						}
						return uint64(len(k)) * 0x9e3779b97f4a7c15
					}})
				if err != nil {
					t.Fatal(err)
				}
				rt, err := ufocache.NewRTCache(c, func(context.Context, string) (string, time.Duration, error) {
					return "", 0, errors.New("the Loader is not used")
				}, ufocache.RTOptions[string, string]{
					MaxBatch: maxBatch,
					BatchLoader: func(_ context.Context, keys []string) ([]ufocache.Loaded[string], error) {
						<-release
						panic("batch " + keys[0])
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				got := make(chan error, 1)
				go func() { _, _, err := rt.Get(context.Background(), "b"); got <- err }()
				synctest.Wait() // b claimed, its recheck waiting
				panicked := make(chan any, 1)
				go func() {
					defer func() { panicked <- recover() }()
					rt.MultiGet(context.Background(), []string{"a", "b"}) // a loads, b joins the Get's claim
				}()
				synctest.Wait() // a's BatchLoader runs
				wait, _ := closeRT(rt, context.Background())
				synctest.Wait()
				close(recheck) // the Get's claim is turned away: b's outcome is ErrClosed
				if err := <-got; !errors.Is(err, ufocache.ErrClosed) {
					t.Fatalf("Get of b: %v, want ErrClosed", err)
				}
				close(release) // a's BatchLoader panics
				if err := wait(); err != nil {
					t.Fatal(err)
				}
				if p, ok := (<-panicked).(*ufocache.PanicError); !ok || p.Value != "batch a" {
					t.Fatalf("MultiGet panicked with %v, want the BatchLoader's *PanicError", p)
				}
				if s := rt.Stats(); s.Loads != 1 || s.Misses != 1 || s.LockHits != 0 {
					t.Errorf("stats: Loads %d, Misses %d, LockHits %d; want 1, 1, 0 (the key Close turned away counts nowhere)", s.Loads, s.Misses, s.LockHits)
				}
			})
		})
	}
}
