package coalesce_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/ufocache/ufocache/coalesce"
)

// Finished runs after Commit's after function, as Options.Finished says
// ("after Commit and its after function"), for a call of Do (on the
// caller's goroutine and on one of its own), of Go, for each key of a
// DoBatch (after every after function of the batch: they run once every
// key is committed, and each key's Finished follows its after function),
// for a failed call and for one whose after function panics (Finished
// still runs, once). TestCommitAfterAndFinishedBeforeWaitersWake gates
// the steps in that order, but passes as well when Finished runs first.
func TestFinishedRunsAfterTheAfterFunction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var steps []string
		log := func(s string) {
			mu.Lock()
			steps = append(steps, s)
			mu.Unlock()
		}
		take := func() []string {
			mu.Lock()
			defer mu.Unlock()
			s := steps
			steps = nil
			return s
		}
		boom := errors.New("boom")
		g := newGroup(t, coalesce.Options[string, int]{
			Commit: func(k string, _ int, _ error) func() {
				log("commit " + k)
				return func() {
					log("after " + k)
					if k == "after-panics" {
						panic("in the after function")
					}
				}
			},
			Finished: func(k string, err error) { log(fmt.Sprint("finished ", k, " ", err != nil)) },
		})
		one := func(k string) []string {
			return []string{"commit " + k, "after " + k, fmt.Sprint("finished ", k, " ", k == "error")}
		}
		fn := func(k string) func(context.Context) (int, error) {
			return func(context.Context) (int, error) {
				if k == "error" {
					return 0, boom
				}
				return 1, nil
			}
		}

		// Do on the caller's goroutine (ctx cannot end, no LoadTimeout).
		g.Do(context.Background(), "here", fn("here"))
		if got, want := take(), one("here"); !slices.Equal(got, want) {
			t.Errorf("Do on the caller's goroutine: %q, want %q", got, want)
		}
		// Do on a goroutine of its own (ctx can end), a failing call too.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for _, k := range []string{"own", "error"} {
			g.Do(ctx, k, fn(k))
			if got, want := take(), one(k); !slices.Equal(got, want) {
				t.Errorf("Do of %s: %q, want %q", k, got, want)
			}
		}
		// Go.
		if !g.Go(context.Background(), "go", fn("go")) {
			t.Fatal("Go did not start fn")
		}
		synctest.Wait()
		if got, want := take(), one("go"); !slices.Equal(got, want) {
			t.Errorf("Go: %q, want %q", got, want)
		}
		// An after function that panics: Finished still runs, after it.
		func() {
			defer func() { recover() }()
			// On the caller's goroutine, where the panic is raised again.
			g.Do(context.Background(), "after-panics", fn("after-panics"))
		}()
		synctest.Wait()
		if got, want := take(), one("after-panics"); !slices.Equal(got, want) {
			t.Errorf("after function that panics: %q, want %q", got, want)
		}
		// DoBatch: every key is committed, then each key's after function
		// runs before its Finished.
		g.DoBatch(ctx, []string{"a", "b"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
			return make([]coalesce.Result[int], len(keys)), nil
		})
		want := []string{"commit a", "commit b", "after a", "finished a false", "after b", "finished b false"}
		if got := take(); !slices.Equal(got, want) {
			t.Errorf("DoBatch: %q, want %q", got, want)
		}
	})
}
