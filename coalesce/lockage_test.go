package coalesce_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ufocache/ufocache/coalesce"
)

// lineCall starts a call of key "k" that returns v (or err) once its gate
// is closed, and returns the gate and a channel that gets what its caller
// got. The call supersedes the one holding the key if that is older than
// the Group's LockAge.
func lineCall(g *coalesce.Group[string, int], v int, err error) (gate chan struct{}, got chan int) {
	gate, got = make(chan struct{}), make(chan int, 1)
	go func() {
		r, _, _ := g.Do(context.Background(), "k", func(context.Context) (int, error) { <-gate; return v, err })
		got <- r
	}()
	synctest.Wait()
	return gate, got
}

// A superseded call is committed only while nothing younger of its line
// was: three calls, each taking the key over from the last after LockAge,
// finish in the order 2, 1, 3. The first is not committed after the
// second's result, which it would overwrite with an older one.
func TestLockAgeCommitsALineInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var commits []int
		g := newGroup(t, coalesce.Options[string, int]{
			LockAge: time.Second,
			Commit:  func(_ string, v int, _ error) func() { commits = append(commits, v); return nil },
		})
		gate1, got1 := lineCall(g, 1, nil)
		time.Sleep(time.Second)
		gate2, got2 := lineCall(g, 2, nil)
		time.Sleep(time.Second)
		gate3, got3 := lineCall(g, 3, nil)
		close(gate2)
		if v := <-got2; v != 2 || !slices.Equal(commits, []int{2}) {
			t.Fatalf("the second call: got %d, commits %v; want 2, [2]", v, commits)
		}
		close(gate1)
		if v := <-got1; v != 1 || !slices.Equal(commits, []int{2}) {
			t.Fatalf("the first call, after the second was committed: got %d, commits %v; want 1, [2]", v, commits)
		}
		if g.Len() != 1 {
			t.Fatalf("Len %d, want 1: the third call holds the key", g.Len())
		}
		close(gate3)
		if v := <-got3; v != 3 || !slices.Equal(commits, []int{2, 3}) || g.Len() != 0 {
			t.Errorf("the third call: got %d, commits %v, Len %d; want 3, [2 3], 0", v, commits, g.Len())
		}
	})
}

// A Forget ends a line: a call superseded before a write is not committed
// after it, neither while the key is free nor while a call started after
// the write holds it. The call the Forget detached is not committed either.
func TestLockAgeLineEndsAtForget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var commits []int
		g := newGroup(t, coalesce.Options[string, int]{
			LockAge: time.Second,
			Commit:  func(_ string, v int, _ error) func() { commits = append(commits, v); return nil },
		})
		gate1, got1 := lineCall(g, 1, nil)
		time.Sleep(time.Second)
		gate2, got2 := lineCall(g, 2, nil)
		time.Sleep(time.Second)
		gate3, got3 := lineCall(g, 3, nil)
		if !g.Forget("k", nil) { // detaches the third call, which held the key
			t.Fatal("Forget found no call")
		}
		close(gate2) // the key is free
		if v := <-got2; v != 2 || len(commits) != 0 {
			t.Fatalf("the second call, after a Forget: got %d, commits %v; want 2, []", v, commits)
		}
		gate4, got4 := lineCall(g, 4, nil) // a new line
		close(gate1)                       // while the new line holds the key
		if v := <-got1; v != 1 || len(commits) != 0 {
			t.Fatalf("the first call, with a call after the Forget holding the key: got %d, commits %v; want 1, []", v, commits)
		}
		close(gate3)
		if v := <-got3; v != 3 || len(commits) != 0 {
			t.Fatalf("the detached call: got %d, commits %v; want 3, []", v, commits)
		}
		close(gate4)
		if v := <-got4; v != 4 || !slices.Equal(commits, []int{4}) {
			t.Errorf("the call after the Forget: got %d, commits %v; want 4, [4]", v, commits)
		}
	})
}

// A superseded call's error is not committed: the younger call, still
// running, may succeed, and a kept error would answer for it. Finished
// still hears of it.
func TestLockAgeSupersededErrorIsNotCommitted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var commits []error
		var finished []error
		g := newGroup(t, coalesce.Options[string, int]{
			LockAge:  time.Second,
			Commit:   func(_ string, _ int, err error) func() { commits = append(commits, err); return nil },
			Finished: func(_ string, err error) { finished = append(finished, err) },
		})
		boom := errors.New("boom")
		gate1, got1 := lineCall(g, 0, boom)
		time.Sleep(time.Second)
		gate2, got2 := lineCall(g, 2, nil)
		close(gate1)
		<-got1
		if len(commits) != 0 || len(finished) != 1 || finished[0] != boom {
			t.Fatalf("after the superseded call failed: commits %v, finished %v; want [], [boom]", commits, finished)
		}
		close(gate2)
		if v := <-got2; v != 2 || len(commits) != 1 || commits[0] != nil {
			t.Errorf("the younger call: got %d, commits %v; want 2, [<nil>]", v, commits)
		}
	})
}
