package coalesce_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"

	"github.com/ufocache/ufocache/coalesce"
)

// GoRecheck with no recheck starts fn where Go's RecheckGo (or Recheck)
// would answer, but not beside a call in flight for its key, nor once
// Close has begun; callers that come while it runs share its result.
func TestGoRecheckNilSkipsOnlyTheRecheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var committed []int
		g := newGroup(t, coalesce.Options[string, int]{
			Recheck:   func(string) (int, bool, error) { return 3, true, nil },
			RecheckGo: func(string) (int, bool, error) { return 3, true, nil },
			Commit:    func(_ string, v int, err error) func() { committed = append(committed, v); return nil },
		})
		ctx := context.Background()
		release := make(chan struct{})
		fn := func(v int) func(context.Context) (int, error) {
			return func(context.Context) (int, error) { <-release; return v, nil }
		}
		if g.Go(ctx, "k", fn(4)) {
			t.Fatal("Go started fn although RecheckGo answered")
		}
		if !g.GoRecheck(ctx, "k", fn(4), nil) {
			t.Fatal("GoRecheck with no recheck did not start fn")
		}
		if g.GoRecheck(ctx, "k", fn(5), nil) {
			t.Error("GoRecheck with no recheck started a second fn beside the call in flight")
		}
		var v int
		var leader bool
		done := make(chan struct{})
		go func() {
			defer close(done)
			v, leader, _ = g.Do(ctx, "k", fn(6))
		}()
		synctest.Wait()
		close(release)
		<-done
		if v != 4 || leader {
			t.Errorf("Do during GoRecheck's call = %d, leader %v; want its 4, joined", v, leader)
		}
		synctest.Wait()
		if len(committed) != 1 || committed[0] != 4 {
			t.Errorf("committed %v, want [4]", committed)
		}
		if err := g.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if g.GoRecheck(ctx, "k", fn(7), nil) {
			t.Error("GoRecheck with no recheck started fn after Close")
		}
	})
}

// A GoRecheck with no recheck whose fn panics or calls runtime.Goexit
// frees its key: Commit gets the *PanicError or ErrGoexit, Finished runs
// once for it, and the next GoRecheck of the key starts; after Close,
// GoRecheck leaves the key free and commits nothing.
func TestGoRecheckNilFreesItsKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var errs []error
		finished := 0
		g := newGroup(t, coalesce.Options[string, int]{
			Commit:   func(_ string, _ int, err error) func() { errs = append(errs, err); return nil },
			Finished: func(string, error) { finished++ },
		})
		ctx := context.Background()
		fns := []func(context.Context) (int, error){
			func(context.Context) (int, error) { panic("boom") },
			func(context.Context) (int, error) { runtime.Goexit(); return 0, nil },
			func(context.Context) (int, error) { return 1, nil },
		}
		for i, fn := range fns {
			if !g.GoRecheck(ctx, "k", fn, nil) {
				t.Fatalf("GoRecheck with no recheck %d did not start: the key was not freed", i)
			}
			synctest.Wait()
			if g.InFlight("k") || g.Len() != 0 {
				t.Fatalf("key still held after fn %d ended", i)
			}
		}
		var pe *coalesce.PanicError
		if len(errs) != 3 || !errors.As(errs[0], &pe) || !errors.Is(errs[1], coalesce.ErrGoexit) || errs[2] != nil {
			t.Errorf("committed errors %v", errs)
		}
		if finished != 3 {
			t.Errorf("Finished ran %d times, want 3", finished)
		}
		if err := g.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if g.GoRecheck(ctx, "k", fns[2], nil) || g.Len() != 0 || g.InFlight("k") || len(errs) != 3 {
			t.Errorf("after Close: key held %v, %d commits", g.InFlight("k"), len(errs))
		}
	})
}

// GoRecheck runs its own recheck, not RecheckGo's, once it holds the key:
// an answer starts no fn and commits nothing, and frees the key.
func TestGoRecheckRunsItsOwnRecheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		commits := 0
		g := newGroup(t, coalesce.Options[string, int]{
			RecheckGo: func(string) (int, bool, error) { return 3, true, nil },
			Commit:    func(string, int, error) func() { commits++; return nil },
		})
		ctx := context.Background()
		ran := 0
		fn := func(context.Context) (int, error) { ran++; return 1, nil }
		var asked []string
		answer := false
		recheck := func(k string) (int, bool, error) { asked = append(asked, k); return 0, answer, nil }
		if !g.GoRecheck(ctx, "k", fn, recheck) {
			t.Fatal("GoRecheck did not start fn although its recheck did not answer (RecheckGo would have)")
		}
		synctest.Wait()
		answer = true
		if g.GoRecheck(ctx, "k", fn, recheck) {
			t.Error("GoRecheck started fn although its recheck answered")
		}
		if ran != 1 || commits != 1 || len(asked) != 2 || g.Len() != 0 {
			t.Errorf("fn ran %d, %d commits, recheck asked %v, %d calls held; want 1, 1, [k k], 0", ran, commits, asked, g.Len())
		}
	})
}
