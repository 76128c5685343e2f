package coalesce_test

import (
	"context"
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
