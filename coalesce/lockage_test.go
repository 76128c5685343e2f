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

// lineOfCalls is n calls of key "k", each taking it over from the one before
// after LockAge (a second), the i-th returning i+1 once gate[i] is
// closed, with what their callers got on got[i] and the values Commit
// stored in commits.
type lineOfCalls struct {
	g       *coalesce.Group[string, int]
	commits []int
	gate    []chan struct{}
	got     []chan int
}

func newLine(t *testing.T, n int) *lineOfCalls {
	l := &lineOfCalls{}
	l.g = newGroup(t, coalesce.Options[string, int]{
		LockAge: time.Second,
		Commit:  func(_ string, v int, _ error) func() { l.commits = append(l.commits, v); return nil },
	})
	for i := range n {
		if i > 0 {
			time.Sleep(time.Second)
		}
		gate, got := lineCall(l.g, i+1, nil)
		l.gate, l.got = append(l.gate, gate), append(l.got, got)
	}
	return l
}

// finish lets the i-th call (from 1) return and gives what its caller got.
func (l *lineOfCalls) finish(i int) int {
	close(l.gate[i-1])
	return <-l.got[i-1]
}

// A superseded call is committed only while nothing younger of its line
// was: three calls, each taking the key over from the last after LockAge,
// finish in the order 2, 1, 3. The first is not committed after the
// second's result, which it would overwrite with an older one.
func TestLockAgeCommitsALineInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLine(t, 3)
		if v := l.finish(2); v != 2 || !slices.Equal(l.commits, []int{2}) {
			t.Fatalf("the second call: got %d, commits %v; want 2, [2]", v, l.commits)
		}
		if v := l.finish(1); v != 1 || !slices.Equal(l.commits, []int{2}) {
			t.Fatalf("the first call, after the second was committed: got %d, commits %v; want 1, [2]", v, l.commits)
		}
		if l.g.Len() != 1 {
			t.Fatalf("Len %d, want 1: the third call holds the key", l.g.Len())
		}
		if v := l.finish(3); v != 3 || !slices.Equal(l.commits, []int{2, 3}) || l.g.Len() != 0 {
			t.Errorf("the third call: got %d, commits %v, Len %d; want 3, [2 3], 0", v, l.commits, l.g.Len())
		}
	})
}

// A Forget ends a line: a call superseded before a write is not committed
// after it, neither while the key is free nor while a call started after
// the write holds it. The call the Forget detached is not committed either.
func TestLockAgeLineEndsAtForget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLine(t, 3)
		if !l.g.Forget("k", nil) { // detaches the third call, which held the key
			t.Fatal("Forget found no call")
		}
		if v := l.finish(2); v != 2 || len(l.commits) != 0 { // the key is free
			t.Fatalf("the second call, after a Forget: got %d, commits %v; want 2, []", v, l.commits)
		}
		gate4, got4 := lineCall(l.g, 4, nil)                 // a new line
		if v := l.finish(1); v != 1 || len(l.commits) != 0 { // while the new line holds the key
			t.Fatalf("the first call, with a call after the Forget holding the key: got %d, commits %v; want 1, []", v, l.commits)
		}
		if v := l.finish(3); v != 3 || len(l.commits) != 0 {
			t.Fatalf("the detached call: got %d, commits %v; want 3, []", v, l.commits)
		}
		close(gate4)
		if v := <-got4; v != 4 || !slices.Equal(l.commits, []int{4}) {
			t.Errorf("the call after the Forget: got %d, commits %v; want 4, [4]", v, l.commits)
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
