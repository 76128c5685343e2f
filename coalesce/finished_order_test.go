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

// Finished runs just before Commit, while the call still holds its key,
// as Options.Finished says: for a call of Do (on the caller's goroutine
// and on one of its own), of Go, for each key of a DoBatch (each key's
// Finished and Commit, then every after function), for a failed call,
// and for one whose after function panics. So a count that Finished keeps
// is up to date once the key is free (Len) or the outcome stored: a
// read-through cache's Loads, read by a caller that saw its background
// refresh end, had lagged it (Finished ran after the key was freed).
func TestFinishedRunsBeforeCommitWhileTheKeyIsHeld(t *testing.T) {
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
		var g *coalesce.Group[string, int]
		g = newGroup(t, coalesce.Options[string, int]{
			Commit: func(k string, _ int, _ error) func() {
				log("commit " + k)
				return func() {
					log("after " + k)
					if k == "after-panics" {
						panic("in the after function")
					}
				}
			},
			// Len counts the keys held: this one still is.
			Finished: func(k string, err error) { log(fmt.Sprint("finished ", k, " ", err != nil, " held ", g.Len())) },
		})
		one := func(k string) []string {
			return []string{fmt.Sprint("finished ", k, " ", k == "error", " held 1"), "commit " + k, "after " + k}
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
		// An after function that panics.
		func() {
			defer func() { recover() }()
			// On the caller's goroutine, where the panic is raised again.
			g.Do(context.Background(), "after-panics", fn("after-panics"))
		}()
		synctest.Wait()
		if got, want := take(), one("after-panics"); !slices.Equal(got, want) {
			t.Errorf("after function that panics: %q, want %q", got, want)
		}
		// DoBatch: each key is counted and committed in turn, while the
		// batch holds them all, then the after functions run.
		g.DoBatch(ctx, []string{"a", "b"}, func(_ context.Context, keys []string) ([]coalesce.Result[int], error) {
			return make([]coalesce.Result[int], len(keys)), nil
		})
		want := []string{"finished a false held 2", "commit a", "finished b false held 1", "commit b", "after a", "after b"}
		if got := take(); !slices.Equal(got, want) {
			t.Errorf("DoBatch: %q, want %q", got, want)
		}
	})
}

// A Finished that panics (against its contract) leaves neither the wait
// map's lock held nor the outcome unstored: Commit still runs, and its
// after function, then the panic reaches the leader; the waiters wake and
// the key is free.
func TestFinishedThatPanicsStillCommits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var committed, after bool
		g := newGroup(t, coalesce.Options[string, int]{
			Commit: func(string, int, error) func() {
				committed = true
				return func() { after = true }
			},
			Finished: func(string, error) { panic("in Finished") },
		})
		release := make(chan struct{})
		var panicked any
		go func() {
			defer func() { panicked = recover() }()
			g.Do(context.Background(), "k", func(context.Context) (int, error) { <-release; return 1, nil })
		}()
		synctest.Wait()
		var waited int
		var waitErr error
		go func() {
			waited, _, waitErr = g.Do(context.Background(), "k", func(context.Context) (int, error) { return -1, nil })
		}()
		synctest.Wait()
		close(release)
		synctest.Wait()
		if panicked != "in Finished" || !committed || !after {
			t.Errorf("leader's panic %v, committed %v, after function ran %v; want Finished's panic, true, true", panicked, committed, after)
		}
		if waited != 1 || waitErr != nil {
			t.Errorf("waiter got (%d, %v), want (1, nil)", waited, waitErr)
		}
		if n := g.Len(); n != 0 {
			t.Errorf("%d keys held after the call, want 0", n)
		}
	})
}
