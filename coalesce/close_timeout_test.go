package coalesce_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// gatedLoad starts, in the background (Go, or GoBatch if batch), a
// function of key "a" that returns once release is closed, in a Group
// with loadTimeout whose Commit's after function runs until gate is
// closed; afterRunning and afterDone say where that after function is.
func gatedLoad(t *testing.T, loadTimeout time.Duration, batch bool) (g *coalesce.Group[string, int], gate, release chan struct{}, afterRunning, afterDone *atomic.Bool) {
	gate, release = make(chan struct{}), make(chan struct{})
	afterRunning, afterDone = new(atomic.Bool), new(atomic.Bool)
	g = newGroup(t, coalesce.Options[string, int]{
		LoadTimeout: loadTimeout,
		Commit: func(string, int, error) func() {
			return func() {
				afterRunning.Store(true)
				<-gate
				afterDone.Store(true)
			}
		},
	})
	if batch {
		g.GoBatch(context.Background(), []string{"a"}, func(context.Context, []string) ([]coalesce.Result[int], error) {
			<-release
			return []coalesce.Result[int]{{Val: 1}}, nil
		})
	} else {
		g.Go(context.Background(), "a", func(context.Context) (int, error) { <-release; return 1, nil })
	}
	return g, gate, release, afterRunning, afterDone
}

// waitingCaller calls Do (or DoBatch, if batch) of key "a" on a goroutine
// of its own, with a function that returns 1 once release is closed and
// ignores its ctx; the caller's error comes on the returned channel.
func waitingCaller(g *coalesce.Group[string, int], batch bool, release chan struct{}) <-chan error {
	got := make(chan error, 1)
	go func() {
		if batch {
			got <- g.DoBatch(context.Background(), []string{"a"}, func(context.Context, []string) ([]coalesce.Result[int], error) {
				<-release
				return []coalesce.Result[int]{{Val: 1}}, nil
			})[0].Err
			return
		}
		_, _, err := g.Do(context.Background(), "a", func(context.Context) (int, error) { <-release; return 1, nil })
		got <- err
	}()
	return got
}

// A call that its LoadTimeout finished is committed by the timeout's own
// goroutine, not the function's: Close must wait for that Commit and its
// after function as well as for the function, or it returns nil while
// the after function (RTCache's OnEvict) still runs, or before the
// Commit has even come. Close's doc: nil once "every function started
// has returned and its call finished (Commit and its after function
// done ...)"; the package doc: no goroutine outlives it.
func TestCloseWaitsForTheLoadTimeoutsCommit(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "Do", true: "DoBatch"}[batch], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, gate, release, afterRunning, afterDone := gatedLoad(t, time.Second, batch)
				time.Sleep(2 * time.Second) // past the LoadTimeout: its after function now waits for gate
				synctest.Wait()
				if !afterRunning.Load() {
					t.Fatal("the load timeout's after function did not start")
				}
				wait, returned := closing(g, context.Background())
				close(release) // the function returns; the after function still runs
				synctest.Wait()
				if returned.Load() && !afterDone.Load() {
					t.Error("Close returned while the load timeout's after function ran")
				}
				close(gate)
				if err := wait(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// Close's ctx ending ends the functions' contexts, but a function that
// does not watch its ctx still runs; its callers are still bounded by
// LoadTimeout ("detached from ctx's cancellation, bounded by
// LoadTimeout and ended by Close"). Close's cancel cancelled the load
// context, and with it the deadline's timer: the timeout's function ran
// at the cancel, left the call be (not a deadline), and never ran again,
// so the callers waited for the function however long it ran, past its
// LoadTimeout.
func TestCloseKeepsTheLoadTimeoutOfAFunctionItEnded(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "Do", true: "DoBatch"}[batch], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGroup(t, coalesce.Options[string, int]{LoadTimeout: time.Hour})
				release := make(chan struct{})
				got := waitingCaller(g, batch, release)
				synctest.Wait()
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := g.Close(ctx); err != context.DeadlineExceeded {
					t.Fatalf("Close: %v", err)
				}
				time.Sleep(2 * time.Hour) // past the LoadTimeout
				synctest.Wait()
				select {
				case err := <-got:
					if !errors.Is(err, coalesce.ErrLoadTimeout) {
						t.Errorf("the caller got %v, want ErrLoadTimeout", err)
					}
				default:
					t.Error("the caller still waits past the LoadTimeout")
				}
				close(release)
				if err := g.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// A function's context keeps its caller's values but nothing of its
// cancellation: once the caller has left with a cause of its own, the
// function's Err is nil, and once Close ends it, context.Cause gives
// ErrClosed, for it and for a context it derived, not the caller's
// cause. fnContext answers the context package's key for the cancel
// context with the Group's stop before asking the parent; asked the other
// way round, the caller's cancel context answered, and its cause with it.
func TestAFunctionsContextHasNoCauseOfItsCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{})
		type key struct{}
		ctx, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
		left := make(chan struct{})
		seen := make(chan [4]any, 1)
		go func() {
			g.Do(ctx, "a", func(ctx context.Context) (int, error) {
				<-left
				inner, stop := context.WithCancel(ctx)
				defer stop()
				before := [2]any{ctx.Err(), ctx.Value(key{})}
				<-inner.Done()
				seen <- [4]any{before[0], before[1], context.Cause(ctx), context.Cause(inner)}
				return 1, nil
			})
		}()
		synctest.Wait()
		cancel(errStopped)
		synctest.Wait() // the caller has left
		close(left)
		synctest.Wait()
		ended, endNow := context.WithCancel(context.Background())
		endNow()
		if err := g.Close(ended); err != context.Canceled {
			t.Fatalf("Close: %v", err)
		}
		if s := <-seen; s[0] != nil || s[1] != "v" || s[2] != coalesce.ErrClosed || s[3] != coalesce.ErrClosed {
			t.Fatalf("the function's ctx after its caller left: Err %v, value %v; after Close: Cause %v, its child's Cause %v", s[0], s[1], s[2], s[3])
		}
		if err := g.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// Close with a ctx that has ended already returns nil when nothing runs
// (or everything started has ended): it looks at the Group before ctx,
// and ends no function's context. (Selecting on both at once answered
// ctx.Err() half the time.)
func TestCloseOfAnIdleGroupIgnoresAnEndedCtx(t *testing.T) {
	g := newGroup(t, coalesce.Options[string, int]{})
	g.Do(context.Background(), "a", func(context.Context) (int, error) { return 1, nil })
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for range 64 {
		if err := g.Close(ended); err != nil {
			t.Fatalf("Close of an idle Group with an ended ctx: %v", err)
		}
	}
}

// The two together: Close's ctx ended, the function ignores its own, and
// its deadline finishes the call from a timer of its own, whose after
// function still runs when the function returns: a second Close waits for
// that after function too.
func TestCloseWaitsForTheLateLoadTimeoutsCommit(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run(map[bool]string{false: "Do", true: "DoBatch"}[batch], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g, gate, release, afterRunning, afterDone := gatedLoad(t, time.Hour, batch)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := g.Close(ctx); err != context.DeadlineExceeded {
					t.Fatalf("Close: %v", err)
				}
				time.Sleep(2 * time.Hour) // past the LoadTimeout: the late timer's after function waits for gate
				synctest.Wait()
				if !afterRunning.Load() {
					t.Fatal("the late load timeout's after function did not start")
				}
				wait, returned := closing(g, context.Background())
				close(release)
				synctest.Wait()
				if returned.Load() && !afterDone.Load() {
					t.Error("Close returned while the late load timeout's after function ran")
				}
				close(gate)
				if err := wait(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}
