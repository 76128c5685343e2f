package coalesce_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// Two superseded calls of a line finish oldest first while the third
// holds the key: each is committed, the younger over the older, and then
// the holder over both.
func TestLineCommitsEachSupersededCallInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLine(t, 3)
		l.finish(1)
		l.finish(2)
		if !slices.Equal(l.commits, []int{1, 2}) {
			t.Fatalf("commits %v, want [1 2]: the second call is younger than the first", l.commits)
		}
		l.finish(3)
		if !slices.Equal(l.commits, []int{1, 2, 3}) {
			t.Errorf("commits %v, want [1 2 3]", l.commits)
		}
	})
}

// A Group without Commit (singleflight alone) survives a superseded call
// finishing while a younger one holds the key.
func TestSupersededCallWithoutCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroup(t, coalesce.Options[string, int]{LockAge: time.Second})
		gate1, got1 := lineCall(g, 1, nil)
		time.Sleep(time.Second)
		gate2, got2 := lineCall(g, 2, nil)
		close(gate1)
		if v := <-got1; v != 1 {
			t.Fatalf("the superseded call's caller got %d, want 1", v)
		}
		close(gate2)
		if v := <-got2; v != 2 {
			t.Fatalf("the younger call's caller got %d, want 2", v)
		}
	})
}

// A call that Recheck answered is not committed (Options.Recheck), also
// when Recheck took longer than LockAge and a younger call took the key
// over meanwhile.
func TestSupersededRecheckIsNotCommitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var commits []int
		slow := make(chan struct{})
		rechecks := 0
		g := newGroup(t, coalesce.Options[string, int]{
			LockAge: time.Second,
			Commit:  func(_ string, v int, _ error) func() { commits = append(commits, v); return nil },
			Recheck: func(string) (int, bool, error) {
				rechecks++
				if rechecks == 1 {
					<-slow // the first caller's: answers, late
					return 7, true, nil
				}
				return 0, false, nil
			},
		})
		got1 := make(chan int, 1)
		go func() {
			v, _, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { return 1, nil })
			got1 <- v
		}()
		synctest.Wait()
		time.Sleep(time.Second)
		gate2, got2 := lineCall(g, 2, nil) // takes the key over; its Recheck misses
		close(slow)
		if v := <-got1; v != 7 {
			t.Fatalf("the first caller got %d, want Recheck's 7", v)
		}
		if len(commits) != 0 {
			t.Fatalf("commits %v after a Recheck answered: want none", commits)
		}
		close(gate2)
		<-got2
		if !slices.Equal(commits, []int{2}) {
			t.Errorf("commits %v, want [2]", commits)
		}
	})
}

// A call detached by Forget before any call superseded it (it has no
// line) is not committed while a call started after the Forget, which
// has none either, holds the key.
func TestDetachedCallWithoutALineIsNotCommitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var commits []int
		g := newGroup(t, coalesce.Options[string, int]{
			LockAge: time.Second,
			Commit:  func(_ string, v int, _ error) func() { commits = append(commits, v); return nil },
		})
		gate1, got1 := lineCall(g, 1, nil)
		g.Forget("k", nil)
		gate2, got2 := lineCall(g, 2, nil)
		close(gate1)
		<-got1
		if len(commits) != 0 {
			t.Fatalf("commits %v: the detached call was committed", commits)
		}
		close(gate2)
		<-got2
		if !slices.Equal(commits, []int{2}) {
			t.Errorf("commits %v, want [2]", commits)
		}
	})
}
