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
				gate := make(chan struct{})
				var afterRunning, afterDone atomic.Bool
				g := newGroup(t, coalesce.Options[string, int]{
					LoadTimeout: time.Second,
					Commit: func(string, int, error) func() {
						return func() {
							afterRunning.Store(true)
							<-gate
							afterDone.Store(true)
						}
					},
				})
				release := make(chan struct{})
				if batch {
					g.GoBatch(context.Background(), []string{"a"}, func(context.Context, []string) ([]coalesce.Result[int], error) {
						<-release
						return []coalesce.Result[int]{{Val: 1}}, nil
					})
				} else {
					g.Go(context.Background(), "a", func(context.Context) (int, error) { <-release; return 1, nil })
				}
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
				got := make(chan error, 1)
				go func() {
					if batch {
						got <- g.DoBatch(context.Background(), []string{"a"}, func(context.Context, []string) ([]coalesce.Result[int], error) {
							<-release // ignores its ctx
							return []coalesce.Result[int]{{Val: 1}}, nil
						})[0].Err
						return
					}
					_, _, err := g.Do(context.Background(), "a", func(context.Context) (int, error) { <-release; return 1, nil })
					got <- err
				}()
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

// A function's context outlives nothing of the function's: what a
// function ties to it (a context.AfterFunc whose stop it leaves uncalled,
// as it may once it has returned) must not stay tied to the Group. Since
// the functions' contexts present the Group's stop as their cancel
// context, every such registration joined that stop's children for the
// Group's life: memory that grew with every load (it had no Done, and
// nothing was kept), and at Close every one of them ran, for loads long
// finished.
func TestAFunctionsContextKeepsNothingPastTheFunction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[int, int]{})
		var fired atomic.Int32
		for i := range 100 {
			g.Do(context.Background(), i, func(ctx context.Context) (int, error) {
				context.AfterFunc(ctx, func() { fired.Add(1) }) // its stop is not called
				return i, nil
			})
		}
		release := make(chan struct{})
		g.Go(context.Background(), -1, func(context.Context) (int, error) { <-release; return 0, nil })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := g.Close(ctx); err != context.Canceled {
			t.Fatalf("Close: %v", err)
		}
		synctest.Wait()
		if n := fired.Load(); n != 0 {
			t.Errorf("Close ran %d AfterFuncs of functions that had returned: the Group kept them", n)
		}
		close(release)
		if err := g.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
