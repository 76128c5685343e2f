package coalesce_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// A caller that took over the key of a call past LockAge just before
// Close began (Close came during its Recheck) is turned away with
// ErrClosed, which Close's doc allows; but the old call's outcome must
// still be committed ("a call older than LockAge holds its key again ...
// and its outcome is committed"; Options.LockAge: stored while a call
// that took the key over from it still holds the key). The refused call
// left the wait map with the line, and the old call, finding the key
// free, was not committed: the only value loaded was dropped.
func TestCloseDuringATakeOverKeepsTheOldCallsOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stored atomic.Value
		var g *coalesce.Group[string, int]
		var closeNow atomic.Bool
		g = newGroup(t, coalesce.Options[string, int]{
			LockAge: time.Second,
			Recheck: func(string) (int, bool, error) {
				if closeNow.Load() { // Close begins between the claim and the start
					go g.Close(context.Background())
					for !g.Closed() {
						runtime.Gosched()
					}
				}
				return 0, false, nil
			},
			Commit: func(_ string, v int, err error) func() {
				if err == nil {
					stored.Store(v)
				}
				return nil
			},
		})
		release := make(chan struct{})
		g.Go(context.Background(), "a", func(context.Context) (int, error) { <-release; return 9, nil })
		time.Sleep(2 * time.Second) // past LockAge
		closeNow.Store(true)
		if _, _, err := g.Do(context.Background(), "a", func(context.Context) (int, error) { return 7, nil }); err != coalesce.ErrClosed {
			t.Fatalf("the caller that claimed the key as Close began: %v, want ErrClosed", err)
		}
		close(release)
		synctest.Wait()
		if err := g.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if v, _ := stored.Load().(int); v != 9 {
			t.Fatalf("stored %v, want the old call's 9", stored.Load())
		}
	})
}
