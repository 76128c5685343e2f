package coalesce_test

import (
	"context"
	"fmt"
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

// A function that asks for another key with a ctx that keeps its mark but
// cannot end (context.WithoutCancel of its own: Done is nil) runs that
// key's function on its goroutine (runHere, no LoadTimeout); a loop closed
// through it (b's function asking for a) is still a cycle: runHere adds
// the edge from the asking call to the call it runs. Since functions'
// contexts have a Done channel, a nested Do with the function's ctx itself
// starts a goroutine, so the cycle tests no longer reached this edge:
// dropping it survived them (and the loop then waited for ever).
func TestCycleThroughACallRunOnTheCallersGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, string]{})
		var inner error
		var fa, fb func(ctx context.Context) (string, error)
		fa = func(ctx context.Context) (string, error) {
			v, _, err := g.Do(context.WithoutCancel(ctx), "b", fb)
			return "a" + v, err
		}
		fb = func(ctx context.Context) (string, error) {
			_, _, inner = g.Do(ctx, "a", fa)
			return "b", nil
		}
		got := make(chan string, 1)
		go func() {
			v, _, err := g.Do(context.Background(), "a", fa)
			got <- fmt.Sprint(v, " ", err)
		}()
		synctest.Wait()
		select {
		case s := <-got:
			if s != "ab <nil>" || inner != coalesce.ErrCycle {
				t.Fatalf("a asking for b asking for a: %q, inner %v; want %q and ErrCycle inside", s, inner, "ab <nil>")
			}
		default:
			t.Fatal("a asking for b asking for a waits for ever: no ErrCycle")
		}
	})
}

// Close's cancel leaves a function's deadline where it was: the late timer
// finishes the call with ErrLoadTimeout at the deadline itself, for what
// was left of it, not later (a late timer of twice what is left survived
// TestCloseKeepsTheLoadTimeoutOfAFunctionItEnded, which looks only an hour
// past the deadline).
func TestCloseKeepsTheLoadTimeoutsDeadline(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "Do", true: "DoBatch"}[batch], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGroup(t, coalesce.Options[string, int]{LoadTimeout: time.Hour})
				release := make(chan struct{})
				start := time.Now()
				got := waitingCaller(g, batch, release)
				synctest.Wait()
				ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
				defer cancel()
				if err := g.Close(ctx); err != context.DeadlineExceeded {
					t.Fatalf("Close: %v", err)
				}
				time.Sleep(time.Hour - time.Since(start) - time.Nanosecond)
				synctest.Wait()
				select {
				case err := <-got:
					t.Fatalf("the caller got %v before the deadline", err)
				default:
				}
				time.Sleep(time.Nanosecond) // the deadline
				synctest.Wait()
				select {
				case err := <-got:
					if err != coalesce.ErrLoadTimeout {
						t.Errorf("the caller got %v at the deadline, want ErrLoadTimeout", err)
					}
				default:
					t.Errorf("the caller still waits at the deadline (%v after the call began)", time.Since(start))
				}
				close(release)
				if err := g.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// Recheck runs before Close's refusal ("Recheck still runs first") for a
// call that would start its function on a goroutine of its own (Go, or a
// Do whose ctx can end): after Close a caller that Recheck answers gets
// its answer, not ErrClosed; and a call Recheck answered before Close
// counts as no function started, so Close returns at once. Refusing first
// in start survived every test: after Close such callers got ErrClosed,
// and before it each answer of Recheck left a function counted that never
// ran, so Close waited for ever.
func TestCloseAfterRecheckAnswers(t *testing.T) {
	for _, viaGo := range []bool{false, true} {
		t.Run(map[bool]string{false: "Do", true: "Go"}[viaGo], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGroup(t, coalesce.Options[string, int]{
					Recheck: func(string) (int, bool, error) { return 5, true, nil },
				})
				ctx, cancel := context.WithCancel(context.Background()) // Done: fn would run on a goroutine
				defer cancel()
				fn := func(context.Context) (int, error) { return 1, nil }
				get := func() string {
					if viaGo {
						return fmt.Sprint("started ", g.Go(ctx, "a", fn))
					}
					v, _, err := g.Do(ctx, "a", fn)
					return fmt.Sprint(v, " ", err)
				}
				want := map[bool]string{false: "5 <nil>", true: "started false"}[viaGo]
				if s := get(); s != want {
					t.Fatalf("before Close: %s; want %s", s, want)
				}
				wait, returned := closing(g, context.Background())
				synctest.Wait()
				if !returned.Load() {
					t.Fatal("Close waits for a function Recheck kept from starting")
				}
				if err := wait(); err != nil {
					t.Fatal(err)
				}
				if s := get(); s != want {
					t.Fatalf("after Close: %s; want %s", s, want)
				}
			})
		})
	}
}
